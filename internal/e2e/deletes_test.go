package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// docs/compatibility.md "Delete global tag" (route 11), §2.10 (14), §2.11 (20), §2.17 (27, 28), §4.

func TestDeleteGlobalTag(t *testing.T) {
	t.Parallel()
	both(t, "deleteGlobalTag/%s", "global-tags/%s/delete", func(t *testing.T, path string) {
		c := shared(t)
		gt, ptA, ptB := c.mkGT("unlocked"), c.mkPT(), c.mkPT()
		// L0: attached, given an IOV, then replaced (detached with its IOV).
		l0 := c.listOf(gt, ptA)
		x0 := c.mustInsert(gt, ptA, uniqz("x0"), P{0, 0}, open)
		l1, l1ID := c.mkPL(ptA)
		c.ok("PUT", "pl_attach", map[string]any{"global_tag": gt, "payload_list": l1})
		a := c.mustInsert(gt, ptA, uniqz("a"), P{0, 0}, P{0, 10})
		sw := c.mustInsert(gt, ptA, uniqz("sw"), P{0, 20}, P{0, 30})
		b := c.mustInsert(gt, ptA, uniqz("b"), P{0, 10}, open) // swallows sw, trims nothing else
		if l := c.listOfIOV(sw); l != "" {
			t.Fatalf("setup: sw in %q", l)
		}
		l2 := c.listOf(gt, ptB) // empty
		if got := c.lookup(gt, 0, 5); len(got) != 1 {
			t.Fatalf("setup lookup: %v", got)
		}

		r := c.ok("DELETE", fmt.Sprintf(path, gt), nil)
		if m := obj(t, r.JSON); m["detail"] != fmt.Sprintf("Global tag %s deleted.", gt) {
			t.Errorf("delete answered %v", m)
		}
		wantErr(t, c.get("globalTag/"+gt), "not_found", "Not found.", 404)
		if c.gtNames()[gt] {
			t.Errorf("deleted GT still in globalTags")
		}
		if l := c.gtLists(gt); len(l) != 0 {
			t.Errorf("gtPayloadLists of deleted GT: %v", l)
		}
		if got := c.lookup(gt, 0, 5); len(got) != 0 {
			t.Errorf("lookup on deleted GT: %v", got)
		}
		// Its lists and their IOVs are gone.
		wantStatus(t, c.get(fmt.Sprintf("pl/%d", l1ID)), 404)
		wantStatus(t, c.get("payload-lists/by-name/"+l2), 404)
		for _, id := range []int64{a, b} {
			if c.piovByID(id) != nil {
				t.Errorf("IOV %d of a deleted GT survived", id)
			}
		}
		// Previously detached list and IOVs are untouched.
		m := obj(t, c.ok("GET", "payload-lists/by-name/"+l0, nil).JSON)
		if m["global_tag"] != nil || i64(t, m["iov_count"]) != 1 {
			t.Errorf("detached list after GT delete: %v", m)
		}
		if l := c.listOfIOV(x0); l != l0 {
			t.Errorf("IOV of the detached list: in %q", l)
		}
		if c.piovByID(sw) == nil {
			t.Errorf("detached IOV deleted by the GT cascade")
		}

		// Again: 404 with the reference text.
		wantErr(t, c.do("DELETE", fmt.Sprintf(path, gt), nil), "not_found", fmt.Sprintf("GlobalTag %s doesn't exist", gt), 404)

		// Re-create the same name: nothing old comes back (DESIGN freshness 4).
		c.ok("POST", "gt", map[string]any{"name": gt, "status": "unlocked"})
		if got := c.lookup(gt, 0, 5); len(got) != 0 {
			t.Errorf("re-created GT resurrects old answers: %v", got)
		}
		u := uniqz("new")
		c.mustInsert(gt, ptB, u, P{0, 3}, open)
		if got := c.lookupURLs(gt, 0, 5); len(got) != 1 || got[ptB] != u {
			t.Errorf("re-created GT lookup: %v", got)
		}
		c.ok("DELETE", fmt.Sprintf(path, gt), nil)
	})
}

