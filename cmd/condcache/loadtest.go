package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache/loadtest"
	"github.com/condcache/condcache/loadtest/pgdata"
)

const loadtestUsage = `usage: condcache loadtest <workload> [flags]

  freshness   write-then-read rounds through a reader: no stale answer,
              ETags give 304, /metrics answers
  generate    load a data set preset (small, sphenix, large, worst,
              production) straight into PostgreSQL with COPY
  bench       start a stack of its own, load a preset, and run reco side
              by side with the static target, cached and uncached (make bench)
  scaling     start a primary of its own and chart the lookup's SQL cost
              against table size (presets) and clones sharing the table
  run         drive a target with a workload (reco, reco-zipf, farm,
              browse, mixed), closed or open loop, alone, side by side with
              another target (-compare URL or -compare static), or as an
              open-loop sweep of rates (-rates); writes a report

Run "condcache loadtest <workload> -h" for its flags.`

// runLoadtest runs a loadtest workload against running servers.
func runLoadtest(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "freshness":
			return runFreshness(ctx, args[1:])
		case "run":
			return runLoad(ctx, args[1:])
		case "generate":
			return runGenerate(ctx, args[1:])
		case "bench":
			return runBench(ctx, args[1:])
		case "scaling":
			return runScaling(ctx, args[1:])
		}
	}
	fmt.Fprintln(os.Stderr, loadtestUsage)
	return errors.New("loadtest: name a workload: freshness, generate, run, bench or scaling")
}

func runFreshness(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadtest freshness", flag.ContinueOnError)
	readerURL := fs.String("reader", "http://127.0.0.1:8000", "reader base URL (lookups)")
	writerURL := fs.String("writer", "", "writer base URL (writes); default: the reader, which forwards them")
	rounds := fs.Int("rounds", 300, "write-then-read rounds")
	perRound := fs.Int("lookups", 3, "lookups after each write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *writerURL == "" {
		*writerURL = *readerURL
	}
	rep, err := loadtest.CheckFreshness(ctx, loadtest.FreshnessOptions{
		Writer: loadtest.NewClient(*writerURL), Reader: loadtest.NewClient(*readerURL),
		Rounds: *rounds, LookupsPerRound: *perRound, Progress: os.Stderr,
	})
	if err != nil {
		return err
	}
	fmt.Print(rep)
	if !rep.OK() {
		return errors.New("freshness check failed")
	}
	return nil
}

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadtest run", flag.ContinueOnError)
	target := fs.String("target", "http://127.0.0.1:8000", "base URL of the server under test")
	workload := fs.String("workload", "reco", "reco, reco-zipf, farm, browse or mixed (reco plus a writer, every read checked against acknowledged writes)")
	writeRate := fs.Float64("write-rate", 10, "mixed: IOV inserts per second (through the target, which forwards writes)")
	gt := fs.String("gt", "sPHENIX_Demo_GT", "global tag the workload reads")
	runs := fs.String("runs", "1-300", "run range FIRST-LAST the lookups draw from")
	subruns := fs.Int64("subruns", 1, "minors are drawn from [0, subruns)")
	conns := fs.Int("c", 64, "connections (requests in flight at most)")
	rate := fs.Float64("rate", 0, "open loop at this many requests/s (0: closed loop)")
	rates := fs.String("rates", "", "open-loop sweep: comma-separated rates, one run each (draws latency.svg)")
	duration := fs.Duration("d", 10*time.Second, "measured time (per target when comparing, per rate when sweeping)")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured time first")
	compare := fs.String("compare", "", `second target run side by side: a base URL, or "static" for a built-in fasthttp server answering a fixed body of the target's lookup size`)
	slices := fs.Int("slices", 5, "alternating slices per target when comparing")
	out := fs.String("out", "", "report directory (default reports/<time>)")
	prewarm := fs.Bool("prewarm", false, "look up every run of -runs once before measuring, so that a cache holds every answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rr, err := parseRuns(*runs, *subruns)
	if err != nil {
		return err
	}
	if *prewarm {
		began := time.Now()
		if err := loadtest.Prewarm(ctx, *target, *gt, rr, *conns); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "prewarmed %d runs in %v\n", rr.Last-rr.First+1, time.Since(began).Round(time.Millisecond))
	}
	var w loadtest.Workload
	switch *workload {
	case "reco":
		w = loadtest.Reco{GlobalTag: *gt, Runs: rr}
	case "reco-zipf":
		w = loadtest.Reco{GlobalTag: *gt, Runs: rr, ZipfS: 1.1}
	case "farm":
		w = loadtest.NewFarm(*gt, rr, 0, 0)
	case "browse":
		w = loadtest.Browse{GlobalTag: *gt}
	case "mixed":
		w = loadtest.NewMixed(loadtest.Reco{GlobalTag: *gt, Runs: rr}, loadtest.NewClient(*target), *writeRate)
	default:
		return fmt.Errorf("unknown workload %q (reco, reco-zipf, farm, browse, mixed)", *workload)
	}
	if *workload == "mixed" && (*compare != "" || *rates != "") {
		return errors.New("-workload mixed writes to -target and checks reads against those writes: it runs alone, not with -compare or -rates")
	}
	o := loadtest.RunOptions{Target: *target, Workload: w, Connections: *conns, Rate: *rate,
		Duration: *duration, Warmup: *warmup, Progress: os.Stderr}
	rep := loadtest.NewReport("condcache loadtest run " + strings.Join(args, " "))
	switch {
	case *rates != "":
		var rs []float64
		for _, f := range strings.Split(*rates, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || v <= 0 {
				return fmt.Errorf("-rates: %q is not a positive number", f)
			}
			rs = append(rs, v)
		}
		results, err := loadtest.Sweep(ctx, o, rs)
		if err != nil {
			return err
		}
		rep.Results = results
	case *compare != "":
		other := *compare
		if other == "static" {
			st, err := loadtest.StartStaticLike(*target, w)
			if err != nil {
				return err
			}
			defer st.Close()
			other = st.URL
		}
		results, err := loadtest.Compare(ctx, o, []string{other, *target}, *slices)
		if err != nil {
			return err
		}
		rep.AddCompared(results)
	default:
		res, err := loadtest.Run(ctx, o)
		if err != nil {
			return err
		}
		rep.Results = []*loadtest.Result{res}
	}
	if err := rep.WriteText(os.Stdout); err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("reports", time.Now().Format("20060102-150405"))
	}
	paths, err := rep.Save(dir)
	if err != nil {
		return err
	}
	fmt.Println("report:", strings.Join(paths, " "))
	return nil
}

