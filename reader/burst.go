package reader

import (
	"bytes"
	"context"
	"sync"

	"github.com/condcache/condcache"
)

// Farm bursts (docs/design.md "Farm bursts"): when thousands of jobs ask
// their first lookups of a GT at the same moment, every one of them misses
// the cache, and without a gate each would query the database for an
// answer the first query already holds. Misses of one GT at one cached
// generation go in rounds: one lookup (the round's leader) queries while
// the others wait; those whose point the leader's answer window covers
// take that answer (from memory, so a fill Redis was too slow to take
// costs nothing), the others ask the cache again and start the next round.
// So a burst costs one query per distinct answer window, for bursts of up
// to about maxBurstRounds windows (a reader waiting for another reader's
// round counts that as one of its rounds); lookups that waited that many
// rounds query without waiting, so a steady uncached load at random runs
// is slowed by at most that many queries' time rather than serialised.
//
// Only misses at a generation Redis knows wait (the round's answer is then
// at least that generation, which holds every write acknowledged before
// the waiter arrived: the freshness contract's point 1); lookups that must
// read the latest state never share a query that began before them.
const maxBurstRounds = 8

type missRounds struct {
	mu     sync.Mutex
	rounds map[missKey]*missRound
}

type missKey struct {
	gt         string
	generation int64
}

// missRound is one round: answer is set before done is closed (nil when
// the leader got none).
type missRound struct {
	done   chan struct{}
	answer *condcache.LookupResult
}

// enter makes the caller the leader of a new round of k (lead true; it must
// call end once it has its answer), or returns the round in progress.
func (m *missRounds) enter(k missKey) (r *missRound, lead bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.rounds[k]; ok {
		return r, false
	}
	if m.rounds == nil {
		m.rounds = map[missKey]*missRound{}
	}
	r = &missRound{done: make(chan struct{})}
	m.rounds[k] = r
	return r, true
}

// end ends round r of k with its answer.
func (m *missRounds) end(k missKey, r *missRound, answer *condcache.LookupResult) {
	m.mu.Lock()
	if m.rounds[k] == r {
		delete(m.rounds, k)
	}
	m.mu.Unlock()
	r.answer = answer
	close(r.done)
}

// roundOutcome is what a lookup got from the cache and the rounds: a hit
// (ok), a round's answer covering its point (shared), or else how to query
// (need, known), and when it leads a round, lead to call with its answer.
type roundOutcome struct {
	hit    condcache.CachedLookup
	ok     bool
	shared *condcache.LookupResult
	need   condcache.Freshness
	known  int64
	lead   func(answer *condcache.LookupResult)
}

// throughRounds asks the cache, and on a miss at a known generation waits
// for the rounds in progress.
func (s *Server) throughRounds(sctx context.Context, gt string, at condcache.Point, dict bool) (o roundOutcome) {
	o.hit, o.ok, o.need, o.known = s.fromCache(sctx, gt, at, dict)
	if !o.ok && o.known == 0 && s.cfg.Cache != nil {
		return s.throughLatestRounds(sctx, gt, at, o)
	}
	for waited := 0; !o.ok && o.known > 0 && waited < maxBurstRounds; waited++ {
		k := missKey{gt, o.known}
		r, lead := s.misses.enter(k)
		if lead {
			// This reader's leader; across readers, one leads at a time.
			rounds, across := s.cfg.Cache.(condcache.FillRounds)
			if !across {
				o.lead = func(a *condcache.LookupResult) { s.misses.end(k, r, a) }
				return s.askAgainAsLeader(sctx, gt, at, dict, o)
			}
			release, leadAll := rounds.LeadFill(sctx, gt, o.known)
			if leadAll {
				// Released first, so that this reader's next leader does not wait for it.
				o.lead = func(a *condcache.LookupResult) { release(); s.misses.end(k, r, a) }
				return s.askAgainAsLeader(sctx, gt, at, dict, o)
			}
			rounds.AwaitFill(sctx, gt, o.known)
			s.misses.end(k, r, nil)
		} else {
			select {
			case <-r.done:
			case <-sctx.Done():
				return o // the query fails on the same context
			}
			if a := r.answer; a != nil && a.Generation >= o.known && covers(a.Window, at) {
				o.shared = a
				return o
			}
		}
		o.hit, o.ok, o.need, o.known = s.fromCache(sctx, gt, at, dict)
	}
	return o
}

// askAgainAsLeader asks the cache once more for a lookup that has just
// become a round's leader: it missed before the previous round's answer
// was stored, and may have come to lead only because that round ended
// meanwhile — querying then would cost a second query for a window
// already answered (TestFarmBurst: 3 bursts of 24 cost one query more
// without this). It costs a leader a second cache lookup (counted as a
// second miss when it misses again). A hit ends the round at once,
// without an answer: its waiters ask the cache again and find it too.
func (s *Server) askAgainAsLeader(sctx context.Context, gt string, at condcache.Point, dict bool, o roundOutcome) roundOutcome {
	again := roundOutcome{}
	again.hit, again.ok, _, _ = s.fromCache(sctx, gt, at, dict)
	if !again.ok {
		return o
	}
	o.lead(nil)
	return again
}

// covers reports whether at is inside w.
func covers(w condcache.Window, at condcache.Point) bool {
	k := at.CombKey()
	return bytes.Compare(w.From[:], k[:]) <= 0 && bytes.Compare(k[:], w.Until[:]) < 0
}
