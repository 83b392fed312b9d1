package sql_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// Protection (docs/design.md "Protection"): every delete path of the store
// refuses to remove a protected object, names every one, and deletes them
// only under force with the admin permission, recording them in the
// audit entry.

func allow(string) error { return nil }

func deny(string) error { return condcache.Errorf(condcache.EForbidden, "Permission denied.") }

// protect marks (or unmarks) objects, failing the test on error.
func (e *storeEnv) protect(r condcache.ProtectRequest) []condcache.Protection {
	e.t.Helper()
	out, err := e.store.Protect(e.ctx, r, allow)
	if err != nil {
		e.t.Fatalf("Protect(%+v): %v", r, err)
	}
	return out
}

// protSnapshot is snapshot plus the marks and the number of audit entries.
func (e *storeEnv) protSnapshot() string {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT t::text FROM condcache_protection t ORDER BY id`)
	if err != nil {
		e.t.Fatal(err)
	}
	marks, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return fmt.Sprintf("%s\nmarks:\n%s\naudit entries: %d", e.snapshot(), strings.Join(marks, "\n"),
		e.count(`SELECT count(*) FROM condcache_audit`))
}

func (e *storeEnv) protUnchanged(before string) {
	e.t.Helper()
	if after := e.protSnapshot(); after != before {
		e.t.Errorf("a refused write changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// protFixture: GT G (unlocked) with list A (IOVs a1, a2) and an empty list
// E; GT H (unlocked) with list B (IOV b1); GT F (frozen) with list C (IOV
// c1); a detached list D with IOV d1; a detached IOV x.
type protFixture struct {
	a, e, b, c, d          condcache.PayloadList
	a1, a2, b1, c1, d1, x1 condcache.PayloadIOV
}

func newProtFixture(e *storeEnv) protFixture {
	e.t.Helper()
	e.statuses()
	var f protFixture
	e.gt("G", condcache.StatusUnlocked)
	e.gt("H", condcache.StatusUnlocked)
	e.gt("F", condcache.StatusUnlocked)
	f.a = e.attachedPL("G", "TA")
	f.e = e.attachedPL("G", "TE")
	f.b = e.attachedPL("H", "TA")
	f.c = e.attachedPL("F", "TA")
	f.a1 = e.attach(f.a.Name, "a1", iovPt(0, 0), iovPt(10, 0))
	f.a2 = e.attach(f.a.Name, "a2", iovPt(10, 0), iovPt(20, 0))
	f.b1 = e.attach(f.b.Name, "b1", iovPt(0, 0), storeOpen)
	f.c1 = e.attach(f.c.Name, "c1", iovPt(0, 0), storeOpen)
	e.setStatus("F", condcache.StatusFrozen)
	f.d = e.pl("TA")
	f.d1 = e.attach(f.d.Name, "d1", iovPt(0, 0), storeOpen)
	f.x1 = e.iov("x1", iovPt(0, 0), storeOpen)
	return f
}

func protectedDetail(names ...string) string {
	return "Protected, so nothing was deleted: " + strings.Join(names, ", ") +
		". Only force=1, with the admin permission, deletes protected objects."
}

// TestProtectGuardsEveryDelete: each delete path that could remove a
// protected object (an IOV directly, in bulk, a list, a GT with its
// cascade, a clone replacing its target) is refused, names every
// protected object it meets, and changes nothing; the same deletes of
// unprotected objects still work.
func TestProtectGuardsEveryDelete(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	f := newProtFixture(e)
	s := e.store
	e.protect(condcache.ProtectRequest{IOVs: []int64{f.a1.ID}, Protected: true, Note: "calibration of record"})
	e.protect(condcache.ProtectRequest{PayloadLists: []string{f.e.Name}, Protected: true})
	a1, e1 := fmt.Sprintf("PayloadIOV %d", f.a1.ID), fmt.Sprintf("PayloadList %q", f.e.Name)

	type refusal struct {
		name   string
		delete func() error
		detail string
	}
	for _, tc := range []refusal{
		{"IOV", func() error { _, err := s.DeletePayloadIOV(e.ctx, "G", "TA", f.a1.Start, f.a1.End); return err }, protectedDetail(a1)},
		{"bulk, one of many", func() error {
			_, err := s.DeletePayloadIOVs(e.ctx, []int64{f.a2.ID, f.b1.ID, f.a1.ID}, allow)
			return err
		},
			protectedDetail(a1)},
		{"list", func() error { return s.DeletePayloadList(e.ctx, f.e.Name) }, protectedDetail(e1)},
		{"GT cascade", func() error { return s.DeleteGlobalTag(e.ctx, "G") }, protectedDetail(e1, a1)},
		{"clone replacing", func() error { _, err := s.CloneGlobalTagReplacing(e.ctx, "H", "G"); return err }, protectedDetail(e1, a1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.protSnapshot()
			wantStoreErr(t, tc.delete(), condcache.EProtected, tc.detail)
			e.protUnchanged(before)
		})
	}

	// Marks on the containers protect what they hold: an IOV of a marked
	// list, a list or an IOV of a marked GT.
	hEmpty := e.attachedPL("H", "TE")
	e.protect(condcache.ProtectRequest{PayloadLists: []string{f.a.Name}, GlobalTags: []string{"H"}, Protected: true})
	before := e.protSnapshot()
	wantStoreErr(t, s.DeletePayloadList(e.ctx, hEmpty.Name), condcache.EProtected,
		protectedDetail(fmt.Sprintf("PayloadList %q (in protected GlobalTag \"H\")", hEmpty.Name)))
	_, err := s.DeletePayloadIOV(e.ctx, "G", "TA", f.a2.Start, f.a2.End)
	wantStoreErr(t, err, condcache.EProtected, protectedDetail(fmt.Sprintf("PayloadIOV %d (in protected PayloadList %q)", f.a2.ID, f.a.Name)))
	_, err = s.DeletePayloadIOVs(e.ctx, []int64{f.b1.ID, f.a2.ID, f.x1.ID}, allow)
	wantStoreErr(t, err, condcache.EProtected, protectedDetail(
		fmt.Sprintf("PayloadIOV %d (in protected PayloadList %q)", f.a2.ID, f.a.Name),
		fmt.Sprintf("PayloadIOV %d (in protected GlobalTag \"H\")", f.b1.ID)))
	wantStoreErr(t, s.DeleteGlobalTag(e.ctx, "H"), condcache.EProtected, protectedDetail(`GlobalTag "H"`))
	wantStoreErr(t, s.DeleteGlobalTag(e.ctx, "G"), condcache.EProtected, protectedDetail(fmt.Sprintf("PayloadList %q", f.a.Name), e1, a1))
	_, err = s.CloneGlobalTagReplacing(e.ctx, "G", "H")
	wantStoreErr(t, err, condcache.EProtected, protectedDetail(`GlobalTag "H"`))
	e.protUnchanged(before)

	// What is not protected is deleted as before: a detached IOV in bulk,
	// the detached list once empty.
	if n, err := s.DeletePayloadIOVs(e.ctx, []int64{f.x1.ID, f.d1.ID}, allow); err != nil || n != 2 {
		t.Fatalf("bulk delete of unprotected IOVs: %d, %v", n, err)
	}
	if err := s.DeletePayloadList(e.ctx, f.d.Name); err != nil {
		t.Fatalf("delete of an unprotected list: %v", err)
	}
	// A type delete reaches no list: it is refused while any list has the
	// type, protected or not.
	wantStoreErr(t, s.DeletePayloadType(e.ctx, "TE"), condcache.EConflict, "PayloadType is used by 2 PayloadLists")

	// Unmarked, they go.
	e.protect(condcache.ProtectRequest{PayloadLists: []string{f.a.Name, f.e.Name}, IOVs: []int64{f.a1.ID}, GlobalTags: []string{"H"}})
	if _, err := s.CloneGlobalTagReplacing(e.ctx, "G", "H"); err != nil {
		t.Fatalf("clone replacing an unprotected GT: %v", err)
	}
	if err := s.DeleteGlobalTag(e.ctx, "G"); err != nil {
		t.Fatalf("delete of an unprotected GT: %v", err)
	}
}

// TestProtectFrozen: a frozen GT's lists and IOVs are protected without
// marks: every delete path refuses them (locked, the frozen rule), force
// and the admin permission included, and the report counts them.
func TestProtectFrozen(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	f := newProtFixture(e)
	s := e.store
	forced := condcache.WithForce(e.ctx, allow)
	before := e.protSnapshot()
	_, err := s.DeletePayloadIOV(forced, "F", "TA", f.c1.Start, f.c1.End)
	wantStoreErr(t, err, condcache.ELocked, "Global Tag is frozen.")
	_, err = s.DeletePayloadIOVs(forced, []int64{f.a1.ID, f.c1.ID}, allow)
	wantStoreErr(t, err, condcache.ELocked, fmt.Sprintf(`Global Tag is frozen: GlobalTag "F" (PayloadIOV %d); none deleted.`, f.c1.ID))
	wantStoreErr(t, s.DeletePayloadList(forced, f.c.Name), condcache.ELocked, "Global Tag is frozen.")
	wantStoreErr(t, s.DeleteGlobalTag(forced, "F"), condcache.ELocked, "Global Tag is frozen.")
	_, err = s.CloneGlobalTagReplacing(forced, "G", "F")
	wantStoreErr(t, err, condcache.ELocked, "Global Tag is frozen.")
	e.protUnchanged(before)

	rd := cdbsql.NewReader(e.db, nil, cdbsql.ReaderOptions{})
	rep, err := rd.Protections(e.ctx, condcache.ProtectionQuery{GlobalTag: "F", Page: 1, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Frozen || rep.Status != "frozen" || rep.PayloadLists != 1 || rep.PayloadIOVs != 1 ||
		rep.ProtectedPayloadLists != 1 || rep.ProtectedPayloadIOVs != 1 || rep.Marks.Count != 0 {
		t.Errorf("report of the frozen GT: %+v", rep)
	}
	rep, err = rd.Protections(e.ctx, condcache.ProtectionQuery{GlobalTag: "G", Page: 1, PageSize: 10})
	if err != nil || rep.Frozen || rep.PayloadLists != 2 || rep.PayloadIOVs != 2 || rep.ProtectedPayloadIOVs != 0 {
		t.Errorf("report of an unlocked GT: %+v, %v", rep, err)
	}
	_, err = rd.Protections(e.ctx, condcache.ProtectionQuery{GlobalTag: "nope", Page: 1, PageSize: 10})
	wantCode(t, err, condcache.ENotFound, `GlobalTag "nope" not found.`)
}

// TestProtectForce: under force a delete needs authorize on the GT of
// every mark it meets; then it deletes, records the protected objects in
// its audit entry and removes their marks. A dry run of it says what would
// go and writes nothing.
func TestProtectForce(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	f := newProtFixture(e)
	s := e.store
	e.protect(condcache.ProtectRequest{GlobalTags: []string{"G"}, IOVs: []int64{f.a1.ID, f.d1.ID}, Protected: true, Note: "keep"})

	// force without the permission: the authorize error, nothing written.
	before := e.protSnapshot()
	var asked []string
	denyG := func(gt string) error {
		asked = append(asked, gt)
		if gt == "G" {
			return deny(gt)
		}
		return nil
	}
	wantStoreErr(t, s.DeleteGlobalTag(condcache.WithForce(e.ctx, denyG), "G"), condcache.EForbidden, "Permission denied.")
	_, err := s.DeletePayloadIOVs(condcache.WithForce(e.ctx, denyG), []int64{f.d1.ID, f.a2.ID}, allow)
	wantStoreErr(t, err, condcache.EForbidden, "Permission denied.")
	if want := []string{"G", "", "G"}; fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Errorf("authorize asked for %q, want %q (the GT of each mark, sorted, until one is denied)", asked, want)
	}
	e.protUnchanged(before)

	// A dry run of the forced delete: what would go, nothing written.
	var d condcache.DryRun
	if err := s.DeleteGlobalTag(condcache.WithForce(condcache.WithDryRun(e.ctx, &d), allow), "G"); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	e.protUnchanged(before)
	want := fmt.Sprintf(`[GlobalTag "G" PayloadIOV %d]`, f.a1.ID)
	if got := fmt.Sprint(d.Forced); got != want {
		t.Errorf("dry run forced %s, want %s", got, want)
	}
	if len(d.Changes) == 0 {
		t.Errorf("the dry run shows no changes")
	}

	// With the permission: deleted, recorded, marks gone.
	if err := s.DeleteGlobalTag(condcache.WithForce(e.ctx, allow), "G"); err != nil {
		t.Fatalf("forced delete: %v", err)
	}
	if n := e.count(`SELECT count(*) FROM "PayloadIOV" WHERE id = ANY($1)`, []int64{f.a1.ID, f.a2.ID}); n != 0 {
		t.Errorf("%d IOVs of the GT survived its forced delete", n)
	}
	var raw []byte
	if err := e.db.QueryRow(e.ctx, `SELECT forced FROM condcache_audit ORDER BY id DESC LIMIT 1`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var rec []struct {
		Kind string `json:"kind"`
		ID   int64  `json:"id"`
		Name string `json:"name"`
		By   struct {
			Kind, Name, Note string
			ID               int64
		} `json:"protected_by"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatalf("forced record %s: %v", raw, err)
	}
	if len(rec) != 2 || rec[0].Kind != "GlobalTag" || rec[0].Name != "G" || rec[0].By.Note != "keep" ||
		rec[1].Kind != "PayloadIOV" || rec[1].ID != f.a1.ID || rec[1].By.ID != f.a1.ID {
		t.Errorf("forced record: %s", raw)
	}
	rd := cdbsql.NewReader(e.db, nil, cdbsql.ReaderOptions{})
	page, err := rd.Audit(e.ctx, condcache.AuditQuery{GlobalTag: "G", Page: 1, PageSize: 1})
	if err != nil || len(page.Results) != 1 || fmt.Sprint(page.Results[0].Forced) != want {
		t.Errorf("newest audit entry of G: %+v, %v", page.Results, err)
	}
	if n := e.count(`SELECT count(*) FROM condcache_protection WHERE kind = 'GlobalTag' OR object_id = $1`, f.a1.ID); n != 0 {
		t.Errorf("%d marks of deleted objects left", n)
	}
	// The mark of the detached IOV, which was not deleted, stays.
	marks, err := rd.Protections(e.ctx, condcache.ProtectionQuery{Page: 1, PageSize: 10})
	if err != nil || marks.Marks.Count != 1 || marks.Marks.Results[0].ID != f.d1.ID || marks.Marks.Results[0].PayloadList != f.d.Name {
		t.Errorf("marks left: %+v, %v", marks.Marks, err)
	}
}

