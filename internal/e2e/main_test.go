package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testbuild"
)

// The shared topology of this package: one PostgreSQL primary + replica, and
// one writer + reader pair on database "e2e". Tests isolate themselves by
// unique names (uniq); tests that need another configuration (IOV mode, auth)
// start their own writer + reader on a database of their own (startServers).
var (
	stack   *localstack.Stack
	servers *localstack.Servers
	binary  string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "condcache-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if binary, err = testbuild.Condcache(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stack, err = localstack.Start(ctx, localstack.Options{Dir: filepath.Join(dir, "stack"), Replicas: 1, Redis: true, Fast: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting PostgreSQL:", err)
		return 1
	}
	defer stack.Stop()
	if err := stack.CreateDatabase(ctx, "e2e"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	servers, err = stack.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: "e2e"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting condcache:", err)
		return 1
	}
	defer servers.Stop()
	defer func() { stopLate() }()
	return m.Run()
}

var seq atomic.Int64

// uniq returns a name unique to this test run, for GTs, types and statuses.
func uniq(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid()%100000, seq.Add(1))
}

var dbSeq atomic.Int64

// startServers starts a writer + reader of their own, on a fresh database,
// with extra environment (e.g. "CDB_IOV_MODE=discrete"); stopped with t.
func startServers(t *testing.T, env ...string) *localstack.Servers {
	t.Helper()
	sv, _ := startServersDB(t, env...)
	return sv
}

// startServersDB is startServers that also returns the database's name.
func startServersDB(t *testing.T, env ...string) (*localstack.Servers, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := fmt.Sprintf("e2e_%d", dbSeq.Add(1))
	if err := stack.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	sv, err := stack.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: db, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sv.Stop() })
	return sv, db
}
