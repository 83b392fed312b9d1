package sql_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// TestGlobalTagCountsStayExact: the IOV counts globalTags answers, and the
// browse mode's list IOV counts and IOV totals (checkBrowseCounts), come from
// the maintained per-list counts (migration 012, docs/design.md "Maintained
// counts"); after every write of a random sequence of every kind (creates,
// attaches with splits and trims, bulk loads small and large, IOV and list
// deletes, clones, GT deletes, lists moved between GTs, plain SQL inserts,
// moves, deletes and a TRUNCATE) they equal counting the rows, GT by GT.
func TestGlobalTagCountsStayExact(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	rng := rand.New(rand.NewPCG(17, 4))
	s, ctx := e.store, e.ctx
	reader := cdbsql.NewReader(e.db, nil, cdbsql.ReaderOptions{})
	gts := []string{"A", "B", "C"}
	types := []string{"T1", "T2"}
	for _, g := range gts {
		e.gt(g, condcache.StatusUnlocked)
	}
	for _, typ := range types {
		e.pt(typ)
	}
	check := func(step int, what string) {
		t.Helper()
		got, err := reader.GlobalTagSummaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range got {
			lists := e.count(`SELECT count(*) FROM "PayloadList" WHERE global_tag_id = $1`, g.ID)
			iovs := e.count(`SELECT count(*) FROM "PayloadIOV" i JOIN "PayloadList" l ON l.id = i.payload_list_id
				WHERE l.global_tag_id = $1`, g.ID)
			if g.PayloadListCount != lists || g.PayloadIOVCount != iovs {
				t.Fatalf("step %d (%s): GT %s counts %d lists, %d IOVs; the rows say %d, %d",
					step, what, g.Name, g.PayloadListCount, g.PayloadIOVCount, lists, iovs)
			}
			one, err := reader.GlobalTagSummaryByName(ctx, g.Name)
			if err != nil || one.PayloadIOVCount != iovs {
				t.Fatalf("step %d (%s): globalTag/%s counts %d IOVs (%v), want %d", step, what, g.Name, one.PayloadIOVCount, err, iovs)
			}
		}
		checkBrowseCounts(t, e, reader, step, what)
	}
	listOf := func(g, typ string) (string, bool) {
		var name string
		err := e.db.QueryRow(ctx, `SELECT l.name FROM "PayloadList" l JOIN "GlobalTag" g ON g.id = l.global_tag_id
			JOIN "PayloadType" t ON t.id = l.payload_type_id WHERE g.name = $1 AND t.name = $2 ORDER BY l.id DESC LIMIT 1`, g, typ).Scan(&name)
		return name, err == nil
	}
	point := func() condcache.Point { return iovPt(rng.Int64N(8), rng.Int64N(3)) }
	kinds := map[string]int{}
	for step := range 200 {
		g, typ := gts[rng.IntN(len(gts))], types[rng.IntN(len(types))]
		other := gts[(slices.Index(gts, g)+1)%len(gts)]
		var err error
		var what string
		switch op := rng.IntN(13); op {
		case 0, 1, 2: // create and attach an IOV (splits, trims, covered IOVs removed)
			what = "attach"
			l, ok := listOf(g, typ)
			if !ok {
				if l, ok = e.newAttachedList(g, typ); !ok {
					continue
				}
			}
			start := point()
			end := condcache.OpenEnd
			if rng.IntN(2) == 0 {
				end = iovPt(start.Major+1+rng.Int64N(2), 0)
			}
			v := e.iov(fmt.Sprintf("u%d", step), start, end)
			_, err = s.AttachPayloadIOV(ctx, l, v.ID, nil)
		case 3: // a detached IOV: counted nowhere
			what = "create"
			_, err = s.CreatePayloadIOV(ctx, condcache.NewPayloadIOV{PayloadURL: fmt.Sprintf("d%d", step), Checksum: "c", Start: point(), End: storeOpen})
		case 4: // bulk load, sometimes large enough for the compact audit
			what = "bulk"
			if l, ok := listOf(g, typ); ok {
				n := 1 + rng.IntN(4)
				if rng.IntN(6) == 0 {
					n = 5_100
				}
				var bulk []condcache.BulkPayloadIOV
				for i := range n {
					bulk = append(bulk, condcache.BulkPayloadIOV{PayloadList: l, PayloadURL: fmt.Sprintf("b%d_%d", step, i), Start: point(), End: storeOpen})
				}
				_, err = s.BulkCreatePayloadIOVs(ctx, bulk)
			}
		case 5: // delete an IOV
			what = "delete IOV"
			var x condcache.PayloadIOV
			if e.db.QueryRow(ctx, `SELECT i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end FROM "PayloadIOV" i
				JOIN "PayloadList" l ON l.id = i.payload_list_id JOIN "GlobalTag" g ON g.id = l.global_tag_id
				JOIN "PayloadType" t ON t.id = l.payload_type_id WHERE g.name = $1 AND t.name = $2 ORDER BY i.id DESC LIMIT 1`, g, typ).
				Scan(&x.Start.Major, &x.Start.Minor, &x.End.Major, &x.End.Minor) == nil {
				_, err = s.DeletePayloadIOV(ctx, g, typ, x.Start, x.End)
			}
		case 6: // clone onto a fresh name, then delete the GT it replaces
			what = "clone"
			if err = s.DeleteGlobalTag(ctx, other); err == nil {
				_, err = s.CloneGlobalTag(ctx, g, other)
			}
		case 7: // move a list to another GT
			what = "move list"
			if l, ok := listOf(g, typ); ok {
				_, err = s.AttachPayloadList(ctx, other, l)
			}
		case 8: // delete a detached list (after detaching it with plain SQL)
			what = "delete list"
			if l, ok := listOf(g, typ); ok {
				if _, err = e.db.Exec(ctx, `UPDATE "PayloadList" SET global_tag_id = NULL WHERE name = $1`, l); err == nil {
					err = s.DeletePayloadList(ctx, l)
				}
			}
		case 9: // plain SQL: move IOVs between lists, or detach them
			what = "sql move"
			a, okA := listOf(g, typ)
			b, okB := listOf(other, typ)
			if okA && okB {
				_, err = e.db.Exec(ctx, `UPDATE "PayloadIOV" SET payload_list_id = (SELECT id FROM "PayloadList" WHERE name = $2)
					WHERE id IN (SELECT i.id FROM "PayloadIOV" i JOIN "PayloadList" l ON l.id = i.payload_list_id
					WHERE l.name = $1 ORDER BY i.id LIMIT 3)`, a, b)
			} else if okA {
				_, err = e.db.Exec(ctx, `UPDATE "PayloadIOV" SET payload_list_id = NULL WHERE id = (SELECT max(i.id) FROM "PayloadIOV" i
					JOIN "PayloadList" l ON l.id = i.payload_list_id WHERE l.name = $1)`, a)
			}
		case 10: // plain SQL: insert attached IOVs, as a Nopayloaddb server would
			what = "sql insert"
			if l, ok := listOf(g, typ); ok {
				_, err = e.db.Exec(ctx, `INSERT INTO "PayloadIOV" (payload_url, checksum, major_iov, minor_iov, major_iov_end, minor_iov_end,
					created, updated, comb_iov, payload_list_id)
					SELECT 's' || i, 'c', 100 + i, 0, 101 + i, 0, now(), now(), 100 + i, l.id
					FROM generate_series(1, 3) i, "PayloadList" l WHERE l.name = $1`, l)
			}
		case 11: // plain SQL: delete IOVs of a GT
			what = "sql delete"
			_, err = e.db.Exec(ctx, `DELETE FROM "PayloadIOV" WHERE id IN (SELECT i.id FROM "PayloadIOV" i
				JOIN "PayloadList" l ON l.id = i.payload_list_id JOIN "GlobalTag" g ON g.id = l.global_tag_id
				WHERE g.name = $1 ORDER BY i.id LIMIT 2)`, g)
		default: // delete a GT (its lists go, and their IOVs) and create it again
			what = "delete GT"
			if err = s.DeleteGlobalTag(ctx, g); err == nil {
				e.gt(g, condcache.StatusUnlocked)
			}
		}
		if err != nil && condcache.ErrorCodeOf(err) == condcache.EInternal {
			t.Fatalf("step %d (%s): %v", step, what, err)
		}
		kinds[what]++
		check(step, what)
	}
	if _, err := e.db.Exec(ctx, `TRUNCATE "PayloadIOV"`); err != nil {
		t.Fatal(err)
	}
	check(-1, "truncate")
	t.Logf("writes checked: %v", kinds)
}

