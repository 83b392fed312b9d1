package sql_test

import (
	"context"
	"slices"
	"testing"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// Names sort the same under the C and the usual glibc/ICU collations
// (lowercase, punctuation never decisive), so expected orders do not
// depend on how the test cluster was initialised.

type browseFixture struct {
	gts []int64 // alpha_1, beta%2, gab1, delta, alphax2
}

// newBrowseFixture:
//
//	GT       author status    lists (IOVs)
//	alpha_1  ann    unlocked  beam (3), cemc (0)
//	beta%2   -      locked    beam (1)
//	gab1     bob    unlocked  -
//	delta    ann    locked    cemc (5)
//	alphax2  carl   unlocked  -
//
// plus a detached zdc list with one IOV and one detached IOV.
func newBrowseFixture(r *seed) browseFixture {
	var f browseFixture
	unlocked, locked := r.status("unlocked"), r.status("locked")
	for _, g := range []struct {
		name   string
		author *string
		status int64
	}{
		{"alpha_1", ptr("ann"), unlocked},
		{"beta%2", nil, locked},
		{"gab1", ptr("bob"), unlocked},
		{"delta", ptr("ann"), locked},
		{"alphax2", ptr("carl"), unlocked},
	} {
		f.gts = append(f.gts, r.gt(g.name, g.status, g.author))
	}
	beam, cemc, zdc := r.ptype("beam"), r.ptype("cemc"), r.ptype("zdc")
	r.ptype("a_b")
	r.ptype("axb")

	alphaBeam, _ := r.list(beam, &f.gts[0])
	r.list(cemc, &f.gts[0])
	betaBeam, _ := r.list(beam, &f.gts[1])
	deltaCemc, _ := r.list(cemc, &f.gts[3])
	detached, _ := r.list(zdc, nil)

	r.iov(&alphaBeam, "file%1.root", pt(0, 0))
	r.iov(&alphaBeam, "file1.root", pt(0, 10))
	r.iov(&alphaBeam, "x_y.root", pt(0, 20))
	r.iov(&betaBeam, "xay.root", pt(3, 0))
	for i := range 5 {
		r.iov(&deltaCemc, "d"+itoa(int64(i)), pt(int64(10-i), 0))
	}
	r.iov(&detached, "zdc.root", pt(1, 0))
	r.iov(nil, "loose.root", pt(2, 0))
	return f
}

// browsePage checks a page's counters and returns its items' keys.
func browsePage[T any](t *testing.T, what string, p condcache.Page[T], err error, count int64, pageNo, size int, pages int64, key func(T) string) []string {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if p.Count != count || p.Page != pageNo || p.PageSize != size || p.TotalPages != pages || p.Results == nil {
		t.Errorf("%s: count %d page %d size %d pages %d (results nil: %v), want %d %d %d %d",
			what, p.Count, p.Page, p.PageSize, p.TotalPages, p.Results == nil, count, pageNo, size, pages)
	}
	keys := []string{}
	for _, v := range p.Results {
		keys = append(keys, key(v))
	}
	return keys
}

func wantKeys(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func TestBrowse(t *testing.T) {
	t.Parallel()
	rd, p := primaryReader(t, testDB(t))
	f := newBrowseFixture(newSeed(t, p))
	ctx := context.Background()
	t.Run("GlobalTags", func(t *testing.T) { testBrowseGlobalTags(t, ctx, rd, f) })
	t.Run("PayloadTypes", func(t *testing.T) { testBrowsePayloadTypes(t, ctx, rd) })
	t.Run("PayloadLists", func(t *testing.T) { testBrowsePayloadLists(t, ctx, rd) })
	t.Run("PayloadIOVs", func(t *testing.T) { testBrowsePayloadIOVs(t, ctx, rd) })
}

func testBrowseGlobalTags(t *testing.T, ctx context.Context, rd *cdbsql.Reader, f browseFixture) {
	name := func(g condcache.GlobalTagSummary) string { return g.Name }
	gts := func(q condcache.BrowseQuery, count int64, pages int64, want ...string) {
		t.Helper()
		p, err := rd.BrowseGlobalTags(ctx, q)
		wantKeys(t, "BrowseGlobalTags", browsePage(t, "BrowseGlobalTags", p, err, count, q.Page, q.PageSize, pages, name), want...)
	}
	q := func(mod func(*condcache.BrowseQuery)) condcache.BrowseQuery {
		b := condcache.BrowseQuery{Page: 1, PageSize: 25}
		mod(&b)
		return b
	}
	all := []string{"alpha_1", "alphax2", "beta%2", "delta", "gab1"}

	// Default sort (name), and an unknown key falls back to it.
	gts(q(func(*condcache.BrowseQuery) {}), 5, 1, all...)
	gts(q(func(b *condcache.BrowseQuery) { b.Sort = "bogus; DROP TABLE x" }), 5, 1, all...)
	gts(q(func(b *condcache.BrowseQuery) { b.Desc = true }), 5, 1, "gab1", "delta", "beta%2", "alphax2", "alpha_1")

	// Search: case-insensitive, over name and author, % and _ literal.
	gts(q(func(b *condcache.BrowseQuery) { b.Search = "a_1" }), 1, 1, "alpha_1")
	gts(q(func(b *condcache.BrowseQuery) { b.Search = "A%2" }), 1, 1, "beta%2")
	gts(q(func(b *condcache.BrowseQuery) { b.Search = "BOB" }), 1, 1, "gab1")
	gts(q(func(b *condcache.BrowseQuery) { b.Search = `\` }), 0, 1)
	gts(q(func(b *condcache.BrowseQuery) { b.Search = "ann" }), 2, 1, "alpha_1", "delta")

	// Filter by status name, alone and with a search.
	gts(q(func(b *condcache.BrowseQuery) { b.Filters = map[string]string{"status": "unlocked"} }), 3, 1, "alpha_1", "alphax2", "gab1")
	gts(q(func(b *condcache.BrowseQuery) {
		b.Filters = map[string]string{"status": "locked"}
		b.Search = "ann"
	}), 1, 1, "delta")
	gts(q(func(b *condcache.BrowseQuery) { b.Filters = map[string]string{"status": "Locked"} }), 0, 1)

	// Every sort key; ties by id ascending, also when descending.
	sorts := []struct {
		key  string
		desc bool
		want []string
	}{
		{"id", true, []string{"alphax2", "delta", "gab1", "beta%2", "alpha_1"}},
		{"author", false, []string{"alpha_1", "delta", "gab1", "alphax2", "beta%2"}}, // NULL last
		{"author", true, []string{"beta%2", "alphax2", "gab1", "alpha_1", "delta"}},  // NULL first, ann tie by id
		{"status", false, []string{"beta%2", "delta", "alpha_1", "gab1", "alphax2"}},
		{"payload_lists_count", false, []string{"gab1", "alphax2", "beta%2", "delta", "alpha_1"}},
		{"payload_iov_count", true, []string{"delta", "alpha_1", "beta%2", "gab1", "alphax2"}},
		{"created", false, []string{"alpha_1", "beta%2", "gab1", "delta", "alphax2"}},
	}
	for _, s := range sorts {
		gts(q(func(b *condcache.BrowseQuery) { b.Sort, b.Desc = s.key, s.desc }), 5, 1, s.want...)
	}

	// Counts in the items.
	p, err := rd.BrowseGlobalTags(ctx, q(func(b *condcache.BrowseQuery) { b.Search = "alpha_1" }))
	if err != nil || len(p.Results) != 1 || p.Results[0].PayloadListCount != 2 || p.Results[0].PayloadIOVCount != 3 ||
		p.Results[0].ID != f.gts[0] || p.Results[0].Status.Name != "unlocked" {
		t.Errorf("alpha_1 summary = %+v, %v", p.Results, err)
	}

	// Pages: total_pages = ceil(count/size); past the end is empty and
	// echoes the page asked for.
	gts(condcache.BrowseQuery{Page: 1, PageSize: 2}, 5, 3, "alpha_1", "alphax2")
	gts(condcache.BrowseQuery{Page: 3, PageSize: 2}, 5, 3, "gab1")
	gts(condcache.BrowseQuery{Page: 4, PageSize: 2}, 5, 3)
	gts(condcache.BrowseQuery{Page: 1 << 62, PageSize: 1000}, 5, 1)
	gts(condcache.BrowseQuery{Page: 2, PageSize: 5}, 5, 1)
	gts(condcache.BrowseQuery{Page: 5, PageSize: 1, Sort: "updated", Desc: true}, 5, 5, "alpha_1")
}

func testBrowsePayloadTypes(t *testing.T, ctx context.Context, rd *cdbsql.Reader) {
	name := func(p condcache.PayloadType) string { return p.Name }
	pts := func(q condcache.BrowseQuery, count, pages int64, want ...string) {
		t.Helper()
		p, err := rd.BrowsePayloadTypes(ctx, q)
		wantKeys(t, "BrowsePayloadTypes", browsePage(t, "BrowsePayloadTypes", p, err, count, q.Page, q.PageSize, pages, name), want...)
	}
	pts(condcache.BrowseQuery{Page: 1, PageSize: 25}, 5, 1, "a_b", "axb", "beam", "cemc", "zdc")
	pts(condcache.BrowseQuery{Page: 1, PageSize: 25, Search: "A_B"}, 1, 1, "a_b")
	pts(condcache.BrowseQuery{Page: 1, PageSize: 25, Sort: "id", Desc: true}, 5, 1, "axb", "a_b", "zdc", "cemc", "beam")
	pts(condcache.BrowseQuery{Page: 2, PageSize: 2, Sort: "created"}, 5, 3, "zdc", "a_b")
}

func testBrowsePayloadLists(t *testing.T, ctx context.Context, rd *cdbsql.Reader) {
	// Key: "<type>@<gt>#<iov count>" (list names carry ids).
	key := func(l condcache.PayloadListSummary) string {
		gt := "-"
		if l.GlobalTag != nil {
			gt = *l.GlobalTag
		}
		return l.PayloadType + "@" + gt + "#" + itoa(l.IOVCount)
	}
	pls := func(q condcache.BrowseQuery, count, pages int64, want ...string) {
		t.Helper()
		p, err := rd.BrowsePayloadLists(ctx, q)
		wantKeys(t, "BrowsePayloadLists", browsePage(t, "BrowsePayloadLists", p, err, count, q.Page, q.PageSize, pages, key), want...)
	}
	q := func(mod func(*condcache.BrowseQuery)) condcache.BrowseQuery {
		b := condcache.BrowseQuery{Page: 1, PageSize: 25, Sort: "id"}
		mod(&b)
		return b
	}
	all := []string{"beam@alpha_1#3", "cemc@alpha_1#0", "beam@beta%2#1", "cemc@delta#5", "zdc@-#1"}
	pls(q(func(*condcache.BrowseQuery) {}), 5, 1, all...)
	pls(q(func(b *condcache.BrowseQuery) { b.Filters = map[string]string{"global_tag": "alpha_1"} }), 2, 1, all[:2]...)
	pls(q(func(b *condcache.BrowseQuery) { b.Filters = map[string]string{"payload_type": "beam"} }), 2, 1, all[0], all[2])
	pls(q(func(b *condcache.BrowseQuery) {
		b.Filters = map[string]string{"payload_type": "beam", "global_tag": "beta%2"}
	}), 1, 1, all[2])
	pls(q(func(b *condcache.BrowseQuery) { b.Search = "DELTA" }), 1, 1, all[3]) // GT name
	pls(q(func(b *condcache.BrowseQuery) { b.Search = "zd" }), 1, 1, all[4])    // list and type name
	pls(q(func(b *condcache.BrowseQuery) { b.Search = "a%" }), 1, 1, all[2])    // literal %: only beta%2
	pls(q(func(b *condcache.BrowseQuery) { b.Sort, b.Desc = "iov_count", true }), 5, 1, all[3], all[0], all[2], all[4], all[1])
	pls(q(func(b *condcache.BrowseQuery) { b.Sort = "global_tag" }), 5, 1, all[0], all[1], all[2], all[3], all[4])
	pls(q(func(b *condcache.BrowseQuery) { b.Sort, b.Desc = "global_tag", true }), 5, 1, all[4], all[3], all[2], all[0], all[1])
	pls(q(func(b *condcache.BrowseQuery) { b.Sort, b.Desc = "payload_type", true }), 5, 1, all[4], all[1], all[3], all[0], all[2])
	// Default sort: name, <type>_<id> (one-digit ids here).
	pls(q(func(b *condcache.BrowseQuery) { b.Sort = "" }), 5, 1, all[0], all[2], all[1], all[3], all[4])
}

func testBrowsePayloadIOVs(t *testing.T, ctx context.Context, rd *cdbsql.Reader) {
	url := func(v condcache.PayloadIOVBrowse) string { return v.PayloadURL }
	piovs := func(q condcache.BrowseQuery, count, pages int64, want ...string) {
		t.Helper()
		p, err := rd.BrowsePayloadIOVs(ctx, q)
		wantKeys(t, "BrowsePayloadIOVs", browsePage(t, "BrowsePayloadIOVs", p, err, count, q.Page, q.PageSize, pages, url), want...)
	}
	q := func(mod func(*condcache.BrowseQuery)) condcache.BrowseQuery {
		b := condcache.BrowseQuery{Page: 1, PageSize: 25}
		mod(&b)
		return b
	}
	all := []string{"file%1.root", "file1.root", "x_y.root", "xay.root", "d0", "d1", "d2", "d3", "d4", "zdc.root", "loose.root"}
	// Default: by id, detached IOVs included.
	piovs(q(func(*condcache.BrowseQuery) {}), 11, 1, all...)
	piovs(q(func(b *condcache.BrowseQuery) { b.Search = "%1" }), 1, 1, "file%1.root")
	piovs(q(func(b *condcache.BrowseQuery) { b.Search = "X_Y" }), 1, 1, "x_y.root")
	piovs(q(func(b *condcache.BrowseQuery) { b.Search = "zdc_" }), 1, 1, "zdc.root") // list name zdc_<id>
	piovs(q(func(b *condcache.BrowseQuery) { b.Filters = map[string]string{"global_tag": "beta%2"} }), 1, 1, "xay.root")
	piovs(q(func(b *condcache.BrowseQuery) { b.Filters = map[string]string{"payload_type": "beam"} }), 4, 1, all[:4]...)
	piovs(q(func(b *condcache.BrowseQuery) {
		b.Filters = map[string]string{"payload_type": "beam", "global_tag": "alpha_1"}
		b.Sort, b.Desc = "minor_iov", true
	}), 3, 1, "x_y.root", "file1.root", "file%1.root")
	piovs(q(func(b *condcache.BrowseQuery) { b.Sort, b.Desc = "major_iov", true }), 11, 1,
		"d0", "d1", "d2", "d3", "d4", "xay.root", "loose.root", "zdc.root", "file%1.root", "file1.root", "x_y.root")
	// NULL GT (detached list, detached IOV) last ascending, first descending.
	piovs(q(func(b *condcache.BrowseQuery) { b.Sort = "global_tag"; b.PageSize = 3; b.Page = 4 }), 11, 4, "zdc.root", "loose.root")
	piovs(q(func(b *condcache.BrowseQuery) { b.Sort, b.Desc = "payload_type", true; b.PageSize = 3 }), 11, 4, "loose.root", "zdc.root", "d0")
	piovs(q(func(b *condcache.BrowseQuery) { b.Sort, b.Desc = "inserted", true; b.PageSize = 2 }), 11, 6, "loose.root", "zdc.root")

	// The item carries its list, GT and type names.
	p, err := rd.BrowsePayloadIOVs(ctx, q(func(b *condcache.BrowseQuery) { b.Search = "xay" }))
	if err != nil || len(p.Results) != 1 {
		t.Fatalf("search xay: %+v, %v", p, err)
	}
	v := p.Results[0]
	if *v.GlobalTag != "beta%2" || *v.PayloadType != "beam" || v.PayloadList == nil || v.Start != pt(3, 0) || v.Checksum != "ck-xay.root" {
		t.Errorf("PIOV browse item = %+v", v)
	}
	p, err = rd.BrowsePayloadIOVs(ctx, q(func(b *condcache.BrowseQuery) { b.Search = "loose" }))
	if err != nil || len(p.Results) != 1 || p.Results[0].GlobalTag != nil || p.Results[0].PayloadType != nil || p.Results[0].PayloadList != nil {
		t.Errorf("detached PIOV browse item = %+v, %v", p.Results, err)
	}
}
