package e2e

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// docs/compatibility.md "The lookup" (route 26), §3.8, §8.7/8.25, DESIGN decisions 1 and 5.

func lookupPath(base, gt string, major, minor any) string {
	return fmt.Sprintf("%s?gtName=%s&majorIOV=%v&minorIOV=%v", base, url.QueryEscape(gt), major, minor)
}

func TestLookupShapes(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt, ptA, ptB, ptC := c.mkGT("unlocked"), c.mkPT(), c.mkPT(), c.mkPT()
	ua, ub := uniqz("a"), uniqz("b")
	c.mustInsert(gt, ptA, ua, P{0, 0}, P{0, 999999})
	c.mustInsert(gt, ptB, ub, P{0, 5}, open)
	c.listOf(gt, ptC) // attached, empty: no row

	for _, base := range []string{"payloadiovs/", "payload-iovs/query/"} {
		r := c.ok("GET", lookupPath(base, gt, 0, 10), nil)
		if !strings.Contains(string(r.Body), maxStr+","+maxStr) {
			t.Errorf("%s: MAX must be JSON integers: %s", base, r.Body)
		}
		rows := arr(t, r.JSON)
		if len(rows) != 2 {
			t.Fatalf("%s: %d rows, want 2: %s", base, len(rows), r.Body)
		}
		byType := map[string][]any{}
		for _, row := range rows {
			a := arr(t, row)
			if len(a) != 9 {
				t.Fatalf("row %v: %d columns, want 9", a, len(a))
			}
			byType[str(t, a[0])] = a
		}
		for pt, want := range map[string][]any{
			ptA: {ptA, ua, "ck-" + ua, nil, int64(0), int64(0), int64(0), int64(999999), nil},
			ptB: {ptB, ub, "ck-" + ub, nil, int64(0), int64(5), maxI, maxI, nil},
		} {
			a := byType[pt]
			if a == nil {
				t.Errorf("no row for %s", pt)
				continue
			}
			got := []any{str(t, a[0]), str(t, a[1]), str(t, a[2]), a[3], i64(t, a[4]), i64(t, a[5]), i64(t, a[6]), i64(t, a[7]), a[8]}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s row %v, want %v", base, got, want)
			}
		}

		// shape=dict: the same rows as objects with exact keys.
		d := arr(t, c.ok("GET", lookupPath(base, gt, 0, 10)+"&shape=dict", nil).JSON)
		if len(d) != 2 {
			t.Fatalf("shape=dict: %d rows", len(d))
		}
		for _, row := range d {
			m := obj(t, row)
			wantKeys(t, "dict row", m, "payload_type_name", "payload_url", "checksum", "size", "major_iov", "minor_iov", "major_iov_end", "minor_iov_end", "revision")
			a := byType[str(t, m["payload_type_name"])]
			if a == nil {
				t.Fatalf("dict row of unknown type: %v", m)
			}
			got := []any{m["payload_type_name"], m["payload_url"], m["checksum"], m["size"], m["major_iov"], m["minor_iov"], m["major_iov_end"], m["minor_iov_end"], m["revision"]}
			if !reflect.DeepEqual(got, a) {
				t.Errorf("dict row %v differs from positional %v", got, a)
			}
		}
		// Anything but exactly "dict" is positional.
		for _, s := range []string{"Dict", "1", "", "dicts"} {
			for _, row := range arr(t, c.ok("GET", lookupPath(base, gt, 0, 10)+"&shape="+s, nil).JSON) {
				arr(t, row)
			}
		}
	}
}