// checkBrowseCounts: every list's IOV count in the browse mode of
// payloadLists, and the total of the browse mode of payloadIOVs unfiltered
// and under each filter (list, GT, type, and GT with type), equal counting
// the rows they stand for, detached IOVs included where nothing filters them
// out.
func checkBrowseCounts(t *testing.T, e *storeEnv, reader *cdbsql.Reader, step int, what string) {
	t.Helper()
	ctx := e.ctx
	lists, err := reader.BrowsePayloadLists(ctx, condcache.BrowseQuery{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lists.Results {
		if want := e.count(`SELECT count(*) FROM "PayloadIOV" WHERE payload_list_id = $1`, l.ID); l.IOVCount != want {
			t.Fatalf("step %d (%s): list %s shows %d IOVs; the rows say %d", step, what, l.Name, l.IOVCount, want)
		}
	}
	const joined = `SELECT count(*) FROM "PayloadIOV" i LEFT JOIN "PayloadList" l ON l.id = i.payload_list_id
		LEFT JOIN "GlobalTag" g ON g.id = l.global_tag_id LEFT JOIN "PayloadType" t ON t.id = l.payload_type_id`
	type filtered struct {
		filters map[string]string
		where   string
		args    []any
	}
	cases := []filtered{{filters: nil, where: ""}}
	rows, err := e.db.Query(ctx, `SELECT l.name, coalesce(g.name, ''), t.name FROM "PayloadList" l
		LEFT JOIN "GlobalTag" g ON g.id = l.global_tag_id JOIN "PayloadType" t ON t.id = l.payload_type_id ORDER BY l.id LIMIT 4`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var list, gt, typ string
		if err := rows.Scan(&list, &gt, &typ); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, filtered{map[string]string{"payload_list": list}, ` WHERE l.name = $1`, []any{list}},
			filtered{map[string]string{"payload_type": typ}, ` WHERE t.name = $1`, []any{typ}})
		if gt != "" {
			cases = append(cases, filtered{map[string]string{"global_tag": gt}, ` WHERE g.name = $1`, []any{gt}},
				filtered{map[string]string{"global_tag": gt, "payload_type": typ}, ` WHERE g.name = $1 AND t.name = $2`, []any{gt, typ}})
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		page, err := reader.BrowsePayloadIOVs(ctx, condcache.BrowseQuery{Filters: c.filters, PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		if want := e.count(joined+c.where, c.args...); page.Count != want {
			t.Fatalf("step %d (%s): piov browse %v counts %d IOVs; the rows say %d", step, what, c.filters, page.Count, want)
		}
	}
}
