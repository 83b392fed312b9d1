package replica

import (
	"context"
	"sync"
	"time"
)

// The monitor measures replica lag by WAL position rather than by
// now() - pg_last_xact_replay_timestamp(), which only moves while the
// primary commits and so reads as growing lag on an idle primary.
//
// Each check first samples the primary's pg_current_wal_lsn(), noting the
// time just before asking. A replica whose pg_last_wal_replay_lsn() has
// reached a sample's LSN holds every transaction the primary had committed
// at that sample's time, so its "caught up" time advances to that sample's
// time. The lag a read is routed by is now minus that time, evaluated per
// read, so a replica whose checks stop succeeding ages out by itself.
//
// A replica that streams normally trails the primary by milliseconds, so it
// is usually just short of the sample taken a moment before; it is re-polled
// for a short while (catchUpWait) so that its caught-up time is this check's
// rather than the previous one's. Older samples are kept so that a replica
// lagging by a steady fraction of a second still gets an accurate time.

// catchUpPoll is how often a replica just short of the newest sample is
// re-polled within catchUpWait.
const catchUpPoll = 2 * time.Millisecond

// lsnSample is the primary's WAL write position observed at a time.
type lsnSample struct {
	at  time.Time
	lsn int64
}

// lsnHistory holds recent primary samples, oldest first.
type lsnHistory struct {
	mu      sync.Mutex
	samples []lsnSample
	keep    time.Duration
}

func (h *lsnHistory) add(s lsnSample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cut := 0
	for cut < len(h.samples) && s.at.Sub(h.samples[cut].at) > h.keep {
		cut++
	}
	h.samples = append(h.samples[cut:], s)
}

// newest returns the latest sample.
func (h *lsnHistory) newest() (lsnSample, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.samples) == 0 {
		return lsnSample{}, false
	}
	return h.samples[len(h.samples)-1], true
}

// reachedBy returns the latest sample whose position lsn has reached.
func (h *lsnHistory) reachedBy(lsn int64) (lsnSample, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.samples) - 1; i >= 0; i-- {
		if h.samples[i].lsn <= lsn {
			return h.samples[i], true
		}
	}
	return lsnSample{}, false
}

// run checks every CheckInterval until ctx is done.
func (rt *Router) run(ctx context.Context) {
	defer close(rt.done)
	t := time.NewTicker(rt.opts.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rt.check(ctx)
		}
	}
}

// check samples the primary, then starts a check of every replica, each
// bounded by CheckTimeout. It does not wait for them, so a replica that
// hangs delays no other; a replica whose previous check is still running
// is skipped this time.
func (rt *Router) check(ctx context.Context) {
	primaryUp := rt.checkPrimary(ctx)
	for _, b := range rt.replicas {
		if !b.checking.CompareAndSwap(false, true) {
			continue
		}
		rt.checks.Go(func() {
			defer b.checking.Store(false)
			rt.checkReplica(ctx, b, primaryUp)
		})
	}
}

func (rt *Router) checkPrimary(parent context.Context) bool {
	ctx, cancel := context.WithTimeout(parent, rt.opts.CheckTimeout)
	defer cancel()
	at := time.Now()
	var lsn int64
	err := rt.primary.pool.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0')::int8`).Scan(&lsn)
	if err != nil {
		rt.checkFailed(parent, rt.primary, err)
		return false
	}
	rt.lsn.add(lsnSample{at: at, lsn: lsn})
	rt.setHealthy(rt.primary, true, "")
	return true
}

func (rt *Router) checkReplica(parent context.Context, b *backend, primaryUp bool) {
	ctx, cancel := context.WithTimeout(parent, rt.opts.CheckTimeout)
	defer cancel()
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		rt.checkFailed(parent, b, err)
		return
	}
	defer conn.Release()
	// received is the WAL the standby has from the primary; replayed, what
	// its queries see.
	var standby bool
	var received, replayed int64
	poll := func() error {
		return conn.QueryRow(ctx, `SELECT pg_is_in_recovery(),
			coalesce((pg_last_wal_receive_lsn() - '0/0')::int8, -1),
			coalesce((pg_last_wal_replay_lsn() - '0/0')::int8, -1)`).Scan(&standby, &received, &replayed)
	}
	err = poll()
	if err != nil {
		rt.checkFailed(parent, b, err)
		return
	}
	b.standby.Store(standby)
	b.replayed.Store(replayed)
	if !standby {
		rt.setHealthy(b, false, "not a standby (promoted?): it no longer follows the primary")
		return
	}
	newest, sampled := rt.lsn.newest()
	if !primaryUp {
		// The primary cannot be reached, so nothing newer can be committed
		// as far as this reader can tell: a replica that has replayed all
		// it received, and at least the primary's last known position, is
		// as fresh as anything can be. Serving from it keeps lookups up
		// while the primary is down.
		if replayed >= received && (!sampled || replayed >= newest.lsn) {
			b.advanceCaughtUp(time.Now())
		}
		b.lagBytes.Store(max(max(newest.lsn, received)-replayed, 0))
		rt.setHealthy(b, true, "")
		return
	}
	deadline := time.Now().Add(rt.catchUpWait())
	for replayed < newest.lsn && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			rt.checkFailed(parent, b, ctx.Err())
			return
		case <-time.After(catchUpPoll):
		}
		if err = poll(); err != nil {
			rt.checkFailed(parent, b, err)
			return
		}
	}
	b.replayed.Store(replayed)
	if s, ok := rt.lsn.reachedBy(replayed); ok {
		b.advanceCaughtUp(s.at)
	}
	b.lagBytes.Store(max(newest.lsn-replayed, 0))
	rt.setHealthy(b, true, "")
}

// catchUpWait is how long a check waits for a replica just short of the
// newest primary sample: long enough for streaming delay, short against
// the check interval and the lag limit.
func (rt *Router) catchUpWait() time.Duration {
	return min(rt.opts.CheckInterval/4, rt.opts.MaxLag/4, 50*time.Millisecond)
}

// checkFailed marks b down after a failed check, unless the check failed
// because the router is shutting down.
func (rt *Router) checkFailed(parent context.Context, b *backend, err error) {
	if parent.Err() != nil {
		return
	}
	rt.setHealthy(b, false, err.Error())
}

// setHealthy records b's health and logs changes.
func (rt *Router) setHealthy(b *backend, ok bool, reason string) {
	if !b.setHealthy(ok, reason) {
		return
	}
	if ok {
		rt.log.Info("database backend is back", "backend", b.name, "addr", b.addr)
	} else {
		rt.log.Warn("database backend is down", "backend", b.name, "addr", b.addr, "err", reason)
	}
}
