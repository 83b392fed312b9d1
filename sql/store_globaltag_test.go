package sql_test

import (
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache"
)

func TestStoreCreateGlobalTagStatus(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	st, err := e.store.CreateGlobalTagStatus(e.ctx, "unlocked")
	if err != nil {
		t.Fatal(err)
	}
	if st.ID == 0 || st.Name != "unlocked" || st.Description != nil || time.Since(st.Created) > time.Minute {
		t.Errorf("status = %+v", st)
	}
	if n := e.count(`SELECT count(*) FROM "GlobalTagStatus" WHERE id = $1 AND name = 'unlocked'`, st.ID); n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}

	before := e.snapshot()
	_, err = e.store.CreateGlobalTagStatus(e.ctx, "unlocked")
	wantStoreFieldErr(t, err, condcache.EConflict, "name", "global tag status with this name already exists.")
	_, err = e.store.CreateGlobalTagStatus(e.ctx, strings.Repeat("x", condcache.MaxNameLen+1))
	wantStoreFieldErr(t, err, condcache.EInvalid, "name", "Ensure this field has no more than 80 characters.")
	e.unchanged(before)

	// Exactly at the limit (in characters, not bytes) is fine.
	if _, err := e.store.CreateGlobalTagStatus(e.ctx, strings.Repeat("é", condcache.MaxNameLen)); err != nil {
		t.Errorf("80-character name: %v", err)
	}
}

func TestStoreCreateGlobalTag(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	author := "researcher"
	g, err := e.store.CreateGlobalTag(e.ctx, "GT1", condcache.StatusFrozen, &author)
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "GT1" || g.Author == nil || *g.Author != author || g.Status.Name != condcache.StatusFrozen || g.Status.ID == 0 {
		t.Errorf("gt = %+v", g)
	}
	var name, status string
	var gotAuthor *string
	if err := e.db.QueryRow(e.ctx, `SELECT g.name, g.author, s.name FROM "GlobalTag" g
		JOIN "GlobalTagStatus" s ON s.id = g.status_id WHERE g.id = $1`, g.ID).Scan(&name, &gotAuthor, &status); err != nil {
		t.Fatal(err)
	}
	if name != "GT1" || gotAuthor == nil || *gotAuthor != author || status != condcache.StatusFrozen {
		t.Errorf("row = %q %v %q", name, gotAuthor, status)
	}
	// A nil author is stored as NULL.
	g2, err := e.store.CreateGlobalTag(e.ctx, "GT2", "unlocked", nil)
	if err != nil || g2.Author != nil {
		t.Errorf("GT2 = %+v, %v", g2, err)
	}

	before := e.snapshot()
	_, err = e.store.CreateGlobalTag(e.ctx, "GT1", condcache.StatusUnlocked, nil)
	wantStoreFieldErr(t, err, condcache.EConflict, "name", "global tag with this name already exists.")
	_, err = e.store.CreateGlobalTag(e.ctx, "GT3", "nosuch", nil)
	wantStoreErr(t, err, condcache.ENotFound, `GlobalTagStatus "nosuch" not found.`)
	_, err = e.store.CreateGlobalTag(e.ctx, strings.Repeat("n", 81), condcache.StatusUnlocked, nil)
	wantStoreFieldErr(t, err, condcache.EInvalid, "name", "Ensure this field has no more than 80 characters.")
	long := strings.Repeat("a", 81)
	_, err = e.store.CreateGlobalTag(e.ctx, "GT3", condcache.StatusUnlocked, &long)
	wantStoreFieldErr(t, err, condcache.EInvalid, "author", "Ensure this field has no more than 80 characters.")
	// A NUL byte is refused by PostgreSQL; the store reports it as invalid input.
	_, err = e.store.CreateGlobalTag(e.ctx, "GT\x00", condcache.StatusUnlocked, nil)
	if condcache.ErrorCodeOf(err) != condcache.EInvalid {
		t.Errorf("NUL in name: %v, want %s", err, condcache.EInvalid)
	}
	e.unchanged(before)
}

