package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Protection (docs/design.md "Protection") through the real reader and
// writer: marks, every delete path that could reach a protected object,
// force, dry runs, the audit entry of a forced delete, frozen GTs, bad
// input, and the admin permission with the Belle II plugin.

const protectPath = "/api/v2/protect"

// protectedDetail is the refusal's detail naming objects.
func protectedDetail(names ...string) string {
	return "Protected, so nothing was deleted: " + strings.Join(names, ", ") +
		". Only force=1, with the admin permission, deletes protected objects."
}

func iovName(id int64) string { return fmt.Sprintf("PayloadIOV %d", id) }

func listName(name string) string { return fmt.Sprintf("PayloadList %q", name) }

func gtName(name string) string { return fmt.Sprintf("GlobalTag %q", name) }

// guardedGT is a GT with a list of type pt holding i1 [0,10) and i2
// [10,20), and an empty list of type empty.
type guardedGT struct {
	gt, pt, empty  string
	list, emptyPL  string
	i1, i2         int64
	i1Path, i2Path string // their deletePayloadIOV paths
}

func mkGuarded(c *client) guardedGT {
	c.t.Helper()
	g := guardedGT{gt: c.mkGT("unlocked"), pt: c.mkPT(), empty: c.mkPT()}
	g.i1 = c.mustInsert(g.gt, g.pt, uniqz("g1"), P{0, 0}, P{10, 0})
	g.i2 = c.mustInsert(g.gt, g.pt, uniqz("g2"), P{10, 0}, P{20, 0})
	g.list = c.gtLists(g.gt)[g.pt]
	g.emptyPL = c.listOf(g.gt, g.empty)
	g.i1Path = fmt.Sprintf("deletePayloadIOV/%s/%s/0/0/10/0", g.gt, g.pt)
	g.i2Path = fmt.Sprintf("deletePayloadIOV/%s/%s/10/0/20/0", g.gt, g.pt)
	return g
}

// protect sends PUT protect and requires 200.
func (c *client) protect(body map[string]any) map[string]any {
	c.t.Helper()
	return obj(c.t, c.ok("PUT", protectPath, body).JSON)
}

// marks returns GET protect?gt= decoded.
func (c *client) marks(gt string) map[string]any {
	c.t.Helper()
	return obj(c.t, c.ok("GET", protectPath+"?gt="+url.QueryEscape(gt), nil).JSON)
}

// auditCount is the number of audit entries of gt.
func (c *client) auditCount(gt string) int64 {
	c.t.Helper()
	return i64(c.t, obj(c.t, c.ok("GET", "/api/v2/audit?page_size=1&gt="+url.QueryEscape(gt), nil).JSON)["count"])
}

// newestAudit is gt's newest audit entry, with its rows.
func (c *client) newestAudit(gt string) map[string]any {
	c.t.Helper()
	page := obj(c.t, c.ok("GET", "/api/v2/audit?page_size=1&gt="+url.QueryEscape(gt), nil).JSON)
	id := i64(c.t, obj(c.t, arr(c.t, page["results"])[0])["id"])
	return obj(c.t, c.ok("GET", fmt.Sprintf("/api/v2/audit/%d", id), nil).JSON)
}

// forcedNames names the objects of a "forced" array as details do.
func forcedNames(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	for _, x := range arr(t, v) {
		o := obj(t, x)
		switch k := str(t, o["kind"]); k {
		case "PayloadIOV":
			out = append(out, iovName(i64(t, o["id"])))
		default:
			out = append(out, fmt.Sprintf("%s %q", k, str(t, o["name"])))
		}
	}
	return out
}

