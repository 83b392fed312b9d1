package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The v2 read API (docs/design.md "The v2 read API") through the real
// reader, checked against the compatible lookup.

type v2Point struct {
	Major int64 `json:"major"`
	Minor int64 `json:"minor"`
}

func (p v2Point) P() P { return P{p.Major, p.Minor} }

type v2Payload struct {
	ID       int64   `json:"id"`
	Type     string  `json:"type"`
	URL      string  `json:"url"`
	Checksum string  `json:"checksum"`
	Size     *int64  `json:"size"`
	Start    v2Point `json:"start"`
	End      v2Point `json:"end"`
	Revision *string `json:"revision"`
}

type v2LookupAnswer struct {
	GlobalTag  string  `json:"global_tag"`
	Status     string  `json:"status"`
	Generation int64   `json:"generation"`
	Point      v2Point `json:"point"`
	AsOf       *string `json:"asof"`
	Valid      struct{ From, Until *v2Point }
	Digest     string      `json:"digest"`
	Payloads   []v2Payload `json:"payloads"`
	Missing    []string    `json:"missing"`
	Notices    []v2Notice  `json:"notices"`
}

type v2RangeAnswer struct {
	GlobalTag  string  `json:"global_tag"`
	Status     string  `json:"status"`
	Generation int64   `json:"generation"`
	From       v2Point `json:"from"`
	To         v2Point `json:"to"`
	Digest     string  `json:"digest"`
	Types      []struct {
		Type      string `json:"type"`
		Intervals []struct {
			From    v2Point    `json:"from"`
			Until   *v2Point   `json:"until"`
			Payload *v2Payload `json:"payload"`
		} `json:"intervals"`
	} `json:"types"`
}