func TestLookupSemantics(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt, pt := c.mkGT("unlocked"), c.mkPT()
	u1, u2 := uniqz("a"), uniqz("b")
	c.mustInsert(gt, pt, u1, P{0, 10}, P{0, 20})
	c.mustInsert(gt, pt, u2, P{0, 30}, P{0, 40})
	// A detached IOV and a detached list must never appear.
	c.mkPIOV(uniqz("det"), P{0, 0}, open)
	ptD := c.mkPT()
	c.listOf(gt, ptD)
	c.mustInsert(gt, ptD, uniqz("old"), P{0, 0}, open)
	newer, _ := c.mkPL(ptD)
	c.ok("PUT", "pl_attach", map[string]any{"global_tag": gt, "payload_list": newer})

	for _, tc := range []struct {
		p    P
		want string // "" = no row
	}{
		{P{0, 9}, ""}, {P{0, 10}, u1}, {P{0, 19}, u1}, {P{0, 20}, u1}, {P{0, 25}, u1}, // ends ignored
		{P{0, 29}, u1}, {P{0, 30}, u2}, {P{0, 40}, u2}, {P{0, 100}, u2}, {P{7, 0}, u2},
		{P{maxI, maxI}, u2}, {P{-1, maxI}, ""}, {P{0, -1}, ""},
	} {
		got := c.lookup(gt, tc.p.M, tc.p.m)
		if len(got) > 1 {
			t.Errorf("at %v: rows %v, want only %s (the replaced list is detached)", tc.p, got, pt)
		}
		if tc.want == "" {
			if len(got) != 0 {
				t.Errorf("at %v: %v, want no row", tc.p, got)
			}
			continue
		}
		if got[pt].URL != tc.want {
			t.Errorf("at %v: %v, want %s", tc.p, got[pt].URL, tc.want)
		}
	}

	// Unknown GT, or any parameter missing -> 200 [].
	for _, base := range []string{"payloadiovs/", "payload-iovs/query/"} {
		for _, q := range []string{
			fmt.Sprintf("?gtName=%s&majorIOV=0&minorIOV=0", uniqz("nosuch")),
			"?majorIOV=0&minorIOV=15",
			fmt.Sprintf("?gtName=%s&minorIOV=15", gt),
			fmt.Sprintf("?gtName=%s&majorIOV=0", gt),
			"",
		} {
			r := c.ok("GET", base+q, nil)
			if strings.TrimSpace(string(r.Body)) != "[]" {
				t.Errorf("GET %s%s: %s, want []", base, q, r.Body)
			}
		}
	}

	// Integers only (DESIGN 5): anything else is a JSON 400.
	for _, q := range [][2]string{
		{"abc", "0"}, {"0", "abc"}, {"1.5", "0"}, {"0", "25.7"}, {"1e3", "0"},
		{"99999999999999999999", "0"}, {"0", "99999999999999999999"}, {"9223372036854775808", "0"},
		{"0", "-9223372036854775809"}, {"0x10", "0"}, {"0", "1_000"}, {"--1", "0"}, {"+", "0"},
	} {
		r := c.do("GET", fmt.Sprintf("payloadiovs/?gtName=%s&majorIOV=%s&minorIOV=%s", gt, url.QueryEscape(q[0]), url.QueryEscape(q[1])), nil)
		wantErr(t, r, "invalid", "", 400)
	}

	// Repeated parameters: the last value wins.
	r := c.ok("GET", fmt.Sprintf("payloadiovs/?gtName=%s&gtName=%s&majorIOV=abc&majorIOV=0&minorIOV=99&minorIOV=35", uniqz("nosuch"), gt), nil)
	if got := c.rows(r); got[pt].URL != u2 {
		t.Errorf("repeated params: %v, want %s", got, u2)
	}
	wantErr(t, c.do("GET", fmt.Sprintf("payloadiovs/?gtName=%s&majorIOV=0&majorIOV=abc&minorIOV=0", gt), nil), "invalid", "", 400)

	// Leading/trailing spaces are tolerated; a leading + too.
	r = c.ok("GET", fmt.Sprintf("payloadiovs/?gtName=%s&majorIOV=%%200%%20&minorIOV=%%2015", gt), nil)
	if got := c.rows(r); got[pt].URL != u1 {
		t.Errorf("spaces: %v, want %s", got, u1)
	}
}

