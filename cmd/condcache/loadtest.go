package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/condcache/condcache/internal/cli"
	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
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
  burst       a farm burst: thousands of jobs asking their first lookup of
              a GT at the same moment (after a write emptied its cache);
              reports the database queries issued per answer window
  writes      start a stack like make run's and time bulk loads (bulk_piov)
              and clones through its writer, then globalTags
  run         drive a target with a workload (reco, reco-zipf, farm,
              browse, mixed), closed or open loop, alone, side by side with
              another target (-compare URL, static or nginx-ttl), or as an
              open-loop sweep of rates (-rates); writes a report

Run "condcache loadtest <workload> -h" for its flags.`

// loadtestCommand is `condcache loadtest` and its workloads.
func loadtestCommand(e config.Env, st cli.Streams) *cobra.Command {
	cmd := &cobra.Command{Use: "loadtest", Short: "drive running servers: freshness checks, load workloads and reports",
		Args: cobra.ArbitraryArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(stderr, loadtestUsage)
			return cli.Usagef("name a workload: freshness, generate, run, burst, bench, writes or scaling")
		}}
	cmd.AddCommand(freshnessCommand(e, st), loadCommand(e, st), generateCommand(e, st), burstCommand(e, st), benchCommand(e, st), scalingCommand(e, st), writesCommand(e, st))
	return cmd
}

// loadtestSub is one workload: its table, and run once it is read.
func loadtestSub(use, short string, t *config.Table, e config.Env, st cli.Streams, run func(ctx context.Context) error) *cobra.Command {
	return cli.TableCommand(use, short, t, e, st, func(ctx context.Context, c *config.Config) error {
		if len(c.Args) > 0 {
			return cli.Usagef("unexpected arguments %q", c.Args)
		}
		return run(ctx)
	})
}

// presetValue is the name of a data set preset.
func presetValue(p *pgdata.Preset) config.Value {
	return config.Func("preset", func(s string) error {
		preset, ok := pgdata.PresetNamed(s)
		if !ok {
			return errors.New("not a preset: small, sphenix, large, worst or production")
		}
		*p = preset
		return nil
	})
}

func reportDir(prefix string) string {
	return filepath.Join("reports", prefix+time.Now().Format("20060102-150405"))
}

func freshnessCommand(e config.Env, st cli.Streams) *cobra.Command {
	var readerURL, writerURL string
	o := loadtest.FreshnessOptions{Progress: stderr}
	t := &config.Table{Command: "condcache loadtest freshness", Synopsis: "[flags]", Settings: []config.Setting{
		{Flag: "reader", Default: "http://127.0.0.1:8000", Help: "reader base URL (lookups)", Value: config.String(&readerURL)},
		{Flag: "writer", DefaultText: "the reader, which forwards writes", Help: "writer base URL (writes)", Value: config.String(&writerURL)},
		{Flag: "rounds", Default: "300", Help: "write-then-read rounds", Value: config.Int(&o.Rounds)},
		{Flag: "lookups", Default: "3", Help: "lookups after each write", Value: config.Int(&o.LookupsPerRound)},
	}}
	return loadtestSub("freshness", "write-then-read rounds through a reader: no stale answer", t, e, st, func(ctx context.Context) error {
		if writerURL == "" {
			writerURL = readerURL
		}
		o.Writer, o.Reader = loadtest.NewClient(writerURL), loadtest.NewClient(readerURL)
		return loadtest.Freshness(ctx, o, stdout)
	})
}

func loadCommand(e config.Env, st cli.Streams) *cobra.Command {
	o := loadtest.DriveOptions{Command: "condcache " + strings.Join(os.Args[1:], " "), Stdout: stdout, Progress: stderr}
	var runs string
	var subruns int64
	var rates string
	t := &config.Table{Command: "condcache loadtest run", Synopsis: "[flags]", Settings: []config.Setting{
		{Flag: "target", Default: "http://127.0.0.1:8000", Help: "base URL of the server under test", Value: config.String(&o.Target)},
		{Flag: "workload", Default: "reco", Help: "reco, reco-zipf, farm, browse or mixed (reco plus a writer, every read checked against acknowledged writes)",
			Value: config.OneOf(&o.Workload, loadtest.Workloads...)},
		{Flag: "write-rate", Default: "10", Help: "mixed: IOV inserts per second (through the target, which forwards writes)", Value: config.Float(&o.WriteRate)},
		{Flag: "gt", Default: loadtest.DemoGlobalTag, Help: "global tag the workload reads", Value: config.String(&o.GlobalTag)},
		{Flag: "runs", Default: "1-300", Help: "run range FIRST-LAST the lookups draw from", Value: config.String(&runs)},
		{Flag: "subruns", Default: "1", Help: "minors are drawn from [0, subruns)", Value: config.Int64(&subruns)},
		{Flag: "c", Default: "64", Help: "connections (requests in flight at most)", Value: config.Int(&o.Conns)},
		{Flag: "rate", Default: "0", Help: "open loop at this many requests/s (0: closed loop)", Value: config.Float(&o.Rate)},
		{Flag: "rates", DefaultText: "none", Help: "open-loop sweep: comma-separated rates, one run each (draws latency.svg)", Value: config.String(&rates)},
		{Flag: "d", Default: "10s", Help: "measured time (per target when comparing, per rate when sweeping)", Value: config.Duration(&o.Duration)},
		{Flag: "warmup", Default: "2s", Help: "unmeasured time first", Value: config.Duration(&o.Warmup)},
		{Flag: "compare", DefaultText: "none", Help: `second target run side by side: a base URL, "static" for a built-in fasthttp server answering a fixed body of the target's lookup size, or "nginx-ttl" for nginx caching the target for 300 s (as sites put in front of the reference); then 100 write-then-read rounds through each writable target count stale answers`,
			Value: config.String(&o.Compare)},
		{Flag: "slices", Default: "5", Help: "alternating slices per target when comparing", Value: config.Int(&o.Slices)},
		{Flag: "out", DefaultText: "reports/<time>", Help: "report directory", Value: config.String(&o.Out)},
		{Flag: "prewarm", Default: "false", Help: "look up every run of -runs once before measuring, so that a cache holds every answer", Value: config.Bool(&o.Prewarm)},
	}}
	return loadtestSub("run", "drive a target with a workload, closed or open loop, alone or side by side", t, e, st, func(ctx context.Context) error {
		rr, err := parseRuns(runs, subruns)
		if err != nil {
			return err
		}
		o.Runs = rr
		for _, f := range splitList(rates) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil || v <= 0 {
				return fmt.Errorf("-rates: %q is not a positive number", f)
			}
			o.Rates = append(o.Rates, v)
		}
		return loadtest.Drive(ctx, o)
	})
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

