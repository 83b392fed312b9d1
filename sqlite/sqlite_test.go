package sqlite

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/condcache/condcache"
)

// fakeSource is an ExportSource over lists in memory: one list per type,
// the types' lists in name order. retries makes it Begin that many times
// more, sending part of the data before each, as a read retried on another
// backend does.
type fakeSource struct {
	h       condcache.ExportHeader
	iovs    map[int64][]condcache.PayloadIOV
	next    map[int64]*condcache.IOVStart
	retries int
}

func (f *fakeSource) ExportGlobalTag(ctx context.Context, name string, r condcache.ExportRange, limit int64, sink condcache.ExportSink) error {
	if name != f.h.GlobalTag.Name {
		return condcache.Errorf(condcache.ENotFound, "GlobalTag %s not found.", name)
	}
	if limit > 0 && f.h.IOVs > limit {
		return condcache.Errorf(condcache.EInvalid, "too many")
	}
	for range f.retries {
		if err := sink.Begin(f.h); err != nil {
			return err
		}
		l := f.h.Lists[0]
		if err := sink.List(l, f.iovs[l.ID], nil); err != nil {
			return err
		}
	}
	if err := sink.Begin(f.h); err != nil {
		return err
	}
	for _, l := range f.h.Lists {
		if err := sink.List(l, f.iovs[l.ID], f.next[l.ID]); err != nil {
			return err
		}
	}
	return nil
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// newFake builds types × iovs IOVs: random starts (with equal starts and
// subruns), some closed ends, sizes and revisions, one IOV without
// comb_iov per list.
func newFake(types, iovs int, seed uint64) *fakeSource {
	rng := rand.New(rand.NewPCG(seed, 1))
	desc := "a \"quoted\" description ü"
	author := "au'thor"
	status := condcache.GlobalTagStatus{ID: 2, Name: "locked", Created: t0}
	f := &fakeSource{iovs: map[int64][]condcache.PayloadIOV{}, next: map[int64]*condcache.IOVStart{}}
	gtID := int64(7)
	gtName := "G 👍 'x'"
	f.h = condcache.ExportHeader{
		GlobalTag:  condcache.GlobalTag{ID: gtID, Name: gtName, Author: &author, Description: &desc, Status: status, Created: t0, Updated: t0.Add(time.Second)},
		Generation: 42,
		Statuses:   []condcache.GlobalTagStatus{{ID: 1, Name: "unlocked", Created: t0}, status},
	}
	id := int64(1)
	for k := range types {
		tname := fmt.Sprintf("type %02d é", k)
		pt := condcache.PayloadType{ID: int64(100 + k), Name: tname, Created: t0}
		f.h.Types = append(f.h.Types, pt)
		l := condcache.PayloadList{ID: int64(1000 + k), Name: fmt.Sprintf("%s_%d", tname, 1000+k), GlobalTagID: &gtID, GlobalTag: &gtName,
			PayloadTypeID: pt.ID, PayloadType: tname, Created: t0, Updated: t0}
		f.h.Lists = append(f.h.Lists, l)
		for i := range iovs {
			s := condcache.Point{Major: int64(rng.IntN(iovs * 3)), Minor: int64(rng.IntN(3))}
			e := condcache.OpenEnd
			if rng.IntN(3) == 0 {
				e = condcache.Point{Major: s.Major + int64(rng.IntN(5)), Minor: s.Minor + 1}
			}
			x := condcache.PayloadIOV{ID: id, PayloadURL: fmt.Sprintf("/p/%d/%d.root", k, i), Checksum: fmt.Sprintf("%x", id),
				Start: s, End: e, PayloadListID: &l.ID, PayloadList: &l.Name, Created: t0.Add(time.Duration(id) * time.Microsecond), Updated: t0}
			if i%4 != 0 {
				size := int64(i * 100)
				x.Size = &size
			}
			if i%5 == 0 {
				rev := fmt.Sprintf("rev-%d", id)
				x.Extra = &rev
			}
			if i != 3 {
				c := s.CombIOV()
				x.CombIOV = &c
			}
			f.iovs[l.ID] = append(f.iovs[l.ID], x)
			id++
		}
		f.h.IOVs += int64(iovs)
	}
	return f
}

func (f *fakeSource) lists() map[string][]condcache.PayloadIOV {
	out := map[string][]condcache.PayloadIOV{}
	for _, l := range f.h.Lists {
		out[l.PayloadType] = f.iovs[l.ID]
	}
	return out
}

func export(t testing.TB, f *fakeSource, r condcache.ExportRange) (string, condcache.ExportInfo) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.sqlite")
	info, err := (&Exporter{Source: f}).Export(context.Background(), f.h.GlobalTag.Name, r, path,
		condcache.ExportMeta{Source: "test", Version: "v0", IOVMode: condcache.ModeContinuous})
	if err != nil {
		t.Fatal(err)
	}
	return path, info
}

