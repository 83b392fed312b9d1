package condcache

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

var checkModes = []IOVMode{ModeContinuous, ModeDiscrete}

func checkedList() PayloadList {
	gt := "GT"
	return PayloadList{ID: 7, Name: "Beam_7", GlobalTag: &gt, PayloadType: "Beam"}
}

// checkRow is an attached IOV with a correct comb_iov.
func checkRow(id int64, start, end Point) PayloadIOV {
	c := start.CombIOV()
	return PayloadIOV{ID: id, Start: start, End: end, CombIOV: &c}
}

// cleanList returns n IOVs with increasing starts, each ending at or
// before the next start (continuous) or before it (discrete), in shuffled
// order: a list without any state the check reports. Continuous lists use
// negative minors too, where comb_iov order and (major, minor) order
// differ from naive decimal text.
func cleanList(rng *rand.Rand, mode IOVMode, n int) []PayloadIOV {
	minMinor := int64(-3)
	if mode == ModeDiscrete {
		minMinor = 0
	}
	var starts []Point
	p := Point{rng.Int64N(3), minMinor + rng.Int64N(3)}
	for range n {
		starts = append(starts, p)
		if rng.IntN(3) == 0 {
			p = Point{p.Major + 1 + rng.Int64N(2), minMinor + rng.Int64N(5)}
		} else {
			p = Point{p.Major, p.Minor + 2 + rng.Int64N(3)}
		}
	}
	rows := make([]PayloadIOV, n)
	for i, s := range starts {
		end := OpenEnd
		if i+1 < n {
			end = starts[i+1] // continuous: ends where the next starts
			if mode == ModeDiscrete || rng.IntN(2) == 0 {
				end = Point{s.Major, s.Minor + 1} // a gap before the next start
			}
			if mode == ModeDiscrete && rng.IntN(3) == 0 {
				end = s // the one-point IOV
			}
		}
		rows[i] = checkRow(int64(100+i), s, end)
	}
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	return rows
}

// kindIDs renders findings as "kind ids" lines, sorted, for comparison.
func kindIDs(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf("%s %v", f.Kind, f.IDs)
	}
	slices.Sort(out)
	return out
}

func TestCheckListCleanListHasNoFinding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mode := range checkModes {
		for range 500 {
			rows := cleanList(rng, mode, 1+rng.IntN(12))
			if got := CheckList(mode, checkedList(), rows); len(got) != 0 {
				t.Fatalf("%s, clean list %v: findings %v", mode, rows, got)
			}
		}
	}
	if got := CheckTypes([]PayloadList{checkedList()}); len(got) != 0 {
		t.Fatalf("one list per type: %v", got)
	}
}

// byStart returns the rows of a clean list in (start, id) order.
func byStart(rows []PayloadIOV) []PayloadIOV {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, byStartThenID)
	return rows
}

// An injection changes a clean list (given in (start, id) order, at least
// two rows) into one with exactly one state; it returns the rows and the
// finding's expected ids, or ok false when the mode has no such state.
type injection func(mode IOVMode, rows []PayloadIOV, i int) (out []PayloadIOV, ids []int64, ok bool)

var injections = map[FindingKind]injection{
	FindingDuplicateStart: func(_ IOVMode, rows []PayloadIOV, i int) ([]PayloadIOV, []int64, bool) {
		twin := checkRow(999, rows[i].Start, rows[i].End)
		return append(rows, twin), []int64{rows[i].ID, twin.ID}, true
	},
	FindingOverlap: func(mode IOVMode, rows []PayloadIOV, i int) ([]PayloadIOV, []int64, bool) {
		i = min(i, len(rows)-2)
		next := rows[i+1].Start
		rows[i].End = Point{next.Major, next.Minor + 1}
		if mode == ModeDiscrete {
			rows[i].End = next // inclusive: reaching the next start is enough
		}
		return rows, []int64{rows[i].ID, rows[i+1].ID}, true
	},
	FindingZeroLength: func(mode IOVMode, rows []PayloadIOV, i int) ([]PayloadIOV, []int64, bool) {
		rows[i].End = rows[i].Start
		return rows, []int64{rows[i].ID}, mode != ModeDiscrete
	},
	FindingInverted: func(_ IOVMode, rows []PayloadIOV, i int) ([]PayloadIOV, []int64, bool) {
		rows[i].End = Point{rows[i].Start.Major, rows[i].Start.Minor - 1}
		return rows, []int64{rows[i].ID}, true
	},
	FindingNullCombIOV: func(_ IOVMode, rows []PayloadIOV, i int) ([]PayloadIOV, []int64, bool) {
		rows[i].CombIOV = nil
		return rows, []int64{rows[i].ID}, true
	},
	FindingCombIOVMismatch: func(_ IOVMode, rows []PayloadIOV, i int) ([]PayloadIOV, []int64, bool) {
		// One unit in the 19th fractional digit: float64 cannot see it.
		c := Point{rows[i].Start.Major, rows[i].Start.Minor + 1}.CombIOV()
		rows[i].CombIOV = &c
		return rows, []int64{rows[i].ID}, true
	},
}

