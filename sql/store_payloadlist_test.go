package sql_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache"
)

func TestStorePayloadType(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	p := e.pt("Beam")
	if p.ID == 0 || p.Name != "Beam" || time.Since(p.Created) > time.Minute {
		t.Errorf("type = %+v", p)
	}
	if n := e.count(`SELECT count(*) FROM "PayloadType" WHERE id = $1 AND name = 'Beam'`, p.ID); n != 1 {
		t.Errorf("rows = %d", n)
	}
	e.pt("Unused")
	e.pl("Beam")
	e.pl("Beam")

	before := e.snapshot()
	_, err := e.store.CreatePayloadType(e.ctx, "Beam")
	wantStoreFieldErr(t, err, condcache.EConflict, "name", "payload type with this name already exists.")
	_, err = e.store.CreatePayloadType(e.ctx, strings.Repeat("t", 81))
	wantStoreFieldErr(t, err, condcache.EInvalid, "name", "Ensure this field has no more than 80 characters.")
	wantStoreErr(t, e.store.DeletePayloadType(e.ctx, "nosuch"), condcache.ENotFound, "PayloadType nosuch doesn't exist")
	wantStoreErr(t, e.store.DeletePayloadType(e.ctx, "Beam"), condcache.EConflict, "PayloadType is used by 2 PayloadLists")
	e.unchanged(before)

	if err := e.store.DeletePayloadType(e.ctx, "Unused"); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM "PayloadType" WHERE name = 'Unused'`); n != 0 {
		t.Errorf("deleted type still there")
	}
}

func TestStoreCreatePayloadList(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.pt("CEMC_Calibration")
	l := e.pl("CEMC_Calibration")
	if l.Name != fmt.Sprintf("CEMC_Calibration_%d", l.ID) || l.GlobalTag != nil || l.GlobalTagID != nil ||
		l.PayloadType != "CEMC_Calibration" || l.PayloadTypeID == 0 {
		t.Errorf("list = %+v", l)
	}
	if n := e.count(`SELECT count(*) FROM "PayloadListIdSequence" WHERE id = $1`, l.ID); n != 1 {
		t.Errorf("sequence row for %d missing", l.ID)
	}
	if n := e.count(`SELECT count(*) FROM "PayloadList" WHERE id = $1 AND name = $2 AND global_tag_id IS NULL`, l.ID, l.Name); n != 1 {
		t.Errorf("list row missing")
	}
	l2 := e.pl("CEMC_Calibration")
	if l2.ID <= l.ID {
		t.Errorf("second list id %d ≤ %d", l2.ID, l.ID)
	}

	before := e.snapshot()
	_, err := e.store.CreatePayloadList(e.ctx, "nosuch")
	wantStoreErr(t, err, condcache.ENotFound, `PayloadType "nosuch" not found.`)
	e.unchanged(before)
}

func TestStoreAttachPayloadList(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	g := e.gt("GT", condcache.StatusUnlocked)
	e.pt("Beam")
	e.pt("CEMC")
	first := e.pl("Beam")
	second := e.pl("Beam")
	cemc := e.pl("CEMC")

	time.Sleep(time.Millisecond)
	got, err := e.store.AttachPayloadList(e.ctx, "GT", first.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got.GlobalTag == nil || *got.GlobalTag != "GT" || got.GlobalTagID == nil || *got.GlobalTagID != g.ID ||
		got.PayloadType != "Beam" || got.Name != first.Name || !got.Updated.After(first.Updated) {
		t.Errorf("attached = %+v", got)
	}
	var gtUpdated time.Time
	if err := e.db.QueryRow(e.ctx, `SELECT updated FROM "GlobalTag" WHERE id = $1`, g.ID).Scan(&gtUpdated); err != nil || !gtUpdated.After(g.Updated) {
		t.Errorf("GT updated not bumped: %v %v", gtUpdated, err)
	}
	if _, err := e.store.AttachPayloadList(e.ctx, "GT", cemc.Name); err != nil {
		t.Fatal(err)
	}
	// A second list of the same type replaces the first, which is detached
	// with its updated untouched.
	var firstUpdated time.Time
	_ = e.db.QueryRow(e.ctx, `SELECT updated FROM "PayloadList" WHERE id = $1`, first.ID).Scan(&firstUpdated)
	if _, err := e.store.AttachPayloadList(e.ctx, "GT", second.Name); err != nil {
		t.Fatal(err)
	}
	e.wantAttached("GT", second.Name, cemc.Name)
	var detachedUpdated time.Time
	_ = e.db.QueryRow(e.ctx, `SELECT updated FROM "PayloadList" WHERE id = $1 AND global_tag_id IS NULL`, first.ID).Scan(&detachedUpdated)
	if !detachedUpdated.Equal(firstUpdated) {
		t.Errorf("detached list updated %v, want unchanged %v", detachedUpdated, firstUpdated)
	}
	// Re-attaching to the same unlocked GT is fine.
	if _, err := e.store.AttachPayloadList(e.ctx, "GT", second.Name); err != nil {
		t.Errorf("re-attach: %v", err)
	}

	// A list moves from one GT to another.
	e.gt("GT2", condcache.StatusUnlocked)
	if _, err := e.store.AttachPayloadList(e.ctx, "GT2", cemc.Name); err != nil {
		t.Fatal(err)
	}
	e.wantAttached("GT", second.Name)
	e.wantAttached("GT2", cemc.Name)

	// Locked: a new type is fine, the same type (even the same list) is not.
	e.setStatus("GT", condcache.StatusLocked)
	e.pt("New")
	if _, err := e.store.AttachPayloadList(e.ctx, "GT", e.pl("New").Name); err != nil {
		t.Errorf("new type into locked GT: %v", err)
	}
	before := e.snapshot()
	_, err = e.store.AttachPayloadList(e.ctx, "GT", first.Name)
	wantStoreErr(t, err, condcache.ELocked, "Payload List of type Beam already attached and Global Tag is locked.")
	_, err = e.store.AttachPayloadList(e.ctx, "GT", second.Name)
	wantStoreErr(t, err, condcache.ELocked, "Payload List of type Beam already attached and Global Tag is locked.")
	_, err = e.store.AttachPayloadList(e.ctx, "GT", "nosuch")
	wantStoreErr(t, err, condcache.ENotFound, `PayloadList "nosuch" not found.`)
	_, err = e.store.AttachPayloadList(e.ctx, "nosuch", first.Name)
	wantStoreErr(t, err, condcache.ENotFound, `GlobalTag "nosuch" not found.`)
	e.unchanged(before)
	// Moving a list out of a locked GT is allowed.
	e.gt("GT3", condcache.StatusUnlocked)
	if _, err := e.store.AttachPayloadList(e.ctx, "GT3", second.Name); err != nil {
		t.Errorf("move out of locked GT: %v", err)
	}

	// Frozen: no attach into it, and none of its lists moves out.
	e.setStatus("GT2", condcache.StatusFrozen)
	before = e.snapshot()
	_, err = e.store.AttachPayloadList(e.ctx, "GT2", first.Name)
	wantStoreErr(t, err, condcache.ELocked, "Global Tag is frozen.")
	_, err = e.store.AttachPayloadList(e.ctx, "GT3", cemc.Name)
	wantStoreErr(t, err, condcache.ELocked,
		fmt.Sprintf("Payload List %s is attached to Global Tag GT2, which is frozen: it cannot be moved.", cemc.Name))
	e.unchanged(before)
}

// wantAttached checks the names of the lists attached to gt.
func (e *storeEnv) wantAttached(gt string, lists ...string) {
	e.t.Helper()
	var got []string
	rows, err := e.db.Query(e.ctx, `SELECT l.name FROM "PayloadList" l JOIN "GlobalTag" g ON g.id = l.global_tag_id
		WHERE g.name = $1 ORDER BY l.id`, gt)
	if err != nil {
		e.t.Fatal(err)
	}
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		got = append(got, n)
	}
	if fmt.Sprint(got) != fmt.Sprint(lists) {
		e.t.Errorf("lists attached to %s = %v, want %v", gt, got, lists)
	}
}

func TestStoreDeletePayloadList(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("GT", condcache.StatusUnlocked)
	full := e.attachedPL("GT", "Beam")
	e.attach(full.Name, "a", iovPt(0, 0), storeOpen)
	empty := e.attachedPL("GT", "CEMC")
	e.pt("X")
	detached := e.pl("X")
	e.gt("Frozen", condcache.StatusUnlocked)
	frozen := e.attachedPL("Frozen", "X")
	e.setStatus("Frozen", condcache.StatusFrozen)

	before := e.snapshot()
	wantStoreErr(t, e.store.DeletePayloadList(e.ctx, "nosuch"), condcache.ENotFound, "PayloadList nosuch doesn't exist")
	wantStoreErr(t, e.store.DeletePayloadList(e.ctx, full.Name), condcache.EConflict, "PayloadList contains 1 PayloadIOVs")
	wantStoreErr(t, e.store.DeletePayloadList(e.ctx, frozen.Name), condcache.ELocked, "Global Tag is frozen.")
	e.unchanged(before)

	for _, l := range []string{empty.Name, detached.Name} {
		if err := e.store.DeletePayloadList(e.ctx, l); err != nil {
			t.Errorf("delete %s: %v", l, err)
		}
		if n := e.count(`SELECT count(*) FROM "PayloadList" WHERE name = $1`, l); n != 0 {
			t.Errorf("%s still there", l)
		}
	}
	// A list whose IOVs were detached again is empty.
	if _, err := e.db.Exec(e.ctx, `UPDATE "PayloadIOV" SET payload_list_id = NULL WHERE payload_list_id = $1`, full.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeletePayloadList(e.ctx, full.Name); err != nil {
		t.Errorf("delete emptied list: %v", err)
	}
}
