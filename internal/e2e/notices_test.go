package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Notices (docs/design.md "Notices") through the real stack: writes,
// reads, bad input, and the notices every answer carries.

type v2Notice struct {
	ID              int64   `json:"id"`
	Importance      string  `json:"importance"`
	ImportanceLevel int     `json:"importance_level"`
	Description     string  `json:"description"`
	DescriptionHTML string  `json:"description_html"`
	Author          string  `json:"author"`
	Created         string  `json:"created"`
	Updated         string  `json:"updated"`
	VersionAffected *string `json:"version_affected"`
	Runs            *struct {
		From v2Point `json:"from"`
		To   v2Point `json:"to"`
	} `json:"runs"`
	Dates *struct {
		From *string `json:"from"`
		To   *string `json:"to"`
	} `json:"dates"`
	GlobalTags   []string `json:"global_tags"`
	PayloadTypes []string `json:"payload_types"`
	PayloadLists []string `json:"payload_lists"`
	IOVs         []int64  `json:"iovs"`
}

type v2NoticePage struct {
	Count      int64      `json:"count"`
	Page       int        `json:"page"`
	PageSize   int        `json:"page_size"`
	TotalPages int64      `json:"total_pages"`
	Results    []v2Notice `json:"results"`
}

// strict decodes b into out, refusing fields out does not know: the
// answers' shapes are pinned.
func strict[T any](t testing.TB, r Resp) T {
	t.Helper()
	var out T
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	return out
}

// postNotice creates a notice and returns it.
func (c *client) postNotice(body map[string]any) v2Notice {
	c.t.Helper()
	r := c.do("POST", "/api/v2/notices", body)
	if r.Status != 201 {
		c.t.Fatalf("%s", r)
	}
	return strict[v2Notice](c.t, r)
}

