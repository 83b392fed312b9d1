package sql_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// compactRows is more than the 5,000 rows above which migration 011 records
// an IOV insert by its ids only.
const compactRows = 6_000

// TestCompactAuditOfLargeInserts: a bulk load and a clone of more than
// 5,000 IOVs are recorded by their ids (no JSON image per row), and
// nothing promised is lost (docs/design.md "Audit trail"): the entry still
// shows every row as it was inserted, also after later writes changed and
// deleted some of them; every state before and after reconstructs exactly;
// a dry run of such a load reports every row.
func TestCompactAuditOfLargeInserts(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("A", condcache.StatusUnlocked)
	l1 := e.attachedPL("A", "T1")
	l2 := e.attachedPL("A", "T2")
	s, ctx := e.store, e.ctx
	reader := cdbsql.NewReader(e.db, nil, cdbsql.ReaderOptions{})
	gts := []string{"A", "B"}
	type moment struct {
		at    time.Time
		state map[string]string
	}
	var moments []moment
	record := func() {
		m := moment{state: map[string]string{}}
		for _, g := range gts {
			if sig, ok := e.liveGT(g); ok {
				m.state[g] = sig
			}
		}
		if err := e.db.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&m.at); err != nil {
			t.Fatal(err)
		}
		moments = append(moments, m)
	}
	record()
	e.attach(l1.Name, "before", iovPt(0, 0), storeOpen)
	record()

	var bulk []condcache.BulkPayloadIOV
	for i := range compactRows {
		l := l1.Name
		if i%3 == 0 {
			l = l2.Name
		}
		bulk = append(bulk, condcache.BulkPayloadIOV{PayloadList: l, PayloadURL: fmt.Sprintf("bulk%d", i), Checksum: "c",
			Start: iovPt(int64(10+i), 0), End: iovPt(int64(11+i), 0)})
	}
	if n, err := s.BulkCreatePayloadIOVs(ctx, bulk); err != nil || n != compactRows {
		t.Fatalf("bulk: %d, %v", n, err)
	}
	record()
	bulkEntry := e.count(`SELECT max(id) FROM condcache_audit`)
	var imagesNull, ids int64
	if err := e.db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE new IS NULL), coalesce(sum(cardinality(new_ids)), 0)
		FROM condcache_audit_change WHERE audit_id = $1 AND tbl = 'PayloadIOV'`, bulkEntry).Scan(&imagesNull, &ids); err != nil {
		t.Fatal(err)
	}
	if imagesNull != 1 || ids != compactRows {
		t.Fatalf("bulk entry: %d change rows without images, %d ids; want 1 and %d", imagesNull, ids, compactRows)
	}
	// The rows as inserted, as the entry must keep showing them.
	var inserted []json.RawMessage
	if err := e.db.QueryRow(ctx, `SELECT jsonb_agg(to_jsonb(i) ORDER BY i.id) FROM "PayloadIOV" i
		WHERE i.payload_url LIKE 'bulk%'`).Scan(&inserted); err != nil {
		t.Fatal(err)
	}
	wantEntry := func(when string) {
		t.Helper()
		got, err := reader.AuditEntry(ctx, bulkEntry)
		if err != nil {
			t.Fatal(err)
		}
		var news []json.RawMessage
		var rows int64
		for _, c := range got.Changes {
			if c.Table == "PayloadIOV" {
				news = append(news, c.New...)
				rows += c.Rows
			}
		}
		if rows != compactRows || len(news) != len(inserted) {
			t.Fatalf("%s: the entry has %d rows, %d images; want %d", when, rows, len(news), len(inserted))
		}
		for i := range news {
			if !jsonEqual(t, news[i], inserted[i]) {
				t.Fatalf("%s: image %d is\n%s\nwant\n%s", when, i, news[i], inserted[i])
			}
		}
	}
	wantEntry("right after the load")

	// Later writes change and delete loaded rows: an attach trims one and
	// splits another, a delete removes one, plain SQL renames one.
	e.attach(l1.Name, "mid", iovPt(20, 5), iovPt(30, 0))
	record()
	if _, err := s.DeletePayloadIOV(ctx, "A", "T2", iovPt(10+3*100, 0), iovPt(11+3*100, 0)); err != nil {
		t.Fatal(err)
	}
	record()
	if _, err := e.db.Exec(ctx, `UPDATE "PayloadIOV" SET payload_url = 'renamed' WHERE payload_url = 'bulk1000'`); err != nil {
		t.Fatal(err)
	}
	record()
	wantEntry("after later writes")

	// A clone of the loaded GT is compact too; its copies change later.
	if _, err := s.CloneGlobalTag(ctx, "A", "B"); err != nil {
		t.Fatal(err)
	}
	record()
	cloneEntry := e.count(`SELECT max(id) FROM condcache_audit`)
	if n := e.count(`SELECT coalesce(sum(cardinality(new_ids)), 0) FROM condcache_audit_change WHERE audit_id = $1`, cloneEntry); n <= 5000 {
		t.Fatalf("clone entry: %d ids, want more than 5000", n)
	}
	if _, err := s.DeletePayloadIOV(ctx, "B", "T1", iovPt(10+1, 0), iovPt(11+1, 0)); err != nil {
		t.Fatal(err)
	}
	record()
	if err := s.DeleteGlobalTag(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	record()
	wantEntry("after the GT was deleted")

	checked := 0
	for i, m := range moments {
		for _, g := range gts {
			got, err := cdbsql.GlobalTagAtOn(ctx, e.db, g, m.at)
			want, existed := m.state[g]
			switch {
			case !existed && condcache.ErrorCodeOf(err) != condcache.ENotFound:
				t.Fatalf("moment %d: GT %s did not exist, reconstruction gives %v", i, g, err)
			case existed && err != nil:
				t.Fatalf("moment %d: GT %s: %v", i, g, err)
			case existed && "status "+got.Status+"\n"+gtSignature(got.Lists) != want:
				t.Fatalf("moment %d: GT %s reconstructed wrongly (%d vs %d bytes)", i, g, len(gtSignature(got.Lists)), len(want))
			}
			checked++
		}
	}
	if checked != 2*len(moments) {
		t.Fatalf("checked %d states", checked)
	}

	// A dry run of a large load reports every row it would add.
	e.gt("C", condcache.StatusUnlocked)
	lc := e.attachedPL("C", "T1")
	for i := range bulk {
		bulk[i].PayloadList = lc.Name
	}
	before := e.stateSnapshot()
	var d condcache.DryRun
	if _, err := s.BulkCreatePayloadIOVs(condcache.WithDryRun(ctx, &d), bulk); err != nil {
		t.Fatal(err)
	}
	if after := e.stateSnapshot(); after != before {
		t.Fatal("the dry run changed the database")
	}
	added := 0
	for _, c := range d.Changes {
		if c.Table == "PayloadIOV" && c.Action == "added" && c.After != nil && c.Before == nil {
			added++
		}
	}
	if added != compactRows {
		t.Fatalf("dry run: %d rows added, want %d", added, compactRows)
	}
	if len(d.AnswerChanges) == 0 {
		t.Fatal("dry run: no answer change")
	}
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return slices.Equal(xb, yb)
}
