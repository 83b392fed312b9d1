package e2e

import (
	"fmt"
	"reflect"
	"testing"
)

// docs/compatibility.md "Clone" (route 9): deep clone.

// probePoints returns IOV boundaries and their neighbours.
func probePoints(iovs []IOV) []P {
	pts := []P{{-1, 0}, {0, 0}, {maxI, maxI}, {maxI, 0}}
	for _, v := range iovs {
		for _, p := range []P{v.S, v.E} {
			pts = append(pts, p)
			if p.m > 0 {
				pts = append(pts, P{p.M, p.m - 1})
			}
			if p.m < maxI {
				pts = append(pts, P{p.M, p.m + 1})
			}
		}
	}
	return pts
}

func TestClone(t *testing.T) {
	t.Parallel()
	both(t, "cloneGlobalTag/%s/%s", "global-tags/%s/clone/%s", func(t *testing.T, path string) {
		c := shared(t)
		b := buildGT(c)
		// A second populated type, and an IOV swallowed (detached) from list A.
		ptC := c.mkPT()
		cIOVs := []IOV{{uniqz("c"), P{1, 0}, P{2, 0}}, {uniqz("c"), P{2, 0}, P{2, 5}}, {uniqz("c"), P{5, 0}, open}}
		for _, v := range cIOVs {
			c.mustInsert(b.gt, ptC, v.URL, v.S, v.E)
		}
		swallowed := c.mkPIOV(uniqz("sw"), P{7, 0}, P{8, 0})
		if r := c.piovAttach(b.plA, swallowed); r.Status != 200 {
			t.Fatalf("%s", r)
		}
		replacing := IOV{uniqz("rep"), P{6, 0}, P{9, 0}}
		c.mustInsert(b.gt, b.ptA, replacing.URL, replacing.S, replacing.E) // swallows [7,8)
		if l := c.listOfIOV(swallowed); l != "" {
			t.Fatalf("setup: IOV %d should be detached, is in %q", swallowed, l)
		}
		c.setStatus(b.gt, "locked") // cloning a locked GT is allowed
		srcSnap := c.snap(b.gt)
		srcLight := obj(t, c.ok("GET", "globalTag/"+b.gt+"?light", nil).JSON)

		dst := uniqz("clone")
		r := c.ok("POST", fmt.Sprintf(path, b.gt, dst), rawJSON("null"))
		m := obj(t, r.JSON)
		wantKeys(t, "GTSummary(clone)", m, gtSummaryKeys...)
		wantLists := int64(3)
		wantIOVCount := int64(len(srcSnap.IOVs[b.ptA]) + len(srcSnap.IOVs[ptC]))
		if m["name"] != dst || m["author"] != "e2e" || m["status"] != "unlocked" ||
			i64(t, m["payload_lists_count"]) != wantLists || i64(t, m["payload_iov_count"]) != wantIOVCount {
			t.Errorf("clone answered %v; want name %s, author e2e, unlocked, %d lists, %d IOVs", m, dst, wantLists, wantIOVCount)
		}
		if i64(t, m["id"]) == i64(t, srcLight["id"]) {
			t.Errorf("clone has the source's id")
		}
		ts(t, "created", m["created"])
		ts(t, "updated", m["updated"])

		// The clone's light view agrees with the clone response.
		light := obj(t, c.ok("GET", "globalTag/"+dst+"?light", nil).JSON)
		if !reflect.DeepEqual(light, m) {
			t.Errorf("GET globalTag/%s?light = %v, clone answered %v", dst, light, m)
		}

		// Same types, new lists named <type>_<id>, same IOVs (new ids).
		dstSnap := c.snap(dst)
		if len(dstSnap.Lists) != len(srcSnap.Lists) {
			t.Errorf("clone lists %v, source %v", dstSnap.Lists, srcSnap.Lists)
		}
		full := normGT(t, c.ok("GET", "globalTag/"+dst, nil).JSON)
		srcFull := normGT(t, c.ok("GET", "globalTag/"+b.gt, nil).JSON)
		srcIOVIDs := map[int64]bool{}
		srcListIDs := map[int64]bool{}
		for _, l := range arr(t, srcFull["payload_lists"]) {
			srcListIDs[i64(t, obj(t, l)["id"])] = true
			for _, v := range arr(t, obj(t, l)["payload_iov"]) {
				srcIOVIDs[i64(t, obj(t, v)["id"])] = true
			}
		}
		for _, l := range arr(t, full["payload_lists"]) {
			lm := obj(t, l)
			id, name, pt := i64(t, lm["id"]), str(t, lm["name"]), str(t, lm["payload_type"])
			if srcListIDs[id] || name == srcSnap.Lists[pt] {
				t.Errorf("clone list %s reuses the source list", name)
			}
			if name != fmt.Sprintf("%s_%d", pt, id) {
				t.Errorf("clone list name %s, want %s_%d", name, pt, id)
			}
			if lm["global_tag"] != dst {
				t.Errorf("clone list global_tag %v", lm["global_tag"])
			}
			for _, v := range arr(t, lm["payload_iov"]) {
				vm := obj(t, v)
				if srcIOVIDs[i64(t, vm["id"])] {
					t.Errorf("clone IOV reuses source id %v", vm["id"])
				}
				if vm["payload_list"] != name {
					t.Errorf("clone IOV payload_list %v, want %s", vm["payload_list"], name)
				}
				if vm["checksum"] != "ck-"+str(t, vm["payload_url"]) {
					t.Errorf("clone IOV checksum %v not copied", vm["checksum"])
				}
				want := comb(i64(t, vm["major_iov"]), i64(t, vm["minor_iov"]))
				if vm["comb_iov"] != want {
					t.Errorf("clone comb_iov %v, want %s", vm["comb_iov"], want)
				}
			}
		}
		for pt, v := range srcSnap.IOVs {
			wantIOVs(t, "clone IOVs of "+pt, dstSnap.IOVs[pt], v)
		}
		for _, v := range dstSnap.IOVs[b.ptA] {
			if v.S == (P{7, 0}) {
				t.Errorf("detached IOV was cloned: %v", v)
			}
		}

		// Lookups answer exactly like the source.
		all := append(append(append([]IOV{}, b.iovs...), cIOVs...), replacing)
		for _, p := range probePoints(all) {
			src, cl := c.lookup(b.gt, p.M, p.m), c.lookup(dst, p.M, p.m)
			if !reflect.DeepEqual(src, cl) {
				t.Errorf("lookup at %v: source %v, clone %v", p, src, cl)
			}
		}

		// The source is untouched and still locked; the clone is independent.
		c.wantUnchanged(b.gt, srcSnap)
		if s := obj(t, c.ok("GET", "globalTag/"+b.gt+"?light", nil).JSON)["status"]; s != "locked" {
			t.Errorf("source status %v", s)
		}
		c.mustInsert(dst, b.ptA, uniqz("newer"), P{20, 0}, open)
		c.wantUnchanged(b.gt, srcSnap)

		// Duplicate destination -> 409, the existing GT unchanged.
		dstSnap = c.snap(dst)
		r = c.do("POST", fmt.Sprintf(path, b.gt, dst), rawJSON("null"))
		wantErr(t, r, "conflict", "", 409)
		wantField(t, r, "name", "global tag with this name already exists.")
		c.wantUnchanged(dst, dstSnap)

		// Unknown source -> 404, nothing created.
		ghost := uniqz("ghost")
		wantErr(t, c.do("POST", fmt.Sprintf(path, uniqz("nosuch"), ghost), rawJSON("null")), "not_found", "", 404)
		if c.gtNames()[ghost] {
			t.Errorf("clone of an unknown source created %s", ghost)
		}

		// Frozen sources can be cloned too; no body at all is fine.
		c.setStatus(b.gt, "frozen")
		dst2 := uniqz("clone")
		m2 := obj(t, c.ok("POST", fmt.Sprintf(path, b.gt, dst2), nil).JSON)
		if m2["status"] != "unlocked" {
			t.Errorf("clone of frozen: status %v", m2["status"])
		}
		wantIOVs(t, "clone of frozen", c.iovsOf(dst2, ptC), srcSnap.IOVs[ptC])
	})
}
