package pgdata_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/loadtest/pgdata"
	cdbsql "github.com/condcache/condcache/sql"
)

var stack *localstack.Stack

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "condcache-pgdata-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stack, err = localstack.Start(ctx, localstack.Options{Dir: dir, Fast: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting PostgreSQL:", err)
		return 1
	}
	defer stack.Stop()
	return m.Run()
}

func TestLoadSmall(t *testing.T) {
	ctx := t.Context()
	if err := stack.CreateDatabase(ctx, "small"); err != nil {
		t.Fatal(err)
	}
	dsn := stack.Primary.DSN("small")
	if err := cdbsql.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dsn)
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