func generateCommand(e config.Env, st cli.Streams) *cobra.Command {
	var (
		preset      pgdata.Preset
		dsn, prefix string
	)
	t := &config.Table{Command: "condcache loadtest generate", Synopsis: "[flags]", Settings: []config.Setting{
		{Flag: "preset", Default: "sphenix", Help: "small, sphenix, large, worst or production", Value: presetValue(&preset)},
		{Flag: "dsn", Default: "postgres://condcache@127.0.0.1:15432/condcache?sslmode=disable", Help: "PostgreSQL primary of the target (default: make run's)",
			Secret: true, Show: redact.DSN, Value: dsnValue(&dsn)},
		{Flag: "prefix", DefaultText: "the preset's name and the time", Help: "name prefix of the GTs and types", Value: config.String(&prefix)},
	}}
	return loadtestSub("generate", "load a data set preset straight into PostgreSQL with COPY", t, e, st, func(ctx context.Context) error {
		return pgdata.Generate(ctx, dsn, preset, prefix, stdout, stderr)
	})
}

// burstCommand is `condcache loadtest burst`: loadtest.MeasureBurst after
// a write that empties the GT's cache.
func burstCommand(e config.Env, st cli.Streams) *cobra.Command {
	var readers, writer string
	o := loadtest.BurstOptions{}
	t := &config.Table{Command: "condcache loadtest burst", Synopsis: "[flags]",
		About: "Empties a GT's cache with a write that changes none of its answers (an empty payload list of a new type),\nthen releases -jobs lookups at once at -width neighbouring runs, spread over the readers.",
		Settings: []config.Setting{
			{Flag: "readers", Default: "http://127.0.0.1:8000", Help: "comma-separated reader base URLs", Value: config.String(&readers)},
			{Flag: "writer", DefaultText: "the first reader, which forwards writes", Help: "writer base URL", Value: config.String(&writer)},
			{Flag: "gt", Default: "sPHENIX_Demo_GT", Help: "global tag", Value: config.String(&o.GlobalTag)},
			{Flag: "run", Default: "1", Help: "first run of the burst", Value: config.Int64(&o.First)},
			{Flag: "width", Default: "4", Help: "neighbouring runs the jobs ask", Value: config.Int64(&o.Width)},
			{Flag: "jobs", Default: "10000", Help: "jobs released at once", Value: config.Int(&o.Jobs)},
			{Flag: "c", Default: "512", Help: "connections per reader", Value: config.Int(&o.Connections)},
		}}
	return loadtestSub("burst", "release many lookups of a GT at once after emptying its cache, and count the queries per answer window", t, e, st, func(ctx context.Context) error {
		o.Readers = splitList(readers)
		if len(o.Readers) == 0 {
			return cli.Usagef("-readers names no reader")
		}
		if writer == "" {
			writer = o.Readers[0]
		}
		b, err := loadtest.FarmBurst(ctx, loadtest.NewClient(writer), o)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, b)
		return nil
	})
}

