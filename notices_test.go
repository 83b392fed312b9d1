package condcache

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// noticeWorld is a random GT (lists shaped like real ones, IOV ids unique
// across lists, each list with its id) and random notices attached to its
// IOVs, types, lists, the GT itself or another GT, with or without a run
// range.
func noticeWorld(rng *rand.Rand, mode IOVMode) (map[string][]PayloadIOV, []Notice) {
	lists := randomLists(rng, mode)
	var iovs []PayloadIOV
	types := sortedTypes(lists)
	for ti, t := range types {
		listID := int64(1000 + ti)
		for i := range lists[t] {
			lists[t][i].ID += int64(ti) * 100_000
			lists[t][i].PayloadListID = &listID
			iovs = append(iovs, lists[t][i])
		}
	}
	probes := probePoints(allRows(lists)...)
	var ns []Notice
	for id := range 1 + rng.IntN(6) {
		n := Notice{ID: int64(id + 1), Importance: []Importance{Insignificant, Minor, Major, Critical}[rng.IntN(4)]}
		switch k := rng.IntN(5); {
		case k == 0 && len(iovs) > 0:
			n.IOVs = []int64{iovs[rng.IntN(len(iovs))].ID}
		case k == 1:
			n.PayloadTypes = []string{types[rng.IntN(len(types))]}
		case k == 2:
			n.ListIDs = []int64{int64(1000 + rng.IntN(len(types)))}
		case k == 3:
			n.GlobalTags = []string{"GT"}
		default:
			n.GlobalTags = []string{"other"}
			n.PayloadTypes = []string{"not-in-this-gt"}
		}
		if rng.IntN(2) == 0 && len(probes) > 0 {
			a, b := probes[rng.IntN(len(probes))], probes[rng.IntN(len(probes))]
			if b.Less(a) {
				a, b = b, a
			}
			n.Runs = &PointRange{From: a, To: b}
		}
		ns = append(ns, n)
	}
	return lists, ns
}

func answeringRows(rows []LookupRow) []AnsweringIOV {
	out := make([]AnsweringIOV, len(rows))
	for i, r := range rows {
		out[i] = AnsweringIOV{ID: r.ID, ListID: r.ListID, PayloadType: r.PayloadType}
	}
	return out
}

func noticeIDs(ns []Notice) []int64 {
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

// TestNoticesForRange: a range answer carries exactly the notices that
// apply to the compatible answer at some point of the range (checked at
// every point where either the answer or a notice's run range changes),
// in the order of SortNotices.
func TestNoticesForRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 9))
	for i := range 3000 {
		mode := []IOVMode{ModeContinuous, ModeDiscrete}[i%2]
		lists, notices := noticeWorld(rng, mode)
		probes := probePoints(allRows(lists)...)
		if len(probes) == 0 {
			continue
		}
		from, to := probes[rng.IntN(len(probes))], probes[rng.IntN(len(probes))]
		if to.Less(from) {
			from, to = to, from
		}
		points := []Point{from, to}
		for _, n := range notices {
			if n.Runs != nil {
				points = append(points, n.Runs.From, n.Runs.To)
			}
		}
		want := map[int64]bool{}
		for _, p := range append(points, probes...) {
			if p.Less(from) || to.Less(p) {
				continue
			}
			rows, _ := LookupIn(lists, p)
			for _, n := range ApplicableNotices(notices, "GT", answeringRows(rows), p, p) {
				want[n.ID] = true
			}
		}
		types, _ := ResolveRange(lists, from, to, ResolveOptions{Mode: mode})
		got := NoticesForRange(notices, "GT", types, from, to)
		if len(got) != len(want) || !slices.IsSortedFunc(got, func(a, b Notice) int {
			return -cmpImportance(a, b)
		}) {
			t.Fatalf("%s [%v, %v]: got notices %v, want %v\nnotices %+v", mode, from, to, noticeIDs(got), want, notices)
		}
		for _, n := range got {
			if !want[n.ID] {
				t.Fatalf("%s [%v, %v]: got notices %v, want %v\nnotices %s", mode, from, to, noticeIDs(got), want, describe(notices))
			}
		}
	}
}

