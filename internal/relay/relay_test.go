package relay_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/relay"
	"github.com/condcache/condcache/internal/testkit"
)

// The relay against fakes of the outbox (sql.Outbox) and the cache
// (cache.Cache), in synctest bubbles: its poll interval and retries run on
// the fake clock, and synctest.Wait says when it has nothing left to do.
// The real outbox and Redis are covered by the sql, cache and e2e tests.

// journal is the order in which the fakes were changed, across both.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, fmt.Sprintf(format, args...))
}

// take returns the events since the last take.
func (j *journal) take() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	ev := j.events
	j.events = nil
	return ev
}

func list(invs []condcache.Invalidation) string {
	var b strings.Builder
	for i, inv := range invs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", cmpOr(inv.GlobalTag, "*"), inv.Generation)
	}
	return b.String()
}

func cmpOr(s, or string) string {
	if s == "" {
		return or
	}
	return s
}

// fakeOutbox is the outbox: rows queued, in the order Pending returns them
// (the real one's SQL picks the newest generation of a GT and keeps every
// all-scope row); Delivered deletes what was published, as the real one's
// DELETE does.
type fakeOutbox struct {
	j *journal

	mu           sync.Mutex
	queue        []condcache.Invalidation
	generations  []condcache.Invalidation
	passes       int   // calls of Pending
	deliveredErr error // the next Delivered fails with it
	listens      int   // calls of Listen
	listening    int   // Listen calls not returned yet

	notify chan struct{} // a NOTIFY
	drop   chan error    // the LISTEN connection fails
}

func newOutbox(j *journal) *fakeOutbox {
	return &fakeOutbox{j: j, notify: make(chan struct{}), drop: make(chan error)}
}

func (o *fakeOutbox) enqueue(invs ...condcache.Invalidation) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.queue = append(o.queue, invs...)
}

func (o *fakeOutbox) queued() []condcache.Invalidation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.queue)
}

func (o *fakeOutbox) Pending(context.Context) ([]condcache.Invalidation, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.passes++
	return slices.Clone(o.queue), nil
}

func (o *fakeOutbox) Generations(context.Context) ([]condcache.Invalidation, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.generations), nil
}

func (o *fakeOutbox) Delivered(_ context.Context, invs []condcache.Invalidation) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.deliveredErr; err != nil {
		o.deliveredErr = nil
		o.j.add("delivered failed")
		return err
	}
	o.j.add("delivered %s", list(invs))
	o.queue = slices.DeleteFunc(o.queue, func(q condcache.Invalidation) bool {
		return slices.ContainsFunc(invs, func(p condcache.Invalidation) bool {
			return q.GlobalTag == p.GlobalTag && (q.Generation == p.Generation || p.GlobalTag != "" && q.Generation < p.Generation)
		})
	})
	return nil
}

func (o *fakeOutbox) Listen(ctx context.Context, wake func()) error {
	o.mu.Lock()
	o.listens++
	o.listening++
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.listening--
		o.mu.Unlock()
	}()
	wake() // anything queued before LISTEN, as the real one
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-o.drop:
			return err
		case <-o.notify:
			wake()
		}
	}
}

func (o *fakeOutbox) counts() (passes, listens, listening int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.passes, o.listens, o.listening
}

// fakeCache is Redis: it takes publishes unless told to fail, and may have
// lost its state (not synced) until a resync.
type fakeCache struct {
	j *journal

	mu          sync.Mutex
	synced      bool
	publishErrs int           // this many next publishes fail
	resyncErr   error         // the next resync fails with it
	block       chan struct{} // non-nil: Publish waits for it or ctx
}

func (c *fakeCache) Publish(ctx context.Context, invs []condcache.Invalidation) error {
	c.mu.Lock()
	block := c.block
	c.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			c.j.add("publish cancelled")
			return ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.publishErrs > 0 {
		c.publishErrs--
		c.j.add("publish failed")
		return errors.New("redis: connection refused")
	}
	c.j.add("publish %s", list(invs))
	return nil
}