// TestExportRoundTrip: a whole export answers lookups as the domain's
// lookup over the same lists, at every start and around it, windows
// included; its digest is the range digest of every point; a retried
// source leaves no duplicate.
func TestExportRoundTrip(t *testing.T) {
	f := newFake(5, 60, 1)
	f.retries = 2
	path, info := export(t, f, condcache.ExportRange{Whole: true})
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	in := r.Info()
	if in.GlobalTag != f.h.GlobalTag.Name || in.Generation != 42 || in.Status != "locked" || in.IOVs != 300 || !in.Range.Whole ||
		in.Digest != info.Digest || in.Source != "test" || in.Version != "v0" || in.IOVMode != condcache.ModeContinuous {
		t.Errorf("Info %+v, export %+v", in, info)
	}
	lists := f.lists()
	_, want := condcache.ResolveRange(lists, condcache.Point{Major: math.MinInt64, Minor: math.MinInt64}, condcache.OpenEnd, condcache.ResolveOptions{})
	if info.Digest != want {
		t.Errorf("digest %s, want %s", info.Digest, want)
	}
	iovs, err := r.PayloadIOVs(ctx)
	if err != nil || len(iovs) != 300 {
		t.Fatalf("PayloadIOVs: %d, %v", len(iovs), err)
	}
	for _, x := range iovs {
		want := f.iovs[*x.PayloadListID][x.ID-f.iovs[*x.PayloadListID][0].ID]
		if !reflect.DeepEqual(x, want) {
			t.Fatalf("IOV %d:\n got %+v\nwant %+v", x.ID, x, want)
		}
	}
	var points []condcache.Point
	for _, ivs := range lists {
		for _, x := range ivs {
			points = append(points, x.Start, condcache.Point{Major: x.Start.Major, Minor: x.Start.Minor - 1}, condcache.Point{Major: x.Start.Major + 1})
		}
	}
	for _, p := range points {
		res, err := r.LookupAt(ctx, f.h.GlobalTag.Name, p, condcache.Freshness{})
		if err != nil {
			t.Fatal(err)
		}
		rows, w := condcache.LookupIn(lists, p)
		if !res.Found || res.Generation != 42 || !slices.EqualFunc(res.Rows, rows, func(a, b condcache.LookupRow) bool { return reflect.DeepEqual(a, b) }) || res.Window != w {
			t.Fatalf("lookup at %v:\n got %+v %+v\nwant %+v %+v", p, res.Rows, res.Window, rows, w)
		}
	}
	if res, err := r.LookupAt(ctx, "other", condcache.Point{}, condcache.Freshness{}); err != nil || res.Found || len(res.Rows) != 0 {
		t.Errorf("lookup of another GT: %+v %v", res, err)
	}
	gt, err := r.GlobalTagByName(ctx, f.h.GlobalTag.Name)
	if err != nil || !reflect.DeepEqual(gt.GlobalTag, f.h.GlobalTag) || len(gt.PayloadLists) != 5 {
		t.Errorf("GlobalTagByName: %+v %v", gt.GlobalTag, err)
	}
	if _, err := r.GlobalTagByID(ctx, 8); condcache.ErrorCodeOf(err) != condcache.ENotFound {
		t.Errorf("GlobalTagByID of another id: %v", err)
	}
}