// TestProtectRefusesEveryDelete: with one IOV and one (empty) list of a GT
// marked, each path that could delete them is refused with 409 protected,
// naming every protected object, and nothing changes: the IOV delete, the
// list delete, the GT delete (cascade), the bulk delete (nothing deleted
// when one of many is protected), the clone that replaces the GT; a type
// delete never reaches a list. What is not protected is deleted as
// before, with the compatible answers.
func TestProtectRefusesEveryDelete(t *testing.T) {
	t.Parallel()
	c := shared(t)
	g := mkGuarded(c)
	other := c.mkGT("unlocked")
	o1 := c.mustInsert(other, g.pt, uniqz("o1"), P{0, 0}, open)

	ans := c.protect(map[string]any{"iovs": []int64{g.i1}, "payload_lists": []string{g.emptyPL}, "protected": true, "note": "published"})
	objs := arr(t, ans["objects"])
	if len(objs) != 2 || ans["protected"] != true {
		t.Fatalf("protect answered %v", ans)
	}
	first, second := obj(t, objs[0]), obj(t, objs[1])
	if first["kind"] != "PayloadList" || first["name"] != g.emptyPL || first["global_tag"] != g.gt || first["protected"] != true ||
		first["note"] != "published" || second["kind"] != "PayloadIOV" || i64(t, second["id"]) != g.i1 || second["payload_list"] != g.list {
		t.Errorf("protect answered %v", ans)
	}
	m := c.marks(g.gt)
	if i64(t, m["count"]) != 2 || m["frozen"] != false || i64(t, m["payload_lists"]) != 2 || i64(t, m["payload_iovs"]) != 2 ||
		i64(t, m["protected_payload_lists"]) != 1 || i64(t, m["protected_payload_iovs"]) != 1 {
		t.Errorf("GET protect?gt: %v", m)
	}

	snap, otherSnap := c.snap(g.gt), c.snap(other)
	audits := c.auditCount(g.gt)
	check := func(what string) {
		t.Helper()
		c.wantUnchanged(g.gt, snap)
		c.wantUnchanged(other, otherSnap)
		if n := c.auditCount(g.gt); n != audits {
			t.Errorf("%s: %d audit entries of the GT, want %d", what, n, audits)
		}
	}
	both := protectedDetail(listName(g.emptyPL), iovName(g.i1))
	wantErr(t, c.do("DELETE", g.i1Path, nil), "protected", protectedDetail(iovName(g.i1)), 409)
	check("IOV delete")
	wantErr(t, c.do("DELETE", "deletePayloadList/"+g.emptyPL, nil), "protected", protectedDetail(listName(g.emptyPL)), 409)
	check("list delete")
	wantErr(t, c.do("DELETE", "deleteGlobalTag/"+g.gt, nil), "protected", both, 409)
	check("GT delete")
	wantErr(t, c.do("DELETE", "global-tags/"+g.gt+"/delete", nil), "protected", both, 409)
	check("GT delete, alias")
	wantErr(t, c.do("POST", "/api/v2/iovs/delete", map[string]any{"ids": []int64{o1, g.i2, g.i1}}), "protected", protectedDetail(iovName(g.i1)), 409)
	check("bulk delete")
	if c.piovByID(o1) == nil || c.piovByID(g.i2) == nil {
		t.Errorf("the refused bulk delete deleted an unprotected IOV")
	}
	wantErr(t, c.do("POST", "/api/v2/gt/"+other+"/clone/"+g.gt+"?replace=1", nil), "protected", both, 409)
	check("clone replacing")
	wantErr(t, c.do("DELETE", "deletePayloadType/"+g.empty, nil), "conflict", "PayloadType is used by 1 PayloadLists", 409)
	check("type delete")

	// A mark on a list protects its IOVs; on a GT, its lists and IOVs.
	c.protect(map[string]any{"payload_lists": []string{g.list}, "global_tags": []string{other}, "protected": true})
	audits = c.auditCount(g.gt) // the mark's own entry
	wantErr(t, c.do("DELETE", g.i2Path, nil), "protected",
		protectedDetail(fmt.Sprintf("%s (in protected %s)", iovName(g.i2), listName(g.list))), 409)
	wantErr(t, c.do("POST", "/api/v2/iovs/delete", map[string]any{"ids": []int64{o1}}), "protected",
		protectedDetail(fmt.Sprintf("%s (in protected %s)", iovName(o1), gtName(other))), 409)
	wantErr(t, c.do("DELETE", "deleteGlobalTag/"+other, nil), "protected", protectedDetail(gtName(other)), 409)
	check("through containers")

	// Unmarked, the compatible deletes answer as always.
	c.protect(map[string]any{"payload_lists": []string{g.list, g.emptyPL}, "iovs": []int64{g.i1}, "global_tags": []string{other}, "protected": false})
	if m := c.marks(g.gt); i64(t, m["count"]) != 0 || i64(t, m["protected_payload_iovs"]) != 0 {
		t.Errorf("marks after unprotecting: %v", m)
	}
	if r := obj(t, c.ok("DELETE", g.i2Path, nil).JSON); !strings.HasPrefix(str(t, r["detail"]), "PayloadIOV g2") || c.piovByID(g.i2) != nil {
		t.Errorf("delete of an unprotected IOV answered %v", r)
	}
	if r := obj(t, c.ok("DELETE", "deletePayloadList/"+g.emptyPL, nil).JSON); r["detail"] == nil {
		t.Errorf("delete of an unprotected list answered %v", r)
	}
	// A clone replacing an unprotected GT: the target answers as the source.
	sum := obj(t, c.ok("POST", "/api/v2/gt/"+other+"/clone/"+g.gt+"?replace=1", nil).JSON)
	if sum["name"] != g.gt || i64(t, sum["payload_iov_count"]) != 1 {
		t.Errorf("replacing clone answered %v", sum)
	}
	if got := c.lookupURLs(g.gt, 5, 0); fmt.Sprint(got) != fmt.Sprint(c.lookupURLs(other, 5, 0)) {
		t.Errorf("replaced GT answers %v, its source %v", got, c.lookupURLs(other, 5, 0))
	}
	// Without replace=1 the v2 clone is the compatible one: a taken name
	// is a conflict.
	wantErr(t, c.do("POST", "/api/v2/gt/"+other+"/clone/"+g.gt, nil), "conflict", "", 409)
}