func (c *fakeCache) Synced(context.Context) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.synced, nil
}

func (c *fakeCache) Resync(ctx context.Context, generations func(context.Context) ([]condcache.Invalidation, error)) error {
	c.mu.Lock()
	err := c.resyncErr
	c.resyncErr = nil
	c.mu.Unlock()
	if err != nil {
		c.j.add("resync failed")
		return err
	}
	invs, err := generations(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.synced = true
	c.j.add("resync %s", list(invs))
	return nil
}

func (c *fakeCache) set(f func(c *fakeCache)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

// env is a relay running on the fakes.
type env struct {
	t      *testing.T
	j      *journal
	outbox *fakeOutbox
	cache  *fakeCache // nil: a relay without a cache
	relay  *relay.Relay
	reg    *prometheus.Registry
	logs   *testkit.Buffer
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
}

// newEnv returns a relay on the fakes, not yet running; withCache false
// gives it no cache.
func newEnv(t *testing.T, withCache bool) *env {
	j := &journal{}
	e := &env{t: t, j: j, outbox: newOutbox(j), reg: prometheus.NewRegistry(), logs: &testkit.Buffer{}}
	var c relay.Cache
	if withCache {
		e.cache = &fakeCache{j: j, synced: true}
		c = e.cache
	}
	e.relay = relay.New(e.outbox, c, slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), e.reg)
	return e
}

// run starts the relay; it is stopped when the test ends.
func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func() {
		e.relay.Run(ctx)
		close(e.done)
	}()
	e.t.Cleanup(e.stop)
	synctest.Wait()
}

// stop cancels Run's context and waits until Run has returned.
func (e *env) stop() {
	e.cancel()
	<-e.done
}

// wantEvents checks what the fakes were told since the last check.
func (e *env) wantEvents(what string, want ...string) {
	e.t.Helper()
	if got := e.j.take(); !slices.Equal(got, want) {
		e.t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// pending is the condcache_invalidations_pending gauge.
func (e *env) pending() float64 {
	e.t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "condcache_invalidations_pending" {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	e.t.Fatal("no condcache_invalidations_pending")
	return 0
}

func inv(gt string, gen int64) condcache.Invalidation {
	return condcache.Invalidation{GlobalTag: gt, Generation: gen}
}

// TestDeliversTheOutbox: what is queued when the relay starts is published
// and then cleared, as one batch in the outbox's order, all-scope rows
// each on its own: the relay neither merges nor reorders what the outbox
// hands it.
func TestDeliversTheOutbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		e.outbox.enqueue(inv("A", 3), inv("B", 7), inv("", 4), inv("", 5))
		e.run()
		e.wantEvents("first pass", "publish A=3 B=7 *=4 *=5", "delivered A=3 B=7 *=4 *=5")
		if q := e.outbox.queued(); len(q) != 0 {
			t.Errorf("left in the outbox: %v", q)
		}
		if p := e.pending(); p != 0 {
			t.Errorf("pending gauge %v after delivery", p)
		}
		// An empty outbox publishes nothing.
		time.Sleep(10 * relay.DefaultInterval)
		synctest.Wait()
		e.wantEvents("idle passes")
	})
}

// TestNotifyWakesAtOnce: a NOTIFY starts a pass at once; without one, the
// poll finds the row within DefaultInterval (a NOTIFY is lost while the
// listening connection is down).
func TestNotifyWakesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		e.run()
		e.wantEvents("empty outbox")

		e.outbox.enqueue(inv("A", 1))
		e.outbox.notify <- struct{}{}
		synctest.Wait()
		e.wantEvents("right after the NOTIFY", "publish A=1", "delivered A=1")

		// A row queued without a NOTIFY waits for the next tick.
		e.outbox.enqueue(inv("B", 2))
		time.Sleep(relay.DefaultInterval / 2)
		synctest.Wait()
		e.wantEvents("before the tick")
		time.Sleep(relay.DefaultInterval / 2)
		synctest.Wait()
		e.wantEvents("at the tick", "publish B=2", "delivered B=2")

		// Kick, as the writer does when its own publish failed.
		e.outbox.enqueue(inv("C", 3))
		e.relay.Kick()
		synctest.Wait()
		e.wantEvents("after Kick", "publish C=3", "delivered C=3")
	})
}

