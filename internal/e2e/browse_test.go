package e2e

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// docs/compatibility.md "Browse mode": browse mode of routes 7, 12, 15, 21.

type page struct {
	count, page, size, pages int64
	results                  []map[string]any
}

func (c *client) browse(path string) page {
	c.t.Helper()
	r := c.ok("GET", path, nil)
	m := obj(c.t, r.JSON)
	wantKeys(c.t, "browse envelope "+path, m, "count", "page", "page_size", "total_pages", "results")
	p := page{count: i64(c.t, m["count"]), page: i64(c.t, m["page"]), size: i64(c.t, m["page_size"]), pages: i64(c.t, m["total_pages"])}
	for _, e := range arr(c.t, m["results"]) {
		p.results = append(p.results, obj(c.t, e))
	}
	want := (p.count + p.size - 1) / p.size
	if want < 1 {
		want = 1
	}
	if p.pages != want {
		c.t.Errorf("%s: total_pages %d, want max(1, ceil(%d/%d)) = %d", path, p.pages, p.count, p.size, want)
	}
	return p
}

func names(t testing.TB, rs []map[string]any, key string) []string {
	t.Helper()
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprint(r[key]))
	}
	return out
}

func TestBrowseGlobalTags(t *testing.T) {
	t.Parallel()
	c := shared(t)
	c.ensureStatus("unlocked")
	c.ensureStatus("locked")
	prefix := uniqz("Brw")
	var gts []string
	for i := range 7 {
		n := fmt.Sprintf("%s_g%d", prefix, i)
		status := "unlocked"
		if i%3 == 0 {
			status = "locked"
		}
		c.ok("POST", "gt", map[string]any{"name": n, "status": status, "author": fmt.Sprintf("auth%d", 6-i)})
		gts = append(gts, n)
	}
	// Give g2 two IOVs and g5 one IOV (g2/g5 are unlocked).
	pt := c.mkPT()
	c.mustInsert(gts[2], pt, uniqz("x"), P{0, 0}, P{0, 5})
	c.mustInsert(gts[2], pt, uniqz("x"), P{0, 5}, open)
	c.mustInsert(gts[5], pt, uniqz("x"), P{0, 0}, open)

	for _, base := range []string{"globalTags", "global-tags"} {
		q := base + "?search=" + prefix
		p := c.browse(q + "&page=1&page_size=3")
		if p.count != 7 || p.page != 1 || p.size != 3 || p.pages != 3 {
			t.Errorf("%s: %+v", base, p)
		}
		if got := names(t, p.results, "name"); !slices.Equal(got, gts[:3]) {
			t.Errorf("%s page 1: %v, want %v", base, got, gts[:3])
		}
		for _, r := range p.results {
			wantKeys(t, "GTSummary (browse)", r, gtSummaryKeys...)
		}
		if got := names(t, c.browse(q+"&page=3&page_size=3").results, "name"); !slices.Equal(got, gts[6:]) {
			t.Errorf("page 3: %v", got)
		}
		// Past the end: [] and the page echoed.
		if p := c.browse(q + "&page=9&page_size=3"); p.page != 9 || len(p.results) != 0 || p.count != 7 {
			t.Errorf("page past the end: %+v", p)
		}
		// page: default/unparsable/<1 -> 1 (presence of page triggers browse).
		for _, pg := range []string{"", "0", "-2", "abc", "1.5"} {
			if p := c.browse(q + "&page=" + pg + "&page_size=3"); p.page != 1 || !slices.Equal(names(t, p.results, "name"), gts[:3]) {
				t.Errorf("page=%q: page %d results %v", pg, p.page, names(t, p.results, "name"))
			}
		}
		// page_size: default 25, unparsable 25, clamped to [1, 1000].
		for ps, want := range map[string]int64{"": 25, "abc": 25, "0": 1, "-5": 1, "1": 1, "1000": 1000, "5000": 1000} {
			arg := "&page_size=" + ps
			if ps == "" {
				arg = ""
			}
			p := c.browse(q + "&page=1" + arg)
			if p.size != want {
				t.Errorf("page_size=%q: %d, want %d", ps, p.size, want)
			}
			if int64(len(p.results)) != min(want, 7) {
				t.Errorf("page_size=%q: %d results", ps, len(p.results))
			}
		}
		// Sorting.
		rev := slices.Clone(gts)
		slices.Reverse(rev)
		for _, tc := range []struct {
			args string
			want []string
		}{
			{"", gts},
			{"&sort=name&order=desc", rev},
			{"&sort=name&order=DESC", gts}, // only exactly "desc"
			{"&sort=bogus", gts},
			{"&sort=bogus&order=desc", rev},
			{"&sort=id", gts},
			{"&sort=id&order=desc", rev},
			{"&sort=author", rev}, // authors auth6..auth0
			{"&sort=created", gts},
			{"&sort=payload_iov_count&order=desc", []string{gts[2], gts[5], gts[0], gts[1], gts[3], gts[4], gts[6]}},
			{"&sort=payload_lists_count", []string{gts[0], gts[1], gts[3], gts[4], gts[6], gts[2], gts[5]}},
			{"&sort=status", []string{gts[0], gts[3], gts[6], gts[1], gts[2], gts[4], gts[5]}}, // "locked" < "unlocked"
		} {
			if got := names(t, c.browse(q+"&page=1"+tc.args).results, "name"); !slices.Equal(got, tc.want) {
				t.Errorf("%s: %v, want %v", tc.args, got, tc.want)
			}
		}
		// Filter status (exact), empty ignored.
		if got := names(t, c.browse(q+"&page=1&status=locked").results, "name"); !slices.Equal(got, []string{gts[0], gts[3], gts[6]}) {
			t.Errorf("status=locked: %v", got)
		}
		if p := c.browse(q + "&page=1&status="); p.count != 7 {
			t.Errorf("empty status filter: count %d", p.count)
		}
		if p := c.browse(q + "&page=1&status=lock"); p.count != 0 {
			t.Errorf("status filter must be exact: count %d", p.count)
		}
		// Search: case-insensitive, trimmed, over name and author.
		if p := c.browse(base + "?page=1&search=" + url.QueryEscape("  "+strings.ToUpper(prefix)+"  ")); p.count != 7 {
			t.Errorf("case-insensitive trimmed search: count %d", p.count)
		}
		if p := c.browse(base + "?page=1&search=" + url.QueryEscape(prefix+"_g4")); p.count != 1 || p.results[0]["author"] != "auth2" {
			t.Errorf("search by name: %+v", p)
		}
		// Summaries in browse equal the plain list's.
		plain := map[string]map[string]any{}
		for _, g := range arr(t, c.ok("GET", base, nil).JSON) {
			gm := obj(t, g)
			plain[str(t, gm["name"])] = gm
		}
		for _, r := range c.browse(q + "&page=1").results {
			if fmt.Sprint(plain[str(t, r["name"])]) != fmt.Sprint(r) {
				t.Errorf("browse item %v differs from plain %v", r, plain[str(t, r["name"])])
			}
		}
		// No match: count 0, total_pages 1.
		if p := c.browse(base + "?page=1&search=" + uniqz("nomatch")); p.count != 0 || p.pages != 1 || len(p.results) != 0 {
			t.Errorf("no match: %+v", p)
		}
	}

	// Search by author, and literal % and _.
	token := uniqz("AuthTok")
	lit := uniqz("Lit")
	for _, n := range []string{lit + "a%b", lit + "aXb", lit + "c_d", lit + "cYd"} {
		c.ok("POST", "gt", map[string]any{"name": n, "status": "unlocked", "author": token})
	}
	if p := c.browse("globalTags?page=1&search=" + strings.ToLower(token)); p.count != 4 {
		t.Errorf("search by author: count %d", p.count)
	}
	for s, want := range map[string][]string{
		lit + "a%b": {lit + "a%b"},
		lit + "c_d": {lit + "c_d"},
		lit + "a%":  {lit + "a%b"},
		lit + "c_":  {lit + "c_d"},
		lit:         {lit + "a%b", lit + "aXb", lit + "c_d", lit + "cYd"},
	} {
		// Compared as sets: the order of names differing in punctuation
		// follows the DB collation.
		got := names(t, c.browse("globalTags?page=1&search="+url.QueryEscape(s)).results, "name")
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("search %q: %v, want %v", s, got, want)
		}
	}
}

