package sql

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// largeWriteRows is the number of IOV rows one clone or bulk load must add
// before the writer refreshes the table's statistics itself.
//
// Why: right after a large clone the planner still has the statistics from
// before it, and the visibility map does not cover the new pages. Measured
// on sphenix + 10 clones (1.1M rows) with the benchmark that
// `condcache loadtest scaling` replaced: 16 ms per lookup until ANALYZE,
// 1.4 ms after, and index-only scans fetching hundreds of heap pages per
// lookup until VACUUM. Autovacuum gets there on
// its own, but only after its nap and thresholds; a sPHENIX GT is cloned
// (100k rows) before a production pass starts reading it.
const largeWriteRows = 50_000

// statsRefresher runs VACUUM (ANALYZE) on "PayloadIOV" in the background,
// one at a time, once large writes have paused for statsQuiet (or at the
// latest statsMaxDelay after the first one waiting): a bulk load sent as
// many bodies of 50k rows gets one pass at its end instead of one after
// every body, each scanning the growing table while the load goes on
// (measured: passes running back to back through a 1M-row load, on a
// 2-core machine). A request made while a pass runs queues exactly one
// more, so the last large write is always covered.
type statsRefresher struct {
	db *pgxpool.Pool

	mu          sync.Mutex
	running     bool
	pending     bool          // a large write since the last pass began
	first, last time.Time     // of the pending writes
	done        chan struct{} // closed when the current passes end
}

// The refresh waits for large writes to pause this long, but never longer
// than statsMaxDelay after the first write waiting.
var (
	statsQuiet    = time.Second
	statsMaxDelay = 30 * time.Second
)

// after is told that a committed write added rows IOV rows.
func (r *statsRefresher) after(rows int64) {
	if rows < largeWriteRows {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.last = now
	if !r.pending {
		r.pending, r.first = true, now
	}
	if r.running {
		return
	}
	r.running = true
	r.done = make(chan struct{})
	go r.loop(r.done)
}

func (r *statsRefresher) loop(done chan struct{}) {
	defer close(done)
	for {
		r.mu.Lock()
		if !r.pending {
			r.running = false
			r.mu.Unlock()
			return
		}
		due := r.last.Add(statsQuiet)
		if latest := r.first.Add(statsMaxDelay); latest.Before(due) {
			due = latest
		}
		if wait := time.Until(due); wait > 0 {
			r.mu.Unlock()
			time.Sleep(wait)
			continue
		}
		r.pending = false
		r.mu.Unlock()
		// A failure costs only the head start on autovacuum, which
		// still runs, so it is not reported to the write's client.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		_, _ = r.db.Exec(ctx, `VACUUM (ANALYZE, SKIP_LOCKED) "PayloadIOV"`)
		cancel()
	}
}

// wait returns when no pass is running or queued.
func (r *statsRefresher) wait() {
	r.mu.Lock()
	done := r.done
	r.mu.Unlock()
	if done != nil {
		<-done
	}
}
