package sql_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// randomLists seeds GT with lists shaped like real ones, at random: equal
// starts, NULL comb_iov, a comb_iov that disagrees with the start (written
// behind the API's back), negative points and points near MaxInt64, an
// empty list, two lists of one type, a detached list.
func randomLists(r *seed, rng *rand.Rand, gt int64) {
	types := []int64{r.ptype("Tz"), r.ptype("Ta"), r.ptype("Tm"), r.ptype("Tb")}
	lists := make([]int64, 0, 6)
	for _, t := range append(types, types[1]) {
		l, _ := r.list(t, &gt)
		lists = append(lists, l)
	}
	r.list(types[2], &gt) // attached, empty
	detached, _ := r.list(types[0], nil)
	lists = append(lists, detached)
	for li, l := range lists {
		for n := range rng.IntN(25) {
			start := randomPoint(rng)
			url := fmt.Sprintf("l%d-%d", li, n)
			var o []iovOpt
			switch rng.IntN(10) {
			case 0:
				o = append(o, withComb(nil))
			case 1:
				c := randomPoint(rng).CombIOV()
				o = append(o, withComb(&c))
			case 2:
				o = append(o, withSize(rng.Int64N(1<<30)), withExtra(fmt.Sprintf("rev%d", n)))
			}
			if rng.IntN(4) == 0 {
				o = append(o, withEnd(randomPoint(rng)))
			}
			r.iov(&l, url, start, o...)
		}
	}
}

// randomPoint draws from few values, so that starts collide and lookups
// land on them exactly.
func randomPoint(rng *rand.Rand) condcache.Point {
	majors := []int64{-3, -1, 0, 1, 2, 5, 7, 100, math.MaxInt64 - 1, math.MaxInt64}
	minors := []int64{0, 0, 0, 1, 2, math.MaxInt64 - 1, math.MaxInt64}
	return pt(majors[rng.IntN(len(majors))], minors[rng.IntN(len(minors))])
}

func sameLookup(t *testing.T, what string, at condcache.Point, got, want condcache.LookupResult) {
	t.Helper()
	got.Source, want.Source = "", ""
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s at %v:\n got %+v\nwant %+v", what, at, got, want)
	}
}

// TestGTIndexMatchesSQL: the GT index gives, for random points over
// random data, exactly lookupSQL's answer: rows, window and its bounding
// points, status, generation, notices.
func TestGTIndexMatchesSQL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for seedN := range uint64(4) {
		t.Run(fmt.Sprint(seedN), func(t *testing.T) {
			t.Parallel()
			p := primaryPool(t, testDB(t))
			rng := rand.New(rand.NewPCG(seedN, 17))
			r := newSeed(t, p)
			gt := r.gt("GT", r.status("unlocked"), nil)
			randomLists(r, rng, gt)
			sqlReader := cdbsql.NewReader(p, nil, cdbsql.ReaderOptions{})
			idxReader := cdbsql.NewReader(p, nil, cdbsql.ReaderOptions{GTIndexBytes: 64 << 20})
			if ok, err := idxReader.BuildGTIndex(ctx, "GT"); !ok || err != nil {
				t.Fatalf("BuildGTIndex = %v, %v", ok, err)
			}
			points := []condcache.Point{pt(math.MinInt64, math.MinInt64), pt(math.MaxInt64, math.MaxInt64), pt(math.MaxInt64, 0)}
			for range 300 {
				points = append(points, randomPoint(rng))
			}
			for _, at := range points {
				want, err := sqlReader.LookupAt(ctx, "GT", at, condcache.Freshness{Latest: true})
				if err != nil {
					t.Fatal(err)
				}
				got, ok := idxReader.LookupFromGTIndex("GT", at)
				if !ok {
					t.Fatal("no GT index")
				}
				sameLookup(t, "index", at, got, want)
				for _, need := range []condcache.Freshness{{Latest: true}, {MinGeneration: want.Generation}, {}} {
					got, err := idxReader.LookupAt(ctx, "GT", at, need)
					if err != nil {
						t.Fatal(err)
					}
					sameLookup(t, fmt.Sprintf("LookupAt(%+v)", need), at, got, want)
				}
			}
		})
	}
}

