// Package coalesce shares one call of a function among concurrent callers
// that need its result to be no older than their own arrival: the primary's
// current WAL position, a replica's replay position, or whether a GT's
// cached generation is still current. A caller never joins a call already
// running (it may predate a write the caller must see); it joins the next
// one, which starts when the running one ends. So under load one call is
// running and at most one waits, whatever the number of callers.
package coalesce

import (
	"context"
	"sync"
)

// Group coalesces calls per key. The zero value is ready to use.
type Group[K comparable, V any] struct {
	mu      sync.Mutex
	flights map[K]*flight[V]
}

type flight[V any] struct {
	running, next *call[V]
}

type call[V any] struct {
	done chan struct{}
	v    V
}

// Do returns the result of a call of fn that began after Do was called.
// Callers of one key may pass different funcs, but they must be
// interchangeable: one caller's runs for all. fn gets no caller's context,
// so one caller giving up cannot fail the others; it must bound itself. ctx
// only bounds the wait: when it is done, Do returns ctx.Err().
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func() V) (V, error) {
	g.mu.Lock()
	if g.flights == nil {
		g.flights = map[K]*flight[V]{}
	}
	f := g.flights[key]
	if f == nil {
		f = &flight[V]{}
		g.flights[key] = f
	}
	var c *call[V]
	if f.running == nil {
		c = &call[V]{done: make(chan struct{})}
		f.running = c
		go g.run(key, f, c, fn)
	} else {
		if f.next == nil {
			f.next = &call[V]{done: make(chan struct{})}
		}
		c = f.next
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.v, nil
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// run performs c, then each call queued behind it, and retires the flight
// when none is left.
func (g *Group[K, V]) run(key K, f *flight[V], c *call[V], fn func() V) {
	for c != nil {
		c.v = fn()
		close(c.done)
		g.mu.Lock()
		c, f.next = f.next, nil
		f.running = c
		if c == nil {
			delete(g.flights, key)
		}
		g.mu.Unlock()
	}
}
