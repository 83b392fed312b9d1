package sql_test

import (
	"context"
	"slices"
	"testing"

	"github.com/condcache/condcache"
)

func TestPayloadTypes(t *testing.T) {
	t.Parallel()
	rd, p := primaryReader(t, testDB(t))
	r := newSeed(t, p)
	ids := []int64{r.ptype("Zeta"), r.ptype("Alpha")}
	got, err := rd.PayloadTypes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != ids[0] || got[0].Name != "Zeta" || got[1].Name != "Alpha" || got[1].Created.IsZero() {
		t.Errorf("PayloadTypes = %+v, want by id", got)
	}
}

func TestPayloadLists(t *testing.T) {
	t.Parallel()
	rd, p := primaryReader(t, testDB(t))
	r := newSeed(t, p)
	f := newGTFixture(r)
	ctx := context.Background()

	all, err := rd.PayloadLists(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every list, detached included, by id, each with its attached IOVs.
	var got []string
	for _, l := range all {
		gt := "-"
		if l.GlobalTag != nil {
			gt = *l.GlobalTag
		}
		s := l.Name + "@" + gt + ":"
		for _, v := range l.PayloadIOVs {
			s += " " + v.PayloadURL
		}
		got = append(got, s)
	}
	detached := f.beam + 1 // the fixture's next list
	want := []string{
		"CEMC_" + itoa(f.cemc) + "@Full:",
		"Beam_" + itoa(f.beam) + "@Full: b20 b0 b1000",
		"Beam_" + itoa(detached) + "@-: in-detached-list",
	}
	if !slices.Equal(got, want) {
		t.Errorf("PayloadLists = %q, want %q", got, want)
	}

	// By id: numeric foreign keys (and names).
	l, err := rd.PayloadListByID(ctx, f.beam)
	if err != nil {
		t.Fatal(err)
	}
	beamType := r.id(`SELECT id FROM "PayloadType" WHERE name = 'Beam'`)
	if l.Name != "Beam_"+itoa(f.beam) || l.GlobalTagID == nil || *l.GlobalTagID != f.full ||
		l.PayloadTypeID != beamType || l.PayloadType != "Beam" || l.Created.IsZero() || l.Description != nil {
		t.Errorf("PayloadListByID = %+v", l)
	}
	d, err := rd.PayloadListByID(ctx, detached)
	if err != nil || d.GlobalTagID != nil || d.GlobalTag != nil {
		t.Errorf("detached PayloadListByID = %+v, %v", d, err)
	}
	_, err = rd.PayloadListByID(ctx, detached+1)
	wantCode(t, err, condcache.ENotFound, "Not found.")

	// By name: with the count of attached IOVs.
	s, err := rd.PayloadListByName(ctx, "Beam_"+itoa(f.beam))
	if err != nil || s.ID != f.beam || s.IOVCount != 3 || *s.GlobalTag != "Full" {
		t.Errorf("PayloadListByName = %+v, %v", s, err)
	}
	s, err = rd.PayloadListByName(ctx, "CEMC_"+itoa(f.cemc))
	if err != nil || s.IOVCount != 0 {
		t.Errorf("empty PayloadListByName = %+v, %v", s, err)
	}
	_, err = rd.PayloadListByName(ctx, "Beam")
	wantCode(t, err, condcache.ENotFound, "Not found.")
}

func TestPayloadIOVs(t *testing.T) {
	t.Parallel()
	rd, p := primaryReader(t, testDB(t))
	r := newSeed(t, p)
	f := newGTFixture(r)
	null := r.iov(nil, "null-comb", pt(-5, 1), withComb(nil), withSize(7), withExtra("x"))
	ctx := context.Background()

	all, err := rd.PayloadIOVs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, v := range all {
		urls = append(urls, v.PayloadURL)
	}
	// Every IOV, attached or not, by id.
	if want := []string{"b20", "b0", "b1000", "in-detached-list", "detached", "null-comb"}; !slices.Equal(urls, want) {
		t.Errorf("PayloadIOVs = %v, want %v", urls, want)
	}

	v, err := rd.PayloadIOVByID(ctx, f.iovs[1])
	if err != nil {
		t.Fatal(err)
	}
	if v.PayloadURL != "b0" || v.End != pt(0, 20) || *v.PayloadList != "Beam_"+itoa(f.beam) ||
		*v.CombIOV != "0.0000000000000000000" || v.Created.IsZero() || !v.Created.Equal(v.Updated) {
		t.Errorf("PayloadIOVByID = %+v", v)
	}
	v, err = rd.PayloadIOVByID(ctx, null)
	if err != nil || v.CombIOV != nil || v.PayloadList != nil || v.PayloadListID != nil ||
		v.Start != pt(-5, 1) || *v.Size != 7 || *v.Extra != "x" {
		t.Errorf("detached IOV with NULL comb_iov = %+v, %v", v, err)
	}
	_, err = rd.PayloadIOVByID(ctx, null+1)
	wantCode(t, err, condcache.ENotFound, "Not found.")
}

// TestNegativeCombIOVText: comb_iov keeps its exact text for negatives.
func TestNegativeCombIOVText(t *testing.T) {
	t.Parallel()
	rd, p := primaryReader(t, testDB(t))
	id := newSeed(t, p).iov(nil, "neg", pt(-5, 1))
	v, err := rd.PayloadIOVByID(context.Background(), id)
	if err != nil || *v.CombIOV != "-4.9999999999999999999" {
		t.Errorf("comb_iov = %v, %v; want -4.9999999999999999999", v.CombIOV, err)
	}
}
