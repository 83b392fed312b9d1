package e2e

import (
	"fmt"
	"testing"
)

// docs/compatibility.md "Status and deletion rules" and §4 (status table), with DESIGN decision 4: a frozen GT
// cannot be changed in any way; bulk writes into a locked GT are refused.

type protectedGT struct {
	gt, ptA, ptB, plA, plB string // plA has IOVs, plB is empty
	iovIDs                 []int64
	iovs                   []IOV
	other, otherPL         string // an unlocked GT with a list of type ptA
}

func mkProtected(c *client, status string) protectedGT {
	c.t.Helper()
	p := protectedGT{gt: c.mkGT("unlocked"), ptA: c.mkPT(), ptB: c.mkPT()}
	p.iovs = []IOV{{uniqz("f"), P{0, 0}, P{0, 10}}, {uniqz("f"), P{0, 10}, open}}
	for _, v := range p.iovs {
		p.iovIDs = append(p.iovIDs, c.mustInsert(p.gt, p.ptA, v.URL, v.S, v.E))
	}
	p.plA = c.gtLists(p.gt)[p.ptA]
	p.plB = c.listOf(p.gt, p.ptB)
	p.other = c.mkGT("unlocked")
	p.otherPL = c.listOf(p.other, p.ptA)
	c.mustInsert(p.other, p.ptA, uniqz("o"), P{0, 0}, open)
	c.setStatus(p.gt, status)
	return p
}

func TestFrozen(t *testing.T) {
	t.Parallel()
	c := shared(t)
	p := mkProtected(c, "frozen")
	frozenSnap, otherSnap := c.snap(p.gt), c.snap(p.other)
	check := func(what string) {
		t.Helper()
		c.wantUnchanged(p.gt, frozenSnap)
		c.wantUnchanged(p.other, otherSnap)
		if s := obj(t, c.ok("GET", "globalTag/"+p.gt+"?light", nil).JSON)["status"]; s != "frozen" {
			t.Errorf("%s: status %v", what, s)
		}
	}
	const frozen = "Global Tag is frozen."

	for _, path := range []string{"piov_attach", "payload-iovs/attach"} {
		// Attach an IOV into the frozen GT (even one that would not conflict).
		n := c.mkPIOV(uniqz("n"), P{5, 0}, open)
		wantErr(t, c.do("PUT", path, map[string]any{"payload_list": p.plA, "piov_id": n}), "locked", frozen, 409)
		wantErr(t, c.do("PUT", path, map[string]any{"payload_list": p.plB, "piov_id": n}), "locked", frozen, 409)
		if l := c.listOfIOV(n); l != "" {
			t.Errorf("IOV attached into a frozen GT: %s", l)
		}
		check("piov_attach into frozen")
		// Move an IOV out of the frozen GT.
		wantErr(t, c.do("PUT", path, map[string]any{"payload_list": p.otherPL, "piov_id": p.iovIDs[1]}), "locked", "", 409)
		if l := c.listOfIOV(p.iovIDs[1]); l != p.plA {
			t.Errorf("IOV moved out of a frozen GT to %q", l)
		}
		check("piov_attach out of frozen")
	}

	for _, path := range []string{"pl_attach", "payload-lists/attach"} {
		// Attach a list of a new type, and of an attached type.
		ptC := c.mkPT()
		lc, _ := c.mkPL(ptC)
		la, _ := c.mkPL(p.ptA)
		wantErr(t, c.do("PUT", path, map[string]any{"global_tag": p.gt, "payload_list": lc}), "locked", frozen, 409)
		wantErr(t, c.do("PUT", path, map[string]any{"global_tag": p.gt, "payload_list": la}), "locked", frozen, 409)
		wantErr(t, c.do("PUT", path, map[string]any{"global_tag": p.gt, "payload_list": p.plA}), "locked", frozen, 409)
		check("pl_attach into frozen")
		// Move the frozen GT's list to another GT.
		wantErr(t, c.do("PUT", path, map[string]any{"global_tag": p.other, "payload_list": p.plA}), "locked", "", 409)
		check("pl_attach out of frozen")
	}

	// Bulk writes into its lists.
	for _, path := range []string{"bulk_piov", "payload-iovs/bulk"} {
		u := uniqz("fb")
		wantErr(t, c.do("POST", path, []any{map[string]any{"payload_url": u, "major_iov": 9, "minor_iov": 0, "payload_list": p.plA}}), "locked", "", 409)
		// Mixed batch: a good element for an unlocked list + one into the frozen GT.
		wantErr(t, c.do("POST", path, []any{
			map[string]any{"payload_url": u, "major_iov": 9, "minor_iov": 0, "payload_list": p.otherPL},
			map[string]any{"payload_url": u, "major_iov": 9, "minor_iov": 0, "payload_list": p.plB},
		}), "locked", "", 409)
		if n := c.countPIOVs(u); n != 0 {
			t.Errorf("refused bulk wrote %d IOVs", n)
		}
		check("bulk into frozen")
	}

	// Deleting its lists (empty or not), its IOVs, the GT itself.
	for _, path := range []string{"deletePayloadList/%s", "payload-lists/%s/delete"} {
		wantErr(t, c.do("DELETE", fmt.Sprintf(path, p.plB), nil), "locked", "", 409)
		wantErr(t, c.do("DELETE", fmt.Sprintf(path, p.plA), nil), "", "", 409)
		check("list delete")
	}
	for _, path := range []string{"deletePayloadIOV/%s/%s/0/10", "payload-iovs/%s/%s/0/10/delete",
		"deletePayloadIOV/%s/%s/0/0/0/10", "payload-iovs/%s/%s/0/0/0/10/delete"} {
		wantErr(t, c.do("DELETE", fmt.Sprintf(path, p.gt, p.ptA), nil), "locked", frozen, 409)
		check("IOV delete")
	}
	for _, path := range []string{"deleteGlobalTag/%s", "global-tags/%s/delete"} {
		wantErr(t, c.do("DELETE", fmt.Sprintf(path, p.gt), nil), "locked", frozen, 409)
		check("GT delete")
	}
	// The type stays in use.
	wantErr(t, c.do("DELETE", "deletePayloadType/"+p.ptB, nil), "conflict", "PayloadType is used by 1 PayloadLists", 409)

	// Still allowed: lookups, clone (unlocked copy), status change back.
	if got := c.lookupURLs(p.gt, 0, 5); got[p.ptA] != p.iovs[0].URL {
		t.Errorf("lookup in frozen GT: %v", got)
	}
	cl := uniqz("fclone")
	if s := obj(t, c.ok("POST", "cloneGlobalTag/"+p.gt+"/"+cl, rawJSON("null")).JSON)["status"]; s != "unlocked" {
		t.Errorf("clone of frozen: %v", s)
	}
	check("clone")
	c.setStatus(p.gt, "unlocked")
	c.ok("DELETE", fmt.Sprintf("deletePayloadList/%s", p.plB), nil)
}

