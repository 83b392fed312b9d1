package cache_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/cache"
	"github.com/condcache/condcache/internal/testkit"
)

// Leases (docs/design.md "Leases") against a real Redis.

// leasedReader is a reader's cache holding a lease of ttl, with its
// metrics.
func leasedReader(t *testing.T, url string, ttl time.Duration) (*cache.Cache, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := open(t, url, cache.Options{Registerer: reg})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.RunLeases(ctx, ttl); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return c, reg
}

func leaseHits(reg *prometheus.Registry) float64 {
	n, _ := testutil.GatherAndCount(reg, "condcache_cache_lookups_total")
	if n == 0 {
		return 0
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "condcache_cache_lookups_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == "lease_hit" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// A confirmed copy is served without asking Redis once the lease is
// active: the hits keep coming with Redis paused (CLIENT PAUSE).
func TestLeaseServesWithoutRedis(t *testing.T) {
	url := freshDB(t)
	writer := open(t, url, cache.Options{Lease: time.Second})
	reader, reg := leasedReader(t, url, time.Second)
	gt := testkit.Uniq("lease")
	publish(t, writer, gt, 3)
	wantState(t, get(t, reader, gt, pt(1, 0)), condcache.CacheMiss, 3)
	if !fill(t, reader, gt, result(3, condcache.Point{}, condcache.Point{}), `["v3"]`) {
		t.Fatal("not stored")
	}
	testkit.Eventually(t, 5*time.Second, "a lease hit", func() bool {
		get(t, reader, gt, pt(1, 0))
		return leaseHits(reg) > 0
	})
	opts, _ := redis.ParseURL(url)
	admin := redis.NewClient(opts)
	defer admin.Close()
	if err := admin.Do(t.Context(), "CLIENT", "PAUSE", "300", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	began, before := time.Now(), leaseHits(reg)
	for range 100 {
		if got := get(t, reader, gt, pt(1, 0)); got.State != condcache.CacheHit || string(got.Body) != `["v3"]` {
			t.Fatalf("with Redis paused: %s %q", stateNames[got.State], got.Body)
		}
	}
	if took := time.Since(began); took > 200*time.Millisecond || leaseHits(reg)-before != 100 {
		t.Errorf("100 lookups with Redis paused took %v, %v of them lease hits", took, leaseHits(reg)-before)
	}
}

// Once a mark returned, no lookup gets the old copy: the writer waited
// for the reader's acknowledgement, and the reader dropped the copy
// first. Many rounds, with lookups racing the marks.
func TestLeaseMarkWaitsForReaders(t *testing.T) {
	url := freshDB(t)
	writer := open(t, url, cache.Options{Lease: time.Second})
	readers := make([]*cache.Cache, 3)
	regs := make([]*prometheus.Registry, 3)
	for i := range readers {
		readers[i], regs[i] = leasedReader(t, url, time.Second)
	}
	gt := testkit.Uniq("race")
	var current atomic.Int64 // the generation acknowledged last
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var stale atomic.Int64
	for _, r := range readers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				acked := current.Load()
				got, err := r.GetLookup(context.Background(), gt, pt(1, 0), false)
				if err != nil {
					continue
				}
				switch got.State {
				case condcache.CacheHit:
					if got.Generation < acked {
						stale.Add(1)
					}
				case condcache.CacheMiss:
					// The reader reads the database and fills: here the
					// body names the generation Redis said.
					res := result(got.Generation, condcache.Point{}, condcache.Point{})
					_, _ = r.FillLookup(context.Background(), gt, false, res, []byte(`["v"]`))
				}
			}
		})
	}
	for gen := int64(1); gen <= 200; gen++ {
		mark(t, writer, gt, gen)
		publish(t, writer, gt, gen)
		current.Store(gen)
		time.Sleep(time.Duration(gen%5) * time.Millisecond) // let copies be confirmed again
	}
	close(stop)
	wg.Wait()
	if n := stale.Load(); n > 0 {
		t.Errorf("%d lookups got a generation older than one acknowledged before they began", n)
	}
	var hits float64
	for _, reg := range regs {
		hits += leaseHits(reg)
	}
	if hits == 0 {
		t.Error("no lease hit at all: the test did not exercise leases")
	}
}

