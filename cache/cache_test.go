package cache_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/cache"
	"github.com/condcache/condcache/internal/testkit"
)

// These tests drive the cache's Redis scripts against a real Redis: each
// guard of the freshness contract (docs/design.md "Freshness contract") that lives in Redis has a test
// here that fails when the guard is taken out of the script.

// open returns a cache on url whose generations are in sync (epoch set), as
// after a relay's first resync.
func open(t *testing.T, url string, o cache.Options) *cache.Cache {
	t.Helper()
	o.URL = url
	if o.Lease == 0 {
		// A fresh Redis database has a young lease registry, which the
		// first write waits out: keep that short where leases are not
		// what is tested.
		o.Lease = 50 * time.Millisecond
	}
	c, err := cache.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Resync(t.Context(), noGenerations); err != nil {
		t.Fatal(err)
	}
	return c
}

func noGenerations(context.Context) ([]condcache.Invalidation, error) { return nil, nil }

func sharedURL() string { return redisServer.URL(0) }

// result is a lookup answer of generation gen valid on [from, until);
// a zero Point for either end means "unbounded".
func result(gen int64, from, until condcache.Point) *condcache.LookupResult {
	r := &condcache.LookupResult{Found: true, Status: "unlocked", Generation: gen}
	r.Window.From, r.Window.Until = condcache.MinCombKey, condcache.MaxCombKey
	if from != (condcache.Point{}) {
		r.Window.From, r.Window.FromPoint, r.Window.HasFrom = from.CombKey(), from, true
	}
	if until != (condcache.Point{}) {
		r.Window.Until, r.Window.UntilPoint, r.Window.HasUntil = until.CombKey(), until, true
	}
	return r
}

func pt(major, minor int64) condcache.Point { return condcache.Point{Major: major, Minor: minor} }

func publish(t *testing.T, c *cache.Cache, gt string, gen int64) {
	t.Helper()
	if err := c.Publish(t.Context(), []condcache.Invalidation{{GlobalTag: gt, Generation: gen}}); err != nil {
		t.Fatal(err)
	}
}

func mark(t *testing.T, c *cache.Cache, gt string, gen int64) {
	t.Helper()
	if err := c.Mark(t.Context(), []condcache.Invalidation{{GlobalTag: gt, Generation: gen}}); err != nil {
		t.Fatal(err)
	}
}