// TestGTIndexFollowsWrites: a lookup asking for the latest state sees a
// write at once (the index is of an older generation, so SQL answers),
// one asking for a generation newer than the index's is not answered from
// it, and the index catches up by itself.
func TestGTIndexFollowsWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := primaryPool(t, testDB(t))
	r := newSeed(t, p)
	gt := r.gt("GT", r.status("unlocked"), nil)
	list, _ := r.list(r.ptype("Beam"), &gt)
	r.iov(&list, "old", pt(1, 0))
	rd := cdbsql.NewReader(p, nil, cdbsql.ReaderOptions{GTIndexBytes: 64 << 20})
	if _, err := rd.BuildGTIndex(ctx, "GT"); err != nil {
		t.Fatal(err)
	}
	before := rd.GTIndexGeneration("GT")
	url := func(need condcache.Freshness) string {
		t.Helper()
		res, err := rd.LookupAt(ctx, "GT", pt(5, 0), need)
		if err != nil || len(res.Rows) != 1 {
			t.Fatalf("LookupAt = %+v, %v", res, err)
		}
		return res.Rows[0].PayloadURL
	}
	if got := url(condcache.Freshness{Latest: true}); got != "old" {
		t.Fatalf("before the write: %s", got)
	}
	r.iov(&list, "new", pt(2, 0))
	if got := url(condcache.Freshness{Latest: true}); got != "new" {
		t.Errorf("latest after the write: %s, want new", got)
	}
	if got := url(condcache.Freshness{MinGeneration: before + 1}); got != "new" {
		t.Errorf("MinGeneration above the index's: %s, want new", got)
	}
	// The index of the old generation still answers a caller that asks
	// for no more than it (as a replica at that generation would).
	if got := url(condcache.Freshness{MinGeneration: before}); got != "old" && got != "new" {
		t.Errorf("MinGeneration of the index: %s", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for rd.GTIndexGeneration("GT") == before {
		if time.Now().After(deadline) {
			t.Fatal("the GT index was not rebuilt after the write")
		}
		url(condcache.Freshness{Latest: true})
		time.Sleep(50 * time.Millisecond)
	}
	if got, ok := rd.LookupFromGTIndex("GT", pt(5, 0)); !ok || len(got.Rows) != 1 || got.Rows[0].PayloadURL != "new" {
		t.Errorf("rebuilt index: %+v", got)
	}
	// A status change bumps the generation: the latest state shows it.
	r.exec(`UPDATE "GlobalTag" SET status_id = $1 WHERE id = $2`, r.status("locked"), gt)
	res, err := rd.LookupAt(ctx, "GT", pt(5, 0), condcache.Freshness{Latest: true})
	if err != nil || res.Status != "locked" {
		t.Errorf("after the status change: %q, %v", res.Status, err)
	}
}

// TestGTIndexMemoryBound: a GT larger than the bound is not indexed, and
// its lookups stay on SQL.
func TestGTIndexMemoryBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := primaryPool(t, testDB(t))
	r := newSeed(t, p)
	gt := r.gt("GT", r.status("unlocked"), nil)
	list, _ := r.list(r.ptype("Beam"), &gt)
	for i := range 20 {
		r.iov(&list, fmt.Sprintf("iov%d", i), pt(int64(i), 0))
	}
	rd := cdbsql.NewReader(p, nil, cdbsql.ReaderOptions{GTIndexBytes: 1000})
	if _, err := rd.BuildGTIndex(ctx, "GT"); err == nil {
		t.Fatal("an index over the bound was built")
	}
	res, err := rd.LookupAt(ctx, "GT", pt(5, 0), condcache.Freshness{Latest: true})
	if err != nil || len(res.Rows) != 1 || res.Rows[0].PayloadURL != "iov5" {
		t.Fatalf("LookupAt = %+v, %v", res, err)
	}
	time.Sleep(200 * time.Millisecond) // the background build gives up
	if g := rd.GTIndexGeneration("GT"); g != 0 {
		t.Errorf("index of generation %d held over the bound", g)
	}
}

// TestGTIndexBuiltByLookups: a GT's index is built in the background once
// it has been looked up a few times by SQL, not on its first lookup.
func TestGTIndexBuiltByLookups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := primaryPool(t, testDB(t))
	r := newSeed(t, p)
	gt := r.gt("GT", r.status("unlocked"), nil)
	list, _ := r.list(r.ptype("Beam"), &gt)
	r.iov(&list, "a", pt(1, 0))
	rd := cdbsql.NewReader(p, nil, cdbsql.ReaderOptions{GTIndexBytes: 64 << 20})
	lookup := func() {
		t.Helper()
		if res, err := rd.LookupAt(ctx, "GT", pt(5, 0), condcache.Freshness{Latest: true}); err != nil || len(res.Rows) != 1 {
			t.Fatalf("LookupAt = %+v, %v", res, err)
		}
	}
	lookup()
	time.Sleep(100 * time.Millisecond)
	if g := rd.GTIndexGeneration("GT"); g != 0 {
		t.Fatalf("index of generation %d after one lookup", g)
	}
	deadline := time.Now().Add(10 * time.Second)
	for rd.GTIndexGeneration("GT") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no GT index after repeated lookups")
		}
		lookup()
		time.Sleep(20 * time.Millisecond)
	}
	// Unknown GTs are never indexed.
	for range 10 {
		if res, err := rd.LookupAt(ctx, "nope", pt(5, 0), condcache.Freshness{Latest: true}); err != nil || res.Found {
			t.Fatalf("unknown GT: %+v, %v", res, err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if g := rd.GTIndexGeneration("nope"); g != 0 {
		t.Errorf("an unknown GT has an index of generation %d", g)
	}
}
