package sql_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/condcache/condcache"
)

// lookupFixture is one GT with lists of several types exercising every
// rule of docs/compatibility.md "Lookup semantics", plus rows that must stay invisible to it.
type lookupFixture struct {
	alpha, beta, gamma, zeta int64 // attached list ids
	tieLow, tieHigh          int64 // two IOVs of alpha with equal comb_iov
}

func newLookupFixture(r *seed) lookupFixture {
	var f lookupFixture
	st := r.status("unlocked")
	gt := r.gt("GT", st, nil)
	other := r.gt("Other", st, nil)

	// Types are created out of name order, so ordering by type name is
	// not an accident of ids.
	zeta, alpha, beta, gamma := r.ptype("Zeta"), r.ptype("Alpha"), r.ptype("Beta"), r.ptype("Gamma")
	f.zeta, _ = r.list(zeta, &gt)
	f.alpha, _ = r.list(alpha, &gt)
	f.beta, _ = r.list(beta, &gt)
	f.gamma, _ = r.list(gamma, &gt) // attached, empty

	// alpha: [0,10) [10,20) gap [30,∞) in major 0; ends are ignored.
	r.iov(&f.alpha, "a0", pt(0, 0), withEnd(pt(0, 10)))
	r.iov(&f.alpha, "a10", pt(0, 10), withEnd(pt(0, 20)), withSize(1234), withExtra("rev7"))
	r.iov(&f.alpha, "a30", pt(0, 30))
	// Invisible: NULL comb_iov (written behind the API's back) at (0,20).
	r.iov(&f.alpha, "a20-null", pt(0, 20), withComb(nil))
	// Ties at (0,40): the highest id wins.
	f.tieLow = r.iov(&f.alpha, "a40-low", pt(0, 40))
	f.tieHigh = r.iov(&f.alpha, "a40-high", pt(0, 40))
	// Majors ≥ 10^9 compare exactly.
	r.iov(&f.alpha, "a1e9", pt(1e9, 0))
	r.iov(&f.alpha, "a1e9+1", pt(1e9, 1))

	// beta starts late, and has negative points.
	r.iov(&f.beta, "b-5.1", pt(-5, 1))
	r.iov(&f.beta, "b-1", pt(-1, 0))
	r.iov(&f.beta, "b100", pt(0, 100))

	// zeta: one IOV from the very beginning of time.
	r.iov(&f.zeta, "z", pt(math.MinInt64, 0))

	// Invisible: a detached IOV, a detached list with IOVs, the other GT's
	// list, and a list that moved away from GT.
	r.iov(nil, "detached", pt(0, 25))
	detached, _ := r.list(alpha, nil)
	r.iov(&detached, "in-detached-list", pt(0, 25))
	otherList, _ := r.list(alpha, &other)
	r.iov(&otherList, "other-gt", pt(0, 25))
	return f
}