// A lease nobody acknowledges for (a paused or partitioned reader) holds a
// write at most its ttl, then the write goes on; the timeout is counted.
func TestLeaseUnansweredIsWaitedOut(t *testing.T) {
	url := freshDB(t)
	reg := prometheus.NewRegistry()
	writer := open(t, url, cache.Options{Lease: 400 * time.Millisecond, Registerer: reg})
	gt := testkit.Uniq("paused")
	mark(t, writer, gt, 1) // past the young registry
	opts, _ := redis.ParseURL(url)
	admin := redis.NewClient(opts)
	defer admin.Close()
	// A reader that registered a 400 ms lease and then stopped.
	if err := admin.Set(t.Context(), "cc:lease:ghost", 400, 400*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	admin.SAdd(t.Context(), "cc:leases", "ghost")
	began := time.Now()
	mark(t, writer, gt, 2)
	if took := time.Since(began); took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("the write waited %v for an unanswered 400 ms lease", took)
	}
	if n := testutil.ToFloat64(timeouts(t, reg)); n != 1 {
		t.Errorf("lease timeouts counted: %v, want 1", n)
	}
	// Expired: forgotten, the next write does not wait.
	began = time.Now()
	mark(t, writer, gt, 3)
	if took := time.Since(began); took > 200*time.Millisecond {
		t.Errorf("a write after the lease expired waited %v", took)
	}
}

func timeouts(t *testing.T, reg *prometheus.Registry) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
	for _, mf := range mfs {
		if mf.GetName() == "condcache_cache_lease_timeouts_total" {
			c.Add(mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	return c
}

// After Redis lost everything (a restart), the first writes wait out the
// lease ttl: readers that have not noticed may still hold leases the new
// Redis knows nothing of.
func TestLeaseRegistryYoungAfterRestart(t *testing.T) {
	url := freshDB(t)
	writer := open(t, url, cache.Options{Lease: 300 * time.Millisecond})
	gt := testkit.Uniq("young")
	mark(t, writer, gt, 1)
	began := time.Now()
	mark(t, writer, gt, 2)
	if took := time.Since(began); took > 200*time.Millisecond {
		t.Errorf("a write on an old registry waited %v", took)
	}
	restartRedis(t, url)
	began = time.Now()
	_ = writer.Mark(t.Context(), []condcache.Invalidation{{GlobalTag: gt, Generation: 3}})
	if took := time.Since(began); took < 250*time.Millisecond {
		t.Errorf("the first write after a restart waited %v, want the 300 ms lease ttl", took)
	}
}

// After Redis lost everything with the reader's subscription standing (a
// FLUSHDB, or a restart behind a proxy that kept the connection), the
// notice counter starts again below what the reader processed. The reader
// must count from the new counter: else its acknowledgements (the old,
// higher number) never reach the new Redis, every write waits out its
// lease, and its lease activates without its having handled the new
// counter's notices. Once the young registry is waited out, writes are
// acknowledged by the reader (no lease timeout), it serves under its lease
// again, and no mark returns while the reader still serves the copy it
// replaced.
func TestLeaseAfterCounterRestart(t *testing.T) {
	url := freshDB(t)
	const ttl = 300 * time.Millisecond
	reg := prometheus.NewRegistry()
	writer := open(t, url, cache.Options{Lease: ttl, Registerer: reg})
	reader, readerReg := leasedReader(t, url, ttl)
	gt := testkit.Uniq("recount")
	servedUnderLease := func(gen int64) {
		t.Helper()
		publish(t, writer, gt, gen)
		wantState(t, get(t, reader, gt, pt(1, 0)), condcache.CacheMiss, gen)
		if !fill(t, reader, gt, result(gen, condcache.Point{}, condcache.Point{}), `["v"]`) {
			t.Fatalf("generation %d not stored", gen)
		}
		before := leaseHits(readerReg)
		testkit.Eventually(t, 5*time.Second, "a lease hit", func() bool {
			get(t, reader, gt, pt(1, 0))
			return leaseHits(readerReg) > before
		})
	}
	gen := int64(1)
	for ; gen <= 20; gen++ { // the counter well above what the new Redis will count soon
		mark(t, writer, gt, gen)
		publish(t, writer, gt, gen)
	}
	servedUnderLease(gen)
	restartRedis(t, url)
	if err := writer.Resync(t.Context(), noGenerations); err != nil {
		t.Fatal(err)
	}
	gen++
	mark(t, writer, gt, gen) // waits out the young registry
	publish(t, writer, gt, gen)
	servedUnderLease(gen)
	before := testutil.ToFloat64(timeouts(t, reg))
	for range 5 {
		gen++
		mark(t, writer, gt, gen)
		if got := get(t, reader, gt, pt(1, 0)); got.State == condcache.CacheHit {
			t.Fatalf("after the mark of generation %d returned, the reader served generation %d", gen, got.Generation)
		}
		publish(t, writer, gt, gen)
		servedUnderLease(gen)
	}
	if n := testutil.ToFloat64(timeouts(t, reg)) - before; n != 0 {
		t.Errorf("%v of 5 writes after the restart waited out the reader's lease: its acknowledgements did not count", n)
	}
}
