package reader

import (
	"context"
	"sync"

	"github.com/condcache/condcache"
)

// Latest-state rounds (docs/design.md "Farm bursts"): a lookup that the
// cache cannot vouch a generation for (Redis timed out or its breaker is
// open, a write pending, Redis not yet synchronised) must read the latest
// state, so it may not take the answer of a query that began before it
// arrived. Under a farm burst on a saturated machine that is every lookup
// (Redis calls time out, the breaker opens), and without a gate each one
// queried the primary: measured 423 queries for 4 answer windows (10,000
// jobs, one reader, the worst preset), with 9,382 lookups shed.
//
// So these lookups go in rounds too, but a round only takes members
// before its query starts: while one query of the GT runs, the lookups
// arriving join the next round, which starts when the running one ends,
// led by the first of them. Every member of a round arrived before its
// query began, so the answer holds every write acknowledged before any
// of them arrived (the freshness contract's point 1). Members outside the
// answer's window join the next round; after maxBurstRounds they query
// alone.
type latestRounds struct {
	mu sync.Mutex
	// running is the round of each GT whose query has started; next is
	// the round gathering members until running ends.
	running map[string]*missRound
	next    map[string]*missRound
}

// join returns the round the caller belongs to, and whether it leads it.
// A leader must call start before it queries, and end with its answer.
func (l *latestRounds) join(gt string) (r *missRound, lead bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running == nil {
		l.running, l.next = map[string]*missRound{}, map[string]*missRound{}
	}
	// A round gathering members is joined even when no query runs: its
	// leader is about to start it, and has not yet.
	if r = l.next[gt]; r != nil {
		return r, false
	}
	if l.running[gt] == nil {
		r = &missRound{done: make(chan struct{})}
		l.running[gt] = r
		return r, true
	}
	r = &missRound{done: make(chan struct{})}
	l.next[gt] = r
	return r, true
}

// start waits until no query of gt is running, then makes r the running
// round: from then on, lookups arriving join the round after it. It
// returns false when ctx ends first (r is then ended without an answer).
func (l *latestRounds) start(ctx context.Context, gt string, r *missRound) bool {
	for {
		l.mu.Lock()
		running := l.running[gt]
		if running == r {
			l.mu.Unlock()
			return true
		}
		if running == nil {
			l.running[gt] = r
			if l.next[gt] == r {
				delete(l.next, gt)
			}
			l.mu.Unlock()
			return true
		}
		l.mu.Unlock()
		select {
		case <-running.done:
		case <-ctx.Done():
			l.end(gt, r, nil)
			return false
		}
	}
}

// end ends round r of gt with its answer (nil: none).
func (l *latestRounds) end(gt string, r *missRound, answer *condcache.LookupResult) {
	l.mu.Lock()
	if l.running[gt] == r {
		delete(l.running, gt)
	}
	if l.next[gt] == r {
		delete(l.next, gt)
	}
	l.mu.Unlock()
	r.answer = answer
	close(r.done)
}

// take gathers the caller in gt's rounds: it returns a round's answer
// that covered accepts (shared), or makes the caller a round's leader (end
// set: it queries, reading the latest state, and calls end with its
// answer), or neither after maxBurstRounds or when ctx ends (the caller
// queries alone).
func (l *latestRounds) take(ctx context.Context, gt string, covered func(*condcache.LookupResult) bool) (shared *condcache.LookupResult, end func(*condcache.LookupResult)) {
	for range maxBurstRounds {
		r, lead := l.join(gt)
		if lead {
			if !l.start(ctx, gt, r) {
				return nil, nil // the query fails on the same context
			}
			return nil, func(a *condcache.LookupResult) { l.end(gt, r, a) }
		}
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, nil
		}
		if a := r.answer; a != nil && covered(a) {
			return a, nil
		}
	}
	return nil, nil
}

// throughLatestRounds is throughRounds for a lookup that must read the
// latest state (latestRounds.take).
func (s *Server) throughLatestRounds(sctx context.Context, gt string, at condcache.Point, o roundOutcome) roundOutcome {
	o.shared, o.lead = s.latest.take(sctx, gt, func(a *condcache.LookupResult) bool { return covers(a.Window, at) })
	return o
}
