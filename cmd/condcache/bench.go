package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/loadtest"
	"github.com/condcache/condcache/loadtest/pgdata"
	cdbsql "github.com/condcache/condcache/sql"
)

// runBench is `condcache loadtest bench`: a short, self-contained load test
// for make bench. It starts a stack of its own (PostgreSQL primary +
// replica, Redis, writer, reader) in a temporary directory on free ports,
// loads a preset with COPY, and runs the reco workload side by side with
// the static target: cache hits (after a prewarm), then with the cache
// bypassed by a reader without Redis, and that uncached reader against
// the ceiling of the lookup statement itself: pgbench on the same replica,
// best of 2 to 16 clients.
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadtest bench", flag.ContinueOnError)
	preset := fs.String("preset", "sphenix", "data set preset")
	duration := fs.Duration("d", 10*time.Second, "measured time per target and case")
	conns := fs.Int("c", 64, "connections")
	out := fs.String("out", filepath.Join("reports", "bench-"+time.Now().Format("20060102-150405")), "report directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, ok := pgdata.PresetNamed(*preset)
	if !ok {
		return fmt.Errorf("unknown preset %q", *preset)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "condcache-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	stack, err := localstack.Start(ctx, localstack.Options{Dir: dir, Replicas: 1, Redis: true, Fast: true,
		Settings: loadStackSettings, Log: os.Stderr})
	if err != nil {
		return err
	}
	defer stack.Stop()
	const db = "bench"
	if err := stack.CreateDatabase(ctx, db); err != nil {
		return err
	}
	cached, err := stack.StartServers(ctx, localstack.ServerOptions{Binary: exe, Database: db})
	if err != nil {
		return err
	}
	defer cached.Stop()
	uncachedLogs := filepath.Join(dir, "uncached")
	if err := os.MkdirAll(uncachedLogs, 0o755); err != nil {
		return err
	}
	uncached, err := stack.StartServers(ctx, localstack.ServerOptions{Binary: exe, Database: db, ReaderNoCache: true,
		LogDir: uncachedLogs})
	if err != nil {
		return err
	}
	defer uncached.Stop()

	pool, err := pgxpool.New(ctx, stack.Primary.DSN(db))
	if err != nil {
		return err
	}
	d, err := pgdata.Load(ctx, pool, p, p.Name)
	pool.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loaded %s: %d rows at %.0f rows/s, clone %.2f s\n", p.Name, d.Rows, d.RowsPerSecond, d.CloneSeconds)
	if err := stack.WaitReplicated(ctx); err != nil {
		return err
	}

	runs := loadtest.RunRange{First: d.FirstRun, Last: d.LastRun, Subruns: 1}
	w := loadtest.Reco{GlobalTag: d.GlobalTags[0], Runs: runs}
	o := loadtest.RunOptions{Workload: w, Connections: *conns, Duration: *duration, Warmup: time.Second}
	static, err := loadtest.StartStaticLike(cached.ReaderURL, w)
	if err != nil {
		return err
	}
	defer static.Close()
	// The uncached reader is compared with the lookup statement's own
	// ceiling on the same replica and data, measured first, on a quiet
	// stack (measured after the HTTP runs it fell from 1,300/s to 170/s).
	pgBin, err := localstack.FindPGBin()
	if err != nil {
		return err
	}
	// The ceiling is the best of a few client counts: 64 backends on two
	// cores thrash (measured: 470/s against 1,700/s with 4 clients).
	var ceiling *loadtest.Result
	for _, clients := range []int{2, 4, 8, 16} {
		raw, err := loadtest.Pgbench{Binary: filepath.Join(pgBin, "pgbench"), DSN: stack.Replicas[0].DSN(db),
			Statement: cdbsql.LookupSQL, GlobalTag: w.GlobalTag, Runs: runs,
			Connections: clients, Duration: max(2*time.Second, *duration/4)}.Run(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "pgbench, %d clients: %.0f lookups/s, p99 %.2f ms\n", clients, raw.Throughput, raw.Latency.P99)
		if ceiling == nil || raw.Throughput > ceiling.Throughput {
			ceiling = raw
		}
	}
	rep := loadtest.NewReport(fmt.Sprintf("condcache loadtest bench -preset %s -d %v -c %d", p.Name, *duration, *conns))
	if err := loadtest.Prewarm(ctx, cached.ReaderURL, w.GlobalTag, runs, *conns); err != nil {
		return err
	}
	hits, err := loadtest.Compare(ctx, o, []string{static.URL, cached.ReaderURL}, 5)
	if err != nil {
		return err
	}
	rep.AddCompared(hits)
	misses, err := loadtest.Compare(ctx, o, []string{static.URL, uncached.ReaderURL}, 5)
	if err != nil {
		return err
	}
	rep.AddCompared(misses)
	rep.AddBaseline(ceiling, misses[len(misses)-1])
	if err := rep.WriteText(os.Stdout); err != nil {
		return err
	}
	paths, err := rep.Save(*out)
	if err != nil {
		return err
	}
	fmt.Println("report:", paths)
	return nil
}