// benchCommand is `condcache loadtest bench` (make bench): pgdata starts
// the stacks (the bench stack with a preset loaded, then a write stack
// like make run's), loadtest measures them and builds the targets' table,
// which -readme splices into the README.
func benchCommand(e config.Env, st cli.Streams) *cobra.Command {
	so := pgdata.BenchOptions{Settings: loadStackSettings, Progress: stderr}
	o := loadtest.BenchOptions{Stdout: stdout, Progress: stderr}
	var readme string
	t := &config.Table{Command: "condcache loadtest bench", Synopsis: "[flags]",
		About: "Starts a stack of its own, loads a preset with COPY, and measures every performance target (issue 17) in one run:\n" +
			"cache hits beside nginx-ttl and the static target, staleness after writes, uncached lookups against pgbench's\n" +
			"ceilings for the lookup statement and the reference's, the browse endpoints, write visibility, a farm burst,\n" +
			"then on a stack like make run's a bulk load and a clone; ends with one table of the targets.",
		Settings: []config.Setting{
			{Flag: "preset", Default: "sphenix", Help: "data set preset (production: 36M rows, for a manual run)", Value: presetValue(&so.Preset)},
			{Flag: "d", Default: "10s", Help: "measured time per target and case", Value: config.Duration(&o.Duration)},
			{Flag: "c", Default: "64", Help: "connections", Value: config.Int(&o.Connections)},
			{Flag: "write-rows", Default: "1000000", Help: "rows of the bulk load and so of the cloned GT (0: no write part)", Value: config.Int(&o.WriteRows)},
			{Flag: "burst-jobs", Default: "10000", Help: "jobs of the farm burst", Value: config.Int(&o.BurstJobs)},
			{Flag: "readme", DefaultText: "none", Help: "replace the block between <!-- bench:begin --> and <!-- bench:end --> in this file with the table", Value: config.String(&readme)},
			{Flag: "out", DefaultText: "reports/bench-<time>", Help: "report directory", Value: config.String(&o.Out)},
		}}
	return loadtestSub("bench", "start a stack of its own, load a preset, and measure every target (make bench)", t, e, st, func(ctx context.Context) error {
		if o.Out == "" {
			o.Out = reportDir("bench-")
		}
		if o.WriteRows < 0 {
			return cli.Usagef("-write-rows %d: want 0 (no write part) or more", o.WriteRows)
		}
		// Refuse a README without its markers before the half hour of
		// measuring, not after.
		var text string
		if readme != "" {
			b, err := os.ReadFile(readme)
			if err != nil {
				return err
			}
			text = string(b)
			if _, err := loadtest.SpliceReadme(text, ""); err != nil {
				return fmt.Errorf("-readme %s: %w", readme, err)
			}
		}
		o.Preset = so.Preset.Name
		o.StartWrites = func(ctx context.Context) (loadtest.WriteStack, error) {
			return pgdata.StartWriteStack(ctx, pgdata.WriteStackOptions{Settings: loadStackSettings, Progress: stderr})
		}
		stack, err := pgdata.StartBench(ctx, so)
		if err != nil {
			return err
		}
		res, err := loadtest.Bench(ctx, stack, o)
		if err != nil || readme == "" {
			return err
		}
		// Read again: the file may have changed while the bench ran.
		b, err := os.ReadFile(readme)
		if err != nil {
			return err
		}
		text = string(b)
		block := loadtest.ReadmeBlock(res.Table, "condcache "+strings.Join(os.Args[1:], " "), res.Started.Format("2006-01-02 15:04 UTC"),
			so.Preset.Name, runtime.NumCPU(), res.Load1, res.Load1End)
		spliced, err := loadtest.SpliceReadme(text, block)
		if err != nil {
			return fmt.Errorf("-readme %s: %w", readme, err)
		}
		if err := os.WriteFile(readme, []byte(spliced), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "table written into", readme)
		return nil
	})
}

