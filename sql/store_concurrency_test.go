package sql_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/condcache/condcache"
)

// overlaps counts pairs of IOVs attached to list that overlap ([start, end)),
// and IOVs that are empty or whose comb_iov does not match their start.
func (e *storeEnv) overlaps(list int64) (pairs, bad int64) {
	e.t.Helper()
	pairs = e.count(`SELECT count(*) FROM "PayloadIOV" a JOIN "PayloadIOV" b
			ON b.payload_list_id = a.payload_list_id AND a.id < b.id
		WHERE a.payload_list_id = $1
			AND (a.major_iov, a.minor_iov) < (b.major_iov_end, b.minor_iov_end)
			AND (b.major_iov, b.minor_iov) < (a.major_iov_end, a.minor_iov_end)`, list)
	bad = e.count(`SELECT count(*) FROM "PayloadIOV" WHERE payload_list_id = $1 AND (
			(major_iov, minor_iov) >= (major_iov_end, minor_iov_end)
			OR comb_iov * 10000000000000000000 IS DISTINCT FROM major_iov::numeric * 10000000000000000000 + minor_iov)`, list)
	return pairs, bad
}

// TestStoreAttachConcurrent has 16 goroutines attach overlapping IOVs to one
// list, and move IOVs between two lists, at once: the lists never end up
// with overlapping IOVs, and nothing deadlocks or fails.
func TestStoreAttachConcurrent(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("GT", condcache.StatusUnlocked)
	e.gt("GT2", condcache.StatusUnlocked)
	a := e.attachedPL("GT", "Beam")
	b := e.attachedPL("GT2", "Beam")

	const workers, perWorker = 16, 25
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range perWorker {
				start := condcache.Point{Major: 0, Minor: rng.Int64N(2000)}
				end := condcache.Point{Major: 0, Minor: start.Minor + 1 + rng.Int64N(50)}
				if rng.IntN(50) == 0 {
					end = condcache.OpenEnd
				}
				v, err := e.store.CreatePayloadIOV(ctx, condcache.NewPayloadIOV{PayloadURL: "u", Checksum: "c", Start: start, End: end})
				if err != nil {
					errs <- err
					return
				}
				target := a.Name
				if w%4 == 3 {
					target = b.Name // a quarter feed list b
				}
				if _, err := e.store.AttachPayloadIOV(ctx, target, v.ID, nil); err != nil {
					errs <- err
					return
				}
				if w%2 == 1 {
					// Move the new IOV on to the other list: two lists
					// locked at once, in both directions across workers.
					other := b.Name
					if target == b.Name {
						other = a.Name
					}
					if _, err := e.store.AttachPayloadIOV(ctx, other, v.ID, nil); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent attach: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("attaches did not finish in time: %v", ctx.Err())
	}
	for _, l := range []condcache.PayloadList{a, b} {
		pairs, bad := e.overlaps(l.ID)
		n := e.count(`SELECT count(*) FROM "PayloadIOV" WHERE payload_list_id = $1`, l.ID)
		t.Logf("list %s: %d attached IOVs", l.Name, n)
		if n == 0 || pairs != 0 || bad != 0 {
			t.Errorf("list %s: %d IOVs, %d overlapping pairs, %d empty or with a wrong comb_iov", l.Name, n, pairs, bad)
		}
	}
}

// TestStoreAttachConcurrentLocked: concurrent appends to a locked GT's list
// are serialised too, so two conflicting IOVs are never both accepted.
func TestStoreAttachConcurrentLocked(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("GT", condcache.StatusLocked)
	list := e.attachedPL("GT", "Beam")
	const workers = 16
	ids := make([]int64, workers)
	for i := range ids {
		// Every IOV overlaps every other one.
		ids[i] = e.iov("u", iovPt(0, int64(i)), iovPt(0, 100)).ID
	}
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.store.AttachPayloadIOV(ctx, list.Name, id, nil)
			switch condcache.ErrorCodeOf(err) {
			case "":
				mu.Lock()
				accepted++
				mu.Unlock()
			case condcache.ELocked:
			default:
				t.Errorf("attach %d: %v", id, err)
			}
		}()
	}
	wg.Wait()
	if accepted != 1 {
		t.Errorf("%d conflicting IOVs accepted into a locked GT, want 1", accepted)
	}
	if pairs, bad := e.overlaps(list.ID); pairs != 0 || bad != 0 {
		t.Errorf("%d overlapping pairs, %d bad rows", pairs, bad)
	}
}