// TestExportRange: a ranged export holds what a range read gives, answers
// lookups inside the range as the whole lists do (windows at its edges
// too, from the list's next start), and refuses points outside.
func TestExportRange(t *testing.T) {
	f := newFake(4, 80, 2)
	from, to := condcache.Point{Major: 60}, condcache.Point{Major: 120, Minor: 1}
	lists := f.lists()
	// What the range holds, and each list's first start after it.
	sub := newFake(4, 80, 2)
	for _, l := range sub.h.Lists {
		all := sub.iovs[l.ID]
		var keep []condcache.PayloadIOV
		var at *condcache.PayloadIOV
		var next *condcache.PayloadIOV
		for i := range all {
			x := &all[i]
			if x.CombIOV == nil {
				continue
			}
			switch k := x.Start; {
			case !to.Less(k) && from.Less(k):
				keep = append(keep, *x)
			case !from.Less(k):
				if at == nil || at.Start.Less(k) || at.Start == k && at.ID < x.ID {
					at = x
				}
			default:
				if next == nil || k.Less(next.Start) || k == next.Start && x.ID < next.ID {
					next = x
				}
			}
		}
		if at != nil {
			keep = append(keep, *at)
		}
		slices.SortFunc(keep, func(a, b condcache.PayloadIOV) int { return int(a.ID - b.ID) })
		sub.iovs[l.ID] = keep
		if next != nil {
			sub.next[l.ID] = &condcache.IOVStart{Start: next.Start, CombIOV: *next.CombIOV}
		}
	}
	path, info := export(t, sub, condcache.ExportRange{From: from, To: to})
	_, want := condcache.ResolveRange(lists, from, to, condcache.ResolveOptions{})
	if info.Digest != want {
		t.Errorf("ranged digest %s, want %s", info.Digest, want)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	for m := from.Major; m <= to.Major; m++ {
		for _, p := range []condcache.Point{{Major: m}, {Major: m, Minor: 1}, {Major: m, Minor: 2}} {
			if to.Less(p) {
				continue
			}
			res, err := r.LookupAt(ctx, f.h.GlobalTag.Name, p, condcache.Freshness{})
			if err != nil {
				t.Fatal(err)
			}
			rows, w := condcache.LookupIn(lists, p)
			if !reflect.DeepEqual(res.Rows, rows) && len(rows)+len(res.Rows) > 0 || res.Window != w {
				t.Fatalf("lookup at %v:\n got %+v %+v\nwant %+v %+v", p, res.Rows, res.Window, rows, w)
			}
		}
	}
	for _, p := range []condcache.Point{{Major: 59, Minor: 99}, {Major: 120, Minor: 2}} {
		if _, err := r.LookupAt(ctx, f.h.GlobalTag.Name, p, condcache.Freshness{}); condcache.ErrorCodeOf(err) != condcache.ENotFound {
			t.Errorf("lookup at %v outside the range: %v", p, err)
		}
	}
	got, err := r.RangeAt(ctx, f.h.GlobalTag.Name, from, to, 1000, condcache.Freshness{})
	if err != nil {
		t.Fatal(err)
	}
	if _, d := condcache.ResolveRange(got.Lists, from, to, condcache.ResolveOptions{}); d != want {
		t.Errorf("RangeAt's digest %s, want %s", d, want)
	}
	if _, err := r.RangeAt(ctx, f.h.GlobalTag.Name, from, to, 3, condcache.Freshness{}); condcache.ErrorCodeOf(err) != condcache.EInvalid {
		t.Errorf("RangeAt over its limit: %v", err)
	}
}

// TestReaderIsReadOnly: the file is opened read-only; a write fails and
// changes nothing.
func TestReaderIsReadOnly(t *testing.T) {
	path, _ := export(t, newFake(1, 3, 3), condcache.ExportRange{Whole: true})
	before, _ := os.ReadFile(path)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.Exec(`DELETE FROM "PayloadIOV"`); err == nil {
		t.Error("a delete went through")
	}
	r.Close()
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("the file changed")
	}
}

// TestOpenRefuses: a file that is not an export, or is of a later schema
// version, is refused.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("not a database at all, not at all"), 0o644)
	if _, err := Open(junk); err == nil {
		t.Error("opened junk")
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil {
		t.Error("opened a missing file")
	}
	path, _ := export(t, newFake(1, 3, 4), condcache.ExportRange{Whole: true})
	db, err := open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE condcache_export SET value = '99' WHERE key = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(path); err == nil {
		t.Error("opened schema version 99")
	}
}

// BenchmarkExportWrite measures the SQLite side of an export alone: 100
// lists of 1,000 IOVs (the sphenix preset's shape) from memory into a file.
func BenchmarkExportWrite(b *testing.B) {
	f := newFake(100, 1000, 5)
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "x.sqlite")
		if _, err := (&Exporter{Source: f}).Export(context.Background(), f.h.GlobalTag.Name, condcache.ExportRange{Whole: true}, path, condcache.ExportMeta{}); err != nil {
			b.Fatal(err)
		}
		os.Remove(path)
	}
	b.ReportMetric(float64(f.h.IOVs)*float64(b.N)/b.Elapsed().Seconds(), "IOVs/s")
}
