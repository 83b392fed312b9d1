package sql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache/internal/testkit"
	cdbsql "github.com/condcache/condcache/sql"
)

// planNode is the part of EXPLAIN (FORMAT JSON) output the test looks at.
type planNode struct {
	NodeType    string     `json:"Node Type"`
	Relation    string     `json:"Relation Name"`
	Index       string     `json:"Index Name"`
	HeapFetches *int64     `json:"Heap Fetches"`
	Plans       []planNode `json:"Plans"`
}

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// explain runs EXPLAIN (options, FORMAT JSON) of the lookup on conn-level
// settings already applied, returning the plan and the execution time.
func explain(t *testing.T, ctx context.Context, p *pgxpool.Pool, setup, options string, args ...any) (planNode, float64) {
	t.Helper()
	conn, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if setup != "" {
		if _, err := conn.Exec(ctx, setup); err != nil {
			t.Fatal(err)
		}
		defer conn.Exec(ctx, "RESET ALL; DEALLOCATE ALL")
	}
	var out []byte
	stmt := "EXPLAIN (" + options + ", FORMAT JSON) " + cdbsql.LookupSQL
	if strings.HasPrefix(setup, "PREPARE") {
		stmt = "EXPLAIN (" + options + ", FORMAT JSON) EXECUTE lookup($1, $2)"
	}
	if err := conn.QueryRow(ctx, stmt, args...).Scan(&out); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	var res []struct {
		Plan          planNode `json:"Plan"`
		ExecutionTime float64  `json:"Execution Time"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res) != 1 {
		t.Fatalf("EXPLAIN output %s: %v", out, err)
	}
	return res[0].Plan, res[0].ExecutionTime
}

// TestLookupPlan: on a realistically sized table the lookup reads each
// attached list's IOV and next start from condcache_lookup_idx alone — index-only
// scans, no sequential scan and no heap access on "PayloadIOV" — both with
// the custom plan of a first execution and the generic plan a prepared
// statement settles on.
func TestLookupPlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := primaryPool(t, testDB(t))
	r := newSeed(t, p)
	began := time.Now()

	// 4 lists × 50,000 IOVs attached to the GT, plus a detached list and
	// detached IOVs that the plan must not wade through.
	gt := r.gt("GT", r.status("unlocked"), nil)
	for _, typ := range []string{"Beam", "CEMC", "HCal", "ZDC"} {
		list, _ := r.list(r.ptype(typ), &gt)
		r.exec(`INSERT INTO "PayloadIOV" (payload_url, checksum, size, major_iov, minor_iov, major_iov_end,
				minor_iov_end, created, updated, comb_iov, payload_list_id)
			SELECT 'root://store/' || $1::text || '/' || n, md5(n::text), n, n / 10, n % 10, n / 10, n % 10 + 1,
				now(), now(), (n / 10) + (n % 10) / 1e19, $2
			FROM generate_series(1, 50000) n`, typ, list)
	}
	other, _ := r.list(r.id(`SELECT id FROM "PayloadType" WHERE name = 'Beam'`), nil)
	r.exec(`INSERT INTO "PayloadIOV" (payload_url, checksum, major_iov, minor_iov, major_iov_end,
			minor_iov_end, created, updated, comb_iov, payload_list_id)
		SELECT 'x', 'x', n, 0, n, 1, now(), now(), n, CASE WHEN n % 2 = 0 THEN $1::bigint END
		FROM generate_series(1, 20000) n`, other)
	// ANALYZE gives the planner real statistics; VACUUM sets the
	// visibility map, as autovacuum does on a real database, which lets the
	// index-only scan skip the heap.
	r.exec(`ANALYZE`)
	allVisible(t, ctx, p)
	var n int64
	if err := p.QueryRow(ctx, `SELECT count(*) FROM "PayloadIOV"`).Scan(&n); err != nil || n < 200000 {
		t.Fatalf("%d IOVs, %v", n, err)
	}
	t.Logf("loaded %d IOVs in %v", n, time.Since(began).Round(time.Millisecond))

	args := []any{"GT", pt(3000, 5).CombIOV()}
	for _, mode := range []struct{ name, setup string }{
		{"custom plan", ""},
		{"generic plan", "SET plan_cache_mode = force_generic_plan; PREPARE lookup AS " + cdbsql.LookupSQL},
	} {
		plan, ms := explain(t, ctx, p, mode.setup, "ANALYZE, BUFFERS", args...)
		var onIndex, heapFetches int64
		plan.walk(func(n planNode) {
			if n.Relation != "PayloadIOV" {
				return
			}
			if n.NodeType == "Index Only Scan" && n.Index == "condcache_lookup_idx" {
				onIndex++
				if n.HeapFetches != nil {
					heapFetches += *n.HeapFetches
				}
				return
			}
			t.Errorf("%s: %s on PayloadIOV (index %q), want only Index Only Scan on condcache_lookup_idx", mode.name, n.NodeType, n.Index)
		})
		// One descent finds the IOV at the point, one the next start (the
		// answer's window), both per attached list.
		if onIndex != 2 {
			t.Errorf("%s: %d index-only scans of condcache_lookup_idx, want 2", mode.name, onIndex)
		}
		if heapFetches != 0 {
			t.Errorf("%s: %d heap fetches, want 0", mode.name, heapFetches)
		}
		t.Logf("%s: execution %.3f ms", mode.name, ms)
	}

	// And the statement answers: one row per list, the right one.
	rd := cdbsql.NewReader(p, nil, cdbsql.ReaderOptions{})
	got, err := rd.Lookup(ctx, "GT", pt(3000, 5))
	if err != nil || len(got) != 4 || got[0].PayloadURL != "root://store/Beam/30005" || got[3].PayloadType != "ZDC" {
		t.Errorf("Lookup = %+v, %v", got, err)
	}
	start := time.Now()
	const lookups = 500
	for i := range lookups {
		if _, err := rd.Lookup(ctx, "GT", pt(int64(i*11), 0)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d lookups of 4 lists: %v each (loopback, one connection at a time); whole test %v",
		lookups, time.Since(start)/lookups, time.Since(began).Round(time.Millisecond))
}

// allVisible vacuums "PayloadIOV" until every page is all-visible. A page
// only becomes so once no snapshot anywhere may still not see its rows; the
// replica's hot_standby_feedback holds that horizon back for up to
// wal_receiver_status_interval (10 s), so one VACUUM right after the load
// may not be enough.
func allVisible(t *testing.T, ctx context.Context, p *pgxpool.Pool) {
	t.Helper()
	testkit.Poller(200*time.Millisecond).EventuallyNil(t, 30*time.Second, "every page all-visible after VACUUM", func() error {
		if _, err := p.Exec(ctx, `VACUUM "PayloadIOV"`); err != nil {
			t.Fatal(err)
		}
		var pages, visible int64
		if err := p.QueryRow(ctx, `SELECT relpages, relallvisible FROM pg_class WHERE oid = '"PayloadIOV"'::regclass`).Scan(&pages, &visible); err != nil {
			t.Fatal(err)
		}
		if visible != pages {
			return fmt.Errorf("%d of %d pages are all-visible", visible, pages)
		}
		return nil
	})
}