// TestRetriesAFailedPublish: when Redis refuses the batch, nothing is
// cleared from the outbox, the gauge says how much waits, one warning is
// logged however long it lasts, and the next passes publish it again until
// one succeeds, which is logged once too.
func TestRetriesAFailedPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		e.run()
		e.cache.set(func(c *fakeCache) { c.publishErrs = 3 })
		e.outbox.enqueue(inv("A", 1), inv("B", 2))
		time.Sleep(relay.DefaultInterval)
		synctest.Wait()
		e.wantEvents("first pass", "publish failed")
		if q := e.outbox.queued(); len(q) != 2 {
			t.Errorf("the outbox after a failed publish: %v", q)
		}
		if p := e.pending(); p != 2 {
			t.Errorf("pending gauge %v, want 2", p)
		}
		for i := range 2 {
			time.Sleep(relay.DefaultInterval)
			synctest.Wait()
			e.wantEvents(fmt.Sprintf("retry %d", i+1), "publish failed")
		}
		time.Sleep(relay.DefaultInterval)
		synctest.Wait()
		e.wantEvents("third retry", "publish A=1 B=2", "delivered A=1 B=2")
		if p := e.pending(); p != 0 {
			t.Errorf("pending gauge %v after delivery", p)
		}
		logs := e.logs.String()
		if n := strings.Count(logs, "will retry"); n != 1 {
			t.Errorf("%d warnings for one outage:\n%s", n, logs)
		}
		if n := strings.Count(logs, "delivering again"); n != 1 {
			t.Errorf("%d recoveries logged:\n%s", n, logs)
		}
	})
}

// TestRepublishesWhenClearingFails: a batch published but not cleared (the
// database failed after Redis took it) is published again: delivery is at
// least once, never lost; publishing a generation twice is harmless.
func TestRepublishesWhenClearingFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		e.run()
		e.outbox.mu.Lock()
		e.outbox.deliveredErr = errors.New("primary gone")
		e.outbox.mu.Unlock()
		e.outbox.enqueue(inv("A", 1))
		time.Sleep(relay.DefaultInterval)
		synctest.Wait()
		e.wantEvents("first pass", "publish A=1", "delivered failed")
		time.Sleep(relay.DefaultInterval)
		synctest.Wait()
		e.wantEvents("next pass", "publish A=1", "delivered A=1")
	})
}

// TestResyncsARestartedRedis: a Redis that lost its state (not synced) is
// rebuilt from the outbox's generations before anything is published; a
// failed resync publishes nothing and is tried again at the next pass.
func TestResyncsARestartedRedis(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		e.outbox.generations = []condcache.Invalidation{inv("A", 9), inv("B", 4)}
		e.run()
		e.cache.set(func(c *fakeCache) { c.synced, c.resyncErr = false, errors.New("redis: LOADING") })
		e.outbox.enqueue(inv("A", 9))
		time.Sleep(relay.DefaultInterval)
		synctest.Wait()
		e.wantEvents("first pass, resync failed", "resync failed")
		time.Sleep(relay.DefaultInterval)
		synctest.Wait()
		e.wantEvents("next pass", "resync A=9 B=4", "publish A=9", "delivered A=9")
		if !strings.Contains(e.logs.String(), "Redis resynchronised") {
			t.Errorf("the resync is not logged:\n%s", e.logs.String())
		}

		// Redis restarts empty again: the next pass (here woken by a
		// NOTIFY) resyncs first.
		e.cache.set(func(c *fakeCache) { c.synced = false })
		e.outbox.enqueue(inv("B", 5))
		e.outbox.notify <- struct{}{}
		synctest.Wait()
		e.wantEvents("after the second restart", "resync A=9 B=4", "publish B=5", "delivered B=5")
	})
}