// TestProtectBadRequests: unknown objects (all named), a denied
// permission and a bad note write nothing; marking again with the same
// note changes nothing, with another note replaces it; unmarking works.
func TestProtectBadRequests(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	f := newProtFixture(e)
	s := e.store
	before := e.protSnapshot()
	_, err := s.Protect(e.ctx, condcache.ProtectRequest{GlobalTags: []string{"G", "nope"}, PayloadLists: []string{"TA_999"},
		IOVs: []int64{f.a1.ID, 424242}, Protected: true}, allow)
	wantStoreErr(t, err, condcache.ENotFound, `Not found: GlobalTag "nope", PayloadList "TA_999", PayloadIOV 424242; nothing was changed.`)
	_, err = s.Protect(e.ctx, condcache.ProtectRequest{IOVs: []int64{f.a1.ID, f.c1.ID}, Protected: true}, func(gt string) error {
		if gt == "F" {
			return deny(gt)
		}
		return nil
	})
	wantStoreErr(t, err, condcache.EForbidden, "Permission denied.")
	_, err = s.Protect(e.ctx, condcache.ProtectRequest{Protected: true}, allow)
	wantStoreErr(t, err, condcache.EInvalid, "Name at least one global tag, payload list or IOV.")
	_, err = s.Protect(e.ctx, condcache.ProtectRequest{GlobalTags: []string{"G"}, Protected: true, Note: strings.Repeat("é", 1001)}, allow)
	wantStoreFieldErr(t, err, condcache.EInvalid, "note", "Ensure this field has no more than 1000 characters.")
	_, err = s.DeletePayloadIOVs(e.ctx, []int64{f.a1.ID, 999999, 999998}, allow)
	wantStoreErr(t, err, condcache.ENotFound, "Not found: PayloadIOV 999998, PayloadIOV 999999; none deleted.")
	_, err = s.DeletePayloadIOVs(e.ctx, []int64{f.a1.ID}, deny)
	wantStoreErr(t, err, condcache.EForbidden, "Permission denied.")
	_, err = s.CloneGlobalTagReplacing(e.ctx, "G", "G")
	wantStoreErr(t, err, condcache.EInvalid, "A global tag cannot replace itself: name another target.")
	_, err = s.CloneGlobalTagReplacing(e.ctx, "nope", "H")
	wantStoreErr(t, err, condcache.ENotFound, `GlobalTag "nope" not found.`)
	e.protUnchanged(before)

	got := e.protect(condcache.ProtectRequest{GlobalTags: []string{"G"}, PayloadLists: []string{f.d.Name}, IOVs: []int64{f.c1.ID, f.x1.ID},
		Protected: true, Note: "n1"})
	want := []string{`GlobalTag "G" G  true n1`, fmt.Sprintf(`PayloadList %q   true n1`, f.d.Name),
		fmt.Sprintf(`PayloadIOV %d F %s true n1`, f.c1.ID, f.c.Name), fmt.Sprintf(`PayloadIOV %d   true n1`, f.x1.ID)}
	for i, p := range got {
		if s := fmt.Sprintf("%s %s %s %v %s", p, p.GlobalTag, p.PayloadList, p.Protected, p.Note); i >= len(want) || s != want[i] {
			t.Errorf("state %d: %q, want %q", i, s, want[min(i, len(want)-1)])
		}
	}
	before = e.protSnapshot()
	e.protect(condcache.ProtectRequest{GlobalTags: []string{"G"}, Protected: true, Note: "n1"})
	e.protUnchanged(before)
	if got := e.protect(condcache.ProtectRequest{GlobalTags: []string{"G"}, Protected: true, Note: "n2"}); got[0].Note != "n2" {
		t.Errorf("marked again with another note: %+v", got[0])
	}
	if got := e.protect(condcache.ProtectRequest{GlobalTags: []string{"G"}}); got[0].Protected {
		t.Errorf("unmarked: %+v", got[0])
	}
	if n := e.count(`SELECT count(*) FROM condcache_protection`); n != 3 {
		t.Errorf("%d marks, want 3", n)
	}
}