func noticesOf(ns []v2Notice) []int64 {
	out := []int64{}
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

// TestNoticeCRUD: a notice is created with every field, read back, found
// by each filter, ordered by importance then newest, replaced (author and
// creation time stay) and deleted; each write is in the audit trail.
func TestNoticeCRUD(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt, pt := c.mkGT("unlocked"), c.mkPT()
	pl := c.listOf(gt, pt)
	id := c.mustInsert(gt, pt, uniqz("crud"), P{1, 0}, open)
	marker := uniq("marker")
	body := map[string]any{
		"description":      "**Bad** TPC gain " + marker + "; see <https://logbook.example/123>",
		"importance":       "CRITICAL",
		"version_affected": "v2.3",
		"runs":             map[string]any{"from": map[string]any{"major": 10, "minor": 0}, "to": map[string]any{"major": 20}},
		"dates":            map[string]any{"from": "2026-05-01T00:00:00Z", "to": "2026-05-03T12:00:00Z"},
		"global_tags":      []string{gt},
		"payload_types":    []string{pt},
		"payload_lists":    []string{pl},
		"iovs":             []int64{id, id},
	}
	n := c.postNotice(body)
	if n.Importance != "CRITICAL" || n.ImportanceLevel != 50 || n.VersionAffected == nil || *n.VersionAffected != "v2.3" ||
		n.Runs == nil || n.Runs.From != (v2Point{10, 0}) || n.Runs.To != (v2Point{20, maxI}) ||
		n.Dates == nil || *n.Dates.From != "2026-05-01T00:00:00Z" || *n.Dates.To != "2026-05-03T12:00:00Z" ||
		!slices.Equal(n.GlobalTags, []string{gt}) || !slices.Equal(n.PayloadTypes, []string{pt}) ||
		!slices.Equal(n.PayloadLists, []string{pl}) || !slices.Equal(n.IOVs, []int64{id}) || n.Author == "" || n.Created == "" {
		t.Fatalf("created %+v from %v", n, body)
	}
	if !strings.Contains(n.DescriptionHTML, "<strong>Bad</strong>") || !strings.Contains(n.DescriptionHTML, `href="https://logbook.example/123"`) {
		t.Errorf("description_html %q", n.DescriptionHTML)
	}
	got := strict[v2Notice](t, c.ok("GET", fmt.Sprintf("/api/v2/notices/%d", n.ID), nil))
	if !reflect.DeepEqual(got, n) {
		t.Errorf("read back %+v, created %+v", got, n)
	}

	// Three more on the GT, of other levels; newest first within a level.
	minor := c.postNotice(map[string]any{"description": "minor " + marker, "importance": 30, "global_tags": []string{gt}})
	major1 := c.postNotice(map[string]any{"description": "major one " + marker, "importance": "major", "global_tags": []string{gt}})
	major2 := c.postNotice(map[string]any{"description": "major two " + marker, "importance": "MAJOR", "payload_lists": []string{pl}})
	list := func(q string) []int64 {
		t.Helper()
		return noticesOf(strict[v2NoticePage](t, c.ok("GET", "/api/v2/notices?"+q, nil)).Results)
	}
	m := url.QueryEscape(marker)
	for q, want := range map[string][]int64{
		"text=" + m:                                 {n.ID, major2.ID, major1.ID, minor.ID},
		"text=" + strings.ToUpper(m):                {n.ID, major2.ID, major1.ID, minor.ID},
		"gt=" + url.QueryEscape(gt):                 {n.ID, major1.ID, minor.ID},
		"type=" + url.QueryEscape(pt):               {n.ID},
		"text=" + m + "&importance=MAJOR":           {n.ID, major2.ID, major1.ID},
		"text=" + m + "&importance=50":              {n.ID},
		"text=" + m + "&importance=insignificant":   {n.ID, major2.ID, major1.ID, minor.ID},
		"text=" + m + "&page_size=2&page=2":         {major1.ID, minor.ID},
		"text=" + m + "-nothing":                    {},
		"gt=" + url.QueryEscape(gt) + "&text=minor": {minor.ID},
	} {
		if got := list(q); !slices.Equal(got, want) {
			t.Errorf("notices?%s = %v, want %v", q, got, want)
		}
	}

	// Replace: every field goes, author and created stay.
	r := c.do("PUT", fmt.Sprintf("/api/v2/notices/%d", n.ID), map[string]any{
		"description": "fixed in v2.4 " + marker, "importance": "INSIGNIFICANT", "iovs": []int64{id}})
	if r.Status != 200 {
		t.Fatalf("%s", r)
	}
	re := strict[v2Notice](t, r)
	if re.ID != n.ID || re.Author != n.Author || re.Created != n.Created || re.Updated <= n.Updated || re.Importance != "INSIGNIFICANT" ||
		re.Runs != nil || re.Dates != nil || re.VersionAffected != nil || len(re.GlobalTags)+len(re.PayloadTypes)+len(re.PayloadLists) != 0 ||
		!slices.Equal(re.IOVs, []int64{id}) {
		t.Errorf("replaced %+v, was %+v", re, n)
	}
	if got := list("text=" + m); !slices.Equal(got, []int64{major2.ID, major1.ID, minor.ID, n.ID}) {
		t.Errorf("after the replacement: %v", got)
	}

	// Delete answers the notice as it was; then it is gone.
	r = c.do("DELETE", fmt.Sprintf("/api/v2/notices/%d", n.ID), nil)
	if r.Status != 200 || strict[v2Notice](t, r).Description != re.Description {
		t.Fatalf("%s", r)
	}
	wantErr(t, c.get(fmt.Sprintf("/api/v2/notices/%d", n.ID)), "not_found", fmt.Sprintf("Notice %d not found.", n.ID), 404)
	wantErr(t, c.do("DELETE", fmt.Sprintf("/api/v2/notices/%d", n.ID), nil), "not_found", "", 404)
	wantErr(t, c.do("PUT", fmt.Sprintf("/api/v2/notices/%d", n.ID), map[string]any{"description": "x", "importance": 20, "global_tags": []string{gt}}), "not_found", "", 404)
	if got := list("text=" + m); !slices.Equal(got, []int64{major2.ID, major1.ID, minor.ID}) {
		t.Errorf("after the deletion: %v", got)
	}

	// The audit trail has each write, by endpoint.
	entries := obj(t, c.ok("GET", "/api/v2/audit?gt="+url.QueryEscape(gt)+"&page_size=100", nil).JSON)
	seen := map[string]int{}
	for _, e := range arr(t, entries["results"]) {
		seen[str(t, obj(t, e)["endpoint"])]++
	}
	if seen["v2.CreateNotice"] < 2 || seen["v2.ReplaceNotice"] != 1 || seen["v2.DeleteNotice"] != 1 {
		t.Errorf("audit entries by endpoint: %v", seen)
	}
}

// TestNoticeBadInput: every mistake is a 4xx with detail and code, and
// nothing is written: no notice, and the GT's answers (generation) stay.
func TestNoticeBadInput(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt, pt := c.mkGT("unlocked"), c.mkPT()
	pl := c.listOf(gt, pt)
	id := c.mustInsert(gt, pt, uniqz("bad"), P{1, 0}, open)
	marker := uniq("never")
	ok := func() map[string]any {
		return map[string]any{"description": "bad gain " + marker, "importance": "MAJOR", "global_tags": []string{gt},
			"payload_types": []string{pt}, "payload_lists": []string{pl}, "iovs": []int64{id}}
	}
	with := func(k string, v any) map[string]any { b := ok(); b[k] = v; return b }
	without := func(k string) map[string]any { b := ok(); delete(b, k); return b }
	generation := func() int64 {
		return v2Get[v2LookupAnswer](t, c, v2LookupPath(gt, P{1, 0}, "")).Generation
	}
	before := generation()
	pt2 := func(maj, min int64) map[string]any { return map[string]any{"major": maj, "minor": min} }
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
		detail string
	}{
		{"unknown GT", with("global_tags", []string{gt, "no-such-gt-" + marker}), 404, "not_found", "GlobalTag no-such-gt-" + marker + " not found."},
		{"unknown type", with("payload_types", []string{"no-such-type-" + marker}), 404, "not_found", "PayloadType no-such-type-" + marker + " not found."},
		{"unknown list", with("payload_lists", []string{"no-such-list-" + marker}), 404, "not_found", "PayloadList no-such-list-" + marker + " not found."},
		{"unknown IOV", with("iovs", []int64{id, 1 << 60}), 404, "not_found", fmt.Sprintf("PayloadIOV %d not found.", int64(1<<60))},
		{"bad importance name", with("importance", "URGENT"), 400, "invalid", ""},
		{"bad importance level", with("importance", 45), 400, "invalid", ""},
		{"importance as bool", with("importance", true), 400, "invalid", ""},
		{"no importance", without("importance"), 400, "invalid", "importance: This field is required."},
		{"no description", without("description"), 400, "invalid", "description: This field is required."},
		{"blank description", with("description", "  \n "), 400, "invalid", "description: This field is required."},
		{"script in markdown", with("description", "bad <script>alert(1)</script>"), 400, "invalid", ""},
		{"handler in markdown", with("description", `<img src=x onerror="alert(1)">`), 400, "invalid", ""},
		{"javascript link", with("description", "[log](javascript:alert(1))"), 400, "invalid", ""},
		{"runs end before start", with("runs", map[string]any{"from": pt2(20, 0), "to": pt2(10, 0)}), 400, "invalid", "runs: The end (to) must not be before the start (from)."},
		{"runs subrun end before start", with("runs", map[string]any{"from": pt2(20, 5), "to": pt2(20, 4)}), 400, "invalid", ""},
		{"runs without to", with("runs", map[string]any{"from": pt2(20, 5)}), 400, "invalid", ""},
		{"runs major as text", with("runs", map[string]any{"from": map[string]any{"major": "20"}, "to": pt2(30, 0)}), 400, "invalid", ""},
		{"dates end before start", with("dates", map[string]any{"from": "2026-05-02T00:00:00Z", "to": "2026-05-01T00:00:00Z"}), 400, "invalid", ""},
		{"dates not RFC 3339", with("dates", map[string]any{"from": "May 1st"}), 400, "invalid", ""},
		{"attached to nothing", map[string]any{"description": "x", "importance": 50}, 400, "invalid", ""},
		{"empty name", with("global_tags", []string{""}), 400, "invalid", ""},
		{"unknown field", with("severity", "high"), 400, "invalid", `Unknown field "severity".`},
		{"iovs as strings", with("iovs", []string{"1"}), 400, "invalid", ""},
		{"version too long", with("version_affected", strings.Repeat("v", 256)), 400, "invalid", ""},
		{"not an object", rawJSON(`[1]`), 400, "invalid", ""},
		{"not JSON", rawJSON(`{"description":`), 400, "", ""},
		{"NUL in description", with("description", "a\x00b"), 400, "invalid", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, c.do("POST", "/api/v2/notices", tc.body), tc.code, tc.detail, tc.status)
		})
	}
	// Generations come from one sequence for every GT: parallel tests move
	// it, so compare this GT's generation for change, not for a count.
	if mid := generation(); mid != before {
		t.Errorf("generation %d before the refused creations, %d after them", before, mid)
	}
	// A replacement with bad input leaves the notice as it was.
	n := c.postNotice(ok())
	created := generation()
	if created <= before {
		t.Errorf("generation %d before the notice, %d after: its creation did not invalidate the GT's answers", before, created)
	}
	wantErr(t, c.do("PUT", fmt.Sprintf("/api/v2/notices/%d", n.ID), with("runs", map[string]any{"from": pt2(2, 0), "to": pt2(1, 0)})), "invalid", "", 400)
	wantErr(t, c.do("PUT", fmt.Sprintf("/api/v2/notices/%d", n.ID), with("iovs", []int64{1 << 60})), "not_found", "", 404)
	wantErr(t, c.do("PUT", "/api/v2/notices/abc", ok()), "not_found", "", 404)
	wantErr(t, c.get("/api/v2/notices/0"), "not_found", "", 404)
	wantErr(t, c.get("/api/v2/notices?importance=URGENT"), "invalid", "", 400)
	if got := strict[v2Notice](t, c.ok("GET", fmt.Sprintf("/api/v2/notices/%d", n.ID), nil)); !reflect.DeepEqual(got, n) {
		t.Errorf("after refused replacements: %+v, was %+v", got, n)
	}
	page := strict[v2NoticePage](t, c.ok("GET", "/api/v2/notices?text="+url.QueryEscape(marker), nil))
	if page.Count != 1 {
		t.Errorf("%d notices hold the marker, want only the one created: %+v", page.Count, page.Results)
	}
	// None of the refused replacements changed the GT.
	if after := generation(); after != created {
		t.Errorf("generation %d after the notice, %d after the refused replacements", created, after)
	}
}

