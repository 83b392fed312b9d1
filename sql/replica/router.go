// Package replica is the replica router of the reader (docs/design.md
// "Replicas"): it sends each read to a PostgreSQL backend chosen by health,
// WAL lag and load, and fails over to other replicas and then to the
// primary when a backend cannot be reached. A background monitor measures
// each replica's lag by WAL position, and a read that must see every
// committed write runs on a backend that has replayed the primary's
// current position (LatestLSN, DoAt).
//
// It knows nothing about the queries: a read is a function of a pool,
// run again from scratch on the next backend when it fails in a way
// another backend may not (a broken connection, a recovery conflict), or
// when it returns ErrBehind.
package replica

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

// Defaults of Options.
const (
	DefaultCheckInterval = 500 * time.Millisecond
	DefaultMaxLag        = time.Second
	DefaultCheckTimeout  = time.Second
	// DefaultAttemptTimeout: a lookup takes milliseconds even at 5M rows
	// (loadtest scaling). Listings with counts of a much larger database
	// may take longer; such a read is then repeated on the next backend,
	// so raise -attempt-timeout there (not measured at production size).
	DefaultAttemptTimeout = 2 * time.Second
)

// Options tunes a Router; zero values take the defaults.
type Options struct {
	// CheckInterval is how often the health and lag of every backend are
	// checked (DefaultCheckInterval).
	CheckInterval time.Duration
	// CheckTimeout bounds one check of one backend (DefaultCheckTimeout).
	CheckTimeout time.Duration
	// AttemptTimeout bounds one read on one replica
	// (DefaultAttemptTimeout). A replica that does not answer in time (hung,
	// swapping, its disk stalled) is taken out of rotation until a health
	// check passes, and the read goes on to the next backend, so a stalled
	// replica costs the reads caught on it this long rather than the
	// request's whole deadline. The primary, the last resort, gets the
	// request's own deadline.
	AttemptTimeout time.Duration
	// MaxLag: a replica that has not been caught up with the primary for
	// longer than this is skipped (DefaultMaxLag). Freshness does not rest
	// on it: reads that must see a write check the replica's generation or
	// WAL position (ErrBehind, LatestLSN).
	MaxLag time.Duration
	// Logger receives backend up/down transitions (slog.Default()).
	Logger *slog.Logger
}

// Router sends each read to a backend chosen by health, lag and load, and
// fails over on connection-level errors: replicas first, the primary last
// (docs/design.md "Readers"). It knows nothing about the queries.
type Router struct {
	opts     Options
	log      *slog.Logger
	primary  *backend
	replicas []*backend
	next     atomic.Uint32 // turns among equally loaded replicas
	lsn      lsnHistory
	// replays shares on-demand fetches of a replica's replay position.
	replays coalesce.Group[*backend, struct{}]

	checks sync.WaitGroup // running replica checks
	// latest shares fetches of the primary's WAL position (LatestLSN).
	latest coalesce.Group[struct{}, lsnResult]

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a Router over the primary and any number of replicas (pools
// of the same database). Until Start, every read goes to the primary. The
// pools stay the caller's to close, after Close.
func New(primary *pgxpool.Pool, replicas []*pgxpool.Pool, o Options) *Router {
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
	rt := &Router{opts: o, log: o.Logger, primary: newBackend("primary", primary, true)}
	for i, p := range replicas {
		rt.replicas = append(rt.replicas, newBackend(fmt.Sprintf("replica%d", i+1), p, false))
	}
	// Samples older than this can no longer make a replica usable.
	rt.lsn.keep = o.MaxLag + 2*o.CheckInterval
	return rt
}

// Start runs a first check, so that replicas serve from the first read on,
// then checks in the background until Close is called or ctx is done.
func (rt *Router) Start(ctx context.Context) {
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

// Close stops the background checks. Reads still work afterwards, on the
// primary only once the replicas' last checks age beyond MaxLag.
func (rt *Router) Close() {
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

// Do runs fn on the best backend, and again on the next one for as long as
// fn fails in a way another backend may not (see classify): usable replicas
// by load, then the primary. fn must not keep results of a failed attempt:
// it runs again from scratch. When no backend could answer, the error is
// condcache.EUnavailable.
func (rt *Router) Do(ctx context.Context, fn func(context.Context, *pgxpool.Pool) error) error {
	return rt.DoAt(ctx, 0, fn)
}

// DoAt is Do restricted to backends that have replayed WAL position minLSN
// (LatestLSN). fn may return ErrBehind to move on to the next backend
// without blaming this one.
func (rt *Router) DoAt(ctx context.Context, minLSN int64, fn func(context.Context, *pgxpool.Pool) error) error {
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
		if errors.Is(err, ErrBehind) {
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
func (rt *Router) attempt(ctx context.Context, b *backend, fn func(context.Context, *pgxpool.Pool) error) error {
	if b.primary {
		return fn(ctx, b.pool)
	}
	actx, cancel := context.WithTimeout(ctx, rt.opts.AttemptTimeout)
	defer cancel()
	return fn(actx, b.pool)
}

// ErrBehind is returned by a read that found its backend behind a write the
// caller knows of (a generation check): the next backend is tried, and this
// one stays in service.
var ErrBehind = errors.New("sql: backend is behind the generation the caller needs")

// IsPrimary reports whether db is the primary's pool, for a read that must
// tell where it ran.
func (rt *Router) IsPrimary(db *pgxpool.Pool) bool { return db == rt.primary.pool }

// pick returns the least-loaded usable replica not yet tried (equal loads
// take turns), else the primary if not yet tried, else nil.
func (rt *Router) pick(tried []*backend, minLSN int64) *backend {
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
func (rt *Router) refreshBehind(ctx context.Context, minLSN int64) {
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

// Backends reports the state of every backend, the primary first.
func (rt *Router) Backends() []BackendStatus {
	now := time.Now().UnixNano()
	out := make([]BackendStatus, 0, 1+len(rt.replicas))
	out = append(out, rt.primary.status(now, rt.opts.MaxLag))
	for _, b := range rt.replicas {
		out = append(out, b.status(now, rt.opts.MaxLag))
	}
	return out
}

// AnyHealthy reports whether the last checks found a backend that answers.
func (rt *Router) AnyHealthy() bool {
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