func TestStoreChangeGlobalTagStatus(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	g := e.gt("GT", condcache.StatusUnlocked)
	// any → any, frozen → unlocked included.
	for _, s := range []string{condcache.StatusLocked, condcache.StatusFrozen, condcache.StatusUnlocked, condcache.StatusFrozen} {
		time.Sleep(time.Millisecond) // so that updated visibly moves
		got, err := e.store.ChangeGlobalTagStatus(e.ctx, "GT", s)
		if err != nil {
			t.Fatalf("→ %s: %v", s, err)
		}
		if got.Status.Name != s || got.ID != g.ID || !got.Updated.After(g.Updated) || !got.Created.Equal(g.Created) {
			t.Errorf("→ %s: %+v", s, got)
		}
		var status string
		if err := e.db.QueryRow(e.ctx, `SELECT s.name FROM "GlobalTag" g JOIN "GlobalTagStatus" s ON s.id = g.status_id
			WHERE g.id = $1`, g.ID).Scan(&status); err != nil || status != s {
			t.Errorf("stored status %q, %v; want %q", status, err, s)
		}
		g = got
	}

	before := e.snapshot()
	_, err := e.store.ChangeGlobalTagStatus(e.ctx, "nosuch", condcache.StatusLocked)
	wantStoreErr(t, err, condcache.ENotFound, `GlobalTag "nosuch" not found.`)
	_, err = e.store.ChangeGlobalTagStatus(e.ctx, "GT", "nosuch")
	wantStoreErr(t, err, condcache.ENotFound, `GlobalTagStatus "nosuch" not found.`)
	e.unchanged(before)
}

func TestStoreDeleteGlobalTag(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("GT", condcache.StatusUnlocked)
	e.gt("Other", condcache.StatusUnlocked)
	beam := e.attachedPL("GT", "Beam")
	cemc := e.attachedPL("GT", "CEMC")
	other := e.attachedPL("Other", "Beam")
	e.attach(beam.Name, "b1", iovPt(0, 0), iovPt(0, 10))
	e.attach(beam.Name, "b2", iovPt(0, 10), storeOpen)
	e.attach(cemc.Name, "c1", iovPt(0, 0), storeOpen)
	e.attach(other.Name, "o1", iovPt(0, 0), storeOpen)
	// A list detached from GT before (and its IOV) survives as an orphan.
	old := e.attachedPL("GT", "Old")
	e.attach(old.Name, "old1", iovPt(0, 0), storeOpen)
	if _, err := e.db.Exec(e.ctx, `UPDATE "PayloadList" SET global_tag_id = NULL WHERE id = $1`, old.ID); err != nil {
		t.Fatal(err)
	}
	detached := e.iov("detached", iovPt(1, 0), storeOpen)

	if err := e.store.DeleteGlobalTag(e.ctx, "GT"); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM "GlobalTag" WHERE name = 'GT'`); n != 0 {
		t.Errorf("GT rows = %d", n)
	}
	if n := e.count(`SELECT count(*) FROM "PayloadList" WHERE id = ANY($1)`, []int64{beam.ID, cemc.ID}); n != 0 {
		t.Errorf("lists left = %d", n)
	}
	var urls []string
	rows, _ := e.db.Query(e.ctx, `SELECT payload_url FROM "PayloadIOV" ORDER BY payload_url`)
	for rows.Next() {
		var u string
		_ = rows.Scan(&u)
		urls = append(urls, u)
	}
	if got := strings.Join(urls, ","); got != "detached,o1,old1" {
		t.Errorf("IOVs left = %s, want detached,o1,old1", got)
	}
	e.wantSpans(other.Name, storeSpan{"o1", iovPt(0, 0), storeOpen})
	if n := e.count(`SELECT count(*) FROM "PayloadIOV" WHERE id = $1 AND payload_list_id IS NULL`, detached.ID); n != 1 {
		t.Errorf("detached IOV gone")
	}

	e.gt("Locked", condcache.StatusLocked)
	e.gt("Frozen", condcache.StatusUnlocked)
	e.attachedPL("Frozen", "Beam")
	e.setStatus("Frozen", condcache.StatusFrozen)
	before := e.snapshot()
	wantStoreErr(t, e.store.DeleteGlobalTag(e.ctx, "GT"), condcache.ENotFound, "GlobalTag GT doesn't exist")
	wantStoreErr(t, e.store.DeleteGlobalTag(e.ctx, "Locked"), condcache.ELocked, "Global Tag is locked.")
	wantStoreErr(t, e.store.DeleteGlobalTag(e.ctx, "Frozen"), condcache.ELocked, "Global Tag is frozen.")
	e.unchanged(before)

	// Any other status name behaves like unlocked.
	if _, err := e.store.CreateGlobalTagStatus(e.ctx, "custom"); err != nil {
		t.Fatal(err)
	}
	e.gt("Custom", "custom")
	if err := e.store.DeleteGlobalTag(e.ctx, "Custom"); err != nil {
		t.Errorf("delete GT with a custom status: %v", err)
	}
}
