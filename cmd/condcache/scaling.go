package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/loadtest"
	"github.com/condcache/condcache/loadtest/pgdata"
	cdbsql "github.com/condcache/condcache/sql"
)

// loadStackSettings tune the PostgreSQL servers the load-test commands
// start: the default 128 MB of shared buffers makes a 1M-row clone write
// out most of what it touches.
var loadStackSettings = map[string]string{"shared_buffers": "1GB"}

// runScaling is `condcache loadtest scaling`: the lookup's SQL cost as the
// table grows with rows the lookup does not read (presets of growing
// size), and with clones sharing the table, on a primary of its own.
// Writes scaling.json, table-size.svg and clones.svg.
func runScaling(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadtest scaling", flag.ContinueOnError)
	presets := fs.String("presets", "small,sphenix,large,worst", "table-size series: presets, loaded one database each (production: 36M rows, hours)")
	clonePreset := fs.String("clone-preset", "sphenix", "clone series: the preset whose GT is cloned")
	steps := fs.String("clones", "1,2,5,10,20,50,100,200", "clone series: numbers of clones measured")
	lookups := fs.Int("lookups", 1000, "timed lookups per point")
	out := fs.String("out", filepath.Join("reports", "scaling-"+time.Now().Format("20060102-150405")), "report directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var sizes []pgdata.Preset
	for _, name := range splitList(*presets) {
		p, ok := pgdata.PresetNamed(name)
		if !ok {
			return fmt.Errorf("unknown preset %q", name)
		}
		sizes = append(sizes, p)
	}
	cloned, ok := pgdata.PresetNamed(*clonePreset)
	if !ok {
		return fmt.Errorf("unknown preset %q", *clonePreset)
	}
	var cloneSteps []int
	for _, s := range splitList(*steps) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("-clones: %q is not a number of clones", s)
		}
		cloneSteps = append(cloneSteps, n)
	}

	dir, err := os.MkdirTemp("", "condcache-scaling-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	stack, err := localstack.Start(ctx, localstack.Options{Dir: dir, Fast: true, Settings: loadStackSettings, Log: os.Stderr})
	if err != nil {
		return err
	}
	defer stack.Stop()
	o := pgdata.ScaleOptions{Lookups: *lookups, Progress: os.Stderr,
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
		Command   string              `json:"command"`
		TableSize []pgdata.ScalePoint `json:"table_size"`
		Clones    []pgdata.ScalePoint `json:"clones"`
	}
	rep.Command = "condcache loadtest scaling " + strings.Join(args, " ")
	if rep.TableSize, err = pgdata.TableSizeSeries(ctx, o, sizes); err != nil {
		return err
	}
	if len(cloneSteps) > 0 {
		if rep.Clones, err = pgdata.CloneSeries(ctx, o, cloned, cloneSteps); err != nil {
			return err
		}
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
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
			func(pt pgdata.ScalePoint) (float64, string) {
				return float64(pt.TableRows), pt.Label + " " + humanCount(pt.TableRows)
			})
	}
	if len(rep.Clones) > 0 {
		files["clones.svg"] = scaleChart(fmt.Sprintf("lookup latency vs clones of the %s GT", cloned.Name),
			"clones sharing the table", false, rep.Clones,
			func(pt pgdata.ScalePoint) (float64, string) { return float64(pt.Clones), strconv.Itoa(pt.Clones) })
	}
	fmt.Printf("%-16s %12s %10s %10s %8s\n", "point", "table rows", "p50 ms", "p99 ms", "ratio")
	for _, series := range [][]pgdata.ScalePoint{rep.TableSize, rep.Clones} {
		for _, pt := range series {
			fmt.Printf("%-16s %12d %10.2f %10.2f %7.2f×\n", pt.Label, pt.TableRows, pt.P50Ms, pt.P99Ms, pt.P99Ms/series[0].P99Ms)
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Println("report:", *out)
	return nil
}

// scaleChart draws p50 and p99 of a series against the x value and tick
// label that x gives each point.
func scaleChart(title, xLabel string, logX bool, pts []pgdata.ScalePoint, x func(pgdata.ScalePoint) (float64, string)) []byte {
	c := loadtest.Chart{Title: title, XLabel: xLabel, LogX: logX,
		Lines: []loadtest.ChartLine{{Name: "p50"}, {Name: "p99"}}}
	for _, pt := range pts {
		v, label := x(pt)
		c.X = append(c.X, loadtest.ChartX{Value: v, Label: label})
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
