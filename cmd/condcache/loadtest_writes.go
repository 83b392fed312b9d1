package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/condcache/condcache/internal/cli"
	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/loadtest"
	"github.com/condcache/condcache/loadtest/pgdata"
)

// writesCommand is `condcache loadtest writes`: pgdata starts a stack like
// make run's, loadtest times bulk loads and clones through its writer.
func writesCommand(e config.Env, st cli.Streams) *cobra.Command {
	o := loadtest.WritesOptions{Stdout: stdout, Progress: stderr}
	so := pgdata.WriteStackOptions{Settings: loadStackSettings, Progress: stderr}
	t := &config.Table{Command: "condcache loadtest writes", Synopsis: "[flags]",
		About: "Starts a stack like make run's (primary, streaming replica, Redis, writer, reader; fsync on) and times,\n" +
			"per run, a bulk load through the writer's bulk_piov into a new GT, then a clone of that GT.",
		Settings: []config.Setting{
			{Flag: "rows", Default: "1000000", Help: "IOVs per bulk load (and per cloned GT)", Value: config.Int(&o.Rows)},
			{Flag: "types", Default: "100", Help: "payload types: one list each per GT", Value: config.Int(&o.Types)},
			{Flag: "batch", Default: "50000", Help: "IOVs per bulk_piov body", Value: config.Int(&o.Batch)},
			{Flag: "runs", Default: "3", Help: "repetitions (the report gives their median)", Value: config.Int(&o.Runs)},
			{Flag: "drop-reference-indexes", Default: "false", Help: "first take the opt-in step of condcache migrate -drop-reference-indexes", Value: config.Bool(&so.DropReferenceIndexes)},
		}}
	return loadtestSub("writes", "time bulk loads and clones through the writer of a stack like make run's, then globalTags", t, e, st, func(ctx context.Context) error {
		stack, err := pgdata.StartWriteStack(ctx, so)
		if err != nil {
			return err
		}
		gts := make(chan pgdata.GlobalTagsTimes, 1)
		o.AfterRuns = func(ctx context.Context) error {
			t, err := stack.GlobalTags(ctx, 200)
			gts <- t
			return err
		}
		if _, err = loadtest.Writes(ctx, stack, o); err != nil {
			return err
		}
		g := <-gts
		fmt.Fprintf(stdout, "globalTags, uncached, primary, %d GTs, %d IOV rows: p50 %.2f ms, p99 %.2f ms (target ≤ 50 ms: %.2f×); counting rows instead: p50 %.1f ms, p99 %.1f ms\n",
			g.GTs, g.Rows, g.P50Ms, g.P99Ms, 50/g.P99Ms, g.RowP50Ms, g.RowP99Ms)
		return nil
	})
}