func fill(t *testing.T, c *cache.Cache, gt string, res *condcache.LookupResult, body string) bool {
	t.Helper()
	stored, err := c.FillLookup(t.Context(), gt, false, res, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func get(t *testing.T, c *cache.Cache, gt string, at condcache.Point) condcache.CachedLookup {
	t.Helper()
	got, err := c.GetLookup(t.Context(), gt, at, false)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

var stateNames = map[condcache.CacheState]string{condcache.CacheUnknown: "unknown",
	condcache.CachePending: "pending", condcache.CacheMiss: "miss", condcache.CacheHit: "hit"}

// wantState checks the state and generation of a get.
func wantState(t *testing.T, got condcache.CachedLookup, state condcache.CacheState, gen int64) {
	t.Helper()
	if got.State != state || (state >= condcache.CacheMiss && got.Generation != gen) {
		t.Fatalf("got %s at generation %d, want %s at %d", stateNames[got.State], got.Generation, stateNames[state], gen)
	}
}

// One entry serves every point of its window, and no point outside it.
func TestEntryServesItsWindow(t *testing.T) {
	c := open(t, sharedURL(), cache.Options{})
	gt := testkit.Uniq("window")
	publish(t, c, gt, 5)
	wantState(t, get(t, c, gt, pt(15, 0)), condcache.CacheMiss, 5)
	if !fill(t, c, gt, result(5, pt(10, 0), pt(20, 0)), `["A"]`) {
		t.Fatal("fill at the published generation was not stored")
	}
	// A neighbouring window, and an open-ended one after it.
	if !fill(t, c, gt, result(5, pt(20, 0), pt(30, 7)), `["B"]`) || !fill(t, c, gt, result(5, pt(40, 0), condcache.Point{}), `["C"]`) {
		t.Fatal("fill not stored")
	}
	for _, tc := range []struct {
		at   condcache.Point
		body string // "" = miss
	}{
		{pt(9, 1<<62), ""},
		{pt(10, 0), `["A"]`},
		{pt(15, 3), `["A"]`},
		{pt(19, 1<<62), `["A"]`},
		{pt(20, 0), `["B"]`},
		{pt(30, 6), `["B"]`},
		{pt(30, 7), ""}, // the until point belongs to the next window
		{pt(35, 0), ""},
		{pt(40, 0), `["C"]`},
		{pt(1<<62, 1<<62), `["C"]`},
	} {
		got := get(t, c, gt, tc.at)
		switch {
		case tc.body == "":
			wantState(t, got, condcache.CacheMiss, 5)
		case got.State != condcache.CacheHit || string(got.Body) != tc.body || got.Generation != 5:
			t.Errorf("at %v: %s %q (gen %d), want hit %q", tc.at, stateNames[got.State], got.Body, got.Generation, tc.body)
		}
	}
	got := get(t, c, gt, pt(15, 0))
	if got.Status != "unlocked" || !got.Window.HasFrom || got.Window.FromPoint != pt(10, 0) || got.Window.UntilPoint != pt(20, 0) {
		t.Errorf("entry metadata: status %q window %+v", got.Status, got.Window)
	}
	// The other shape has entries of its own.
	if dict, err := c.GetLookup(t.Context(), gt, pt(15, 0), true); err != nil || dict.State != condcache.CacheMiss {
		t.Errorf("dict shape at a point cached for rows: %v, %v", stateNames[dict.State], err)
	}
}

// Freshness point 2: an answer computed at an older generation than Redis
// now holds is never stored (the fill is a compare-and-set), nor one from a
// generation Redis has not been told of yet.
func TestFillOnlyAtThePublishedGeneration(t *testing.T) {
	c := open(t, sharedURL(), cache.Options{})
	gt := testkit.Uniq("cas")
	publish(t, c, gt, 5)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheMiss, 5)
	// A write lands between the reader's get and its fill.
	publish(t, c, gt, 6)
	if fill(t, c, gt, result(5, condcache.Point{}, condcache.Point{}), `["old"]`) {
		t.Fatal("an answer of generation 5 was stored after generation 6 was published")
	}
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheMiss, 6)
	if fill(t, c, gt, result(7, condcache.Point{}, condcache.Point{}), `["ahead"]`) {
		t.Fatal("an answer of generation 7 was stored while Redis holds 6")
	}
	// Publishing an older generation changes nothing.
	publish(t, c, gt, 4)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheMiss, 6)
	if !fill(t, c, gt, result(6, condcache.Point{}, condcache.Point{}), `["new"]`) {
		t.Fatal("fill at the published generation not stored")
	}
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheHit, 6)
	// A new generation drops the entries.
	publish(t, c, gt, 8)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheMiss, 8)
}

// Freshness points 1 and 3: a write's mark, set before it commits, drops the
// GT's entries and keeps it uncacheable until the write's generation is
// published, so a publish lost after commit cannot leave old answers served.
func TestMarkKeepsGTUncacheableUntilPublished(t *testing.T) {
	c := open(t, sharedURL(), cache.Options{})
	gt := testkit.Uniq("mark")
	publish(t, c, gt, 5)
	if !fill(t, c, gt, result(5, condcache.Point{}, condcache.Point{}), `["old"]`) {
		t.Fatal("fill not stored")
	}
	mark(t, c, gt, 6)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CachePending, 0)
	for _, gen := range []int64{5, 6} {
		if fill(t, c, gt, result(gen, condcache.Point{}, condcache.Point{}), `["x"]`) {
			t.Fatalf("fill at generation %d stored while a write to the GT is pending", gen)
		}
	}
	// A later publish of an older write does not clear the mark.
	publish(t, c, gt, 5)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CachePending, 0)
	publish(t, c, gt, 6)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheMiss, 6)
	if !fill(t, c, gt, result(6, condcache.Point{}, condcache.Point{}), `["new"]`) {
		t.Fatal("fill after the publish not stored")
	}
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheHit, 6)
}