func TestLookup(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	rd, p := primaryReader(t, db)
	newLookupFixture(newSeed(t, p))
	ctx := context.Background()

	tests := []struct {
		name string
		at   condcache.Point
		want []string
	}{
		{"before everything but zeta", pt(-6, 0), []string{"Zeta:z"}},
		{"negative point, minor > 0 start", pt(-5, 1), []string{"Beta:b-5.1", "Zeta:z"}},
		{"negative point between starts", pt(-3, 7), []string{"Beta:b-5.1", "Zeta:z"}},
		{"just before a negative start", pt(-1, -1), []string{"Beta:b-5.1", "Zeta:z"}},
		{"exact start", pt(0, 0), []string{"Alpha:a0", "Beta:b-1", "Zeta:z"}},
		{"inside", pt(0, 15), []string{"Alpha:a10", "Beta:b-1", "Zeta:z"}},
		{"after an end, in a gap: the expired IOV; NULL comb_iov invisible", pt(0, 25), []string{"Alpha:a10", "Beta:b-1", "Zeta:z"}},
		{"exact start after a gap", pt(0, 30), []string{"Alpha:a30", "Beta:b-1", "Zeta:z"}},
		{"tie: highest id", pt(0, 40), []string{"Alpha:a40-high", "Beta:b-1", "Zeta:z"}},
		{"later major", pt(7, 0), []string{"Alpha:a40-high", "Beta:b100", "Zeta:z"}},
		{"major 10^9 exactly", pt(1e9, 0), []string{"Alpha:a1e9", "Beta:b100", "Zeta:z"}},
		{"major 10^9, minor 1", pt(1e9, 1), []string{"Alpha:a1e9+1", "Beta:b100", "Zeta:z"}},
		{"end of time", condcache.OpenEnd, []string{"Alpha:a1e9+1", "Beta:b100", "Zeta:z"}},
	}
	for _, tc := range tests {
		got, err := rd.Lookup(ctx, "GT", tc.at)
		if err != nil {
			t.Fatalf("%s: Lookup(%v): %v", tc.name, tc.at, err)
		}
		if urls := lookupURLs(got); !slices.Equal(urls, tc.want) {
			t.Errorf("%s: Lookup(%v) = %v, want %v", tc.name, tc.at, urls, tc.want)
		}
	}

	// Every column of a row.
	got, err := rd.Lookup(ctx, "GT", pt(0, 12))
	if err != nil {
		t.Fatal(err)
	}
	want := condcache.LookupRow{PayloadType: "Alpha", PayloadURL: "a10", Checksum: "ck-a10", Size: ptr[int64](1234),
		Start: pt(0, 10), End: pt(0, 20), Revision: ptr("rev7")}
	if len(got) == 0 || !lookupRowEqual(got[0], want) {
		t.Errorf("Lookup row = %+v, want %+v", got, want)
	}
	if got[1].Size != nil || got[1].Revision != nil || got[1].End != condcache.OpenEnd {
		t.Errorf("NULL size/extra or open end not kept: %+v", got[1])
	}

	for _, gt := range []string{"NoSuchGT", "", "gt"} {
		got, err := rd.Lookup(ctx, gt, pt(0, 25))
		if err != nil || len(got) != 0 {
			t.Errorf("Lookup(%q) = %v, %v; want no rows, no error", gt, got, err)
		}
	}
}

// TestLookupDuplicateTypes: two lists of one type attached to a GT (only
// possible behind the API's back) both answer, in list id order.
func TestLookupDuplicateTypes(t *testing.T) {
	t.Parallel()
	rd, p := primaryReader(t, testDB(t))
	r := newSeed(t, p)
	gt := r.gt("GT", r.status("unlocked"), nil)
	typ := r.ptype("Beam")
	first, _ := r.list(typ, &gt)
	second, _ := r.list(typ, &gt)
	r.iov(&second, "second", pt(0, 0))
	r.iov(&first, "first", pt(0, 0))
	got, err := rd.Lookup(context.Background(), "GT", pt(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if urls := lookupURLs(got); !slices.Equal(urls, []string{"Beam:first", "Beam:second"}) {
		t.Errorf("Lookup = %v, want first then second", urls)
	}
}

func lookupRowEqual(a, b condcache.LookupRow) bool {
	eq := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqs := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.PayloadType == b.PayloadType && a.PayloadURL == b.PayloadURL && a.Checksum == b.Checksum &&
		eq(a.Size, b.Size) && a.Start == b.Start && a.End == b.End && eqs(a.Revision, b.Revision)
}

// BenchmarkReaderLookup measures one lookup of a GT with 20 lists of 1000
// IOVs each on the primary (loopback), the statement already prepared.
func BenchmarkReaderLookup(b *testing.B) {
	rd, p := primaryReader(b, testDB(b))
	r := newSeed(b, p)
	gt := r.gt("GT", r.status("unlocked"), nil)
	for i := range 20 {
		list, _ := r.list(r.ptype("T"+string(rune('a'+i))), &gt)
		r.exec(`INSERT INTO "PayloadIOV" (payload_url, checksum, major_iov, minor_iov, major_iov_end,
				minor_iov_end, created, updated, comb_iov, payload_list_id)
			SELECT 'u' || n, 'c', n, 0, n + 1, 0, now(), now(), n, $1 FROM generate_series(1, 1000) n`, list)
	}
	r.exec(`VACUUM ANALYZE "PayloadIOV"`)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rows, err := rd.Lookup(ctx, "GT", pt(int64(i%1000)+1, 0))
		if err != nil || len(rows) != 20 {
			b.Fatalf("Lookup: %d rows, %v", len(rows), err)
		}
	}
}