func TestLookupNegativeAndLarge(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt, pt := c.mkGT("unlocked"), c.mkPT()
	un, uz := uniqz("neg"), uniqz("zero")
	c.mustInsert(gt, pt, un, P{-5, 1}, P{-1, 0})
	c.mustInsert(gt, pt, uz, P{-1, 0}, P{0, 0})
	for _, tc := range []struct {
		p    P
		want string
	}{
		{P{-6, maxI}, ""}, {P{-5, 0}, ""}, {P{-5, 1}, un}, {P{-5, 2}, un}, {P{-4, 0}, un},
		{P{-2, maxI}, un}, {P{-1, 0}, uz}, {P{0, 0}, uz}, {P{100, 0}, uz},
	} {
		got := c.lookupURLs(gt, tc.p.M, tc.p.m)[pt]
		if got != tc.want {
			t.Errorf("at %v: %q, want %q", tc.p, got, tc.want)
		}
	}

	// |major| >= 10^9: comb_iov computed exactly (the reference rounds).
	gt2, pt2 := c.mkGT("unlocked"), c.mkPT()
	g := int64(1000000000)
	a, b, d := uniqz("g0"), uniqz("g1"), uniqz("g2")
	c.mustInsert(gt2, pt2, a, P{g, 0}, P{g, 1})
	c.mustInsert(gt2, pt2, b, P{g, 1}, P{g, 9999999999})
	c.mustInsert(gt2, pt2, d, P{g, 9999999999}, open)
	for _, tc := range []struct {
		p    P
		want string
	}{
		{P{g, 0}, a}, {P{g, 1}, b}, {P{g, 9999999998}, b}, {P{g, 9999999999}, d}, {P{maxI, maxI}, d}, {P{g - 1, maxI}, ""},
	} {
		got := c.lookupURLs(gt2, tc.p.M, tc.p.m)[pt2]
		if got != tc.want {
			t.Errorf("at %v: %q, want %q", tc.p, got, tc.want)
		}
	}
	// The extreme point of int64.
	gt3, pt3 := c.mkGT("unlocked"), c.mkPT()
	e := uniqz("max")
	c.mustInsert(gt3, pt3, e, P{maxI, maxI - 1}, P{maxI, maxI})
	if got := c.lookupURLs(gt3, maxI, maxI)[pt3]; got != e {
		t.Errorf("at (MAX,MAX): %q, want %q", got, e)
	}
	if got := c.lookupURLs(gt3, maxI, maxI-2)[pt3]; got != "" {
		t.Errorf("at (MAX,MAX-2): %q, want no row", got)
	}
}

// TestLookupTies: two IOVs of one list with the same start (possible through
// bulk) resolve to the highest id, deterministically (DESIGN 1).
func TestLookupTies(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt, pt := c.mkGT("unlocked"), c.mkPT()
	pl := c.listOf(gt, pt)
	prefix := uniqz("tie")
	var body []any
	for i := range 5 {
		body = append(body, map[string]any{"payload_url": fmt.Sprintf("%s_%d", prefix, i), "major_iov": 0, "minor_iov": 50, "payload_list": pl})
	}
	c.ok("POST", "bulk_piov", body)
	var best string
	var bestID int64 = -1
	for _, e := range arr(t, obj(t, c.ok("GET", "piov?page=1&payload_list="+pl, nil).JSON)["results"]) {
		m := obj(t, e)
		if id := i64(t, m["id"]); id > bestID {
			bestID, best = id, str(t, m["payload_url"])
		}
	}
	if bestID < 0 {
		t.Fatalf("no IOVs in %s", pl)
	}
	for range 10 {
		if got := c.lookupURLs(gt, 0, 60)[pt]; got != best {
			t.Fatalf("tie: %q, want the highest id's url %q", got, best)
		}
	}
}
