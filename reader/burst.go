package reader

import (
	"context"
	"sync"
)

// Farm bursts (docs/design.md "Farm bursts"): when thousands of jobs ask
// their first lookups of a GT at the same moment, every one of them misses
// the cache, and without a gate each would query the database for an
// answer the first query already holds. Misses of one GT at one cached
// generation go in rounds: one lookup (the round's leader) queries and
// fills the cache while the others wait; then they ask the cache again,
// and those its answer does not cover start the next round. So a burst
// costs one query per distinct answer window, up to maxBurstRounds rounds;
// lookups that waited that many rounds query without waiting, so a steady
// uncached load at random runs is slowed by at most that many queries'
// time rather than serialised.
//
// Only misses at a generation Redis knows wait (the round's answer is then
// at least that generation, which holds every write acknowledged before
// the waiter arrived: the freshness contract's point 1); lookups that must
// read the latest state never share a query that began before them.
const maxBurstRounds = 3

type missRounds struct {
	mu     sync.Mutex
	rounds map[missKey]chan struct{} // closed when the round's leader is done
}

type missKey struct {
	gt         string
	generation int64
}

// enter makes the caller the leader of a new round of k (lead true; it must
// call done(k, round) once its answer is in the cache), or returns the
// round in progress to wait for.
func (m *missRounds) enter(k missKey) (round chan struct{}, lead bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.rounds[k]; ok {
		return r, false
	}
	if m.rounds == nil {
		m.rounds = map[missKey]chan struct{}{}
	}
	r := make(chan struct{})
	m.rounds[k] = r
	return r, true
}

// done ends round r of k.
func (m *missRounds) done(k missKey, r chan struct{}) {
	m.mu.Lock()
	if m.rounds[k] == r {
		delete(m.rounds, k)
	}
	m.mu.Unlock()
	close(r)
}

// wait waits for round r to end.
func wait(ctx context.Context, r chan struct{}) error {
	select {
	case <-r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
