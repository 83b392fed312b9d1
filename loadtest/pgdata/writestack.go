package pgdata

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache/internal/localstack"
	cdbsql "github.com/condcache/condcache/sql"
)

// WriteStackOptions configures StartWriteStack.
type WriteStackOptions struct {
	// Binary is the condcache executable; "" = this process's own.
	Binary string
	// Settings are extra PostgreSQL settings (make run's: shared_buffers).
	Settings map[string]string
	// Progress receives progress messages; nil = os.Stderr.
	Progress io.Writer
	// DropReferenceIndexes takes the opt-in step of docs/operations.md
	// "Reference indexes" before anything is measured.
	DropReferenceIndexes bool
}

// WriteStack is the stack `condcache loadtest writes` measures
// (loadtest.Writes): PostgreSQL primary with a streaming replica, Redis, a
// writer and a reader, as `make run` starts them (durable: fsync on), in a
// temporary directory on free ports. Stop it when done.
type WriteStack struct {
	dir     string
	stack   *localstack.Stack
	servers *localstack.Servers
}

// StartWriteStack starts a WriteStack with an empty, migrated database.
func StartWriteStack(ctx context.Context, o WriteStackOptions) (_ *WriteStack, err error) {
	progress := o.Progress
	if progress == nil {
		progress = os.Stderr
	}
	binary := o.Binary
	if binary == "" {
		if binary, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	w := &WriteStack{}
	if w.dir, err = os.MkdirTemp("", "condcache-writes-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = w.Stop()
		}
	}()
	w.stack, err = localstack.Start(ctx, localstack.Options{Dir: w.dir, Replicas: 1, Redis: true,
		Settings: o.Settings, Log: progress})
	if err != nil {
		return nil, err
	}
	if err := w.stack.CreateDatabase(ctx, "writes"); err != nil {
		return nil, err
	}
	if w.servers, err = w.stack.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: "writes"}); err != nil {
		return nil, err
	}
	if o.DropReferenceIndexes {
		if err := cdbsql.DropReferenceIndexes(ctx, w.stack.Primary.DSN("writes")); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// WriterURL is the writer's base URL.
func (w *WriteStack) WriterURL() string { return w.servers.WriterURL }

// WaitReplicated waits for the replica (localstack.Stack.WaitReplicated).
func (w *WriteStack) WaitReplicated(ctx context.Context) error { return w.stack.WaitReplicated(ctx) }

// Stop stops the servers and the stack and removes the directory.
func (w *WriteStack) Stop() error {
	var errs []error
	if w.servers != nil {
		errs = append(errs, w.servers.Stop())
	}
	if w.stack != nil {
		errs = append(errs, w.stack.Stop())
	}
	if w.dir != "" {
		errs = append(errs, os.RemoveAll(w.dir))
	}
	return errors.Join(errs...)
}

// GlobalTagsTimes are the latencies of the globalTags statement (every GT
// with its counts), uncached, on the primary.
type GlobalTagsTimes struct {
	GTs, Rows          int64
	P50Ms, P99Ms       float64 // condcache's statement (maintained counts)
	RowP50Ms, RowP99Ms float64 // counting the rows, as before migration 012
}

// GlobalTags times n executions of the globalTags statement the readers
// run, and n/10 (at least 3) of the same summary counting rows instead.
func (w *WriteStack) GlobalTags(ctx context.Context, n int) (GlobalTagsTimes, error) {
	var t GlobalTagsTimes
	pool, err := pgxpool.New(ctx, w.stack.Primary.DSN("writes"))
	if err != nil {
		return t, err
	}
	defer pool.Close()
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM "GlobalTag"), (SELECT count(*) FROM "PayloadIOV")`).Scan(&t.GTs, &t.Rows); err != nil {
		return t, err
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		return t, err
	}
	reader := cdbsql.NewReader(pool, nil, cdbsql.ReaderOptions{})
	var times []time.Duration
	for range n {
		began := time.Now()
		if _, err := reader.GlobalTagSummaries(ctx); err != nil {
			return t, err
		}
		times = append(times, time.Since(began))
	}
	t.P50Ms, t.P99Ms = percentileMs(times, 0.5), percentileMs(times, 0.99)
	times = times[:0]
	for range max(3, n/10) {
		began := time.Now()
		if _, err := pool.Exec(ctx, rowCountingSummaries); err != nil {
			return t, err
		}
		times = append(times, time.Since(began))
	}
	t.RowP50Ms, t.RowP99Ms = percentileMs(times, 0.5), percentileMs(times, 0.99)
	return t, nil
}

// rowCountingSummaries is the GT summaries' counts as they were computed
// before the maintained counts: every IOV of every GT counted.
const rowCountingSummaries = `SELECT g.id,
	(SELECT count(*) FROM "PayloadList" cl WHERE cl.global_tag_id = g.id),
	(SELECT count(*) FROM "PayloadList" cl JOIN "PayloadIOV" ci ON ci.payload_list_id = cl.id WHERE cl.global_tag_id = g.id)
	FROM "GlobalTag" g ORDER BY g.id`

func percentileMs(d []time.Duration, q float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	i := min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)
	return float64(s[max(i, 0)].Microseconds()) / 1000
}
