package coalesce

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Every caller gets the result of a call that began after it arrived, and
// concurrent callers share calls. The calls take a millisecond of
// synctest's fake clock.
func TestDoWaitsForACallBegunAfterArrival(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string, int64]
		var clock atomic.Int64 // bumped by each call's start
		var calls atomic.Int64
		fn := func() int64 {
			calls.Add(1)
			v := clock.Add(1)
			time.Sleep(time.Millisecond)
			return v
		}
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				for range 20 {
					arrived := clock.Load()
					v, err := g.Do(context.Background(), "k", fn)
					if err != nil || v <= arrived {
						t.Errorf("got call %d (err %v), but call %d had already started when the caller arrived", v, err, arrived)
						return
					}
				}
			})
		}
		wg.Wait()
		if n := calls.Load(); n >= 1000 {
			t.Errorf("%d calls for 1000 callers: nothing was shared", n)
		}
		synctest.Wait() // the last call's goroutine retires its flight
		if left := len(g.flights); left != 0 {
			t.Fatalf("%d flights left behind", left)
		}
	})
}

// A caller that gives up returns at once; the call it joined goes on for
// the others.
func TestDoHonoursTheCallersContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[int, int64]
		release := make(chan struct{})
		var n atomic.Int64
		fn := func() int64 {
			v := n.Add(1)
			if v == 1 {
				<-release
			}
			return v
		}
		go func() { _, _ = g.Do(context.Background(), 1, fn) }()
		synctest.Wait() // the first call is running, blocked on release
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := g.Do(ctx, 1, fn); err == nil {
			t.Fatal("Do returned before the call it joined, despite its context")
		}
		if waited := time.Since(start); waited != 10*time.Millisecond {
			t.Errorf("the caller gave up after %v, want its 10 ms", waited)
		}
		close(release)
		if v, err := g.Do(context.Background(), 1, fn); err != nil || v == 1 {
			t.Errorf("Do after the first call = %d, %v: want a later call's result", v, err)
		}
	})
}
