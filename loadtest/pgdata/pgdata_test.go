package pgdata_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
	"github.com/condcache/condcache/loadtest"
	"github.com/condcache/condcache/loadtest/pgdata"
	cdbsql "github.com/condcache/condcache/sql"
)

var stack *localstack.Stack

func TestMain(m *testing.M) {
	testkit.Main(m, testkit.Options{Name: "pgdata", Stack: &localstack.Options{}}, func(_ context.Context, env *testkit.Env) error {
		stack = env.Stack
		return nil
	})
}

// newDatabase creates a migrated database on the stack's primary and
// returns a pool on it (a pgdata.NewDatabase).
func newDatabase(ctx context.Context, name string) (*pgxpool.Pool, error) {
	if err := stack.CreateDatabase(ctx, name); err != nil {
		return nil, err
	}
	if err := cdbsql.Migrate(ctx, stack.Primary.DSN(name)); err != nil {
		return nil, err
	}
	return pgxpool.New(ctx, stack.Primary.DSN(name))
}

func TestLoadSmall(t *testing.T) {
	ctx := t.Context()
	pool, err := newDatabase(ctx, "small")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	p, _ := pgdata.PresetNamed("small")
	d, err := pgdata.Load(ctx, pool, p, "ds")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows at %.0f rows/s; clone %.2f s", d.Rows, d.RowsPerSecond, d.CloneSeconds)
	if d.Rows != p.Rows() || len(d.GlobalTags) != p.GTs+p.Clones {
		t.Fatalf("dataset %+v", d)
	}
	var rows int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM "PayloadIOV"`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if want := p.Rows() * int64(1+p.Clones); rows != want {
		t.Errorf("%d IOV rows in the database, want %d (clones copy their GT)", rows, want)
	}

	rd := cdbsql.NewReader(pool, nil, cdbsql.ReaderOptions{})
	checksum := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, gt := range d.GlobalTags {
		for _, at := range []condcache.Point{{Major: d.FirstRun + 4}, {Major: d.FirstRun + 555, Minor: 3}, {Major: d.LastRun + 1000}} {
			res, err := rd.LookupAt(ctx, gt, at, condcache.Freshness{Latest: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) != p.Types {
				t.Fatalf("%s at %v: %d rows, want one per type (%d)", gt, at, len(res.Rows), p.Types)
			}
			for _, r := range res.Rows {
				if !checksum.MatchString(r.Checksum) || r.Size == nil || *r.Size <= 0 || r.Start.Major > at.Major {
					t.Fatalf("%s at %v: bad row %+v", gt, at, r)
				}
			}
		}
	}
	var statuses []string
	rowsSt, err := pool.Query(ctx, `SELECT s.name FROM "GlobalTag" g JOIN "GlobalTagStatus" s ON s.id = g.status_id ORDER BY g.name`)
	if err != nil {
		t.Fatal(err)
	}
	for rowsSt.Next() {
		var s string
		if err := rowsSt.Scan(&s); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, s)
	}
	if fmt.Sprint(statuses) != "[unlocked locked frozen]" {
		t.Errorf("statuses by GT name: %v", statuses)
	}
}

// TestScalingSeries runs both series on the small preset: each point looks
// up every type of the GT, and the table grows by one GT's rows per clone.
func TestScalingSeries(t *testing.T) {
	ctx := t.Context()
	o := pgdata.ScaleOptions{Lookups: 50, Progress: io.Discard, NewDatabase: newDatabase}
	small, _ := pgdata.PresetNamed("small")
	sizes, err := pgdata.TableSizeSeries(ctx, o, []pgdata.Preset{small})
	if err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 1 || sizes[0].TableRows != small.Rows() || sizes[0].RowsPerOp != float64(small.Types) {
		t.Errorf("table-size series %+v, want one point of %d rows and %d rows per lookup", sizes, small.Rows(), small.Types)
	}
	clones, err := pgdata.CloneSeries(ctx, o, small, []int{2, 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 2} {
		if i >= len(clones) || clones[i].Clones != want || clones[i].TableRows != int64(want+1)*small.Rows() ||
			clones[i].P50Ms <= 0 || clones[i].P99Ms < clones[i].P50Ms {
			t.Errorf("clone series %+v: point %d should have %d clones and %d rows", clones, i, want, int64(want+1)*small.Rows())
		}
	}
}

// TestPgbenchLookup runs the lookup statement under pgbench on loaded data,
// as loadtest bench does for its baseline: every transaction succeeds and
// is counted from pgbench's own log.
func TestPgbenchLookup(t *testing.T) {
	ctx := t.Context()
	const db = "pgbench"
	pool, err := newDatabase(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	p, _ := pgdata.PresetNamed("small")
	d, err := pgdata.Load(ctx, pool, p, "pb")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := localstack.FindPGBin()
	if err != nil {
		t.Fatal(err)
	}
	res, err := loadtest.Pgbench{Binary: filepath.Join(bin, "pgbench"), DSN: stack.Primary.DSN(db),
		Statement: cdbsql.LookupSQL, GlobalTag: d.GlobalTags[0],
		Runs:        loadtest.RunRange{First: d.FirstRun, Last: d.LastRun, Subruns: 1},
		Connections: 2, Duration: time.Second}.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 10 || res.Failed() != 0 || res.Latency.P50 <= 0 || res.Throughput <= 0 {
		t.Errorf("pgbench: %d transactions, errors %v, p50 %.3f ms, %.0f/s", res.Requests, res.Errors, res.Latency.P50, res.Throughput)
	}
	// A GT that does not exist still answers its one row, so this checks
	// the statement ran with the bound name rather than failing.
	t.Logf("pgbench: %d transactions, %.0f/s, p50 %.3f ms", res.Requests, res.Throughput, res.Latency.P50)
}
