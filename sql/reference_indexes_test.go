package sql_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// TestReferenceIndexesOptIn: dropping Nopayloaddb's covering_idx and the
// foreign key's index (the opt-in of docs/operations.md "Reference
// indexes") removes exactly those two, changes no answer of a bulk-loaded
// GT and its clone, and keeps the reference's own lookup statement on an
// index; restoring builds them again; both are idempotent.
func TestReferenceIndexesOptIn(t *testing.T) {
	name := testDB(t)
	e := &storeEnv{t: t, ctx: t.Context(), db: primaryPool(t, name)}
	e.store = cdbsql.NewStore(e.db, condcache.ModeContinuous)
	e.statuses()
	e.gt("G", condcache.StatusUnlocked)
	var bulk []condcache.BulkPayloadIOV
	for _, typ := range []string{"A", "B", "C"} {
		l := e.attachedPL("G", typ)
		for i := range 300 {
			bulk = append(bulk, condcache.BulkPayloadIOV{PayloadList: l.Name, PayloadURL: fmt.Sprintf("%s%d", typ, i),
				Start: iovPt(int64(i), int64(i%3)), End: storeOpen})
		}
	}
	if _, err := e.store.BulkCreatePayloadIOVs(e.ctx, bulk); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CloneGlobalTag(e.ctx, "G", "H"); err != nil {
		t.Fatal(err)
	}
	reader := cdbsql.NewReader(e.db, nil, cdbsql.ReaderOptions{})
	answers := func() map[string][]condcache.LookupRow {
		out := map[string][]condcache.LookupRow{}
		for _, gt := range []string{"G", "H"} {
			for major := int64(-1); major <= 301; major += 7 {
				rows, err := reader.Lookup(e.ctx, gt, iovPt(major, 1))
				if err != nil {
					t.Fatal(err)
				}
				out[fmt.Sprint(gt, major)] = rows
			}
		}
		return out
	}
	indexes := func() []string {
		rows, err := e.db.Query(e.ctx, `SELECT indexname FROM pg_indexes WHERE tablename = 'PayloadIOV' ORDER BY indexname`)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	before, all := answers(), indexes()
	dsn := stack.Primary.DSN(name)
	for range 2 {
		if err := cdbsql.DropReferenceIndexes(e.ctx, dsn); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"PayloadIOV_pkey", "condcache_attach_idx", "condcache_lookup_idx"}
	if got := indexes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("indexes after the drop: %v, want %v", got, want)
	}
	if got := answers(); !reflect.DeepEqual(got, before) {
		t.Fatal("lookups answer differently without the reference indexes")
	}
	// The reference's lookup (one list, greatest comb_iov first) still
	// descends an index rather than sorting the list.
	var plan string
	rows, err := e.db.Query(e.ctx, `EXPLAIN SELECT id FROM "PayloadIOV"
		WHERE payload_list_id = 1 AND comb_iov <= 5 ORDER BY comb_iov DESC NULLS LAST LIMIT 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan += line + "\n"
	}
	if !strings.Contains(plan, "Index Scan using condcache_lookup_idx") && !strings.Contains(plan, "Index Only Scan using condcache_lookup_idx") {
		t.Fatalf("the reference's lookup plan:\n%s", plan)
	}
	for range 2 {
		if err := cdbsql.RestoreReferenceIndexes(e.ctx, dsn); err != nil {
			t.Fatal(err)
		}
	}
	if got := indexes(); !reflect.DeepEqual(got, all) {
		t.Fatalf("indexes after the restore: %v, want %v", got, all)
	}
	if got := answers(); !reflect.DeepEqual(got, before) {
		t.Fatal("lookups answer differently after the restore")
	}
}
