package e2e

import (
	"fmt"
	"reflect"
	"testing"
)

// docs/compatibility.md "C++ client checklist" (what the C++ client relies on), item 15 step by step, with the
// exact requests of the client's table (legacy paths, null bodies, no ends
// for open-ended IOVs).

func TestClientWorkflow(t *testing.T) {
	t.Parallel()
	c := shared(t)

	// Statuses: the client creates unlocked/locked when gtstatus lacks them.
	have := statusNames(c, "gtstatus")
	for _, s := range []string{"unlocked", "locked"} {
		if _, ok := have[s]; !ok {
			c.ensureStatus(s)
		}
	}

	gt := uniqz("cppGT")
	// Deleting a non-existent GT fails (with a JSON detail string).
	wantErr(t, c.do("DELETE", "deleteGlobalTag/"+gt, nil), "not_found", "", 404)
	c.ok("POST", "gt", map[string]any{"name": gt, "status": "unlocked", "author": "cppuser"})
	r := c.do("POST", "gt", map[string]any{"name": gt, "status": "unlocked", "author": "cppuser"})
	wantErr(t, r, "conflict", "", 409)
	wantField(t, r, "name", "global tag with this name already exists.")
	if !c.gtNames()[gt] {
		t.Fatalf("globalTags lacks %s", gt)
	}

	ptA, ptB, ptC := uniqz("cppA"), uniqz("cppB"), uniqz("cppC")
	for _, pt := range []string{ptA, ptB, ptC} {
		c.ok("POST", "pt", map[string]any{"name": pt})
	}
	r = c.do("POST", "pt", map[string]any{"name": ptA})
	wantErr(t, r, "conflict", "", 409)
	wantField(t, r, "name", "payload type with this name already exists.")
	if pts := c.ptNames(); !pts[ptA] || !pts[ptB] || !pts[ptC] {
		t.Fatalf("pt lacks the new types")
	}

	// insert = list if missing from gtPayloadLists -> pl_attach -> POST piov -> piov_attach.
	insert := func(pt, u string, s P, e *P) Resp {
		t.Helper()
		lists := c.gtLists(gt)
		pl, ok := lists[pt]
		if !ok {
			m := obj(t, c.ok("POST", "pl", map[string]any{"payload_type": pt}).JSON)
			pl = str(t, m["name"])
			c.ok("PUT", "pl_attach", map[string]any{"payload_list": pl, "global_tag": gt})
		}
		body := map[string]any{"payload_url": u, "major_iov": s.M, "minor_iov": s.m, "checksum": "ck"}
		if e != nil {
			body["major_iov_end"], body["minor_iov_end"] = e.M, e.m
		}
		id := i64(t, obj(t, c.ok("POST", "piov", body).JSON)["id"])
		return c.do("PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": id})
	}
	mustInsert := func(pt, u string, s P, e *P) {
		t.Helper()
		if r := insert(pt, u, s, e); r.Status != 200 {
			t.Fatalf("%s", r)
		}
	}
	end := func(M, m int64) *P { return &P{M, m} }

	mustInsert(ptA, "a1", P{10, 0}, nil)
	mustInsert(ptA, "a2", P{20, 0}, nil)
	mustInsert(ptA, "a3", P{15, 0}, end(17, 0)) // inside a1: splits it
	wantIOVs(t, "after the split", c.iovsOf(gt, ptA), []IOV{
		{"a1", P{10, 0}, P{15, 0}}, {"a3", P{15, 0}, P{17, 0}}, {"a1", P{17, 0}, P{20, 0}}, {"a2", P{20, 0}, open},
	})
	mustInsert(ptB, "b1", P{0, 0}, end(5, 0))
	mustInsert(ptC, "c1", P{12, 0}, nil)
	for _, tc := range []struct {
		p    P
		want map[string]string
	}{
		{P{-1, 0}, map[string]string{}},
		{P{9, 0}, map[string]string{ptB: "b1"}},
		{P{10, 3}, map[string]string{ptA: "a1", ptB: "b1"}},
		{P{16, 0}, map[string]string{ptA: "a3", ptB: "b1", ptC: "c1"}},
		{P{18, 0}, map[string]string{ptA: "a1", ptB: "b1", ptC: "c1"}},
		{P{99, 0}, map[string]string{ptA: "a2", ptB: "b1", ptC: "c1"}},
	} {
		if got := c.lookupURLs(gt, tc.p.M, tc.p.m); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("lookup at %v: %v, want %v", tc.p, got, tc.want)
		}
	}

	// deletePayloadType, client-side: for every GT having the type, delete
	// its list (fails while it has IOVs), then delete the type.
	deleteType := func(pt string) (listErr, typeErr bool) {
		t.Helper()
		for _, g := range arr(t, c.ok("GET", "globalTags", nil).JSON) {
			name := str(t, obj(t, g)["name"])
			if name != gt {
				continue // other tests' GTs: the client would visit them too
			}
			if pl, ok := c.gtLists(name)[pt]; ok {
				r := c.do("DELETE", "deletePayloadList/"+pl, nil)
				if r.Status != 200 {
					wantErr(t, r, "conflict", "PayloadList contains 1 PayloadIOVs", 409)
					listErr = true
				}
			}
		}
		r := c.do("DELETE", "deletePayloadType/"+pt, nil)
		if r.Status != 200 {
			wantErr(t, r, "conflict", "PayloadType is used by 1 PayloadLists", 409)
			typeErr = true
		}
		return
	}
	if l, ty := deleteType(ptC); !l || !ty {
		t.Errorf("deleting a type whose list has an IOV must fail (list failed %v, type failed %v)", l, ty)
	}
	if !c.ptNames()[ptC] {
		t.Fatalf("type deleted although in use")
	}
	// Delete its only IOV: the type disappears from lookups; then both deletes work.
	c.ok("DELETE", fmt.Sprintf("deletePayloadIOV/%s/%s/12/0", gt, ptC), nil)
	if got := c.lookupURLs(gt, 16, 0); !reflect.DeepEqual(got, map[string]string{ptA: "a3", ptB: "b1"}) {
		t.Errorf("after deleting the only IOV of %s: %v", ptC, got)
	}
	if l, ty := deleteType(ptC); l || ty {
		t.Errorf("deleting an unused type failed (list failed %v, type failed %v)", l, ty)
	}
	if c.ptNames()[ptC] {
		t.Errorf("type still listed after deletion")
	}
	if _, ok := c.gtLists(gt)[ptC]; ok {
		t.Errorf("deleted list still attached")
	}

	// Lock (body null); deleting a locked GT fails.
	c.ok("PUT", "gt_change_status/"+gt+"/locked", rawJSON("null"))
	wantErr(t, c.do("DELETE", "deleteGlobalTag/"+gt, nil), "locked", "Global Tag is locked.", 409)

	// Locked: same start fails; open-ended exactly at the end of the last
	// closed IOV succeeds (L2); open after open succeeds (L4).
	before := c.snap(gt)
	r = insert(ptA, "dup", P{20, 0}, nil)
	m := wantErr(t, r, "locked", "", 409)
	if d, _ := m["detail"].(string); len(d) < 12 || d[:12] != "GT is LOCKED" {
		t.Errorf("locked refusal detail %q", d)
	}
	c.wantUnchanged(gt, before)
	if r := insert(ptB, "b2", P{5, 0}, nil); r.Status != 200 {
		t.Errorf("%s: appending open-ended at the end of the last closed IOV in a locked GT must succeed", r)
	}
	if r := insert(ptA, "a4", P{30, 0}, nil); r.Status != 200 {
		t.Errorf("%s: open after open in a locked GT must succeed", r)
	}
	wantIOVs(t, "locked appends", c.iovsOf(gt, ptB), []IOV{{"b1", P{0, 0}, P{5, 0}}, {"b2", P{5, 0}, open}})
	wantIOVs(t, "locked appends A", c.iovsOf(gt, ptA), []IOV{
		{"a1", P{10, 0}, P{15, 0}}, {"a3", P{15, 0}, P{17, 0}}, {"a1", P{17, 0}, P{20, 0}}, {"a2", P{20, 0}, open}, {"a4", P{30, 0}, open},
	})

	// Unlock; inserting at an existing start now splits (unlocked rules).
	c.ok("PUT", "gt_change_status/"+gt+"/unlocked", rawJSON("null"))
	if r := insert(ptA, "a5", P{17, 0}, end(18, 0)); r.Status != 200 {
		t.Fatalf("%s", r)
	}
	wantIOVs(t, "after unlock", c.iovsOf(gt, ptA), []IOV{
		{"a1", P{10, 0}, P{15, 0}}, {"a3", P{15, 0}, P{17, 0}}, {"a5", P{17, 0}, P{18, 0}}, {"a1", P{18, 0}, P{20, 0}},
		{"a2", P{20, 0}, open}, {"a4", P{30, 0}, open}, // the locked append left a2 open
	})

	// Clone (body null) answers lookups exactly like its source.
	clone := uniqz("cppClone")
	c.ok("POST", "cloneGlobalTag/"+gt+"/"+clone, rawJSON("null"))
	var pts []P
	for M := int64(-1); M <= 32; M++ {
		for _, m := range []int64{0, 1, maxI} {
			pts = append(pts, P{M, m})
		}
	}
	pts = append(pts, P{maxI, maxI})
	for _, p := range pts {
		a, b := c.lookup(gt, p.M, p.m), c.lookup(clone, p.M, p.m)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("lookup at %v: source %v, clone %v", p, a, b)
		}
	}

	// Deleting the unlocked GT (and the clone) succeeds.
	for _, g := range []string{gt, clone} {
		r := c.ok("DELETE", "deleteGlobalTag/"+g, nil)
		if d := obj(t, r.JSON)["detail"]; d != fmt.Sprintf("Global tag %s deleted.", g) {
			t.Errorf("detail %v", d)
		}
	}
	if names := c.gtNames(); names[gt] || names[clone] {
		t.Errorf("deleted GTs still listed")
	}
}