func TestDeletePayloadType(t *testing.T) {
	t.Parallel()
	both(t, "deletePayloadType/%s", "payload-types/%s/delete", func(t *testing.T, path string) {
		c := shared(t)
		ghost := uniqz("nosuch")
		wantErr(t, c.do("DELETE", fmt.Sprintf(path, ghost), nil), "not_found", fmt.Sprintf("PayloadType %s doesn't exist", ghost), 404)

		pt := c.mkPT()
		pl, _ := c.mkPL(pt) // detached list still counts
		wantErr(t, c.do("DELETE", fmt.Sprintf(path, pt), nil), "conflict", "PayloadType is used by 1 PayloadLists", 409)
		gt := c.mkGT("unlocked")
		c.listOf(gt, pt)
		wantErr(t, c.do("DELETE", fmt.Sprintf(path, pt), nil), "conflict", "PayloadType is used by 2 PayloadLists", 409)
		if !c.ptNames()[pt] {
			t.Fatalf("refused delete removed the type")
		}
		c.ok("GET", "payload-lists/by-name/"+pl, nil)

		unused := c.mkPT()
		r := c.ok("DELETE", fmt.Sprintf(path, unused), nil)
		if d := obj(t, r.JSON)["detail"]; d != fmt.Sprintf("Payload Type %s deleted.", unused) {
			t.Errorf("detail %v", d)
		}
		if c.ptNames()[unused] {
			t.Errorf("deleted type still listed")
		}
		// The name can be reused.
		c.ok("POST", "pt", map[string]any{"name": unused})
	})
}

func TestDeletePayloadList(t *testing.T) {
	t.Parallel()
	both(t, "deletePayloadList/%s", "payload-lists/%s/delete", func(t *testing.T, path string) {
		c := shared(t)
		ghost := uniqz("nosuch")
		wantErr(t, c.do("DELETE", fmt.Sprintf(path, ghost), nil), "not_found", fmt.Sprintf("PayloadList %s doesn't exist", ghost), 404)

		gt, pt := c.mkGT("unlocked"), c.mkPT()
		c.mustInsert(gt, pt, uniqz("a"), P{0, 0}, P{0, 5})
		c.mustInsert(gt, pt, uniqz("b"), P{0, 5}, open)
		pl := c.gtLists(gt)[pt]
		before := c.snap(gt)
		wantErr(t, c.do("DELETE", fmt.Sprintf(path, pl), nil), "conflict", "PayloadList contains 2 PayloadIOVs", 409)
		c.wantUnchanged(gt, before)

		// Empty attached list: deleted (message says "Payload Type", sic).
		pt2 := c.mkPT()
		pl2 := c.listOf(gt, pt2)
		r := c.ok("DELETE", fmt.Sprintf(path, pl2), nil)
		if d := obj(t, r.JSON)["detail"]; d != fmt.Sprintf("Payload Type %s deleted.", pl2) {
			t.Errorf("detail %v", d)
		}
		if _, ok := c.gtLists(gt)[pt2]; ok {
			t.Errorf("deleted list still attached")
		}
		wantStatus(t, c.get("payload-lists/by-name/"+pl2), 404)
		c.wantUnchanged(gt, before)
		// Now the type is unused and can go.
		c.ok("DELETE", "deletePayloadType/"+pt2, nil)
		// Empty detached list.
		pl3, _ := c.mkPL(pt)
		c.ok("DELETE", fmt.Sprintf(path, pl3), nil)
	})
}

