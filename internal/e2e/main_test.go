package e2e

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
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

func TestMain(m *testing.M) {
	testkit.Main(m, testkit.Options{Name: "e2e", Build: true, Stack: &localstack.Options{Replicas: 1, Redis: true}},
		func(ctx context.Context, env *testkit.Env) error {
			stack, binary = env.Stack, env.Binary
			if err := stack.CreateDatabase(ctx, "e2e"); err != nil {
				return err
			}
			var err error
			if servers, err = stack.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: "e2e"}); err != nil {
				return fmt.Errorf("starting condcache: %w", err)
			}
			env.Cleanup(func() { _ = servers.Stop() })
			env.Cleanup(func() { stopLate() })
			return nil
		})
}

// uniq returns a name unique to this test run, for GTs, types and statuses.
func uniq(prefix string) string { return testkit.Uniq(prefix) }

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