// TestProtectDryRun: a dry run of a mark writes nothing and reports it.
func TestProtectDryRun(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	f := newProtFixture(e)
	before := e.protSnapshot()
	var d condcache.DryRun
	if _, err := e.store.Protect(condcache.WithDryRun(e.ctx, &d), condcache.ProtectRequest{IOVs: []int64{f.a1.ID}, Protected: true}, allow); err != nil {
		t.Fatal(err)
	}
	e.protUnchanged(before)
	if len(d.Changes) != 1 || d.Changes[0].Table != "condcache_protection" || d.Changes[0].Action != condcache.ActionAdded {
		t.Errorf("dry run changes: %+v", d.Changes)
	}
}

// TestProtectReplacingCloneSeesLateMark: the replacing clone reads in
// REPEATABLE READ, so a mark committed after its snapshot is invisible to
// its guard; the mark's bump of the GT (migration 008) makes the delete's
// own bump fail to serialise, and the run again sees it. The mark is
// written while holding the lock Protect holds (the list FOR SHARE), so
// the clone is waiting on it with its snapshot taken.
func TestProtectReplacingCloneSeesLateMark(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("S", condcache.StatusUnlocked)
	e.gt("D", condcache.StatusUnlocked)
	l := e.attachedPL("D", "T")
	e.attach(l.Name, "d", iovPt(0, 0), storeOpen)
	tx, err := e.db.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(e.ctx)
	if _, err := tx.Exec(e.ctx, `SELECT id FROM "PayloadList" WHERE name = $1 FOR SHARE`, l.Name); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := e.store.CloneGlobalTagReplacing(e.ctx, "S", "D"); done <- err }()
	e.waitForLockWait("the replacing clone", done)
	if _, err := tx.Exec(e.ctx, `INSERT INTO condcache_protection (kind, object_id, actor)
		SELECT 'GlobalTag', id, 'test' FROM "GlobalTag" WHERE name = 'D'`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	wantStoreErr(t, <-done, condcache.EProtected, protectedDetail(`GlobalTag "D"`))
	if n := e.count(`SELECT count(*) FROM "PayloadIOV" i JOIN "PayloadList" l ON l.id = i.payload_list_id
		JOIN "GlobalTag" g ON g.id = l.global_tag_id WHERE g.name = 'D' AND i.payload_url = 'd'`); n != 1 {
		t.Errorf("the protected GT lost its IOV: %d left", n)
	}
}
