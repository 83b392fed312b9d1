package faults

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
)

var binary string

func TestMain(m *testing.M) {
	testkit.Main(m, testkit.Options{Name: "faults", Build: true, BuildTags: []string{"faultinject"}}, func(_ context.Context, env *testkit.Env) error {
		binary = env.Binary
		return nil
	})
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
	st := testkit.StartStack(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
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

// poll waits for conditions every 100 ms: each check of this suite costs
// a request or a write.
const poll = testkit.Poller(100 * time.Millisecond)
