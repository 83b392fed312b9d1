package pgdata

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// ScalePoint is one step of a scaling series: the SQL cost of looking up
// one GT while the table holds TableRows IOV rows.
type ScalePoint struct {
	Label     string  `json:"label"`
	TableRows int64   `json:"table_rows"`
	Clones    int     `json:"clones"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	RowsPerOp float64 `json:"rows_per_lookup"`
}

// NewDatabase creates an empty, migrated database and returns a pool on it.
type NewDatabase func(ctx context.Context, name string) (*pgxpool.Pool, error)

// ScaleOptions set what a scaling series measures.
type ScaleOptions struct {
	NewDatabase NewDatabase
	Lookups     int       // timed lookups per point, after as many untimed ones
	Progress    io.Writer // a line per step
}

// TableSizeSeries loads each preset (its GTs only, no clones) into a
// database of its own and times lookups of its first GT: the cost must not
// grow with IOVs the lookup does not read.
func TableSizeSeries(ctx context.Context, o ScaleOptions, presets []Preset) ([]ScalePoint, error) {
	var out []ScalePoint
	for _, p := range presets {
		pt, err := sizePoint(ctx, o, p)
		if err != nil {
			return out, fmt.Errorf("pgdata: %s: %w", p.Name, err)
		}
		fmt.Fprintf(o.Progress, "%s: %s\n", p.Name, pt)
		out = append(out, pt)
	}
	return out, nil
}

func sizePoint(ctx context.Context, o ScaleOptions, p Preset) (ScalePoint, error) {
	p.Clones = 0
	pool, err := o.NewDatabase(ctx, "scale_size_"+p.Name)
	if err != nil {
		return ScalePoint{}, err
	}
	defer pool.Close()
	d, err := Load(ctx, pool, p, p.Name)
	if err != nil {
		return ScalePoint{}, err
	}
	fmt.Fprintf(o.Progress, "%s: %d rows loaded at %.0f rows/s\n", p.Name, d.Rows, d.RowsPerSecond)
	// Steady state, as autovacuum leaves it: statistics and a visibility
	// map, so the lookup reads nothing but the index.
	if _, err := pool.Exec(ctx, `VACUUM (ANALYZE) "PayloadIOV"`); err != nil {
		return ScalePoint{}, err
	}
	pt, err := measure(ctx, pool, d, o.Lookups)
	pt.Label = p.Name
	return pt, err
}

// CloneSeries loads preset p once, then clones its first GT with
// condcache's clone until there are steps[i] clones, timing lookups of the
// original GT at each step: the clones share the table and the index, so
// the cost must not grow with them. Each step is measured in the state
// the writer leaves: after the statistics refresh that large clones start.
func CloneSeries(ctx context.Context, o ScaleOptions, p Preset, steps []int) ([]ScalePoint, error) {
	p.Clones = 0
	pool, err := o.NewDatabase(ctx, "scale_clones_"+p.Name)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	d, err := Load(ctx, pool, p, p.Name)
	if err != nil {
		return nil, err
	}
	store := cdbsql.NewStore(pool, condcache.ModeContinuous)
	var out []ScalePoint
	clones := 0
	for _, want := range slices.Sorted(slices.Values(steps)) {
		began := time.Now()
		for ; clones < want; clones++ {
			if _, err := store.CloneGlobalTag(ctx, d.GlobalTags[0], fmt.Sprintf("%s_clone_%d", p.Name, clones)); err != nil {
				return out, err
			}
		}
		store.WaitStatistics()
		pt, err := measure(ctx, pool, d, o.Lookups)
		if err != nil {
			return out, err
		}
		pt.Label, pt.Clones = fmt.Sprintf("%d clones", clones), clones
		out = append(out, pt)
		fmt.Fprintf(o.Progress, "%s + %d clones (%.1f s of cloning): %s\n", p.Name, clones, time.Since(began).Seconds(), pt)
	}
	return out, nil
}

func (pt ScalePoint) String() string {
	return fmt.Sprintf("%d table rows, lookup p50 %.2f ms p99 %.2f ms (%.0f rows per lookup)",
		pt.TableRows, pt.P50Ms, pt.P99Ms, pt.RowsPerOp)
}

// measure times lookups of d's first GT at random runs, one at a time on
// one connection of pool (the primary: no replica, no cache), so the
// figure is the statement's own cost.
func measure(ctx context.Context, pool *pgxpool.Pool, d Dataset, n int) (ScalePoint, error) {
	var pt ScalePoint
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM "PayloadIOV"`).Scan(&pt.TableRows); err != nil {
		return pt, err
	}
	rd := cdbsql.NewReader(pool, nil, cdbsql.ReaderOptions{})
	rng := rand.New(rand.NewPCG(1, 2))
	took := make([]time.Duration, 0, n)
	rows := 0
	for i := range 2 * n {
		at := condcache.Point{Major: d.FirstRun + rng.Int64N(d.LastRun-d.FirstRun+1)}
		began := time.Now()
		res, err := rd.LookupAt(ctx, d.GlobalTags[0], at, condcache.Freshness{})
		if err != nil {
			return pt, err
		}
		if i >= n { // the first n warm the caches and the prepared statement
			took = append(took, time.Since(began))
			rows += len(res.Rows)
		}
	}
	slices.Sort(took)
	ms := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))]) / float64(time.Millisecond) }
	pt.P50Ms, pt.P99Ms = ms(0.50), ms(0.99)
	pt.RowsPerOp = float64(rows) / float64(n)
	return pt, nil
}