// parseRuns reads FIRST-LAST.
func parseRuns(s string, subruns int64) (loadtest.RunRange, error) {
	a, b, ok := strings.Cut(s, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || last < first {
		return loadtest.RunRange{}, fmt.Errorf("-runs %q: want FIRST-LAST, e.g. 1-300", s)
	}
	return loadtest.RunRange{First: first, Last: last, Subruns: subruns}, nil
}

func runGenerate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadtest generate", flag.ContinueOnError)
	preset := fs.String("preset", "sphenix", "small, sphenix, large, worst or production")
	dsn := fs.String("dsn", "postgres://condcache@127.0.0.1:15432/condcache?sslmode=disable", "PostgreSQL primary of the target (default: make run's)")
	prefix := fs.String("prefix", "", "name prefix of the GTs and types (default: the preset's name and the time)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, ok := pgdata.PresetNamed(*preset)
	if !ok {
		return fmt.Errorf("unknown preset %q", *preset)
	}
	if *prefix == "" {
		*prefix = fmt.Sprintf("%s_%s", p.Name, time.Now().Format("150405"))
	}
	pool, err := pgxpool.New(ctx, *dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	fmt.Fprintf(os.Stderr, "loading %s: %d GT(s) × %d types × %d IOVs = %d rows, then %d clone(s)\n",
		p.Name, p.GTs, p.Types, p.IOVs, p.Rows(), p.Clones)
	d, err := pgdata.Load(ctx, pool, p, *prefix)
	if err != nil {
		return err
	}
	fmt.Printf("loaded %d IOV rows in %.1f s: %.0f rows/s; clone of %s: %.2f s each\n",
		d.Rows, d.CopySeconds, d.RowsPerSecond, d.GlobalTags[0], d.CloneSeconds)
	fmt.Printf("global tags: %s\n", strings.Join(d.GlobalTags, " "))
	fmt.Printf("try: condcache loadtest run -gt %s -runs %d-%d\n", d.GlobalTags[0], d.FirstRun, d.LastRun)
	return nil
}