func TestBrowseTypesListsIOVs(t *testing.T) {
	t.Parallel()
	c := shared(t)
	prefix := uniqz("BrT")
	var pts []string
	for i := range 4 {
		n := fmt.Sprintf("%s_t%d", prefix, i)
		c.ok("POST", "pt", map[string]any{"name": n})
		pts = append(pts, n)
	}
	rev := slices.Clone(pts)
	slices.Reverse(rev)
	for _, base := range []string{"pt", "payload-types"} {
		p := c.browse(base + "?page=1&page_size=2&search=" + strings.ToLower(prefix))
		if p.count != 4 || p.pages != 2 || !slices.Equal(names(t, p.results, "name"), pts[:2]) {
			t.Errorf("%s: %+v", base, p)
		}
		for _, r := range p.results {
			wantKeys(t, "PT (browse)", r, "id", "name", "created")
		}
		for args, want := range map[string][]string{
			"&sort=name&order=desc": rev, "&sort=id": pts, "&sort=created&order=desc": rev, "&sort=iov_count": pts,
		} {
			if got := names(t, c.browse(base+"?page=1&search="+prefix+args).results, "name"); !slices.Equal(got, want) {
				t.Errorf("%s%s: %v", base, args, got)
			}
		}
	}

	// Lists: two GTs, lists of two types, one detached list.
	gt1, gt2 := c.mkGT("unlocked"), c.mkGT("unlocked")
	l1 := c.listOf(gt1, pts[0])
	l2 := c.listOf(gt1, pts[1])
	l3 := c.listOf(gt2, pts[0])
	l4, _ := c.mkPL(pts[1]) // detached
	c.mustInsert(gt1, pts[0], prefix+"_u1", P{0, 0}, P{0, 10})
	c.mustInsert(gt1, pts[0], prefix+"_u2", P{0, 10}, open)
	c.mustInsert(gt2, pts[0], prefix+"_u3", P{1, 0}, open)
	det := c.mkPIOV(prefix+"_u4", P{2, 0}, open)
	for _, base := range []string{"pl", "payload-lists"} {
		p := c.browse(base + "?page=1&search=" + prefix)
		if p.count != 4 {
			t.Errorf("%s search by type name: count %d", base, p.count)
		}
		byName := map[string]map[string]any{}
		for _, r := range p.results {
			wantKeys(t, "PLBrowse", r, plBrowseKeys...)
			byName[str(t, r["name"])] = r
		}
		for n, want := range map[string][2]any{l1: {gt1, int64(2)}, l2: {gt1, int64(0)}, l3: {gt2, int64(1)}, l4: {nil, int64(0)}} {
			r := byName[n]
			if r == nil {
				t.Errorf("%s lacks %s", base, n)
				continue
			}
			if r["global_tag"] != want[0] || i64(t, r["iov_count"]) != want[1] {
				t.Errorf("%s %s: %v, want global_tag %v iov_count %v", base, n, r, want[0], want[1])
			}
		}
		for args, want := range map[string][]string{
			// The default order is by name (docs/compatibility.md "Browse mode"): list names end
			// in their id, so "t0_100" sorts before "t0_98".
			"&global_tag=" + gt1:                             slices.Sorted(slices.Values([]string{l1, l2})),
			"&payload_type=" + pts[0]:                        slices.Sorted(slices.Values([]string{l1, l3})),
			"&global_tag=" + gt1 + "&payload_type=" + pts[1]: {l2},
			"&sort=iov_count&order=desc":                     {l1, l3, l2, l4},
			"&sort=id":                                       {l1, l2, l3, l4},
			"&global_tag=&sort=id":                           {l1, l2, l3, l4},
		} {
			if got := names(t, c.browse(base+"?page=1&search="+prefix+args).results, "name"); !slices.Equal(got, want) {
				t.Errorf("%s%s: %v, want %v", base, args, got, want)
			}
		}
		// Search by GT name.
		if got := names(t, c.browse(base+"?page=1&search="+gt2).results, "name"); !slices.Equal(got, []string{l3}) {
			t.Errorf("%s search by GT: %v", base, got)
		}
	}

	// IOVs: PIOVBrowse, default sort id, detached included.
	for _, base := range []string{"piov", "payload-iovs"} {
		p := c.browse(base + "?page=1&search=" + prefix + "_u")
		if got := names(t, p.results, "payload_url"); !slices.Equal(got, []string{prefix + "_u1", prefix + "_u2", prefix + "_u3", prefix + "_u4"}) {
			t.Errorf("%s: %v", base, got)
		}
		for _, r := range p.results {
			wantKeys(t, "PIOVBrowse", r, "id", "payload_url", "checksum", "major_iov", "minor_iov", "major_iov_end", "minor_iov_end", "payload_list", "global_tag", "payload_type", "inserted")
			ts(t, "inserted", r["inserted"])
		}
		first := p.results[0]
		if first["payload_list"] != l1 || first["global_tag"] != gt1 || first["payload_type"] != pts[0] || i64(t, first["minor_iov_end"]) != 10 {
			t.Errorf("PIOVBrowse item %v", first)
		}
		last := p.results[3]
		if last["payload_list"] != nil || last["global_tag"] != nil || last["payload_type"] != nil || i64(t, last["id"]) != det {
			t.Errorf("detached PIOVBrowse item %v", last)
		}
		if i64(t, last["major_iov_end"]) != maxI {
			t.Errorf("major_iov_end %v", last["major_iov_end"])
		}
		for args, want := range map[string][]string{
			"&payload_list=" + l1:                                {"_u1", "_u2"},
			"&global_tag=" + gt2:                                 {"_u3"},
			"&payload_type=" + pts[0]:                            {"_u1", "_u2", "_u3"},
			"&sort=major_iov&order=desc":                         {"_u4", "_u3", "_u1", "_u2"},
			"&sort=minor_iov_end":                                {"_u1", "_u2", "_u3", "_u4"},
			"&sort=payload_url&order=desc":                       {"_u4", "_u3", "_u2", "_u1"},
			"&sort=global_tag&order=desc&payload_type=" + pts[0]: ordered(gt1 < gt2, []string{"_u3", "_u1", "_u2"}, []string{"_u1", "_u2", "_u3"}),
			"&page_size=1&page=2":                                {"_u2"},
		} {
			var want2 []string
			for _, w := range want {
				want2 = append(want2, prefix+w)
			}
			if got := names(t, c.browse(base+"?page=1&search="+prefix+"_u"+args).results, "payload_url"); !slices.Equal(got, want2) {
				t.Errorf("%s%s: %v, want %v", base, args, got, want2)
			}
		}
	}
}

func ordered(cond bool, a, b []string) []string {
	if cond {
		return a
	}
	return b
}