// TestProtectForce: force=1 deletes protected objects (the dummy plugin
// grants admin to everyone): a dry run of it answers what would go, the
// protected objects among it, and writes nothing; the real one deletes,
// and its audit entry lists what was deleted under force with the marks
// that protected it.
func TestProtectForce(t *testing.T) {
	t.Parallel()
	c := shared(t)
	g := mkGuarded(c)
	c.protect(map[string]any{"global_tags": []string{g.gt}, "iovs": []int64{g.i1}, "protected": true, "note": "run 2 calibration"})
	snap, audits := c.snap(g.gt), c.auditCount(g.gt)

	dry := obj(t, c.ok("DELETE", "deleteGlobalTag/"+g.gt+"?dry_run=1&force=1", nil).JSON)
	if got, want := fmt.Sprint(forcedNames(t, dry["forced"])), fmt.Sprint([]string{gtName(g.gt), iovName(g.i1)}); got != want {
		t.Errorf("dry run's forced: %s, want %s", got, want)
	}
	deleted := 0
	for _, ch := range arr(t, dry["changes"]) {
		if obj(t, ch)["action"] == "deleted" {
			deleted++
		}
	}
	if dry["dry_run"] != true || obj(t, dry["response"])["detail"] != "Global tag "+g.gt+" deleted." || deleted < 5 {
		t.Errorf("dry run answered %v (%d rows deleted: want the GT, 2 lists, 2 IOVs and the marks)", dry, deleted)
	}
	c.wantUnchanged(g.gt, snap)
	if n := c.auditCount(g.gt); n != audits {
		t.Errorf("the dry run left %d audit entries, want %d", n, audits)
	}
	if m := c.marks(g.gt); i64(t, m["count"]) != 2 {
		t.Errorf("the dry run removed marks: %v", m)
	}
	// Bad force values are refused like bad dry_run values.
	wantErr(t, c.do("DELETE", "deleteGlobalTag/"+g.gt+"?force=yes", nil), "invalid", "force: Must be 1 (or true), or 0 (or false).", 400)
	c.wantUnchanged(g.gt, snap)

	r := obj(t, c.ok("DELETE", "deleteGlobalTag/"+g.gt+"?force=1", nil).JSON)
	if r["detail"] != "Global tag "+g.gt+" deleted." {
		t.Errorf("forced delete answered %v", r)
	}
	if c.piovByID(g.i1) != nil || c.piovByID(g.i2) != nil {
		t.Errorf("IOVs of the GT survived its forced delete")
	}
	e := c.newestAudit(g.gt)
	if e["endpoint"] != "DeleteGlobalTag" || fmt.Sprint(forcedNames(t, e["forced"])) != fmt.Sprint([]string{gtName(g.gt), iovName(g.i1)}) {
		t.Errorf("audit entry of the forced delete: %v", e)
	}
	for _, f := range arr(t, e["forced"]) {
		by := obj(t, obj(t, f)["protected_by"])
		if by["protected"] != true || by["note"] != "run 2 calibration" || by["actor"] == nil || by["time"] == nil {
			t.Errorf("forced object's mark: %v", f)
		}
	}
	if q := str(t, obj(t, e["request"])["query"]); q != "force=1" {
		t.Errorf("audit entry's query %q", q)
	}
	// Other entries carry no forced field.
	c.ensureStatus("unlocked")
	c.ok("POST", "gt", map[string]any{"name": g.gt, "status": "unlocked"})
	if e := c.newestAudit(g.gt); e["forced"] != nil {
		t.Errorf("an unforced entry has forced: %v", e["forced"])
	}
	wantErr(t, c.get(protectPath+"?gt="+url.QueryEscape(g.gt)+"&page=0"), "invalid", "", 400)
	if m := c.marks(g.gt); i64(t, m["count"]) != 0 {
		t.Errorf("the re-created GT inherits marks: %v", m)
	}
	c.ok("DELETE", "deleteGlobalTag/"+g.gt, nil)
}