func cmpImportance(a, b Notice) int { return int(a.Importance) - int(b.Importance) }

func describe(ns []Notice) string {
	var s string
	for _, n := range ns {
		s += fmt.Sprintf("\n  %d %s gts %v types %v lists %v iovs %v runs %+v", n.ID, n.Importance, n.GlobalTags, n.PayloadTypes, n.ListIDs, n.IOVs, n.Runs)
	}
	return s
}

// TestNoticeApplies pins the rule at one point: attached to the GT, a
// type, a list or an IOV of the answer, and the point inside the run
// range (both ends inclusive).
func TestNoticeApplies(t *testing.T) {
	rows := []AnsweringIOV{{ID: 7, ListID: 70, PayloadType: "tpc"}}
	at := Point{Major: 10}
	runs := func(a, b int64) *PointRange { return &PointRange{From: Point{Major: a}, To: Point{Major: b}} }
	for _, c := range []struct {
		n    Notice
		want bool
	}{
		{Notice{GlobalTags: []string{"GT"}}, true},
		{Notice{GlobalTags: []string{"other"}}, false},
		{Notice{PayloadTypes: []string{"tpc"}}, true},
		{Notice{PayloadTypes: []string{"emcal"}}, false},
		{Notice{ListIDs: []int64{70}}, true},
		{Notice{ListIDs: []int64{71}}, false},
		{Notice{IOVs: []int64{7}}, true},
		{Notice{IOVs: []int64{8}}, false},
		{Notice{IOVs: []int64{7}, Runs: runs(10, 10)}, true},
		{Notice{IOVs: []int64{7}, Runs: runs(5, 10)}, true},
		{Notice{IOVs: []int64{7}, Runs: runs(10, 20)}, true},
		{Notice{IOVs: []int64{7}, Runs: runs(11, 20)}, false},
		{Notice{GlobalTags: []string{"GT"}, Runs: runs(1, 9)}, false},
	} {
		if got := NoticeApplies(c.n, "GT", rows, at, at); got != c.want {
			t.Errorf("NoticeApplies(%+v) = %v, want %v", c.n, got, c.want)
		}
	}
}

// TestNarrowWindow: throughout the narrowed window of an answer, the
// compatible rows and the notices that apply are those at the point asked.
func TestNarrowWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 2))
	for i := range 3000 {
		mode := []IOVMode{ModeContinuous, ModeDiscrete}[i%2]
		lists, notices := noticeWorld(rng, mode)
		probes := probePoints(allRows(lists)...)
		for _, n := range notices {
			if n.Runs != nil {
				probes = append(probes, n.Runs.From, n.Runs.To)
				if q, ok := n.Runs.To.After(); ok {
					probes = append(probes, q)
				}
				if q, ok := n.Runs.From.Before(); ok {
					probes = append(probes, q)
				}
			}
		}
		if len(probes) == 0 {
			continue
		}
		at := probes[rng.IntN(len(probes))]
		rows, w := LookupIn(lists, at)
		NarrowWindow(&w, notices, "GT", answeringRows(rows), at)
		want := noticeIDs(ApplicableNotices(notices, "GT", answeringRows(rows), at, at))
		for _, q := range probes {
			k := q.CombKey()
			if string(k[:]) < string(w.From[:]) || string(k[:]) >= string(w.Until[:]) {
				continue
			}
			qrows, _ := LookupIn(lists, q)
			if got := noticeIDs(ApplicableNotices(notices, "GT", answeringRows(qrows), q, q)); !slices.Equal(got, want) {
				t.Fatalf("%s: at %v notices %v, at %v in its window [%v, %v) notices %v%s", mode, at, want, q, w.FromPoint, w.UntilPoint, got, describe(notices))
			}
		}
	}
}
