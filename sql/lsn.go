package sql

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Freshness by WAL position. A read that must reflect every write
// acknowledged before it started, wherever it was made, asks the primary for
// its current WAL position (latestLSN, shared by concurrent reads) and runs
// on a replica that has replayed that far, else on the primary. Every read
// but the lookup does this; the lookup does it only when the cache cannot
// vouch for the GT's generation (DESIGN.md freshness contract).

// currentLSN returns the primary's current WAL write position as a byte
// offset: at or past every commit that returned before the call.
func currentLSN(ctx context.Context, primary *pgxpool.Pool) (int64, error) {
	var lsn int64
	err := primary.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0')::int8`).Scan(&lsn)
	return lsn, err
}

// syncPoint fetches the primary's current WAL position for reads that must
// see every write committed before they started (condcache.Freshness.Latest).
// Concurrent callers share a fetch, but only one that began after they
// arrived: an earlier one may predate a commit they must see.
type syncPoint struct {
	mu      sync.Mutex
	running *lsnFetch // the fetch in flight
	next    *lsnFetch // the fetch after it, joined by callers arriving meanwhile
}

type lsnFetch struct {
	done chan struct{}
	lsn  int64
	err  error
}

// get returns a primary WAL position taken after the call began.
func (s *syncPoint) get(ctx context.Context, fetch func(context.Context) (int64, error)) (int64, error) {
	s.mu.Lock()
	var f *lsnFetch
	if s.running == nil {
		f = &lsnFetch{done: make(chan struct{})}
		s.running = f
		go s.run(f, fetch)
	} else {
		if s.next == nil {
			s.next = &lsnFetch{done: make(chan struct{})}
		}
		f = s.next
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.lsn, f.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// run performs f and then every fetch queued behind it. It does not use a
// caller's context: one caller giving up must not fail the others.
func (s *syncPoint) run(f *lsnFetch, fetch func(context.Context) (int64, error)) {
	for f != nil {
		f.lsn, f.err = fetch(context.Background())
		close(f.done)
		s.mu.Lock()
		f, s.next = s.next, nil
		s.running = f
		s.mu.Unlock()
	}
}

// latestLSN returns a primary WAL position at or after every commit that
// preceded the call; 0 when the primary cannot say (it is down: then no
// newer write can have been acknowledged since, and replicas are the best
// source left).
func (r *Reader) latestLSN(ctx context.Context) int64 {
	if len(r.rt.replicas) == 0 {
		return 0 // the primary is the only backend: it has every commit
	}
	lsn, err := r.sync.get(ctx, func(ctx context.Context) (int64, error) {
		ctx, cancel := context.WithTimeout(ctx, r.rt.opts.CheckTimeout)
		defer cancel()
		return currentLSN(ctx, r.rt.primary.pool)
	})
	if err != nil {
		return 0
	}
	return lsn
}