// TestProtectFrozen: a frozen GT's lists and IOVs are protected without
// marks: the read says so, and every delete path refuses them, force=1
// included (unfreezing, an admin write of its own, lifts it).
func TestProtectFrozen(t *testing.T) {
	t.Parallel()
	c := shared(t)
	g := mkGuarded(c)
	src := c.mkGT("unlocked")
	c.setStatus(g.gt, "frozen")
	m := c.marks(g.gt)
	if m["frozen"] != true || m["status"] != "frozen" || i64(t, m["count"]) != 0 ||
		i64(t, m["protected_payload_lists"]) != 2 || i64(t, m["protected_payload_iovs"]) != 2 {
		t.Errorf("GET protect of a frozen GT: %v", m)
	}
	snap := c.snap(g.gt)
	for _, q := range []string{"", "?force=1"} {
		wantErr(t, c.do("DELETE", g.i1Path+q, nil), "locked", "Global Tag is frozen.", 409)
		wantErr(t, c.do("DELETE", "deletePayloadList/"+g.emptyPL+q, nil), "locked", "Global Tag is frozen.", 409)
		wantErr(t, c.do("DELETE", "deleteGlobalTag/"+g.gt+q, nil), "locked", "Global Tag is frozen.", 409)
		wantErr(t, c.do("POST", "/api/v2/iovs/delete"+q, map[string]any{"ids": []int64{g.i2}}), "locked",
			fmt.Sprintf("Global Tag is frozen: GlobalTag %q (PayloadIOV %d); none deleted.", g.gt, g.i2), 409)
		sep := "?"
		if q != "" {
			sep = q + "&"
		}
		wantErr(t, c.do("POST", "/api/v2/gt/"+src+"/clone/"+g.gt+sep+"replace=1", nil), "locked", "Global Tag is frozen.", 409)
		c.wantUnchanged(g.gt, snap)
	}
}