// v2 GETs path and decodes a 200 answer into out, which must use every
// field of the answer.
func v2[T any](t *testing.T, c *client, path string) (T, Resp) {
	t.Helper()
	var out T
	r := c.get(path)
	if r.Status != 200 {
		t.Fatalf("%s", r)
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	return out, r
}

// digestOf recomputes, independently, the documented canonical form of an
// answer (docs/design.md "Digests") from the compatible lookup's rows.
func digestOf(rows map[string]Row) string {
	types := make([]string, 0, len(rows))
	for t := range rows {
		types = append(types, t)
	}
	sort.Strings(types)
	var b strings.Builder
	b.WriteString("condcache-digest-v1\n")
	field := func(s string) { fmt.Fprintf(&b, "%d:%s", len(s), s) }
	for _, t := range types {
		r := rows[t]
		field(t)
		field(r.URL)
		field(r.Checksum)
		if r.Size == nil {
			b.WriteString("-")
		} else {
			field(fmt.Sprint(r.Size))
		}
		if r.Revision == nil {
			b.WriteString("-")
		} else {
			field(fmt.Sprint(r.Revision))
		}
		fmt.Fprintf(&b, "%d;%d;%d;%d;\n", r.S.M, r.S.m, r.E.M, r.E.m)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// v2World is a GT of several types, built like the invariant tests' lists,
// with the points where answers can change.
type v2World struct {
	*invariantWorld
	gt     string
	types  []string
	lists  []string
	probes []P
}

func newV2World(t *testing.T, c *client, seed uint64) *v2World {
	db, err := stack.Primary.Connect(t.Context(), "e2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	w := &v2World{invariantWorld: &invariantWorld{t: t, mode: "continuous", c: c, db: db, rng: rand.New(rand.NewPCG(seed, 5)),
		majors: []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, minors: []int64{0, 5}}}
	w.gt = c.mkGT("unlocked")
	for range 3 {
		pt := c.mkPT()
		pl := c.listOf(w.gt, pt)
		w.buildAPI(pl)
		w.types, w.lists = append(w.types, pt), append(w.lists, pl)
	}
	w.refreshProbes()
	return w
}

// buildAPI fills a list through the API only (no plain SQL: the reader
// would see those rows only once the relay publishes them).
func (w *v2World) buildAPI(pl string) {
	for ops := 1 + w.rng.IntN(4); ops > 0; ops-- {
		if w.rng.IntN(2) == 0 {
			var elems []map[string]any
			for range 1 + w.rng.IntN(3) {
				s := w.point()
				elems = append(elems, map[string]any{"payload_url": w.url(w.gt), "checksum": "bulk", "major_iov": s.M, "minor_iov": s.m, "payload_list": pl})
			}
			w.c.ok("POST", "bulk_piov", elems)
			continue
		}
		s := w.point()
		if e := w.end(s); w.valid(s, e) {
			if r := w.c.piovAttach(pl, w.c.mkPIOV(w.url(w.gt), s, e)); r.Status != 200 {
				w.t.Fatalf("%s", r)
			}
		}
	}
}

func (w *v2World) refreshProbes() {
	var all []IOV
	for _, pt := range w.types {
		all = append(all, w.c.iovsOf(w.gt, pt)...)
	}
	w.probes = invariantProbes(all)
}

func v2LookupPath(gt string, p P, extra string) string {
	return fmt.Sprintf("/api/v2/lookup?gt=%s&major=%d&minor=%d%s", url.QueryEscape(gt), p.M, p.m, extra)
}

// TestV2LookupMatchesCompatible: at every point where an answer can change,
// the v2 lookup holds the compatible lookup's rows (ordered by type), its
// digest is the documented one and the compatible lookup's header; strict
// lists as missing exactly the types whose IOV ended; types filters; the
// window is the compatible one; ETag and 304 work.
func TestV2LookupMatchesCompatible(t *testing.T) {
	t.Parallel()
	c := shared(t)
	w := newV2World(t, c, 1)
	for _, p := range w.probes {
		rows := c.lookup(w.gt, p.M, p.m)
		compat := c.ok("GET", lookupPath("payloadiovs/", w.gt, p.M, p.m), nil)
		a, r := v2[v2LookupAnswer](t, c, v2LookupPath(w.gt, p, ""))
		want := digestOf(rows)
		if a.Digest != want || r.Header.Get("X-Condcache-Digest") != want || compat.Header.Get("X-Condcache-Digest") != want {
			t.Fatalf("at %v: digests body %s, header %s, compatible %s; recomputed %s", p, a.Digest, r.Header.Get("X-Condcache-Digest"),
				compat.Header.Get("X-Condcache-Digest"), want)
		}
		if len(a.Payloads) != len(rows) || !slices.IsSortedFunc(a.Payloads, func(x, y v2Payload) int { return strings.Compare(x.Type, y.Type) }) {
			t.Fatalf("at %v: payloads %+v, compatible rows %+v", p, a.Payloads, rows)
		}
		for _, pl := range a.Payloads {
			row := rows[pl.Type]
			if pl.URL != row.URL || pl.Checksum != row.Checksum || pl.Start.P() != row.S || pl.End.P() != row.E {
				t.Fatalf("at %v type %s: v2 %+v, compatible %+v", p, pl.Type, pl, row)
			}
		}
		if vf, vu := compat.Header.Get("X-Valid-From"), compat.Header.Get("X-Valid-Until"); (a.Valid.From == nil) != (vf == "") ||
			(a.Valid.Until == nil) != (vu == "") {
			t.Fatalf("at %v: valid %+v, compatible window %q..%q", p, a.Valid, vf, vu)
		}
		// strict: missing = the types whose IOV ended before the point.
		s, _ := v2[v2LookupAnswer](t, c, v2LookupPath(w.gt, p, "&strict=1"))
		var wantMissing []string
		for typ, row := range rows {
			if !p.less(row.E) {
				wantMissing = append(wantMissing, typ)
			}
		}
		sort.Strings(wantMissing)
		if !slices.Equal(s.Missing, wantMissing) && !(len(s.Missing) == 0 && len(wantMissing) == 0) {
			t.Fatalf("at %v strict: missing %q, want %q", p, s.Missing, wantMissing)
		}
		if len(s.Payloads)+len(s.Missing) != len(rows) {
			t.Fatalf("at %v strict: %d payloads and %d missing of %d types", p, len(s.Payloads), len(s.Missing), len(rows))
		}
	}
	// types: one type, and an unknown one listed as missing.
	p := w.probes[len(w.probes)-1]
	ty, _ := v2[v2LookupAnswer](t, c, v2LookupPath(w.gt, p, "&types="+url.QueryEscape(w.types[0])+",nosuchtype"))
	if len(ty.Payloads) > 1 || (len(ty.Payloads) == 1 && ty.Payloads[0].Type != w.types[0]) || !slices.Contains(ty.Missing, "nosuchtype") {
		t.Errorf("types filter: %+v", ty)
	}
	// ETag and 304.
	r := c.get(v2LookupPath(w.gt, p, ""))
	if tag := r.Header.Get("ETag"); tag == "" || c.do("GET", v2LookupPath(w.gt, p, ""), nil, "If-None-Match", tag).Status != 304 {
		t.Errorf("ETag %q does not earn a 304", tag)
	}
}

// TestV2RangeMatchesLookups: the range's pieces tile [from, to] and, at
// every probe point inside, hold the compatible (or, strict, the
// end-honouring) answer there; its digest equals the GT digest endpoint's.
func TestV2RangeMatchesLookups(t *testing.T) {
	t.Parallel()
	c := shared(t)
	w := newV2World(t, c, 2)
	for _, strict := range []bool{false, true} {
		extra := ""
		if strict {
			extra = "&strict=1"
		}
		a, _ := v2[v2RangeAnswer](t, c, fmt.Sprintf("/api/v2/range?gt=%s&from=0&to=9%s", url.QueryEscape(w.gt), extra))
		if a.From.P() != (P{0, 0}) || a.To.P() != (P{9, maxI}) || len(a.Types) != len(w.types) {
			t.Fatalf("range bounds %+v %+v, %d types", a.From, a.To, len(a.Types))
		}
		for _, ty := range a.Types {
			ivs := ty.Intervals
			if len(ivs) == 0 || ivs[0].From.P() != (P{0, 0}) || ivs[len(ivs)-1].Until == nil || ivs[len(ivs)-1].Until.P() != (P{10, 0}) {
				t.Fatalf("%s: pieces do not tile [0, 9]: %+v", ty.Type, ivs)
			}
			for i := 1; i < len(ivs); i++ {
				if ivs[i-1].Until == nil || ivs[i-1].Until.P() != ivs[i].From.P() {
					t.Fatalf("%s: pieces %d and %d do not meet: %+v", ty.Type, i-1, i, ivs)
				}
			}
			for _, p := range w.probes {
				if p.M < 0 || p.M > 9 {
					continue
				}
				row, ok := c.lookup(w.gt, p.M, p.m)[ty.Type]
				if strict && ok && !p.less(row.E) {
					ok = false
				}
				var got *v2Payload
				for _, iv := range ivs {
					if !p.less(iv.From.P()) && (iv.Until == nil || p.less(iv.Until.P())) {
						got = iv.Payload
					}
				}
				if (got == nil) != !ok || (got != nil && (got.URL != row.URL || got.Start.P() != row.S)) {
					t.Fatalf("strict %v %s at %v: range piece %+v, lookup %+v (%v)", strict, ty.Type, p, got, row, ok)
				}
			}
		}
		if strict {
			continue
		}
		d, _ := v2[struct{ Digest string }](t, c, fmt.Sprintf("/api/v2/gt/%s/digest?from=0&to=9", url.PathEscape(w.gt)))
		if d.Digest != a.Digest {
			t.Errorf("GT digest %s, range digest %s", d.Digest, a.Digest)
		}
	}
}

// TestV2DigestsAndDiff: a clone has the same digests and diffs empty; one
// correction attached to the clone changes its digests, leaves the
// source's, and diffs exactly its range (the attach invariant).
func TestV2DigestsAndDiff(t *testing.T) {
	t.Parallel()
	c := shared(t)
	w := newV2World(t, c, 3)
	clone := uniqz("clone")
	c.ok("POST", "cloneGlobalTag/"+w.gt+"/"+clone, rawJSON("null"))
	digest := func(gt string) string {
		d, _ := v2[struct{ Digest string }](t, c, fmt.Sprintf("/api/v2/gt/%s/digest", url.PathEscape(gt)))
		return d.Digest
	}
	src := digest(w.gt)
	if digest(clone) != src {
		t.Fatalf("clone digest %s, source %s", digest(clone), src)
	}
	for _, p := range w.probes {
		a, _ := v2[v2LookupAnswer](t, c, v2LookupPath(w.gt, p, ""))
		b, _ := v2[v2LookupAnswer](t, c, v2LookupPath(clone, p, ""))
		if a.Digest != b.Digest {
			t.Fatalf("at %v: source %s, clone %s", p, a.Digest, b.Digest)
		}
	}
	diffPath := fmt.Sprintf("/api/v2/diff?a=%s&b=%s", url.QueryEscape(w.gt), url.QueryEscape(clone))
	if d := c.ok("GET", diffPath, nil); !strings.Contains(string(d.Body), `"types":[]`) {
		t.Fatalf("the diff of a clone is not empty: %s", d.Body)
	}

	// A correction inside a covered stretch of the clone's first list.
	cloneList := c.gtLists(clone)[w.types[0]]
	fix := uniqz("fix")
	s, e := P{20, 0}, P{21, 0}
	c.ok("POST", "bulk_piov", []map[string]any{{"payload_url": uniqz("base"), "major_iov": 19, "minor_iov": 0, "payload_list": cloneList}})
	c.ok("POST", "bulk_piov", []map[string]any{{"payload_url": uniqz("base"), "major_iov": 19, "minor_iov": 0,
		"payload_list": c.gtLists(w.gt)[w.types[0]]}}) // the same in the source, under another url
	if r := c.piovAttach(cloneList, c.mkPIOV(fix, s, e)); r.Status != 200 {
		t.Fatalf("%s", r)
	}
	if digest(clone) == digest(w.gt) {
		t.Errorf("the correction left the clone's digest as the source's")
	}
	var d struct {
		Types []struct {
			Type      string `json:"type"`
			Intervals []struct {
				From  v2Point  `json:"from"`
				Until *v2Point `json:"until"`
				B     *v2Payload
			} `json:"intervals"`
		} `json:"types"`
	}
	r := c.ok("GET", diffPath+"&from=20&to=20", nil)
	if err := json.Unmarshal(r.Body, &d); err != nil {
		t.Fatal(err)
	}
	// Within run 20 the only difference is the correction (the base rows
	// differ by url from 19 on, so look at run 20 alone).
	found := false
	for _, ty := range d.Types {
		for _, iv := range ty.Intervals {
			if ty.Type == w.types[0] && iv.B != nil && iv.B.URL == fix {
				found = iv.From.P() == s && iv.Until != nil && iv.Until.P() == e
			}
		}
	}
	if !found {
		t.Errorf("diff over run 20 lacks the correction [%v, %v): %s", s, e, r.Body)
	}
	at := c.ok("GET", fmt.Sprintf("%s&major=20&minor=0", diffPath), nil)
	if !strings.Contains(string(at.Body), fix) {
		t.Errorf("diff at (20,0) lacks the correction: %s", at.Body)
	}
}

// TestV2AsOfReproducesHistory: after a random sequence of writes, every
// answer recorded during it (lookups at every probe point, and ranges) is
// reproduced exactly by the as-of reads at its time, and by generation.
func TestV2AsOfReproducesHistory(t *testing.T) {
	t.Parallel()
	c := shared(t)
	w := newV2World(t, c, 4)
	type recorded struct {
		at         time.Time
		generation int64
		lookups    map[P]string // point → digest
		rangeDig   string
	}
	record := func() recorded {
		r := recorded{at: time.Now().UTC(), lookups: map[P]string{}}
		for _, p := range w.probes {
			a, _ := v2[v2LookupAnswer](t, c, v2LookupPath(w.gt, p, ""))
			r.lookups[p], r.generation = a.Digest, a.Generation
		}
		rg, _ := v2[v2RangeAnswer](t, c, fmt.Sprintf("/api/v2/range?gt=%s&from=0&to=9", url.QueryEscape(w.gt)))
		r.rangeDig = rg.Digest
		return r
	}
	var history []recorded
	clones := 0
	for range 12 {
		time.Sleep(20 * time.Millisecond) // distinct commit stamps around each moment
		history = append(history, record())
		wr := w.randomWrite(w.gt, w.types, w.lists, &clones)
		if wr.what == "clone" {
			continue // writes to another GT
		}
		if r := c.do(wr.method, wr.path, wr.body); r.Status != 200 {
			t.Fatalf("%s: %s", wr.what, r)
		}
		w.refreshProbes()
	}
	for i, h := range history {
		asof := url.QueryEscape(h.at.Format(time.RFC3339Nano))
		for p, want := range h.lookups {
			a, r := v2[v2LookupAnswer](t, c, v2LookupPath(w.gt, p, "&asof="+asof))
			if a.Digest != want || a.AsOf == nil {
				t.Fatalf("moment %d at %v: as-of digest %s, recorded %s (%s)", i, p, a.Digest, want, r.Body)
			}
			if g, _ := v2[v2LookupAnswer](t, c, v2LookupPath(w.gt, p, "&generation="+strconv.FormatInt(h.generation, 10))); g.Digest != want {
				t.Fatalf("moment %d at %v: generation %d gives digest %s, recorded %s", i, p, h.generation, g.Digest, want)
			}
		}
		rg, _ := v2[v2RangeAnswer](t, c, fmt.Sprintf("/api/v2/range?gt=%s&from=0&to=9&asof=%s", url.QueryEscape(w.gt), asof))
		if rg.Digest != h.rangeDig {
			t.Fatalf("moment %d: as-of range digest %s, recorded %s", i, rg.Digest, h.rangeDig)
		}
	}
	t.Logf("%d moments reproduced at %d points each, by time and by generation", len(history), len(w.probes))
	// Before the GT existed.
	wantErr(t, c.get(v2LookupPath(w.gt, P{1, 0}, "&asof=2001-01-01T00:00:00Z")), "not_found", "", 404)
}

// TestV2BadParameters: every bad parameter of every v2 read is a 4xx with
// a detail and a code; nothing answers 500.
func TestV2BadParameters(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt := c.mkGT("unlocked")
	c.mustInsert(gt, c.mkPT(), uniqz("u"), P{1, 0}, open)
	g := url.QueryEscape(gt)
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/api/v2/lookup?major=1", 400},
		{"/api/v2/lookup?gt=" + g, 400},
		{"/api/v2/lookup?gt=" + g + "&major=x", 400},
		{"/api/v2/lookup?gt=" + g + "&major=1.5", 400},
		{"/api/v2/lookup?gt=" + g + "&major=99999999999999999999", 400},
		{"/api/v2/lookup?gt=" + g + "&major=1&minor=-", 400},
		{"/api/v2/lookup?gt=" + g + "&major=1&strict=yes", 400},
		{"/api/v2/lookup?gt=%00&major=1", 400},
		{"/api/v2/lookup?gt=" + uniq("NoSuchGT") + "&major=1", 404},
		{"/api/v2/lookup?gt=" + g + "&major=1&asof=yesterday", 400},
		{"/api/v2/lookup?gt=" + g + "&major=1&asof=2999-01-01T00:00:00Z", 400},
		{"/api/v2/lookup?gt=" + g + "&major=1&asof=2001-01-01T00:00:00Z", 404},
		{"/api/v2/lookup?gt=" + g + "&major=1&generation=0", 400},
		{"/api/v2/lookup?gt=" + g + "&major=1&generation=1", 404},
		{"/api/v2/lookup?gt=" + g + "&major=1&generation=5&asof=2020-01-01T00:00:00Z", 400},
		{"/api/v2/range?gt=" + g + "&to=5", 400},
		{"/api/v2/range?gt=" + g + "&from=5", 400},
		{"/api/v2/range?gt=" + g + "&from=6&to=5", 400},
		{"/api/v2/range?gt=" + g + "&from=a&to=5", 400},
		{"/api/v2/range?gt=" + g + "&from=1.x&to=5", 400},
		{"/api/v2/range?gt=" + g + "&from=0&to=10000000", 400},
		{"/api/v2/range?gt=" + g + "&from=0.0&to=0.10000000", 400},
		{"/api/v2/range?gt=" + uniq("NoSuchGT") + "&from=0&to=5", 404},
		{"/api/v2/range?gt=" + g + "&from=0&to=5&asof=2001-01-01T00:00:00Z", 404},
		{"/api/v2/gt/" + uniq("NoSuchGT") + "/digest", 404},
		{"/api/v2/gt/" + g + "/digest?from=3", 400},
		{"/api/v2/diff?a=" + g, 400},
		{"/api/v2/diff?b=" + g, 400},
		{"/api/v2/diff?a=" + g + "&b=" + uniq("NoSuchGT"), 404},
		{"/api/v2/diff?a=" + g + "&b=" + g + "&major=x", 400},
		{"/api/v2/diff?a=" + g + "&b=" + g + "&from=2&to=1", 400},
		{"/api/v2/nosuchendpoint", 404},
	} {
		r := c.get(tc.path)
		m := wantErr(t, r, "", "", tc.status)
		if str(t, m["code"]) == "" || str(t, m["detail"]) == "" {
			t.Errorf("%s: %s lacks code or detail", tc.path, r)
		}
	}
}