func TestDeletePayloadIOV(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt, pt, other := c.mkGT("unlocked"), c.mkPT(), c.mkPT()
	ivs := map[string]IOV{
		"closed": {uniqz("closed"), P{0, 0}, P{0, 10}},
		"open":   {uniqz("open"), P{0, 10}, open},
		"neg":    {uniqz("neg"), P{-7, -2}, P{-6, -1}},
		"negO":   {uniqz("negO"), P{-3, 5}, P{-2, 0}},
	}
	ids := map[string]int64{}
	for _, k := range []string{"neg", "negO", "closed", "open"} {
		v := ivs[k]
		ids[k] = c.mustInsert(gt, pt, v.URL, v.S, v.E)
	}
	c.mustInsert(gt, other, uniqz("o"), P{0, 0}, open)
	// Same IOV values in a list that is not attached to gt.
	gt2 := c.mkGT("unlocked")
	c.mustInsert(gt2, pt, uniqz("elsewhere"), P{0, 10}, open)

	const none = "PayloadIOV with given parameters doesn't exist"
	before := c.snap(gt)
	for _, p := range []string{
		fmt.Sprintf("deletePayloadIOV/%s/%s/0/0", gt, pt),               // closed IOV: 4-number form implies open end
		fmt.Sprintf("deletePayloadIOV/%s/%s/0/0/0/11", gt, pt),          // wrong end
		fmt.Sprintf("deletePayloadIOV/%s/%s/0/1", gt, pt),               // no such start
		fmt.Sprintf("deletePayloadIOV/%s/%s/0/10", uniqz("nosuch"), pt), // unknown GT
		fmt.Sprintf("deletePayloadIOV/%s/%s/0/10", gt, uniqz("nosuch")), // unknown type
		fmt.Sprintf("payload-iovs/%s/%s/-3/5/delete", gt, pt),           // negO is closed
		fmt.Sprintf("payload-iovs/%s/%s/-7/-2/-6/-2/delete", gt, pt),    // wrong end
	} {
		wantErr(t, c.do("DELETE", p, nil), "not_found", none, 404)
	}
	c.wantUnchanged(gt, before)

	del := func(path, key string) {
		t.Helper()
		r := c.ok("DELETE", path, nil)
		if d := obj(t, r.JSON)["detail"]; d != fmt.Sprintf("PayloadIOV %s deleted.", ivs[key].URL) {
			t.Errorf("%s: detail %v", path, d)
		}
		if c.piovByID(ids[key]) != nil {
			t.Errorf("%s: IOV %s still exists", path, key)
		}
		delete(ivs, key)
		var want []IOV
		for _, v := range ivs {
			want = append(want, v)
		}
		wantIOVs(t, "after "+path, c.iovsOf(gt, pt), want)
	}
	del(fmt.Sprintf("deletePayloadIOV/%s/%s/0/10", gt, pt), "open")
	del(fmt.Sprintf("payload-iovs/%s/%s/-7/-2/-6/-1/delete", gt, pt), "neg")
	del(fmt.Sprintf("deletePayloadIOV/%s/%s/-3/5/-2/0", gt, pt), "negO")
	// The IOV of gt2 is untouched.
	if got := c.lookupURLs(gt2, 0, 10); got[pt] == "" {
		t.Errorf("IOV of another GT deleted")
	}
	// After deleting the only IOV of a type, the type disappears from lookups.
	del(fmt.Sprintf("payload-iovs/%s/%s/0/0/0/10/delete", gt, pt), "closed")
	if got := c.lookup(gt, 0, 5); len(got) != 1 || got[pt].URL != "" {
		t.Errorf("lookup after deleting all IOVs of %s: %v", pt, got)
	}

	// Non-integers do not match the route.
	for _, p := range []string{
		fmt.Sprintf("deletePayloadIOV/%s/%s/a/0", gt, other),
		fmt.Sprintf("deletePayloadIOV/%s/%s/0/1.5", gt, other),
	} {
		wantStatus(t, c.do("DELETE", p, nil), 404)
	}

	// More than one match (duplicates written by bulk): refused, nothing deleted.
	pl := c.gtLists(gt)[other]
	dup := uniqz("dup")
	c.ok("POST", "bulk_piov", []any{
		map[string]any{"payload_url": dup, "major_iov": 5, "minor_iov": 0, "payload_list": pl},
		map[string]any{"payload_url": dup, "major_iov": 5, "minor_iov": 0, "payload_list": pl},
	})
	before = c.snap(gt)
	wantErr(t, c.do("DELETE", fmt.Sprintf("deletePayloadIOV/%s/%s/5/0", gt, other), nil), "", "", 404, 409)
	c.wantUnchanged(gt, before)
	if !strings.Contains(fmt.Sprint(c.iovsOf(gt, other)), dup) {
		t.Errorf("duplicates gone")
	}
}