// v2Get is v2 for tests that only want the decoded answer.
func v2Get[T any](t *testing.T, c *client, path string) T {
	t.Helper()
	out, _ := v2[T](t, c, path)
	return out
}

// TestNoticeOnOneIOV (the oracle): a CRITICAL notice attached to one IOV
// is carried by exactly the answers that IOV is part of: the v2 lookups
// and compatible lookups (X-Condcache-Notices) at the points where the
// compatible lookup answers with that IOV's payload, the ranges holding
// such a point; a second, MAJOR one with a run range only where both
// hold. Both disappear from every answer once deleted.
func TestNoticeOnOneIOV(t *testing.T) {
	t.Parallel()
	c := shared(t)
	for seed := range uint64(4) {
		w := newV2World(t, c, 100+seed)
		// The target: an IOV of the second type that answers somewhere.
		var target v2Payload
		for _, p := range w.probes {
			a := v2Get[v2LookupAnswer](t, c, v2LookupPath(w.gt, p, ""))
			if i := slices.IndexFunc(a.Payloads, func(x v2Payload) bool { return x.Type == w.types[1] }); i >= 0 {
				target = a.Payloads[i]
				break
			}
		}
		if target.ID == 0 {
			t.Fatalf("seed %d: no answer holds a payload of %s, or it has no id", seed, w.types[1])
		}
		// Which points its payload answers, from the compatible lookup
		// alone (every IOV of the world has its own URL).
		answers := map[P]bool{}
		for _, p := range w.probes {
			answers[p] = c.lookup(w.gt, p.M, p.m)[w.types[1]].URL == target.URL
		}
		lo, hi := w.probes[len(w.probes)/3], w.probes[2*len(w.probes)/3]
		critical := c.postNotice(map[string]any{"description": "known bad", "importance": "CRITICAL", "iovs": []int64{target.ID}})
		major := c.postNotice(map[string]any{"description": "partly bad", "importance": "MAJOR", "iovs": []int64{target.ID},
			"runs": map[string]any{"from": map[string]any{"major": lo.M, "minor": lo.m}, "to": map[string]any{"major": hi.M, "minor": hi.m}}})
		inRuns := func(p P) bool { return !p.less(lo) && !hi.less(p) }
		check := func(deleted bool) {
			t.Helper()
			for _, p := range w.probes {
				var want []int64
				header := ""
				switch {
				case deleted || !answers[p]:
					want = []int64{}
				case inRuns(p):
					want, header = []int64{critical.ID, major.ID}, "2; max-importance=CRITICAL"
				default:
					want, header = []int64{critical.ID}, "1; max-importance=CRITICAL"
				}
				for range 2 { // a miss, then a cache hit
					a := v2Get[v2LookupAnswer](t, c, v2LookupPath(w.gt, p, ""))
					if got := noticesOf(a.Notices); !slices.Equal(got, want) {
						t.Fatalf("seed %d, v2 lookup at %v (IOV answers: %v): notices %v, want %v", seed, p, answers[p], got, want)
					}
					compat := c.ok("GET", lookupPath("payloadiovs/", w.gt, p.M, p.m), nil)
					if got := compat.Header.Get("X-Condcache-Notices"); got != header {
						t.Fatalf("seed %d, compatible lookup at %v: X-Condcache-Notices %q, want %q", seed, p, got, header)
					}
				}
			}
			for i := 0; i < len(w.probes); i += 1 + i/4 {
				for j := i; j < len(w.probes); j += 1 + (j-i)/3 {
					a, b := w.probes[i], w.probes[j]
					if float64(b.M)-float64(a.M) > 1e6 || a.M == b.M && float64(b.m)-float64(a.m) > 1e6 {
						continue // wider than a range read allows
					}
					want := []int64{}
					var hasCritical, hasMajor bool
					for _, p := range w.probes[i : j+1] {
						hasCritical = hasCritical || answers[p]
						hasMajor = hasMajor || answers[p] && inRuns(p)
					}
					if !deleted && hasCritical {
						want = append(want, critical.ID)
					}
					if !deleted && hasMajor {
						want = append(want, major.ID)
					}
					path := fmt.Sprintf("/api/v2/range?gt=%s&from=%d.%d&to=%d.%d", url.QueryEscape(w.gt), a.M, a.m, b.M, b.m)
					got := noticesOf(v2Get[struct {
						Notices []v2Notice `json:"notices"`
					}](t, c, path).Notices)
					if !slices.Equal(got, want) {
						t.Fatalf("seed %d, range [%v, %v]: notices %v, want %v", seed, a, b, got, want)
					}
				}
			}
		}
		check(false)
		c.ok("DELETE", fmt.Sprintf("/api/v2/notices/%d", critical.ID), nil)
		c.ok("DELETE", fmt.Sprintf("/api/v2/notices/%d", major.ID), nil)
		check(true)
	}
}