func TestCheckListFindsEachInjectedState(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for kind, inject := range injections {
		for _, mode := range checkModes {
			for range 200 {
				rows := byStart(cleanList(rng, mode, 2+rng.IntN(8)))
				rows, ids, ok := inject(mode, rows, rng.IntN(len(rows)))
				got := CheckList(mode, checkedList(), rows)
				if !ok {
					if len(got) != 0 {
						t.Fatalf("%s: %s injected where the mode allows it: findings %v in %v", mode, kind, got, rows)
					}
					continue
				}
				if want := []string{fmt.Sprintf("%s %v", kind, ids)}; !slices.Equal(kindIDs(got), want) {
					t.Fatalf("%s: injected %s: findings %v, want %v, rows %v", mode, kind, got, want, rows)
				}
				f := got[0]
				if f.GlobalTag != "GT" || f.PayloadType != "Beam" || f.PayloadList != "Beam_7" {
					t.Fatalf("finding %+v is not labelled with its list", f)
				}
				for _, id := range ids {
					if !strings.Contains(f.Detail, fmt.Sprint(id)) {
						t.Fatalf("detail %q does not name IOV %d", f.Detail, id)
					}
				}
			}
		}
	}
}

func TestCheckListDetails(t *testing.T) {
	p := func(ma, mi int64) Point { return Point{ma, mi} }
	list := checkedList()
	cases := []struct {
		mode IOVMode
		rows []PayloadIOV
		want []string
	}{{
		ModeContinuous,
		[]PayloadIOV{checkRow(12, p(0, 100), p(0, 200)), checkRow(15, p(0, 100), p(0, 200))},
		[]string{"IOVs 12 and 15 both start at (0,100); lookups answer 15"},
	}, {
		ModeContinuous,
		[]PayloadIOV{checkRow(12, p(0, 100), p(0, 300)), checkRow(15, p(0, 200), OpenEnd)},
		[]string{"IOV 12 [(0,100), (0,300)) still holds at (0,200), where IOV 15 starts; lookups answer 15 from there"},
	}, {
		ModeContinuous,
		[]PayloadIOV{checkRow(12, p(0, 100), OpenEnd), checkRow(15, p(0, 200), OpenEnd)},
		[]string{"1 IOV is open-ended and holds only until the next start; this is how bulk loads store IOVs, and lookups answer the latest start"},
	}, {
		ModeContinuous,
		bulkRows(25),
		[]string{"24 IOVs are open-ended and each holds only until the next start (the first 20 listed); this is how bulk loads store IOVs, and lookups answer the latest start"},
	}, {
		ModeDiscrete,
		[]PayloadIOV{checkRow(12, p(0, 100), p(0, 200)), checkRow(15, p(0, 200), p(0, 200))},
		[]string{"IOV 12 [(0,100), (0,200)] still holds at (0,200), where IOV 15 starts; lookups answer 15 from there"},
	}, {
		ModeContinuous,
		[]PayloadIOV{checkRow(12, p(3, 0), p(2, 5))},
		[]string{"IOV 12 ends at (2,5), before it starts at (3,0)"},
	}, {
		ModeContinuous,
		[]PayloadIOV{checkRow(12, p(3, 0), p(3, 0))},
		[]string{"IOV 12 starts and ends at (3,0), so it holds at no point (continuous mode)"},
	}, {
		ModeContinuous,
		[]PayloadIOV{{ID: 12, Start: p(3, 0), End: OpenEnd}},
		[]string{"IOV 12 starting at (3,0) has no comb_iov; lookups never answer it"},
	}}
	for _, c := range cases {
		got := CheckList(c.mode, list, c.rows)
		var details []string
		for _, f := range got {
			details = append(details, f.Detail)
		}
		if !slices.Equal(details, c.want) {
			t.Errorf("%s %v: details %q, want %q", c.mode, c.rows, details, c.want)
		}
	}
}

