package faults

import (
	"context"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
)

const (
	replicaLookups = `condcache_lookups_total{source="replica"}`
	primaryLookups = `condcache_lookups_total{source="primary"}`
	replicaUsable  = `condcache_backend_usable{backend="replica1"}`
)

// uncachedOnReplica starts a stack with one replica and no cache, and a GT
// whose lookup at run 5 answers "before.root", once the reader reads it
// from the replica.
func uncachedOnReplica(t *testing.T) (tp *topology, f *fixture, reader string) {
	t.Helper()
	tp = start(t, localstack.Options{Replicas: 1}, localstack.ServerOptions{})
	f = newFixture(t, tp.servers.WriterURL)
	f.mustInsert(t, "before.root", 0)
	reader = tp.servers.ReaderURL
	poll.Eventually(t, 20*time.Second, "lookups read the replica", func() bool {
		_, _, _ = call("GET", f.lookupURL(reader, 5), nil)
		return metric(reader, replicaLookups) > 0
	})
	return tp, f, reader
}

// TestReplicaKilled: a replica killed under steady lookup load (no cache,
// so every lookup reads PostgreSQL) costs no failed lookup: reads caught on
// it are retried on the primary. Restarted, it is back in rotation by
// itself. Protection: the router's failover to the next backend
// (sql/replica Router.DoAt).
func TestReplicaKilled(t *testing.T) {
	tp, f, reader := uncachedOnReplica(t)

	load := startLoad(f.lookupURL(reader, 5), "before.root", 8, false)
	time.Sleep(time.Second)
	replica := tp.stack.Replicas[0]
	if err := replica.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := replica.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := metric(reader, replicaLookups)
	poll.Eventually(t, 30*time.Second, "the restarted replica serves lookups again", func() bool {
		return metric(reader, replicaLookups) > before+100
	})
	figures := load.stop()
	t.Logf("replica killed for 3 s under 8 lookup clients: %s", figures)
	figures.wantClean(t)
}

// TestSlowReplica: a replica frozen (SIGSTOP: connections open, nothing
// answers) for 6 s under lookup load. Reads caught on it give up after the
// attempt timeout (2 s) and go to the primary; the health check takes the
// replica out of rotation meanwhile, so p99 stays that of a normal lookup
// and no lookup waits for the replica to wake up. Protection: the
// per-attempt timeout on replicas (sql ReaderOptions.AttemptTimeout); with
// it removed, reads caught on the frozen replica wait the whole 6 s.
func TestSlowReplica(t *testing.T) {
	tp, f, reader := uncachedOnReplica(t)

	load := startLoad(f.lookupURL(reader, 5), "before.root", 8, false)
	time.Sleep(time.Second)
	replica := tp.stack.Replicas[0]
	primaryBefore := metric(reader, primaryLookups)
	if err := replica.Pause(); err != nil {
		t.Fatal(err)
	}
	const frozen = 6 * time.Second
	time.Sleep(frozen)
	primaryDuring := metric(reader, primaryLookups) - primaryBefore
	if err := replica.Resume(); err != nil {
		t.Fatal(err)
	}
	replicaBefore := metric(reader, replicaLookups)
	poll.Eventually(t, 30*time.Second, "the replica serves lookups again", func() bool {
		return metric(reader, replicaLookups) > replicaBefore+100
	})
	figures := load.stop()
	t.Logf("replica frozen for %v under 8 lookup clients: %s; %.0f lookups moved to the primary", frozen, figures, primaryDuring)
	figures.wantClean(t)
	if figures.Max >= frozen-time.Second {
		t.Errorf("a lookup took %v: it waited for the frozen replica", figures.Max)
	}
	if figures.P99 > time.Second {
		t.Errorf("p99 %v under a frozen replica, want under 1 s", figures.P99)
	}
	if primaryDuring < 100 {
		t.Errorf("only %.0f lookups went to the primary while the replica was frozen", primaryDuring)
	}
}