// A mark whose publish never comes (the write rolled back, or its writer
// died) stops blocking the cache after MarkTTL. (Redis expires the mark on
// its own clock: how soon after MarkTTL is logged, not bounded.)
func TestMarkExpires(t *testing.T) {
	const markTTL = 300 * time.Millisecond
	c := open(t, sharedURL(), cache.Options{MarkTTL: markTTL})
	gt := testkit.Uniq("expire")
	publish(t, c, gt, 5)
	mark(t, c, gt, 6)
	marked := time.Now()
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CachePending, 0)
	time.Sleep(markTTL)
	testkit.Eventually(t, 30*time.Second, "the mark expired", func() bool {
		return get(t, c, gt, pt(1, 0)).State != condcache.CachePending
	})
	t.Logf("the mark stopped blocking %v after it was set (MarkTTL %v)", time.Since(marked).Round(time.Millisecond), markTTL)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheMiss, 5)
}

// Freshness point 3: a Redis that restarted empty knows no generations, so
// it answers "unknown" (not "miss at generation 0") and refuses publishes
// until a resync has read every generation afresh; a restart during the
// resync voids it.
func TestRestartedRedisIsUnknownUntilResync(t *testing.T) {
	url := freshDB(t)
	c := open(t, url, cache.Options{})
	gt := testkit.Uniq("restart")
	publish(t, c, gt, 5)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheMiss, 5)

	restart := func() { restartRedis(t, url) }
	restart()
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheUnknown, 0)
	if err := c.Publish(t.Context(), []condcache.Invalidation{{GlobalTag: gt, Generation: 6}}); err == nil {
		t.Fatal("a restarted Redis took a publish before any resync")
	}
	if ok, err := c.Synced(t.Context()); err != nil || ok {
		t.Fatalf("Synced after a restart = %v, %v", ok, err)
	}

	// Redis restarts again while the resync reads the database: what a
	// write published meanwhile is lost, so the resync must not vouch for
	// anything, whether it then has generations to publish or not.
	for _, read := range [][]condcache.Invalidation{{{GlobalTag: gt, Generation: 6}}, nil} {
		err := c.Resync(t.Context(), func(context.Context) ([]condcache.Invalidation, error) {
			restart()
			return read, nil
		})
		if err == nil {
			t.Fatalf("a resync interrupted by a restart (%d generations read) reported success", len(read))
		}
		wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheUnknown, 0)
	}

	err := c.Resync(t.Context(), func(context.Context) ([]condcache.Invalidation, error) {
		return []condcache.Invalidation{{GlobalTag: gt, Generation: 6}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheMiss, 6)
}

// Freshness point 5: with Redis gone, calls fail within the timeout, and
// after a few failures the breaker fails them at once.
func TestBreakerKeepsDeadRedisOut(t *testing.T) {
	port := testkit.FreePort(t) // nothing listens there
	c, err := cache.New(cache.Options{URL: "redis://127.0.0.1:" + strconv.Itoa(port), OpenFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var errs []error
	for range 5 {
		_, err := c.GetLookup(t.Context(), "gt", pt(1, 0), false)
		if err == nil {
			t.Fatal("a lookup against a dead Redis did not fail")
		}
		errs = append(errs, err)
	}
	if errors.Is(errs[0], gobreaker.ErrOpenState) {
		t.Errorf("the first failure already came from an open breaker: %v", errs[0])
	}
	if !errors.Is(errs[4], gobreaker.ErrOpenState) {
		t.Errorf("after five failures the breaker is not open: %v", errs[4])
	}
}

// The reader's tight timeout bounds lookups only: the writer's marks and
// publishes (and resyncs) get the longer write timeout, so a loaded Redis
// slows writes down instead of refusing them.
func TestWritesNotBoundByLookupTimeout(t *testing.T) {
	c := open(t, sharedURL(), cache.Options{Timeout: time.Microsecond}) // open resyncs
	gt := testkit.Uniq("timeouts")
	mark(t, c, gt, 5)
	publish(t, c, gt, 5)
	if _, err := c.GetLookup(t.Context(), gt, pt(1, 0), false); err == nil {
		t.Error("a lookup read finished within 1 µs: the lookup timeout no longer applies")
	}
}

// A reader's local copy of an answer is served only while Redis says its
// generation is current with no write pending; a publish, a mark or a
// Redis restart takes it out of service at once.
func TestLocalCopyFollowsRedis(t *testing.T) {
	url := freshDB(t)
	c := open(t, url, cache.Options{})
	gt := testkit.Uniq("local")
	publish(t, c, gt, 5)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheMiss, 5)
	if !fill(t, c, gt, result(5, condcache.Point{}, condcache.Point{}), `["v5"]`) {
		t.Fatal("not stored")
	}
	for range 3 {
		if got := get(t, c, gt, pt(1, 0)); got.State != condcache.CacheHit || string(got.Body) != `["v5"]` {
			t.Fatalf("hit: %s %q", stateNames[got.State], got.Body)
		}
	}
	publish(t, c, gt, 6)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheMiss, 6)
	if !fill(t, c, gt, result(6, condcache.Point{}, condcache.Point{}), `["v6"]`) {
		t.Fatal("not stored")
	}
	mark(t, c, gt, 7)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CachePending, 0)
	publish(t, c, gt, 7)
	if !fill(t, c, gt, result(7, condcache.Point{}, condcache.Point{}), `["v7"]`) {
		t.Fatal("not stored")
	}
	restartRedis(t, url)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheUnknown, 0)
}

