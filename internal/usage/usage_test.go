package usage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/condcache/condcache"
)

// recorder is a fake UsageRecorder that sums what it is given, and fails
// while failing is set.
type recorder struct {
	mu      sync.Mutex
	failing bool
	calls   int
	sums    map[pairKey]condcache.UsageCount
}

func (r *recorder) RecordUsage(_ context.Context, counts []condcache.UsageCount) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failing {
		return errors.New("primary down")
	}
	if r.sums == nil {
		r.sums = map[pairKey]condcache.UsageCount{}
	}
	for _, u := range counts {
		k := pairKey{u.GlobalTag, u.Client}
		s, ok := r.sums[k]
		if !ok {
			r.sums[k] = u
			continue
		}
		s.Reads += u.Reads
		s.First, s.Last = minTime(s.First, u.First), maxTime(s.Last, u.Last)
		r.sums[k] = s
	}
	return nil
}

func (r *recorder) total() (n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sums {
		n += s.Reads
	}
	return n
}

// Every read counted while flushes run concurrently arrives exactly once,
// per pair, with its first and last read.
func TestCountsArriveOnce(t *testing.T) {
	rec := &recorder{}
	c := New(rec, Options{})
	want := map[pairKey]int64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := make(chan struct{})
	flusher := make(chan struct{})
	go func() {
		defer close(flusher)
		for {
			select {
			case <-stop:
				return
			default:
				c.Flush(context.Background())
			}
		}
	}()
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			local := map[pairKey]int64{}
			for range 20_000 {
				k := pairKey{fmt.Sprintf("GT_%d", rng.IntN(30)), fmt.Sprintf("job-%d", rng.IntN(50))}
				c.Add([]byte(k.gt), []byte(k.client))
				local[k]++
			}
			mu.Lock()
			for k, n := range local {
				want[k] += n
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	close(stop)
	<-flusher
	c.Flush(context.Background())
	if len(rec.sums) != len(want) {
		t.Fatalf("%d pairs recorded, want %d", len(rec.sums), len(want))
	}
	for k, n := range want {
		got := rec.sums[k]
		if got.Reads != n || got.First.After(got.Last) || got.First.IsZero() {
			t.Errorf("%v: recorded %+v, want %d reads", k, got, n)
		}
	}
	if got := testutil.ToFloat64(c.flushed); got != 160_000 {
		t.Errorf("flushed metric %v, want 160000", got)
	}
}

// A failed flush keeps its counts; the next one that works delivers them,
// merged with the new ones.
func TestFailedFlushRetried(t *testing.T) {
	rec := &recorder{failing: true}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	c := New(rec, Options{Now: func() time.Time { return now }})
	c.Add([]byte("GT"), []byte("a"))
	c.Flush(context.Background())
	now = now.Add(time.Minute)
	c.Add([]byte("GT"), []byte("a"))
	c.Add([]byte("GT"), []byte("b"))
	c.Flush(context.Background())
	if rec.total() != 0 || testutil.ToFloat64(c.flushErrors) != 2 {
		t.Fatalf("recorded %d while failing, %v errors", rec.total(), testutil.ToFloat64(c.flushErrors))
	}
	rec.failing = false
	c.Flush(context.Background())
	a := rec.sums[pairKey{"GT", "a"}]
	if a.Reads != 2 || !a.First.Equal(t0) || !a.Last.Equal(t0.Add(time.Minute)) || rec.sums[pairKey{"GT", "b"}].Reads != 1 {
		t.Errorf("after recovery: %+v", rec.sums)
	}
	c.Flush(context.Background())
	if rec.total() != 3 {
		t.Errorf("a second flush sent again: %d reads in all", rec.total())
	}
}

// Beyond MaxPairs new pairs are dropped and counted as dropped; known
// pairs keep counting; after a flush there is room again.
func TestMaxPairs(t *testing.T) {
	rec := &recorder{}
	c := New(rec, Options{MaxPairs: 3})
	for i := range 5 {
		c.Add([]byte(fmt.Sprint("GT", i)), []byte("x"))
	}
	c.Add([]byte("GT0"), []byte("x"))
	if got := testutil.ToFloat64(c.dropped); got != 2 {
		t.Errorf("dropped %v, want 2", got)
	}
	c.Flush(context.Background())
	if len(rec.sums) != 3 || rec.sums[pairKey{"GT0", "x"}].Reads != 2 {
		t.Errorf("recorded %+v", rec.sums)
	}
	c.Add([]byte("GT4"), []byte("x"))
	c.Flush(context.Background())
	if rec.sums[pairKey{"GT4", "x"}].Reads != 1 {
		t.Errorf("no room after a flush: %+v", rec.sums)
	}
}

// Run flushes every Interval, and once more when stopped.
func TestRunFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		c := New(rec, Options{Interval: 5 * time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { c.Run(ctx); close(done) }()
		c.Add([]byte("GT"), []byte("a"))
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if rec.total() != 0 {
			t.Fatal("flushed before the interval")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if rec.total() != 1 {
			t.Fatalf("not flushed after the interval: %d", rec.total())
		}
		c.Add([]byte("GT"), []byte("a"))
		cancel()
		<-done
		if rec.total() != 2 {
			t.Fatalf("the last counts were not flushed on stop: %d", rec.total())
		}
	})
}

// Counting a known pair allocates nothing: it runs on every read.
func TestAddDoesNotAllocate(t *testing.T) {
	c := New(&recorder{}, Options{})
	gt, client := []byte("sPHENIX_ana.460"), []byte("10.1.2.3")
	c.Add(gt, client)
	if n := testing.AllocsPerRun(1000, func() { c.Add(gt, client) }); n != 0 {
		t.Errorf("Add allocates %v times per call", n)
	}
}

func BenchmarkAdd(b *testing.B) {
	c := New(&recorder{}, Options{})
	gt, client := []byte("sPHENIX_ana.460"), []byte("10.1.2.3")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Add(gt, client)
		}
	})
}

func BenchmarkAddSerial(b *testing.B) {
	c := New(&recorder{}, Options{})
	gt, client := []byte("sPHENIX_ana.460"), []byte("10.1.2.3")
	for b.Loop() {
		c.Add(gt, client)
	}
}

func BenchmarkAddManyClients(b *testing.B) {
	c := New(&recorder{}, Options{})
	gt := []byte("sPHENIX_ana.460")
	clients := make([][]byte, 1000)
	for i := range clients {
		clients[i] = fmt.Appendf(nil, "10.1.%d.%d", i/256, i%256)
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Add(gt, clients[i%len(clients)])
			i++
		}
	})
}
