package loadtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// BenchStack is what Bench measures: a stack of its own with a data set
// loaded and replicated (pgdata.StartBench starts one).
type BenchStack interface {
	// CachedReaderURL is a reader with the Redis cache, UncachedReaderURL
	// one without (every lookup from the replica); UncountedReaderURL one
	// with the cache but without access accounting.
	CachedReaderURL() string
	UncachedReaderURL() string
	UncountedReaderURL() string
	// GlobalTag and Runs are what the lookups read.
	GlobalTag() string
	Runs() (first, last int64)
	// Pgbench is how to run the lookup statement on the replica.
	Pgbench() (binary, dsn, statement string)
	Stop() error
}

// BenchOptions configures Bench.
type BenchOptions struct {
	Preset      string // the data set's name, for the report
	Duration    time.Duration
	Connections int
	Out         string // report directory
	// Stdout receives the report, Progress the progress; nil = os.Stdout,
	// os.Stderr.
	Stdout, Progress io.Writer
}

// Bench is `condcache loadtest bench` (make bench), on stack, which it
// stops: the reco workload side by side with the static target, cache
// hits (after a prewarm), then with the cache bypassed by the reader
// without Redis, and that uncached reader against the ceiling of the
// lookup statement itself: pgbench on the same replica, best of 2 to 16
// clients.
func Bench(ctx context.Context, stack BenchStack, o BenchOptions) error {
	defer stack.Stop()
	stdout, progress := o.Stdout, o.Progress
	if stdout == nil {
		stdout = os.Stdout
	}
	if progress == nil {
		progress = os.Stderr
	}
	first, last := stack.Runs()
	runs := RunRange{First: first, Last: last, Subruns: 1}
	w := Reco{GlobalTag: stack.GlobalTag(), Runs: runs}
	ro := RunOptions{Workload: w, Connections: o.Connections, Duration: o.Duration, Warmup: time.Second}
	static, err := StartStaticLike(stack.CachedReaderURL(), w)
	if err != nil {
		return err
	}
	defer static.Close()
	// The uncached reader is compared with the lookup statement's own
	// ceiling on the same replica and data, measured first, on a quiet
	// stack (measured after the HTTP runs it fell from 1,300/s to 170/s).
	// The ceiling is the best of a few client counts: 64 backends on two
	// cores thrash (measured: 470/s against 1,700/s with 4 clients).
	binary, dsn, statement := stack.Pgbench()
	var ceiling *Result
	for _, clients := range []int{2, 4, 8, 16} {
		raw, err := Pgbench{Binary: binary, DSN: dsn, Statement: statement, GlobalTag: w.GlobalTag, Runs: runs,
			Connections: clients, Duration: max(2*time.Second, o.Duration/4)}.Run(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "pgbench, %d clients: %.0f lookups/s, p99 %.2f ms\n", clients, raw.Throughput, raw.Latency.P99)
		if ceiling == nil || raw.Throughput > ceiling.Throughput {
			ceiling = raw
		}
	}
	rep := NewReport(fmt.Sprintf("condcache loadtest bench -preset %s -d %v -c %d", o.Preset, o.Duration, o.Connections))
	if err := Prewarm(ctx, stack.CachedReaderURL(), w.GlobalTag, runs, o.Connections); err != nil {
		return err
	}
	hits, err := Compare(ctx, ro, []string{static.URL, stack.CachedReaderURL()}, 5)
	if err != nil {
		return err
	}
	rep.AddCompared(hits)
	// What access accounting costs cache hits: the reader that counts
	// against one that does not, on the same Redis entries.
	cost, err := MeasureUsageCost(ctx, ro, stack.UncountedReaderURL(), stack.CachedReaderURL(), 6)
	if err != nil {
		return err
	}
	misses, err := Compare(ctx, ro, []string{static.URL, stack.UncachedReaderURL()}, 5)
	if err != nil {
		return err
	}
	rep.AddCompared(misses)
	rep.AddBaseline(ceiling, misses[len(misses)-1])
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	// A job's whole run range in one call, against one lookup per run, on
	// the uncached reader (a job's first look at its runs).
	upTo := min(first+999, runs.Last)
	rvl, err := MeasureRangeVsLookups(ctx, stack.UncachedReaderURL(), w.GlobalTag, first, upTo)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "range vs lookups, uncached reader:", rvl)
	fmt.Fprintln(stdout, cost)
	paths, err := rep.Save(o.Out)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "report:", paths)
	return nil
}