// runScaling is `condcache loadtest scaling`: pgdata.Scaling.
func scalingCommand(e config.Env, st cli.Streams) *cobra.Command {
	o := pgdata.ScalingOptions{Command: "condcache " + strings.Join(os.Args[1:], " "), Settings: loadStackSettings,
		Stdout: stdout, Progress: stderr}
	t := &config.Table{Command: "condcache loadtest scaling", Synopsis: "[flags]",
		About: "Starts a primary of its own and charts the lookup's SQL cost against table size and against clones sharing the table.",
		Settings: []config.Setting{
			{Flag: "presets", Default: "small,sphenix,large,worst", Help: "table-size series: presets, loaded one database each (production: 36M rows, hours)",
				Value: config.Func("presets", func(s string) error {
					o.Sizes = nil
					for _, name := range splitList(s) {
						p, ok := pgdata.PresetNamed(name)
						if !ok {
							return fmt.Errorf("%q is not a preset: small, sphenix, large, worst or production", name)
						}
						o.Sizes = append(o.Sizes, p)
					}
					return nil
				})},
			{Flag: "clone-preset", Default: "sphenix", Help: "clone series: the preset whose GT is cloned", Value: presetValue(&o.Cloned)},
			{Flag: "clones", Default: "1,2,5,10,20,50,100,200", Help: "clone series: numbers of clones measured (empty: no clone series)",
				Value: config.Func("counts", func(s string) error {
					o.CloneSteps = nil
					for _, item := range splitList(s) {
						n, err := strconv.Atoi(item)
						if err != nil || n < 0 {
							return fmt.Errorf("%q is not a number of clones", item)
						}
						o.CloneSteps = append(o.CloneSteps, n)
					}
					return nil
				})},
			{Flag: "lookups", Default: "1000", Help: "timed lookups per point", Value: config.Int(&o.Lookups)},
			{Flag: "out", DefaultText: "reports/scaling-<time>", Help: "report directory", Value: config.String(&o.Out)},
		}}
	return loadtestSub("scaling", "chart the lookup's SQL cost against table size and clones", t, e, st, func(ctx context.Context) error {
		if o.Out == "" {
			o.Out = reportDir("scaling-")
		}
		return pgdata.Scaling(ctx, o)
	})
}
