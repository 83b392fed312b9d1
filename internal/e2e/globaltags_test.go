package e2e

import (
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// docs/compatibility.md "Create global tag" (route 4), §2.5 (3, 5, 6, 7), §2.6 (8), §2.8 (10).

var (
	gtFullKeys    = []string{"id", "name", "author", "status", "payload_lists", "created", "updated"}
	gtSummaryKeys = []string{"id", "name", "author", "status", "payload_lists_count", "payload_iov_count", "created", "updated"}
	gtWriteKeys   = []string{"id", "name", "author", "status", "created", "updated"}
	plFullKeys    = []string{"id", "name", "global_tag", "payload_type", "payload_iov", "created"}
	piovKeys      = []string{"id", "payload_url", "checksum", "major_iov", "minor_iov", "comb_iov", "major_iov_end", "minor_iov_end", "payload_list", "inserted"}
)

// checkPIOV checks a PIOV object field by field.
func checkPIOV(t testing.TB, m map[string]any, want IOV, list string) {
	t.Helper()
	wantKeys(t, "PIOV", m, piovKeys...)
	i64(t, m["id"])
	if m["payload_url"] != want.URL {
		t.Errorf("payload_url %v, want %s", m["payload_url"], want.URL)
	}
	str(t, m["checksum"])
	got := IOV{URL: want.URL,
		S: P{i64(t, m["major_iov"]), i64(t, m["minor_iov"])},
		E: P{i64(t, m["major_iov_end"]), i64(t, m["minor_iov_end"])}}
	if got != want {
		t.Errorf("PIOV %v, want %v", got, want)
	}
	if c := str(t, m["comb_iov"]); c != comb(want.S.M, want.S.m) {
		t.Errorf("comb_iov %q, want %q", c, comb(want.S.M, want.S.m))
	}
	if l, _ := strOrNull(t, m["payload_list"]); l != list {
		t.Errorf("payload_list %v, want %q", m["payload_list"], list)
	}
	ts(t, "inserted", m["inserted"])
}

// normGT sorts the unordered arrays of a GTFull by id, for comparisons.
func normGT(t testing.TB, v any) map[string]any {
	t.Helper()
	m := obj(t, v)
	lists := arr(t, m["payload_lists"])
	byID := func(a []any) {
		sort.Slice(a, func(i, j int) bool { return i64(t, obj(t, a[i])["id"]) < i64(t, obj(t, a[j])["id"]) })
	}
	byID(lists)
	for _, l := range lists {
		byID(arr(t, obj(t, l)["payload_iov"]))
	}
	return m
}

func TestCreateGlobalTag(t *testing.T) {
	t.Parallel()
	c := shared(t)
	c.ensureStatus("unlocked")
	c.ensureStatus("locked")

	// Full response shape; status is the NAME here.
	name := uniqz("GTc")
	r := c.ok("POST", "gt", map[string]any{"name": name, "status": "unlocked", "author": "researcher", "description": "ignored", "id": 1})
	m := obj(t, r.JSON)
	wantKeys(t, "GTWrite", m, gtWriteKeys...)
	i64(t, m["id"])
	if m["name"] != name || m["author"] != "researcher" || m["status"] != "unlocked" {
		t.Errorf("POST gt answered %v", m)
	}
	ts(t, "created", m["created"])
	ts(t, "updated", m["updated"])
	// Author absent -> null; locked status accepted at creation.
	noAuthor := uniqz("GTc")
	r = c.ok("POST", "gt", map[string]any{"name": noAuthor, "status": "locked"})
	m = obj(t, r.JSON)
	if v, present := m["author"]; !present || v != nil {
		t.Errorf("author absent: got %v (present %v), want null", v, present)
	}
	if m["status"] != "locked" {
		t.Errorf("status %v, want locked", m["status"])
	}
	l := obj(t, c.ok("GET", "globalTag/"+noAuthor+"?light", nil).JSON)
	if l["author"] != nil || l["status"] != "locked" {
		t.Errorf("light GT %v", l)
	}
	nullAuthor := uniqz("GTc")
	r = c.ok("POST", "gt", map[string]any{"name": nullAuthor, "status": "unlocked", "author": nil})
	if v := obj(t, r.JSON)["author"]; v != nil {
		t.Errorf("author null: got %v", v)
	}

	// Duplicate name -> 409 with the DRF array.
	r = c.do("POST", "gt", map[string]any{"name": name, "status": "locked", "author": "other"})
	wantErr(t, r, "conflict", "", 409)
	wantField(t, r, "name", "global tag with this name already exists.")
	g := obj(t, c.ok("GET", "globalTag/"+name+"?light", nil).JSON)
	if g["status"] != "unlocked" || g["author"] != "researcher" {
		t.Errorf("duplicate create changed the GT: %v", g)
	}

	// Refused creations write nothing.
	type bad struct {
		body     any
		statuses []int
		field    string
		msg      string
	}
	fresh := func() string { return uniqz("GTbad") }
	n1, n2, n3, n4, n5, n6, n7 := fresh(), fresh(), fresh(), fresh(), fresh(), fresh(), fresh()
	cases := []struct {
		name string
		bad
	}{
		{"", bad{map[string]any{"status": "unlocked"}, []int{400}, "name", "This field is required."}},
		{"", bad{map[string]any{"name": "", "status": "unlocked"}, []int{400}, "name", "This field may not be blank."}},
		{"", bad{map[string]any{"name": strings.Repeat("g", 81), "status": "unlocked"}, []int{400}, "name", "Ensure this field has no more than 80 characters."}},
		{n1, bad{map[string]any{"name": n1}, []int{400, 404}, "", ""}},
		{n2, bad{map[string]any{"name": n2, "status": uniqz("nostatus")}, []int{400, 404}, "", ""}},
		{n3, bad{map[string]any{"name": n3, "status": "unlocked", "author": ""}, []int{400}, "author", "This field may not be blank."}},
		{n4, bad{map[string]any{"name": n4, "status": "unlocked", "author": strings.Repeat("a", 81)}, []int{400}, "author", "Ensure this field has no more than 80 characters."}},
		{n5, bad{[]any{map[string]any{"name": n5, "status": "unlocked"}}, []int{400}, "non_field_errors", "Invalid data. Expected a dictionary, but got list."}},
		{n6, bad{map[string]any{"name": n6, "status": 1}, []int{400, 404}, "", ""}},
		{n7, bad{map[string]any{"name": []any{n7}, "status": "unlocked"}, []int{400}, "name", ""}},
	}
	for _, tc := range cases {
		r := c.do("POST", "gt", tc.body)
		code := ""
		if len(tc.statuses) == 1 && tc.statuses[0] == 400 {
			code = "invalid"
		}
		wantErr(t, r, code, "", tc.statuses...)
		if tc.field != "" {
			wantField(t, r, tc.field, tc.msg)
		}
	}
	names := c.gtNames()
	for _, n := range []string{n1, n2, n3, n4, n5, n6, n7, strings.Repeat("g", 81)} {
		if names[n] {
			t.Errorf("refused POST gt created %s", n)
		}
	}
	// 80 characters is the limit, inclusive.
	long := strings.Repeat("h", 80-len(name)) + name
	c.ok("POST", "gt", map[string]any{"name": long, "status": "unlocked"})
	c.ok("GET", "globalTag/"+long, nil)
}

// buildGT makes a GT with two attached lists (one with three IOVs incl. an
// open-ended one, one empty), a replaced (now detached) list and a detached
// IOV. It returns the GT name and the attached IOVs by type.
type builtGT struct {
	gt, ptA, ptB, plA, plB, plOld string
	plAID, plBID, plOldID         int64
	iovs                          []IOV
	detachedIOV                   int64
}

func buildGT(c *client) builtGT {
	c.t.Helper()
	b := builtGT{gt: c.mkGT("unlocked"), ptA: c.mkPT(), ptB: c.mkPT()}
	b.plOld, b.plOldID = c.mkPL(b.ptA)
	if r := c.plAttach(b.gt, b.plOld); r.Status != 200 {
		c.t.Fatalf("%s", r)
	}
	oldIOV := c.mkPIOV(uniqz("old"), P{0, 0}, open)
	if r := c.piovAttach(b.plOld, oldIOV); r.Status != 200 {
		c.t.Fatalf("%s", r)
	}
	b.plA, b.plAID = c.mkPL(b.ptA)
	if r := c.plAttach(b.gt, b.plA); r.Status != 200 { // replaces plOld
		c.t.Fatalf("%s", r)
	}
	b.plB, b.plBID = c.mkPL(b.ptB)
	if r := c.plAttach(b.gt, b.plB); r.Status != 200 {
		c.t.Fatalf("%s", r)
	}
	b.iovs = []IOV{
		{uniqz("a"), P{0, 10}, P{0, 20}},
		{uniqz("a"), P{0, 20}, P{3, 7}},
		{uniqz("a"), P{3, 7}, open},
	}
	for _, v := range b.iovs {
		id := c.mkPIOV(v.URL, v.S, v.E)
		if r := c.piovAttach(b.plA, id); r.Status != 200 {
			c.t.Fatalf("%s", r)
		}
	}
	b.detachedIOV = c.mkPIOV(uniqz("det"), P{0, 15}, open)
	return b
}

func TestReadGlobalTag(t *testing.T) {
	t.Parallel()
	c := shared(t)
	b := buildGT(c)

	r := c.ok("GET", "globalTag/"+b.gt, nil)
	if !strings.Contains(string(r.Body), `"minor_iov_end":9223372036854775807`) {
		t.Errorf("MAX must be a JSON integer literal: %s", r.Body)
	}
	full := normGT(t, r.JSON)
	wantKeys(t, "GTFull", full, gtFullKeys...)
	gtID := i64(t, full["id"])
	if full["name"] != b.gt || full["author"] != "e2e" {
		t.Errorf("GTFull %v", full)
	}
	ts(t, "created", full["created"])
	ts(t, "updated", full["updated"])
	st := obj(t, full["status"])
	wantKeys(t, "StatusNested", st, "id", "name", "description", "created")
	if st["name"] != "unlocked" || i64(t, st["id"]) != c.statusID("unlocked") {
		t.Errorf("nested status %v", st)
	}
	if _, isStr := st["description"].(string); st["description"] != nil && !isStr {
		t.Errorf("status description %v", st["description"])
	}
	ts(t, "status.created", st["created"])

	lists := arr(t, full["payload_lists"])
	if len(lists) != 2 {
		t.Fatalf("payload_lists: %d lists, want 2 (the replaced list must not appear): %s", len(lists), r.Body)
	}
	seen := map[string]bool{}
	for _, l := range lists {
		lm := obj(t, l)
		wantKeys(t, "PLFull", lm, plFullKeys...)
		ts(t, "pl.created", lm["created"])
		name, id, pt := str(t, lm["name"]), i64(t, lm["id"]), str(t, lm["payload_type"])
		if lm["global_tag"] != b.gt {
			t.Errorf("list global_tag %v, want %s", lm["global_tag"], b.gt)
		}
		if name != fmt.Sprintf("%s_%d", pt, id) {
			t.Errorf("list name %s, want <type>_<id> = %s_%d", name, pt, id)
		}
		seen[name] = true
		iovs := arr(t, lm["payload_iov"])
		switch name {
		case b.plA:
			if len(iovs) != 3 {
				t.Fatalf("list A has %d IOVs, want 3", len(iovs))
			}
			for i, v := range iovs { // sorted by id = creation order
				checkPIOV(t, obj(t, v), b.iovs[i], b.plA)
			}
		case b.plB:
			if len(iovs) != 0 {
				t.Errorf("list B has IOVs %v", iovs)
			}
		default:
			t.Errorf("unexpected list %s", name)
		}
	}
	if !seen[b.plA] || !seen[b.plB] {
		t.Errorf("lists %v, want %s and %s", seen, b.plA, b.plB)
	}

	// Same document by id, by name through the alias, and inside GET gt.
	for _, p := range []string{fmt.Sprintf("gt/%d", gtID), "global-tags/" + b.gt} {
		other := normGT(t, c.ok("GET", p, nil).JSON)
		if !reflect.DeepEqual(other, full) {
			t.Errorf("GET %s differs from GET globalTag/%s:\n%v\n%v", p, b.gt, other, full)
		}
	}
	found := false
	for _, g := range arr(t, c.ok("GET", "gt", nil).JSON) {
		if obj(t, g)["name"] == b.gt {
			found = true
			if !reflect.DeepEqual(normGT(t, g), full) {
				t.Errorf("GET gt entry differs from GET globalTag")
			}
		}
	}
	if !found {
		t.Errorf("GET gt lacks %s", b.gt)
	}

	// ?light in any form -> GTSummary (no `type`).
	var summary map[string]any
	for _, q := range []string{"?light", "?light=1", "?light=0", "?light=", "?light=false"} {
		for _, p := range []string{"globalTag/", "global-tags/"} {
			m := obj(t, c.ok("GET", p+b.gt+q, nil).JSON)
			wantKeys(t, "GTSummary "+q, m, gtSummaryKeys...)
			if m["status"] != "unlocked" || i64(t, m["payload_lists_count"]) != 2 || i64(t, m["payload_iov_count"]) != 3 ||
				i64(t, m["id"]) != gtID || m["author"] != "e2e" || m["name"] != b.gt {
				t.Errorf("GTSummary%s: %v", q, m)
			}
			if m["created"] != full["created"] || m["updated"] != full["updated"] {
				t.Errorf("GTSummary%s timestamps differ from GTFull", q)
			}
			summary = m
		}
	}
	// GET globalTags (legacy + alias) lists the same summary.
	for _, p := range []string{"globalTags", "global-tags"} {
		found := false
		for _, g := range arr(t, c.ok("GET", p, nil).JSON) {
			gm := obj(t, g)
			wantKeys(t, "GTSummary in "+p, gm, gtSummaryKeys...)
			if gm["name"] == b.gt {
				found = true
				if !reflect.DeepEqual(gm, summary) {
					t.Errorf("GET %s entry %v, want %v", p, gm, summary)
				}
			}
		}
		if !found {
			t.Errorf("GET %s lacks %s", p, b.gt)
		}
	}

	// gtPayloadLists, both paths: object {type: list}; {} for unknown or empty GT.
	empty := c.mkGT("unlocked")
	for _, p := range []string{"gtPayloadLists/%s", "global-tags/%s/payload-lists"} {
		m := obj(t, c.ok("GET", fmt.Sprintf(p, b.gt), nil).JSON)
		if !reflect.DeepEqual(m, map[string]any{b.ptA: b.plA, b.ptB: b.plB}) {
			t.Errorf("%s: %v", p, m)
		}
		for _, g := range []string{uniqz("nosuchgt"), empty} {
			r := c.ok("GET", fmt.Sprintf(p, g), nil)
			if strings.TrimSpace(string(r.Body)) != "{}" {
				t.Errorf("%s for %s: %s, want {}", p, g, r.Body)
			}
		}
	}

	// Not found.
	for _, p := range []string{
		"globalTag/" + uniqz("nosuch"), "global-tags/" + uniqz("nosuch"),
		"globalTag/" + uniqz("nosuch") + "?light", "global-tags/" + uniqz("nosuch") + "?light=0",
		"gt/999999999999", "gt/9223372036854775807",
	} {
		wantErr(t, c.get(p), "not_found", "Not found.", 404)
	}
	// Non-integer ids do not match the route: still a JSON 404.
	for _, p := range []string{"gt/abc", "gt/-1", "gt/1.0"} {
		wantStatus(t, c.get(p), 404)
	}
}

func TestChangeStatus(t *testing.T) {
	t.Parallel()
	both(t, "gt_change_status/%s/%s", "global-tags/%s/change-status/%s", func(t *testing.T, path string) {
		c := shared(t)
		gt := c.mkGT("unlocked")
		c.ensureStatus("locked")
		c.ensureStatus("frozen")
		before := obj(t, c.ok("GET", "globalTag/"+gt+"?light", nil).JSON)
		beforeUpdated := ts(t, "updated", before["updated"])

		for i, step := range []struct {
			status string
			body   any
		}{{"locked", rawJSON("null")}, {"frozen", nil}, {"unlocked", rawJSON("null")}, {"locked", map[string]any{"ignored": 1}}} {
			r := c.ok("PUT", fmt.Sprintf(path, gt, step.status), step.body)
			m := obj(t, r.JSON)
			wantKeys(t, "GTWrite(change-status)", m, gtWriteKeys...)
			if i64(t, m["status"]) != c.statusID(step.status) {
				t.Errorf("step %d: status %v, want numeric id of %s (%d)", i, m["status"], step.status, c.statusID(step.status))
			}
			if m["name"] != gt || m["author"] != "e2e" || i64(t, m["id"]) != i64(t, before["id"]) {
				t.Errorf("step %d: %v", i, m)
			}
			if m["created"] != before["created"] {
				t.Errorf("created changed: %v -> %v", before["created"], m["created"])
			}
			if u := ts(t, "updated", m["updated"]); u.Before(beforeUpdated) {
				t.Errorf("updated went backwards: %v -> %v", beforeUpdated, u)
			}
			if got := obj(t, c.ok("GET", "globalTag/"+gt+"?light", nil).JSON)["status"]; got != step.status {
				t.Errorf("after change to %s: status %v", step.status, got)
			}
		}

		// Free-form status names are accepted.
		other := uniqz("st")
		c.ensureStatus(other)
		c.ok("PUT", fmt.Sprintf(path, gt, other), rawJSON("null"))

		// Unknown GT -> 404; unknown status -> 4xx; nothing changes.
		wantErr(t, c.do("PUT", fmt.Sprintf(path, uniqz("nosuch"), "locked"), rawJSON("null")), "not_found", "", 404)
		wantErr(t, c.do("PUT", fmt.Sprintf(path, gt, uniqz("nostatus")), rawJSON("null")), "", "", 400, 404)
		if got := obj(t, c.ok("GET", "globalTag/"+gt+"?light", nil).JSON)["status"]; got != other {
			t.Errorf("refused change-status changed the status to %v", got)
		}
	})
}

// TestGlobalTagNamesNeedEscaping: names are percent-decoded path segments.
func TestGlobalTagNameEscaping(t *testing.T) {
	t.Parallel()
	c := shared(t)
	c.ensureStatus("unlocked")
	name := uniqz("GT sp&ü")
	c.ok("POST", "gt", map[string]any{"name": name, "status": "unlocked"})
	m := obj(t, c.ok("GET", "globalTag/"+url.PathEscape(name), nil).JSON)
	if m["name"] != name {
		t.Errorf("name %v, want %q", m["name"], name)
	}
	r := c.ok("GET", "globalTag/"+url.PathEscape(name)+"?light", nil)
	if !strings.Contains(string(r.Body), "ü") {
		t.Errorf("non-ASCII must be emitted unescaped (UTF-8): %s", r.Body)
	}
}