// TestCheckListCombIOV: the comb_iov comparison is exact, whatever the
// stored text: the historical corruptions of Nopayloaddb (a rounded minor
// for |major| >= 10^9, the shift that stored major + major/10^19, and the
// one that stored nothing) are found, and exact values in PostgreSQL's
// other spellings of one number are not.
func TestCheckListCombIOV(t *testing.T) {
	for _, c := range []struct {
		start  Point
		stored string
		want   FindingKind // "" for none
	}{
		{Point{1_000_000_000, 1}, "1000000000.0000000000000000000", FindingCombIOVMismatch},
		{Point{1_000_000_000, 9_999_999_999}, "1000000000.0000000010000000000", FindingCombIOVMismatch},
		{Point{7, 3}, "7.0000000000000000007", FindingCombIOVMismatch},
		{Point{0, 1}, "0.0000000000000000002", FindingCombIOVMismatch},
		{Point{0, 1}, "not a number", FindingCombIOVMismatch},
		{Point{0, 1}, "0.0000000000000000001", ""},
		{Point{12, 0}, "12", ""},
		{Point{0, 5_000_000_000_000_000_000}, "0.5", ""},
		{Point{-5, 1}, "-4.9999999999999999999", ""},
		{Point{5, -1}, "4.9999999999999999999", ""},
		{Point{MaxIOV, MaxIOV - 1}, "9223372036854775807.9223372036854775806", ""},
	} {
		v := PayloadIOV{ID: 1, Start: c.start, End: OpenEnd, CombIOV: &c.stored}
		got := CheckList(ModeContinuous, checkedList(), []PayloadIOV{v})
		var kinds []FindingKind
		for _, f := range got {
			kinds = append(kinds, f.Kind)
		}
		if c.want == "" && len(kinds) != 0 || c.want != "" && !slices.Equal(kinds, []FindingKind{c.want}) {
			t.Errorf("start %v, comb_iov %q: findings %v, want %q", c.start, c.stored, got, c.want)
		}
	}
}

// TestCheckListMatchesOracle compares CheckList on random lists, dense with
// every state at once, with a direct reading of the rules: pairs compared
// by brute force and comb_iov compared as exact rationals.
func TestCheckListMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, mode := range checkModes {
		minMinor := int64(-2)
		if mode == ModeDiscrete {
			minMinor = 0
		}
		point := func() Point { return Point{rng.Int64N(3), minMinor + rng.Int64N(5)} }
		for range 3000 {
			rows := make([]PayloadIOV, rng.IntN(9))
			for i := range rows {
				start, end := point(), point()
				if rng.IntN(4) == 0 {
					end = OpenEnd
				}
				rows[i] = checkRow(int64(1+rng.IntN(1000)*10+i), start, end)
				switch rng.IntN(8) {
				case 0:
					rows[i].CombIOV = nil
				case 1:
					c := point().CombIOV()
					rows[i].CombIOV = &c
				}
			}
			got := kindIDs(CheckList(mode, checkedList(), rows))
			if want := kindIDs(oracle(mode, rows)); !slices.Equal(got, want) {
				t.Fatalf("%s %v:\n got %v\nwant %v", mode, rows, got, want)
			}
		}
	}
}

