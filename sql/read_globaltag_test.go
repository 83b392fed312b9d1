package sql_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/condcache/condcache"
)

// gtFixture: GT "Full" with two lists (one of them empty), a detached list
// and detached IOVs around it, and GT "Empty" with nothing.
type gtFixture struct {
	unlocked, locked int64
	full, empty      int64
	beam, cemc       int64 // lists of Full
	iovs             []int64
}

func newGTFixture(r *seed) gtFixture {
	var f gtFixture
	f.unlocked = r.status("unlocked")
	r.exec(`UPDATE "GlobalTagStatus" SET description = 'may change' WHERE id = $1`, f.unlocked)
	f.locked = r.status("locked")
	f.full = r.gt("Full", f.locked, ptr("admin"))
	f.empty = r.gt("Empty", f.unlocked, nil)
	beam, cemc := r.ptype("Beam"), r.ptype("CEMC")
	f.cemc, _ = r.list(cemc, &f.full)
	f.beam, _ = r.list(beam, &f.full)
	// Inserted out of id order within the list on purpose: (0,20) first.
	f.iovs = append(f.iovs,
		r.iov(&f.beam, "b20", pt(0, 20)),
		r.iov(&f.beam, "b0", pt(0, 0), withEnd(pt(0, 20))),
		r.iov(&f.beam, "b1000", pt(0, 1000), withComb(ptr("0.0000000000000001000"))))
	detached, _ := r.list(beam, nil)
	r.iov(&detached, "in-detached-list", pt(0, 0))
	r.iov(nil, "detached", pt(0, 0))
	return f
}

func TestGlobalTagByName(t *testing.T) {
	t.Parallel()
	rd, p := primaryReader(t, testDB(t))
	r := newSeed(t, p)
	f := newGTFixture(r)
	ctx := context.Background()

	g, err := rd.GlobalTagByName(ctx, "Full")
	if err != nil {
		t.Fatal(err)
	}
	if g.ID != f.full || g.Name != "Full" || g.Author == nil || *g.Author != "admin" ||
		g.Status.ID != f.locked || g.Status.Name != "locked" || g.Status.Description != nil {
		t.Errorf("GT = %+v", g.GlobalTag)
	}
	// Timestamps come back in UTC with their microseconds.
	if g.Created.Location() != time.UTC || g.Created.Nanosecond()%1000 != 0 || g.Created.Nanosecond() == 0 {
		t.Errorf("created = %v, want UTC with microseconds", g.Created)
	}
	var wantCreated time.Time
	if err := p.QueryRow(ctx, `SELECT created FROM "GlobalTag" WHERE id = $1`, f.full).Scan(&wantCreated); err != nil {
		t.Fatal(err)
	}
	if !g.Created.Equal(wantCreated) || !g.Updated.Equal(wantCreated) {
		t.Errorf("created/updated = %v/%v, want %v", g.Created, g.Updated, wantCreated)
	}

	// Attached lists by id; the empty one has no IOVs; IOVs by id.
	if len(g.PayloadLists) != 2 || g.PayloadLists[0].ID != f.cemc || g.PayloadLists[1].ID != f.beam {
		t.Fatalf("lists = %+v, want [%d %d]", g.PayloadLists, f.cemc, f.beam)
	}
	if n := len(g.PayloadLists[0].PayloadIOVs); n != 0 {
		t.Errorf("empty list has %d IOVs", n)
	}
	beam := g.PayloadLists[1]
	if beam.Name != "Beam_"+itoa(f.beam) || beam.GlobalTag == nil || *beam.GlobalTag != "Full" ||
		beam.PayloadType != "Beam" || *beam.GlobalTagID != f.full {
		t.Errorf("list = %+v", beam.PayloadList)
	}
	var ids []int64
	for _, v := range beam.PayloadIOVs {
		ids = append(ids, v.ID)
	}
	if !slices.Equal(ids, f.iovs) {
		t.Errorf("IOV ids = %v, want %v (attached only, by id)", ids, f.iovs)
	}
	b20, b1000 := beam.PayloadIOVs[0], beam.PayloadIOVs[2]
	if b20.PayloadURL != "b20" || b20.Checksum != "ck-b20" || b20.Start != pt(0, 20) || b20.End != condcache.OpenEnd ||
		b20.PayloadList == nil || *b20.PayloadList != beam.Name || *b20.PayloadListID != f.beam ||
		b20.CombIOV == nil || *b20.CombIOV != "0.0000000000000000020" || b20.Size != nil || b20.Extra != nil {
		t.Errorf("IOV = %+v", b20)
	}
	if *b1000.CombIOV != "0.0000000000000001000" {
		t.Errorf("comb_iov = %q, want the 19 digits as stored", *b1000.CombIOV)
	}

	byID, err := rd.GlobalTagByID(ctx, f.full)
	if err != nil {
		t.Fatal(err)
	}
	if byID.Name != "Full" || len(byID.PayloadLists) != 2 || len(byID.PayloadLists[1].PayloadIOVs) != 3 {
		t.Errorf("GlobalTagByID = %+v", byID)
	}

	e, err := rd.GlobalTagByName(ctx, "Empty")
	if err != nil || e.ID != f.empty || len(e.PayloadLists) != 0 || e.Status.Description == nil || *e.Status.Description != "may change" {
		t.Errorf("Empty GT = %+v, %v", e, err)
	}

	_, err = rd.GlobalTagByName(ctx, "full")
	wantCode(t, err, condcache.ENotFound, "Not found.")
	_, err = rd.GlobalTagByID(ctx, f.empty+100)
	wantCode(t, err, condcache.ENotFound, "Not found.")
}

