package faults

import (
	"context"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
)

const redisLookups = `condcache_lookups_total{source="redis"}`

// TestRedisAndReplicaDown: Redis and the replica killed together under
// lookup load of a cached GT. Lookups go to the primary with no failure
// and no stale answer (a write made before the outage must show); once
// both are back, the cache serves hits and the replica reads again, with
// no manual step. Protections: the cache's circuit breaker and fallback to
// the database, and the router's failover.
func TestRedisAndReplicaDown(t *testing.T) {
	tp := start(t, localstack.Options{Replicas: 1, Redis: true}, localstack.ServerOptions{})
	reader := tp.servers.ReaderURL
	f := newFixture(t, tp.servers.WriterURL)
	f.mustInsert(t, "old.root", 0)
	f.mustInsert(t, "new.root", 3) // the answer at run 5
	poll.Eventually(t, 20*time.Second, "lookups are cache hits", func() bool {
		_, _, _ = call("GET", f.lookupURL(reader, 5), nil)
		return metric(reader, redisLookups) > 0
	})
	load := startLoad(f.lookupURL(reader, 5), "new.root", 8, false)
	time.Sleep(time.Second)
	if err := tp.stack.Redis.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := tp.stack.Replicas[0].Kill(); err != nil {
		t.Fatal(err)
	}
	primaryBefore := metric(reader, primaryLookups)
	time.Sleep(3 * time.Second)
	primaryDuring := metric(reader, primaryLookups) - primaryBefore
	if err := tp.stack.Redis.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tp.stack.Replicas[0].Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hits, fromReplica := metric(reader, redisLookups), metric(reader, replicaLookups)
	poll.Eventually(t, 30*time.Second, "cache hits resume after Redis restarted", func() bool {
		return metric(reader, redisLookups) > hits+100
	})
	// Every run shares the hot lookup's cached answer, so the replica is
	// checked by invalidating it: each write (later runs, the answer at run
	// 5 stays) makes the next lookups miss and read the database.
	later := int64(1000)
	poll.Eventually(t, 30*time.Second, "the replica serves again", func() bool {
		later++
		f.mustInsert(t, testkit.Uniq("later")+".root", later)
		time.Sleep(50 * time.Millisecond)
		return metric(reader, replicaLookups) > fromReplica
	})
	figures := load.stop()
	t.Logf("Redis and the replica killed for 3 s under 8 lookup clients: %s; %.0f lookups answered by the primary meanwhile", figures, primaryDuring)
	figures.wantClean(t)
	if primaryDuring < 100 {
		t.Errorf("only %.0f lookups reached the primary during the outage", primaryDuring)
	}
}

// TestReaderRestart: a reader stopped (SIGTERM) and started again under
// lookup load. Clients see refused connections while it is down, which
// they retry, and nothing else: every request the reader accepted was
// answered, and right. Protection: the graceful drain (fasthttp Shutdown
// bounded by -drain); a reader killed outright instead cuts requests in
// flight (the test then sees failed lookups).
func TestReaderRestart(t *testing.T) {
	tp := start(t, localstack.Options{Replicas: 1, Redis: true}, localstack.ServerOptions{})
	reader := tp.servers.ReaderURL
	f := newFixture(t, tp.servers.WriterURL)
	f.mustInsert(t, "before.root", 0)
	load := startLoad(f.lookupURL(reader, 5), "before.root", 8, true)
	time.Sleep(time.Second)
	for range 2 {
		if err := tp.servers.Reader.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := tp.servers.Reader.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
	}
	figures := load.stop()
	t.Logf("reader restarted twice under 8 lookup clients: %s", figures)
	figures.wantClean(t)
	if figures.Retries == 0 {
		t.Errorf("no client saw the reader down: the test restarted nothing")
	}
}
