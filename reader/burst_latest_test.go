package reader

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/condcache/condcache"
)

// TestLatestRoundsNeverServeAnOlderState: a lookup that must read the latest
// state takes a round's answer only if that round's query began after it
// arrived, so every answer holds every write acknowledged before the lookup
// arrived; and a burst of such lookups costs far fewer queries than lookups.
// The "database" is a state counter that writes bump while the lookups run;
// a query reads it when it starts and takes a random few hundred µs.
func TestLatestRoundsNeverServeAnOlderState(t *testing.T) {
	var (
		rounds  latestRounds
		state   atomic.Int64
		queries atomic.Int64
		stale   atomic.Int64
		shared  atomic.Int64
	)
	everything := condcache.Window{Until: condcache.Point{Major: 1 << 40}.CombKey()}
	query := func() *condcache.LookupResult {
		queries.Add(1)
		seen := state.Load()
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Microsecond)
		return &condcache.LookupResult{Generation: seen, Window: everything}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // writes, each acknowledged once the state is bumped
		for ctx.Err() == nil {
			state.Add(1)
			time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
		}
	}()
	const lookups = 4000
	var wg sync.WaitGroup
	for range lookups {
		wg.Go(func() {
			time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
			arrived := state.Load() // every write acknowledged so far
			answer, end := rounds.take(ctx, "gt", func(*condcache.LookupResult) bool { return true })
			if answer != nil {
				shared.Add(1)
			}
			if end != nil {
				answer = query()
				end(answer)
			}
			if answer == nil {
				answer = query()
			}
			if answer.Generation < arrived {
				stale.Add(1)
			}
		})
	}
	wg.Wait()
	if n := stale.Load(); n > 0 {
		t.Errorf("%d of %d lookups got a state older than their arrival", n, lookups)
	}
	if q := queries.Load(); q > lookups/4 {
		t.Errorf("%d queries for %d lookups (%d shared): the rounds do not gather the lookups", q, lookups, shared.Load())
	}
	t.Logf("%d lookups: %d queries, %d shared a round's answer", lookups, queries.Load(), shared.Load())
}

// TestLatestRoundEndsWhenItsLeaderGivesUp: a leader whose context ends while
// it waits for the running query ends its round without an answer, so its
// members go on (to the next round or their own query) rather than hang.
func TestLatestRoundEndsWhenItsLeaderGivesUp(t *testing.T) {
	var rounds latestRounds
	running, lead := rounds.join("gt")
	if !lead || !rounds.start(context.Background(), "gt", running) {
		t.Fatal("the first lookup does not lead a started round")
	}
	next, lead := rounds.join("gt")
	if !lead {
		t.Fatal("the first lookup during a running query does not lead the next round")
	}
	member, lead := rounds.join("gt")
	if lead || member != next {
		t.Fatal("a lookup during a running query does not join the next round")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if rounds.start(ctx, "gt", next) {
		t.Fatal("the next round started while the running query had not ended")
	}
	select {
	case <-member.done:
	case <-time.After(time.Second):
		t.Fatal("the member still waits after its leader gave up")
	}
	if member.answer != nil {
		t.Error("a round whose leader gave up has an answer")
	}
	rounds.end("gt", running, nil)
	again, lead := rounds.join("gt")
	if !lead || !rounds.start(context.Background(), "gt", again) {
		t.Error("no round can start once the running one ended")
	}
}
