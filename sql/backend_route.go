package sql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache/internal/coalesce"
)

// router sends each read to a backend chosen by health, lag and load, and
// fails over on connection-level errors: replicas first, the primary last
// (docs/design.md "Readers"). It knows nothing about the queries.
type router struct {
	opts     ReaderOptions
	log      *slog.Logger
	primary  *backend
	replicas []*backend
	next     atomic.Uint32 // turns among equally loaded replicas
	lsn      lsnHistory
	// replays shares on-demand fetches of a replica's replay position.
	replays coalesce.Group[*backend, struct{}]

	checks sync.WaitGroup // running replica checks

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

func newRouter(primary *pgxpool.Pool, replicas []*pgxpool.Pool, o ReaderOptions) *router {
	if o.CheckInterval <= 0 {
		o.CheckInterval = DefaultCheckInterval
	}
	if o.MaxLag <= 0 {
		o.MaxLag = DefaultMaxLag
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = DefaultCheckTimeout
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	rt := &router{opts: o, log: o.Logger, primary: newBackend("primary", primary, true)}
	for i, p := range replicas {
		rt.replicas = append(rt.replicas, newBackend(fmt.Sprintf("replica%d", i+1), p, false))
	}
	// Samples older than this can no longer make a replica usable.
	rt.lsn.keep = o.MaxLag + 2*o.CheckInterval
	return rt
}

// start runs a first check, so that replicas serve from the first read on,
// then checks in the background until close is called or ctx is done.
func (rt *router) start(ctx context.Context) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.started {
		return
	}
	rt.started = true
	ctx, rt.cancel = context.WithCancel(ctx)
	rt.done = make(chan struct{})
	rt.check(ctx)
	rt.checks.Wait()
	go rt.run(ctx)
}

func (rt *router) close() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.cancel != nil {
		rt.cancel()
		<-rt.done
		rt.checks.Wait()
		rt.cancel = nil
	}
}

// triedOnStack is how many tried backends a read tracks without allocating.
const triedOnStack = 8

// do runs fn on the best backend, and again on the next one for as long as
// fn fails in a way another backend may not (see classify): usable replicas
// by load, then the primary. fn must not keep results of a failed attempt:
// it runs again from scratch.
func (rt *router) do(ctx context.Context, fn func(context.Context, *pgxpool.Pool) error) error {
	return rt.doAt(ctx, 0, fn)
}

// doAt is do restricted to backends that have replayed WAL position minLSN.
// fn may return errBehind to move on
// to the next backend without blaming this one.
func (rt *router) doAt(ctx context.Context, minLSN int64, fn func(context.Context, *pgxpool.Pool) error) error {
	var buf [triedOnStack]*backend
	tried := buf[:0]
	var last error
	if minLSN > 0 {
		rt.refreshBehind(ctx, minLSN)
	}
	for {
		b := rt.pick(tried, minLSN)
		if b == nil {
			return errUnavailable(last)
		}
		tried = append(tried, b)
		b.inFlight.Add(1)
		err := rt.attempt(ctx, b, fn)
		b.inFlight.Add(-1)
		if err == nil {
			b.reads.Add(1)
			if !b.healthy.Load() {
				// Only the primary is tried while marked down; it answered.
				rt.setHealthy(b, true, "")
			}
			return nil
		}
		if errors.Is(err, errBehind) {
			b.behind.Add(1)
			last = err
			continue
		}
		switch classify(ctx, err) {
		case failAnswer:
			return err
		case failBackend:
			rt.setHealthy(b, false, err.Error())
		}
		b.failures.Add(1)
		last = err
	}
}

// attempt runs fn on b, bounded by AttemptTimeout on a replica. A timeout
// of the attempt alone (the caller's context still live) classifies as a
// backend failure: context.DeadlineExceeded.
func (rt *router) attempt(ctx context.Context, b *backend, fn func(context.Context, *pgxpool.Pool) error) error {
	if b.primary {
		return fn(ctx, b.pool)
	}
	actx, cancel := context.WithTimeout(ctx, rt.opts.AttemptTimeout)
	defer cancel()
	return fn(actx, b.pool)
}

// errBehind is returned by a read that found its backend behind a write the
// caller knows of (a generation check): the next backend is tried, and this
// one stays in service.
var errBehind = errors.New("sql: backend is behind the generation the caller needs")

// pick returns the least-loaded usable replica not yet tried (equal loads
// take turns), else the primary if not yet tried, else nil.
func (rt *router) pick(tried []*backend, minLSN int64) *backend {
	if len(rt.replicas) > 0 {
		now := time.Now().UnixNano()
		ok := func(b *backend) bool {
			return b.usable(now, rt.opts.MaxLag) && b.holds(minLSN) && !slices.Contains(tried, b)
		}
		var least int64
		ties := 0
		for _, b := range rt.replicas {
			if !ok(b) {
				continue
			}
			switch load := b.inFlight.Load(); {
			case ties == 0 || load < least:
				least, ties = load, 1
			case load == least:
				ties++
			}
		}
		if ties > 0 {
			k := int(rt.next.Add(1) % uint32(ties))
			for _, b := range rt.replicas {
				if ok(b) && b.inFlight.Load() == least {
					if k == 0 {
						return b
					}
					k--
				}
			}
			// Loads moved between the passes: fall through to any usable one.
			for _, b := range rt.replicas {
				if ok(b) {
					return b
				}
			}
		}
	}
	if slices.Contains(tried, rt.primary) {
		return nil
	}
	return rt.primary
}

// refreshBehind makes sure pick knows whether a replica holds minLSN: when
// no usable replica's last check shows it replayed, it asks them for their
// replay position now. Streaming replicas trail by milliseconds, so between
// two background checks one usually has replayed it, and spares the
// primary.
func (rt *router) refreshBehind(ctx context.Context, minLSN int64) {
	now := time.Now().UnixNano()
	var behind []*backend
	for _, b := range rt.replicas {
		if !b.usable(now, rt.opts.MaxLag) {
			continue
		}
		if b.holds(minLSN) {
			return
		}
		behind = append(behind, b)
	}
	for _, b := range behind {
		_, _ = rt.replays.Do(ctx, b, func() struct{} {
			b.fetchReplayed(rt.catchUpWait())
			return struct{}{}
		})
		if b.holds(minLSN) {
			return
		}
	}
}

// statuses reports every backend, the primary first.
func (rt *router) statuses() []BackendStatus {
	now := time.Now().UnixNano()
	out := make([]BackendStatus, 0, 1+len(rt.replicas))
	out = append(out, rt.primary.status(now, rt.opts.MaxLag))
	for _, b := range rt.replicas {
		out = append(out, b.status(now, rt.opts.MaxLag))
	}
	return out
}

// anyHealthy reports whether the last checks found a backend that answers.
func (rt *router) anyHealthy() bool {
	now := time.Now().UnixNano()
	if rt.primary.healthy.Load() {
		return true
	}
	for _, b := range rt.replicas {
		if b.usable(now, rt.opts.MaxLag) {
			return true
		}
	}
	return false
}
