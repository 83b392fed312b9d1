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
// one at a time: a request made while one runs queues exactly one more, so
// the last large write is always covered and a burst of clones costs at
// most two passes.
type statsRefresher struct {
	db *pgxpool.Pool

	mu      sync.Mutex
	running bool
	again   bool
	done    chan struct{} // closed when the current passes end
}

// after is told that a committed write added rows IOV rows.
func (r *statsRefresher) after(rows int64) {
	if rows < largeWriteRows {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		r.again = true
		return
	}
	r.running = true
	r.done = make(chan struct{})
	go r.loop(r.done)
}

func (r *statsRefresher) loop(done chan struct{}) {
	defer close(done)
	for {
		// A failure costs only the head start on autovacuum, which
		// still runs, so it is not reported to the write's client.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		_, _ = r.db.Exec(ctx, `VACUUM (ANALYZE, SKIP_LOCKED) "PayloadIOV"`)
		cancel()
		r.mu.Lock()
		if !r.again {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.again = false
		r.mu.Unlock()
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