// TestWithoutACacheEmptiesTheOutbox: a writer without Redis only clears
// the outbox, so that it does not grow.
func TestWithoutACacheEmptiesTheOutbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, false)
		e.outbox.enqueue(inv("A", 1), inv("", 2))
		e.run()
		e.wantEvents("first pass", "delivered A=1 *=2")
		if q := e.outbox.queued(); len(q) != 0 {
			t.Errorf("left in the outbox: %v", q)
		}
	})
}

// TestListensAgainAfterALostConnection: when the LISTEN connection fails,
// the relay listens again after DefaultInterval, and the poll keeps
// delivering meanwhile.
func TestListensAgainAfterALostConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		e.run()
		if _, listens, listening := e.outbox.counts(); listens != 1 || listening != 1 {
			t.Fatalf("%d Listen calls, %d open: want one", listens, listening)
		}
		e.outbox.drop <- errors.New("conn closed")
		e.outbox.enqueue(inv("A", 1))
		time.Sleep(relay.DefaultInterval - time.Millisecond)
		synctest.Wait()
		if _, listens, listening := e.outbox.counts(); listens != 1 || listening != 0 {
			t.Errorf("before the interval: %d Listen calls, %d open; want the lost one only", listens, listening)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if _, listens, listening := e.outbox.counts(); listens != 2 || listening != 1 {
			t.Errorf("after the interval: %d Listen calls, %d open; want a second one open", listens, listening)
		}
		e.wantEvents("the poll while not listening", "publish A=1", "delivered A=1")
		if !strings.Contains(e.logs.String(), "listen connection lost") {
			t.Errorf("the lost connection is not logged:\n%s", e.logs.String())
		}
	})
}

// TestKicksCoalesce: kicks while a pass runs make one more pass, not one
// each.
func TestKicksCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		block := make(chan struct{})
		e.cache.set(func(c *fakeCache) { c.block = block })
		e.outbox.enqueue(inv("A", 1))
		e.run() // the first pass waits in Publish
		before, _, _ := e.outbox.counts()
		for range 5 {
			e.relay.Kick()
		}
		close(block)
		synctest.Wait()
		after, _, _ := e.outbox.counts()
		if after-before != 1 {
			t.Errorf("%d passes after five kicks during a pass, want one", after-before)
		}
	})
}

// TestStopsWithItsContext: cancelling Run's context ends Run and its
// listener (synctest.Test fails on any goroutine left behind), also in the
// middle of a publish, which is then not reported as a failure to retry.
// (A wake-up that was already due may still start a pass on the dead
// context, which fails at once; none comes after Run returned.)
func TestStopsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, true)
		e.cache.set(func(c *fakeCache) { c.block = make(chan struct{}) }) // never closed
		e.outbox.enqueue(inv("A", 1))
		e.run()
		e.stop()
		synctest.Wait()
		if _, _, listening := e.outbox.counts(); listening != 0 {
			t.Errorf("%d Listen calls still open after Run returned", listening)
		}
		if ev := e.j.take(); len(ev) == 0 || slices.ContainsFunc(ev, func(s string) bool { return s != "publish cancelled" }) {
			t.Errorf("the pass cut short: %q, want only cancelled publishes", ev)
		}
		if q := e.outbox.queued(); len(q) != 1 {
			t.Errorf("the outbox after a cancelled publish: %v", q)
		}
		if strings.Contains(e.logs.String(), "will retry") {
			t.Errorf("shutdown logged as a failure:\n%s", e.logs.String())
		}
		passes, _, _ := e.outbox.counts()
		time.Sleep(10 * relay.DefaultInterval)
		synctest.Wait()
		if after, _, _ := e.outbox.counts(); after != passes {
			t.Errorf("%d passes after Run returned", after-passes)
		}
	})
}
