package faults

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testbuild"
)

var binary string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "condcache-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if binary, err = testbuild.Condcache(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// topology is one test's own stack and servers.
type topology struct {
	stack   *localstack.Stack
	servers *localstack.Servers
	db      string
}

// start starts a stack (o: replicas, Redis) with a writer and reader on
// database "faults", stopped when the test ends. On failure the servers'
// log tails are printed.
func start(t *testing.T, o localstack.Options, so localstack.ServerOptions) *topology {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o.Dir, o.Fast = t.TempDir(), true
	st, err := localstack.Start(ctx, o)
	if err != nil {
		t.Fatalf("starting the stack: %v", err)
	}
	t.Cleanup(func() { _ = st.Stop() })
	const db = "faults"
	if err := st.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	so.Binary, so.Database = binary, db
	sv, err := st.StartServers(ctx, so)
	if err != nil {
		t.Fatalf("starting condcache: %v", err)
	}
	t.Cleanup(func() {
		_ = sv.Stop()
		if t.Failed() {
			for _, s := range []*localstack.Server{sv.Writer, sv.Reader} {
				if b, err := os.ReadFile(s.LogFile()); err == nil {
					lines := strings.Split(strings.TrimSpace(string(b)), "\n")
					t.Logf("last lines of %s:\n%s", s.LogFile(), strings.Join(lines[max(0, len(lines)-15):], "\n"))
				}
			}
		}
	})
	return &topology{stack: st, servers: sv, db: db}
}

// eventually polls cond every 100 ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
