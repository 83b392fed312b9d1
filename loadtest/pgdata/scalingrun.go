package pgdata

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/loadtest/chart"
	cdbsql "github.com/condcache/condcache/sql"
)

// ScalingOptions configures Scaling.
type ScalingOptions struct {
	// Command is recorded in the report (how the run was started).
	Command string
	// Sizes is the table-size series: presets, loaded one database each.
	Sizes []Preset
	// Cloned is the clone series' preset, and CloneSteps the numbers of
	// clones measured (none: no clone series).
	Cloned     Preset
	CloneSteps []int
	// Lookups timed per point.
	Lookups int
	// Out is the report directory.
	Out string
	// Settings are extra PostgreSQL settings of the stack's primary.
	Settings map[string]string
	// Stdout receives the table of results, Progress the progress; nil =
	// os.Stdout, os.Stderr.
	Stdout, Progress io.Writer
}

// Scaling is `condcache loadtest scaling`: the lookup's SQL cost as the
// table grows with rows the lookup does not read (presets of growing
// size), and with clones sharing the table, on a primary of its own in a
// temporary directory. Writes scaling.json, table-size.svg and clones.svg
// to o.Out and prints a table.
func Scaling(ctx context.Context, o ScalingOptions) error {
	stdout, progress := o.Stdout, o.Progress
	if stdout == nil {
		stdout = os.Stdout
	}
	if progress == nil {
		progress = os.Stderr
	}
	dir, err := os.MkdirTemp("", "condcache-scaling-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	stack, err := localstack.Start(ctx, localstack.Options{Dir: dir, Fast: true, Settings: o.Settings, Log: progress})
	if err != nil {
		return err
	}
	defer stack.Stop()
	so := ScaleOptions{Lookups: o.Lookups, Progress: progress,
		NewDatabase: func(ctx context.Context, name string) (*pgxpool.Pool, error) {
			if err := stack.CreateDatabase(ctx, name); err != nil {
				return nil, err
			}
			dsn := stack.Primary.DSN(name)
			if err := cdbsql.Migrate(ctx, dsn); err != nil {
				return nil, err
			}
			return pgxpool.New(ctx, dsn)
		}}

	var rep struct {
		Command   string       `json:"command"`
		TableSize []ScalePoint `json:"table_size"`
		Clones    []ScalePoint `json:"clones"`
	}
	rep.Command = o.Command
	if rep.TableSize, err = TableSizeSeries(ctx, so, o.Sizes); err != nil {
		return err
	}
	if len(o.CloneSteps) > 0 {
		if rep.Clones, err = CloneSeries(ctx, so, o.Cloned, o.CloneSteps); err != nil {
			return err
		}
	}

	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{"scaling.json": append(js, '\n')}
	if len(rep.TableSize) > 0 {
		files["table-size.svg"] = scaleChart("lookup latency vs table size (SQL on the primary, no cache)",
			"IOV rows in the table (log scale)", true, rep.TableSize,
			func(pt ScalePoint) (float64, string) {
				return float64(pt.TableRows), pt.Label + " " + humanCount(pt.TableRows)
			})
	}
	if len(rep.Clones) > 0 {
		files["clones.svg"] = scaleChart(fmt.Sprintf("lookup latency vs clones of the %s GT", o.Cloned.Name),
			"clones sharing the table", false, rep.Clones,
			func(pt ScalePoint) (float64, string) { return float64(pt.Clones), strconv.Itoa(pt.Clones) })
	}
	fmt.Fprintf(stdout, "%-16s %12s %10s %10s %8s\n", "point", "table rows", "p50 ms", "p99 ms", "ratio")
	for _, series := range [][]ScalePoint{rep.TableSize, rep.Clones} {
		for _, pt := range series {
			fmt.Fprintf(stdout, "%-16s %12d %10.2f %10.2f %7.2f×\n", pt.Label, pt.TableRows, pt.P50Ms, pt.P99Ms, pt.P99Ms/series[0].P99Ms)
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(o.Out, name), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "report:", o.Out)
	return nil
}

// scaleChart draws p50 and p99 of a series against the x value and tick
// label that x gives each point.
func scaleChart(title, xLabel string, logX bool, pts []ScalePoint, x func(ScalePoint) (float64, string)) []byte {
	c := chart.Chart{Title: title, XLabel: xLabel, LogX: logX,
		Lines: []chart.Line{{Name: "p50"}, {Name: "p99"}}}
	for _, pt := range pts {
		v, label := x(pt)
		c.X = append(c.X, chart.X{Value: v, Label: label})
		c.Lines[0].Ms = append(c.Lines[0].Ms, pt.P50Ms)
		c.Lines[1].Ms = append(c.Lines[1].Ms, pt.P99Ms)
	}
	return c.SVG()
}

func humanCount(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1_000:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return strconv.FormatInt(n, 10)
}