// oracle applies the rules of one list pair by pair.
func oracle(mode IOVMode, rows []PayloadIOV) []Finding {
	var out []Finding
	var openEnded []PayloadIOV
	add := func(k FindingKind, ids ...int64) { out = append(out, Finding{Kind: k, IDs: ids}) }
	starts := map[Point][]int64{}
	for _, v := range rows {
		starts[v.Start] = append(starts[v.Start], v.ID)
	}
	for _, ids := range starts {
		if len(ids) > 1 {
			slices.Sort(ids)
			add(FindingDuplicateStart, ids...)
		}
	}
	for _, v := range rows {
		if v.End.Less(v.Start) {
			add(FindingInverted, v.ID)
		}
		if v.End == v.Start && mode != ModeDiscrete {
			add(FindingZeroLength, v.ID)
		}
		if v.CombIOV == nil {
			add(FindingNullCombIOV, v.ID)
		} else if !exactComb(*v.CombIOV, v.Start) {
			add(FindingCombIOVMismatch, v.ID)
		}
		var next *Point
		for _, w := range rows {
			if v.Start.Less(w.Start) && (next == nil || w.Start.Less(*next)) {
				s := w.Start
				next = &s
			}
		}
		if next == nil {
			continue
		}
		later := slices.Max(starts[*next])
		if c := v.End.Compare(*next); c > 0 || c == 0 && mode == ModeDiscrete {
			if v.End == OpenEnd {
				openEnded = append(openEnded, v)
			} else {
				add(FindingOverlap, v.ID, later)
			}
		}
	}
	// Open-ended ones make one finding listing the first MaxFindingIDs
	// by (start, id).
	if len(openEnded) > 0 {
		slices.SortFunc(openEnded, func(a, b PayloadIOV) int {
			if c := a.Start.Compare(b.Start); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
		var ids []int64
		for _, v := range openEnded[:min(len(openEnded), MaxFindingIDs)] {
			ids = append(ids, v.ID)
		}
		add(FindingOpenEndedOverlap, ids...)
	}
	return out
}

// bulkRows is a list loaded as bulk_piov does: n open-ended IOVs.
func bulkRows(n int) []PayloadIOV {
	rows := make([]PayloadIOV, n)
	for i := range rows {
		rows[i] = checkRow(int64(i+1), Point{int64(i), 0}, OpenEnd)
	}
	return rows
}

func exactComb(stored string, p Point) bool {
	got, ok := new(big.Rat).SetString(stored)
	if !ok {
		return false
	}
	want := new(big.Rat).SetFrac(big.NewInt(p.Minor), new(big.Int).Exp(big.NewInt(10), big.NewInt(19), nil))
	want.Add(want, new(big.Rat).SetInt64(p.Major))
	return got.Cmp(want) == 0
}

func TestCheckTypes(t *testing.T) {
	gt, other := "GT", "Other"
	lists := []PayloadList{
		{ID: 15, Name: "Beam_15", GlobalTag: &gt, PayloadType: "Beam"},
		{ID: 3, Name: "CEMC_3", GlobalTag: &gt, PayloadType: "CEMC"},
		{ID: 12, Name: "Beam_12", GlobalTag: &gt, PayloadType: "Beam"},
		{ID: 20, Name: "Beam_20", GlobalTag: &other, PayloadType: "Beam"}, // another GT
		{ID: 21, Name: "Beam_21", PayloadType: "Beam"},                    // detached
	}
	got := CheckTypes(lists)
	want := []Finding{{
		Kind: FindingDuplicateType, GlobalTag: "GT", PayloadType: "Beam", IDs: []int64{12, 15},
		Detail: "lists Beam_12 (12) and Beam_15 (15) of type Beam are both attached; gtPayloadLists names Beam_15, and lookups answer a row from each",
	}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("CheckTypes = %+v, want %+v", got, want)
	}
}

func TestSortFindings(t *testing.T) {
	want := []Finding{
		{GlobalTag: "A", PayloadType: "Z", PayloadList: "Z_9", Kind: FindingOverlap, IDs: []int64{1}},
		{GlobalTag: "B", PayloadType: "Beam", Kind: FindingDuplicateType, IDs: []int64{4, 5}},
		{GlobalTag: "B", PayloadType: "Beam", PayloadList: "Beam_1", Kind: FindingDuplicateStart, IDs: []int64{9, 10}},
		{GlobalTag: "B", PayloadType: "Beam", PayloadList: "Beam_1", Kind: FindingOverlap, IDs: []int64{2, 3}},
		{GlobalTag: "B", PayloadType: "Beam", PayloadList: "Beam_1", Kind: FindingOverlap, IDs: []int64{7, 8}},
		{GlobalTag: "B", PayloadType: "Beam", PayloadList: "Beam_2", Kind: FindingInverted, IDs: []int64{1}},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20 {
		got := slices.Clone(want)
		rng.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
		SortFindings(got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("SortFindings:\n got %v\nwant %v", got, want)
		}
	}
}