// Lookups racing writes: a lookup that starts after a publish returned
// never gets an answer of an older generation, from Redis or from a local
// copy (the shared generation check must have begun after it arrived).
func TestLocalCopyNeverOlderThanPublished(t *testing.T) {
	reader := open(t, sharedURL(), cache.Options{})
	writer := open(t, sharedURL(), cache.Options{})
	gt := testkit.Uniq("race")
	var published atomic.Int64
	publish(t, writer, gt, 1)
	published.Store(1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	var bad atomic.Int64
	var hits atomic.Int64
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				before := published.Load()
				got, err := reader.GetLookup(ctx, gt, pt(1, 0), false)
				if err != nil {
					continue
				}
				switch got.State {
				case condcache.CacheHit:
					hits.Add(1)
					if got.Generation < before {
						bad.Add(1)
					}
				case condcache.CacheMiss:
					if got.Generation < before {
						bad.Add(1)
					}
					res := result(got.Generation, condcache.Point{}, condcache.Point{})
					_, _ = reader.FillLookup(ctx, gt, false, res, []byte(strconv.FormatInt(got.Generation, 10)))
				}
			}
		})
	}
	for g := int64(2); g <= 200; g++ {
		time.Sleep(time.Millisecond)
		publish(t, writer, gt, g)
		published.Store(g)
	}
	cancel()
	wg.Wait()
	if bad.Load() > 0 {
		t.Errorf("%d lookups got a generation older than one published before they began", bad.Load())
	}
	if hits.Load() == 0 {
		t.Error("no hits at all: the race was not exercised")
	}
	t.Logf("%d hits", hits.Load())
}

// A write whose publish never arrives leaves its mark to expire; the
// generation is then unchanged, but the mark deleted the GT's entries, and
// a reader's copies from before it must not come back either.
func TestLocalCopyGoneAfterAnExpiredMark(t *testing.T) {
	c := open(t, sharedURL(), cache.Options{MarkTTL: 200 * time.Millisecond})
	gt := testkit.Uniq("expired")
	publish(t, c, gt, 5)
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheMiss, 5)
	if !fill(t, c, gt, result(5, condcache.Point{}, condcache.Point{}), `["before the write"]`) {
		t.Fatal("not stored")
	}
	wantState(t, get(t, c, gt, pt(1, 0)), condcache.CacheHit, 5)
	mark(t, c, gt, 6) // committed, but its publish is lost
	time.Sleep(200 * time.Millisecond)
	testkit.Eventually(t, 30*time.Second, "the mark expired", func() bool {
		return get(t, c, gt, pt(1, 0)).State != condcache.CachePending
	})
	if got := get(t, c, gt, pt(1, 0)); got.State == condcache.CacheHit {
		t.Fatalf("after the mark expired, the copy from before the write is served: %q", got.Body)
	}
}