func TestLocked(t *testing.T) {
	t.Parallel()
	c := shared(t)
	p := mkProtected(c, "locked")
	snap := c.snap(p.gt)

	// Bulk writes are refused (they bypass the conflict rules).
	for _, path := range []string{"bulk_piov", "payload-iovs/bulk"} {
		u := uniqz("lb")
		wantErr(t, c.do("POST", path, []any{map[string]any{"payload_url": u, "major_iov": 9, "minor_iov": 0, "payload_list": p.plA}}), "locked", "", 409)
		wantErr(t, c.do("POST", path, []any{map[string]any{"payload_url": u, "major_iov": 0, "minor_iov": 0, "payload_list": p.plB}}), "locked", "", 409)
		if n := c.countPIOVs(u); n != 0 {
			t.Errorf("refused bulk wrote %d IOVs", n)
		}
		c.wantUnchanged(p.gt, snap)
	}
	// GT delete is refused.
	for _, path := range []string{"deleteGlobalTag/%s", "global-tags/%s/delete"} {
		wantErr(t, c.do("DELETE", fmt.Sprintf(path, p.gt), nil), "locked", "Global Tag is locked.", 409)
		c.wantUnchanged(p.gt, snap)
	}
	// Append-only attach works; a same-start attach is refused.
	n := c.mkPIOV(uniqz("ln"), P{0, 10}, P{0, 20})
	wantErr(t, c.piovAttach(p.plA, n), "locked", "", 409)
	c.wantUnchanged(p.gt, snap)

	// IOV delete is allowed in a locked GT.
	r := c.ok("DELETE", fmt.Sprintf("deletePayloadIOV/%s/%s/0/10", p.gt, p.ptA), nil)
	if d := obj(t, r.JSON)["detail"]; d != fmt.Sprintf("PayloadIOV %s deleted.", p.iovs[1].URL) {
		t.Errorf("IOV delete detail %v", d)
	}
	wantIOVs(t, "after IOV delete in locked GT", c.iovsOf(p.gt, p.ptA), p.iovs[:1])
	// An empty list of a locked GT can be deleted (no GT check for locked).
	c.ok("DELETE", "deletePayloadList/"+p.plB, nil)
	if l := c.gtLists(p.gt); len(l) != 1 {
		t.Errorf("lists after deleting the empty one: %v", l)
	}
	if s := obj(t, c.ok("GET", "globalTag/"+p.gt+"?light", nil).JSON)["status"]; s != "locked" {
		t.Errorf("status %v", s)
	}
	// Unlock, then delete works.
	c.setStatus(p.gt, "unlocked")
	c.ok("DELETE", "deleteGlobalTag/"+p.gt, nil)
}
