package pgdata_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/loadtest/pgdata"
	cdbsql "github.com/condcache/condcache/sql"
)

// BenchmarkLookupVsTableSize is the scaling series of issue 4: the cost of
// one lookup (SQL on the primary, through sql.Reader, no cache) of a GT of
// 100 types, as the table grows with rows the lookup does not read: more
// IOVs per list (sphenix → large), and clones of the GT sharing the table.
// Each case loads its own database first (large: about 20 s), so run it
// alone:
//
//	go test -run '^$' -bench LookupVsTableSize -benchtime 2000x ./loadtest/pgdata/
func BenchmarkLookupVsTableSize(b *testing.B) {
	for _, tc := range []struct {
		name   string
		preset string
		clones int
	}{
		{"sphenix-100k", "sphenix", 0},
		{"sphenix+10clones-1.1M", "sphenix", 10},
		{"large-1M", "large", 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			db := fmt.Sprintf("scale_%s_%d", tc.preset, tc.clones)
			if err := stack.CreateDatabase(ctx, db); err != nil {
				b.Fatal(err)
			}
			dsn := stack.Primary.DSN(db)
			if err := cdbsql.Migrate(ctx, dsn); err != nil {
				b.Fatal(err)
			}
			pool, err := pgxpool.New(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			p, _ := pgdata.PresetNamed(tc.preset)
			p.Clones = tc.clones
			d, err := pgdata.Load(ctx, pool, p, "s")
			if err != nil {
				b.Fatal(err)
			}
			var rows int64
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM "PayloadIOV"`).Scan(&rows); err != nil {
				b.Fatal(err)
			}
			rd := cdbsql.NewReader(pool, nil, cdbsql.ReaderOptions{})
			rng := rand.New(rand.NewPCG(1, 2))
			b.ResetTimer()
			n := 0
			for b.Loop() {
				at := condcache.Point{Major: d.FirstRun + 4 + rng.Int64N(d.LastRun-d.FirstRun-4)}
				res, err := rd.LookupAt(ctx, d.GlobalTags[0], at, condcache.Freshness{})
				if err != nil {
					b.Fatal(err)
				}
				n += len(res.Rows)
			}
			b.ReportMetric(float64(n)/float64(b.N), "rows/op")
			b.ReportMetric(float64(rows), "table-rows")
		})
	}
}