// TestProtectBadInput: bad bodies and parameters, unknown objects: 4xx
// with a detail and a code, nothing written.
func TestProtectBadInput(t *testing.T) {
	t.Parallel()
	c := shared(t)
	g := mkGuarded(c)
	audits := c.auditCount(g.gt)
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		code, detail string
	}{
		{"PUT", protectPath, map[string]any{"global_tags": []string{g.gt, "nope" + g.gt}, "payload_lists": []string{"nope"}, "iovs": []int64{g.i1, 1 << 62},
			"protected": true}, 404, "not_found",
			fmt.Sprintf(`Not found: GlobalTag "nope%s", PayloadList "nope", PayloadIOV %d; nothing was changed.`, g.gt, int64(1)<<62)},
		{"PUT", protectPath, map[string]any{"global_tags": []string{g.gt}}, 400, "invalid", "protected: This field is required."},
		{"PUT", protectPath, map[string]any{"global_tags": g.gt, "protected": true}, 400, "invalid", "global_tags: Expected a list of names."},
		{"PUT", protectPath, map[string]any{"iovs": []any{"1"}, "protected": true}, 400, "invalid", "iovs: Element 0: A valid integer is required."},
		{"PUT", protectPath, map[string]any{"protected": true}, 400, "invalid", "Name at least one object: global_tags, payload_lists or iovs."},
		{"PUT", protectPath, map[string]any{"gts": []string{g.gt}, "protected": true}, 400, "invalid",
			"gts: Unknown field; the fields are global_tags, payload_lists, iovs, protected, note."},
		{"PUT", protectPath, rawJSON("[1]"), 400, "invalid", "Invalid data. Expected a dictionary, but got list."},
		{"PUT", protectPath, rawJSON("{"), 400, "invalid", ""},
		{"PUT", protectPath + "?dry_run=2", map[string]any{"global_tags": []string{g.gt}, "protected": true}, 400, "invalid", ""},
		{"POST", protectPath, map[string]any{"global_tags": []string{g.gt}, "protected": true}, 405, "method_not_allowed", ""},
		{"POST", "/api/v2/iovs/delete", map[string]any{"ids": []int64{g.i1, 1 << 61}}, 404, "not_found",
			fmt.Sprintf("Not found: PayloadIOV %d; none deleted.", int64(1)<<61)},
		{"POST", "/api/v2/iovs/delete", map[string]any{"ids": []int64{}}, 400, "invalid", "ids: Name at least one IOV."},
		{"POST", "/api/v2/iovs/delete", map[string]any{}, 400, "invalid", "ids: This field is required."},
		{"POST", "/api/v2/iovs/delete", map[string]any{"ids": []any{g.i1, 1.5}}, 400, "invalid", "ids: Element 1: A valid integer is required."},
		{"POST", "/api/v2/gt/nope" + g.gt + "/clone/" + g.gt + "?replace=1", nil, 404, "not_found", fmt.Sprintf("GlobalTag %q not found.", "nope"+g.gt)},
		{"POST", "/api/v2/gt/" + g.gt + "/clone/" + g.gt + "?replace=1", nil, 400, "invalid", "A global tag cannot replace itself: name another target."},
		{"POST", "/api/v2/gt/" + g.gt + "/clone/x?replace=yes", nil, 400, "invalid", "replace: Must be 1 (or true), or 0 (or false)."},
		{"GET", protectPath + "?gt=nope" + g.gt, nil, 404, "not_found", fmt.Sprintf("GlobalTag %q not found.", "nope"+g.gt)},
		{"GET", protectPath + "?gt=" + g.gt + "&page_size=0", nil, 400, "invalid", ""},
	} {
		wantErr(t, c.do(tc.method, tc.path, tc.body), tc.code, tc.detail, tc.status)
	}
	if m := c.marks(g.gt); i64(t, m["count"]) != 0 {
		t.Errorf("a refused write marked: %v", m)
	}
	if c.piovByID(g.i1) == nil || c.gtNames()["x"] {
		t.Errorf("a refused write deleted or cloned")
	}
	if n := c.auditCount(g.gt); n != audits {
		t.Errorf("refused writes left %d audit entries of the GT, want %d", n, audits)
	}
	// A dry run of a mark writes nothing and says what it would add.
	dry := obj(t, c.ok("PUT", protectPath+"?dry_run=1", map[string]any{"iovs": []int64{g.i1}, "protected": true}).JSON)
	if ch := arr(t, dry["changes"]); len(ch) != 1 || obj(t, ch[0])["table"] != "condcache_protection" || obj(t, ch[0])["action"] != "added" {
		t.Errorf("dry run of a mark: %v", dry)
	}
	if m := c.marks(g.gt); i64(t, m["count"]) != 0 {
		t.Errorf("the dry run marked: %v", m)
	}
}