// testNoticePermissions (with tokens): createiov on every GT a notice
// concerns, directly or through its list or IOV; admin on every GT for a
// notice on a payload type; the author is the token's subject.
func testNoticePermissions(t *testing.T, e *authEnv) {
	as := func(claims jwt.MapClaims) *client { c := e.as(claims); c.t = t; return c }
	root := as(admin(".*"))
	gt, other, pt := root.mkGT("unlocked"), root.mkGT("unlocked"), root.mkPT()
	pl := root.listOf(gt, pt)
	id := root.mustInsert(gt, pt, uniqz("perm"), P{1, 0}, open)
	expert := as(jwt.MapClaims{"sub": "calib-expert", "b2cdb:createiov": []any{gt}})
	for _, body := range []map[string]any{
		{"global_tags": []string{gt}}, {"payload_lists": []string{pl}}, {"iovs": []int64{id}},
	} {
		body["description"], body["importance"] = "by the expert", "MINOR"
		n := expert.postNotice(body)
		if n.Author != "calib-expert" {
			t.Errorf("author %q, want the token's subject", n.Author)
		}
	}
	for _, body := range []map[string]any{
		{"global_tags": []string{other}}, {"global_tags": []string{gt, other}}, {"payload_types": []string{pt}},
	} {
		body["description"], body["importance"] = "beyond the expert", "MINOR"
		wantErr(t, expert.do("POST", "/api/v2/notices", body), "", "Permission denied.", 403)
	}
	anonymous := e.raw("")
	anonymous.t = t
	wantErr(t, anonymous.do("POST", "/api/v2/notices", map[string]any{"description": "x", "importance": 20, "global_tags": []string{gt}}), "", "", 401, 403)
	// Moving a notice to another GT needs the permission on both.
	n := root.postNotice(map[string]any{"description": "on other", "importance": 20, "global_tags": []string{other}})
	wantErr(t, expert.do("PUT", fmt.Sprintf("/api/v2/notices/%d", n.ID), map[string]any{"description": "mine", "importance": 20, "global_tags": []string{gt}}), "", "Permission denied.", 403)
	wantErr(t, expert.do("DELETE", fmt.Sprintf("/api/v2/notices/%d", n.ID), nil), "", "Permission denied.", 403)
	root.postNotice(map[string]any{"description": "on a type", "importance": 20, "payload_types": []string{pt}})
}