func TestGlobalTags(t *testing.T) {
	t.Parallel()
	rd, p := primaryReader(t, testDB(t))
	ctx := context.Background()
	all, err := rd.GlobalTags(ctx)
	if err != nil || len(all) != 0 || all == nil {
		t.Fatalf("GlobalTags on an empty database = %#v, %v; want empty, not nil", all, err)
	}

	r := newSeed(t, p)
	f := newGTFixture(r)
	// A third GT whose list has a lower id than Full's lists: nesting must
	// not depend on list ids growing with GT ids.
	late := r.gt("Late", f.unlocked, nil)
	r.exec(`UPDATE "PayloadList" SET global_tag_id = $1 WHERE id = $2`, late, f.cemc)

	all, err = rd.GlobalTags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range all {
		s := g.Name + ":"
		for _, l := range g.PayloadLists {
			s += " " + l.Name + "(" + itoa(int64(len(l.PayloadIOVs))) + ")"
		}
		got = append(got, s)
	}
	want := []string{
		"Full: Beam_" + itoa(f.beam) + "(3)",
		"Empty:",
		"Late: CEMC_" + itoa(f.cemc) + "(0)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("GlobalTags = %q, want %q", got, want)
	}
}

func TestGlobalTagSummaries(t *testing.T) {
	t.Parallel()
	rd, p := primaryReader(t, testDB(t))
	f := newGTFixture(newSeed(t, p))
	ctx := context.Background()

	all, err := rd.GlobalTagSummaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("%d summaries, want 2", len(all))
	}
	// Detached lists and IOVs are not counted.
	full, empty := all[0], all[1]
	if full.ID != f.full || full.PayloadListCount != 2 || full.PayloadIOVCount != 3 || full.Status.Name != "locked" {
		t.Errorf("Full summary = %+v", full)
	}
	if empty.ID != f.empty || empty.PayloadListCount != 0 || empty.PayloadIOVCount != 0 {
		t.Errorf("Empty summary = %+v", empty)
	}

	s, err := rd.GlobalTagSummaryByName(ctx, "Full")
	if err != nil || s.ID != f.full || s.PayloadListCount != 2 || s.PayloadIOVCount != 3 || s.Author == nil {
		t.Errorf("GlobalTagSummaryByName = %+v, %v", s, err)
	}
	_, err = rd.GlobalTagSummaryByName(ctx, "nope")
	wantCode(t, err, condcache.ENotFound, "Not found.")
}

func TestGlobalTagPayloadLists(t *testing.T) {
	t.Parallel()
	rd, p := primaryReader(t, testDB(t))
	r := newSeed(t, p)
	f := newGTFixture(r)
	ctx := context.Background()

	// A second Beam list attached behind the API's back: highest id wins.
	beamType := r.id(`SELECT id FROM "PayloadType" WHERE name = 'Beam'`)
	_, newer := r.list(beamType, &f.full)
	got, err := rd.GlobalTagPayloadLists(ctx, "Full")
	if err != nil {
		t.Fatal(err)
	}
	want := []condcache.TypeList{{PayloadType: "Beam", PayloadList: newer}, {PayloadType: "CEMC", PayloadList: "CEMC_" + itoa(f.cemc)}}
	if !slices.Equal(got, want) {
		t.Errorf("GlobalTagPayloadLists = %v, want %v", got, want)
	}
	for _, gt := range []string{"Empty", "nope"} {
		got, err := rd.GlobalTagPayloadLists(ctx, gt)
		if err != nil || len(got) != 0 {
			t.Errorf("GlobalTagPayloadLists(%q) = %v, %v; want none", gt, got, err)
		}
	}
}

func TestGlobalTagStatuses(t *testing.T) {
	t.Parallel()
	rd, p := primaryReader(t, testDB(t))
	r := newSeed(t, p)
	ids := []int64{r.status("unlocked"), r.status("frozen"), r.status("a-custom-one")}
	got, err := rd.GlobalTagStatuses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []int64
	var names []string
	for _, s := range got {
		gotIDs, names = append(gotIDs, s.ID), append(names, s.Name)
		if s.Created.IsZero() || s.Created.Location() != time.UTC {
			t.Errorf("status created = %v", s.Created)
		}
	}
	if !slices.Equal(gotIDs, ids) || !slices.Equal(names, []string{"unlocked", "frozen", "a-custom-one"}) {
		t.Errorf("statuses = %v %v", gotIDs, names)
	}
}