// TestProtectPermissions: with the Belle II plugin, marking takes the
// admin permission on the GT of every object (the empty name for a
// detached one), and so does force=1: without it a protected delete is
// refused, 409 without force and 403 with it; with it the delete goes and
// the audit entry names the admin and what was deleted under force.
func TestProtectPermissions(t *testing.T) {
	t.Parallel()
	secret := "protect-" + uniq("s")
	sv := startServers(t,
		"CDB_AUTH_CLASS=cdb_rest.authentication.CustomJWTAuthentication",
		"JWT_SECRET="+secret,
		"CDB_PERMISSION_PLUGIN_CLASS=cdb_rest.permissions_plugins.belle2.Belle2PermissionPlugin")
	e := &authEnv{t: t, base: sv.ReaderURL, writer: sv.WriterURL, secret: secret}
	root := e.as(jwt.MapClaims{"sub": "root", "b2cdb:admin": []any{".*"}})
	root.ensureStatus("unlocked")
	g := mkGuarded(root)
	detached := root.mkPIOV(uniqz("det"), P{0, 0}, open)
	deny := func(r Resp) { t.Helper(); wantErr(t, r, "forbidden", "Permission denied.", 403) }
	other := e.as(jwt.MapClaims{"sub": "other", "b2cdb:admin": []any{"other.*"}})
	gAdmin := e.as(jwt.MapClaims{"sub": "gadmin", "b2cdb:admin": []any{g.gt}})
	nobody := e.as(jwt.MapClaims{"sub": "nobody"})

	// Marking: admin on each object's GT; a detached object checks "".
	deny(other.do("PUT", protectPath, map[string]any{"global_tags": []string{g.gt}, "protected": true}))
	deny(nobody.do("PUT", protectPath, map[string]any{"iovs": []int64{g.i1}, "protected": true}))
	deny(gAdmin.do("PUT", protectPath, map[string]any{"iovs": []int64{g.i1, detached}, "protected": true}))
	wantErr(t, e.raw("").do("PUT", protectPath, map[string]any{"iovs": []int64{g.i1}, "protected": true}), "unauthorized", "", 403)
	if m := root.marks(g.gt); i64(t, m["count"]) != 0 {
		t.Fatalf("a denied mark was written: %v", m)
	}
	gAdmin.protect(map[string]any{"payload_lists": []string{g.emptyPL}, "iovs": []int64{g.i1}, "protected": true, "note": "by g's admin"})
	root.protect(map[string]any{"iovs": []int64{detached}, "protected": true})
	deny(other.do("PUT", protectPath, map[string]any{"iovs": []int64{g.i1}, "protected": false}))

	// deletePayloadList checks no permission; force does.
	wantErr(t, nobody.do("DELETE", "deletePayloadList/"+g.emptyPL, nil), "protected", protectedDetail(listName(g.emptyPL)), 409)
	deny(nobody.do("DELETE", "deletePayloadList/"+g.emptyPL+"?force=1", nil))
	deny(other.do("DELETE", "deletePayloadList/"+g.emptyPL+"?force=1", nil))
	// The bulk delete needs admin on each IOV's GT, and force on each mark's.
	deny(other.do("POST", "/api/v2/iovs/delete?force=1", map[string]any{"ids": []int64{g.i1}}))
	wantErr(t, gAdmin.do("POST", "/api/v2/iovs/delete", map[string]any{"ids": []int64{g.i2, g.i1}}), "protected", protectedDetail(iovName(g.i1)), 409)
	deny(gAdmin.do("POST", "/api/v2/iovs/delete?force=1", map[string]any{"ids": []int64{detached}}))
	if root.piovByID(g.i1) == nil || root.piovByID(g.i2) == nil || root.piovByID(detached) == nil || len(root.gtLists(g.gt)) != 2 {
		t.Fatalf("a refused delete deleted")
	}

	// With the permission: deleted, and the entry says who and what.
	if r := obj(t, gAdmin.ok("POST", "/api/v2/iovs/delete?force=1", map[string]any{"ids": []int64{g.i2, g.i1}}).JSON); i64(t, r["deleted"]) != 2 {
		t.Errorf("forced bulk delete answered %v", r)
	}
	ent := root.newestAudit(g.gt)
	if ent["actor"] != "jwt:gadmin" || ent["endpoint"] != "v2.DeletePayloadIOVs" || fmt.Sprint(forcedNames(t, ent["forced"])) != fmt.Sprint([]string{iovName(g.i1)}) {
		t.Errorf("audit entry of the forced bulk delete: %v", ent)
	}
	gAdmin.ok("DELETE", "deletePayloadList/"+g.emptyPL+"?force=1", nil)
	if _, ok := root.gtLists(g.gt)[g.empty]; ok {
		t.Errorf("the forced list delete left the list")
	}
	root.ok("POST", "/api/v2/iovs/delete?force=1", map[string]any{"ids": []int64{detached}})
	if m := obj(t, root.ok("GET", protectPath, nil).JSON); i64(t, m["count"]) != 0 {
		t.Errorf("marks of deleted objects are left: %v", m)
	}
}
