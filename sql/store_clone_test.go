package sql_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// typeRows returns, per payload type, the IOVs attached to GT gt's list of
// that type, in id order, with every copied column.
func (e *storeEnv) typeRows(gt string) map[string][]string {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT t.name, format('%s|%s|%s|%s|%s,%s→%s,%s|%s',
			i.payload_url, i.checksum, i.size, i.extra, i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end, i.comb_iov)
		FROM "GlobalTag" g JOIN "PayloadList" l ON l.global_tag_id = g.id
		JOIN "PayloadType" t ON t.id = l.payload_type_id
		JOIN "PayloadIOV" i ON i.payload_list_id = l.id
		WHERE g.name = $1 ORDER BY i.id`, gt)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]string{}
	var typ, row string
	if _, err := pgx.ForEachRow(rows, []any{&typ, &row}, func() error {
		out[typ] = append(out[typ], row)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func TestStoreCloneGlobalTag(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	author := "me"
	if _, err := e.store.CreateGlobalTag(e.ctx, "Src", condcache.StatusUnlocked, &author); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(e.ctx, `UPDATE "GlobalTag" SET description = 'desc' WHERE name = 'Src'`); err != nil {
		t.Fatal(err)
	}
	beam := e.attachedPL("Src", "Beam")
	cemc := e.attachedPL("Src", "CEMC")
	e.attachedPL("Src", "Empty")
	b1 := e.attach(beam.Name, "b1", iovPt(0, 0), iovPt(0, 10))
	e.attach(beam.Name, "b2", iovPt(0, 10), storeOpen)
	e.attach(cemc.Name, "c1", iovPt(-5, 1), iovPt(3, 0))
	e.attach(cemc.Name, "c2", iovPt(3, 0), storeOpen)
	// size and extra can only be set in SQL; the clone copies them. A tie
	// (two IOVs with one start, from a bulk load) keeps its id order.
	if _, err := e.db.Exec(e.ctx, `UPDATE "PayloadIOV" SET size = 42, extra = 'rev7' WHERE id = $1`, b1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.BulkCreatePayloadIOVs(e.ctx, []condcache.BulkPayloadIOV{
		{PayloadList: beam.Name, PayloadURL: "tie", Start: iovPt(0, 10), End: storeOpen},
	}); err != nil {
		t.Fatal(err)
	}
	e.iov("detached", iovPt(0, 0), storeOpen)
	e.setStatus("Src", condcache.StatusFrozen) // any source status may be cloned
	srcRows := e.typeRows("Src")

	sum, err := e.store.CloneGlobalTag(e.ctx, "Src", "Dst")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Name != "Dst" || sum.Status.Name != condcache.StatusUnlocked || sum.Author == nil || *sum.Author != "me" ||
		sum.Description == nil || *sum.Description != "desc" || sum.PayloadListCount != 3 || sum.PayloadIOVCount != 5 {
		t.Errorf("summary = %+v", sum)
	}
	if got := e.typeRows("Dst"); fmt.Sprint(got) != fmt.Sprint(srcRows) {
		t.Errorf("clone IOVs per type:\n got  %v\n want %v", got, srcRows)
	}
	// Lists: new sequence ids, in the source's list order, named <type>_<id>.
	rows, err := e.db.Query(e.ctx, `SELECT l.id, l.name, t.name FROM "PayloadList" l
		JOIN "PayloadType" t ON t.id = l.payload_type_id
		JOIN "GlobalTag" g ON g.id = l.global_tag_id WHERE g.name = 'Dst' ORDER BY l.id`)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	var id int64
	var name, typ string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name, &typ}, func() error {
		types = append(types, typ)
		if name != typ+"_"+strconv.FormatInt(id, 10) || id <= cemc.ID {
			t.Errorf("clone list %d %q of type %s", id, name, typ)
		}
		if e.count(`SELECT count(*) FROM "PayloadListIdSequence" WHERE id = $1`, id) != 1 {
			t.Errorf("list id %d not taken from PayloadListIdSequence", id)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(types, []string{"Beam", "CEMC", "Empty"}) {
		t.Errorf("clone list types = %v", types)
	}
	// The source is untouched, and the detached IOV was not copied.
	if got := e.typeRows("Src"); fmt.Sprint(got) != fmt.Sprint(srcRows) {
		t.Errorf("source changed: %v", got)
	}
	if n := e.count(`SELECT count(*) FROM "PayloadIOV" WHERE payload_url = 'detached'`); n != 1 {
		t.Errorf("detached IOVs = %d, want 1", n)
	}

	before := e.snapshot()
	_, err = e.store.CloneGlobalTag(e.ctx, "nosuch", "X")
	wantStoreErr(t, err, condcache.ENotFound, `GlobalTag "nosuch" not found.`)
	_, err = e.store.CloneGlobalTag(e.ctx, "Src", "Dst")
	wantStoreFieldErr(t, err, condcache.EConflict, "name", "global tag with this name already exists.")
	e.unchanged(before)
}

func TestStoreCloneGlobalTagNeedsUnlockedStatus(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	if _, err := e.store.CreateGlobalTagStatus(e.ctx, "open"); err != nil {
		t.Fatal(err)
	}
	e.gt("Src", "open")
	e.attach(e.attachedPL("Src", "Beam").Name, "b", iovPt(0, 0), storeOpen)
	before := e.snapshot()
	_, err := e.store.CloneGlobalTag(e.ctx, "Src", "Dst")
	wantStoreErr(t, err, condcache.ENotFound, `GlobalTagStatus "unlocked" not found: a clone is created with that status.`)
	e.unchanged(before)
}

// TestStoreCloneGlobalTagLarge times the set-based clone. The size is
// CONDCACHE_CLONE_ROWS (default 200000) IOVs over 10 lists.
func TestStoreCloneGlobalTagLarge(t *testing.T) {
	rowsN := 200_000
	if s := os.Getenv("CONDCACHE_CLONE_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("CONDCACHE_CLONE_ROWS: %v", err)
		}
		rowsN = n
	}
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("Big", condcache.StatusUnlocked)
	const lists = 10
	var names []string
	for i := range lists {
		names = append(names, e.attachedPL("Big", fmt.Sprintf("T%d", i)).Name)
	}
	iovs := make([]condcache.BulkPayloadIOV, rowsN)
	for i := range iovs {
		iovs[i] = condcache.BulkPayloadIOV{PayloadList: names[i%lists], PayloadURL: fmt.Sprintf("url-%d", i),
			Checksum: "ck", Start: iovPt(int64(i/lists), 0), End: storeOpen}
	}
	if _, err := e.store.BulkCreatePayloadIOVs(e.ctx, iovs); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	sum, err := e.store.CloneGlobalTag(e.ctx, "Big", "BigClone")
	took := time.Since(begin)
	if err != nil {
		t.Fatal(err)
	}
	if sum.PayloadIOVCount != int64(rowsN) || sum.PayloadListCount != lists {
		t.Errorf("summary counts = %d lists, %d IOVs", sum.PayloadListCount, sum.PayloadIOVCount)
	}
	t.Logf("cloned %d IOVs in %d lists in %v (%.0f rows/s)", rowsN, lists, took, float64(rowsN)/took.Seconds())
	if n := e.count(`SELECT count(*) FROM "PayloadIOV" i JOIN "PayloadList" l ON l.id = i.payload_list_id
		JOIN "GlobalTag" g ON g.id = l.global_tag_id WHERE g.name = 'BigClone'`); n != int64(rowsN) {
		t.Errorf("clone rows = %d, want %d", n, rowsN)
	}
}
