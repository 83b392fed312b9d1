package condcache

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// attachPt is a point, short for the tables.
func attachPt(major, minor int64) Point { return Point{major, minor} }

// attachIOV is an existing IOV whose url is its label in the tables.
func attachIOV(id int64, url string, start, end Point) PayloadIOV {
	return PayloadIOV{ID: id, PayloadURL: url, Start: start, End: end}
}

// attachNew is the IOV being attached (label N, id 100).
func attachNew(start, end Point) PayloadIOV { return attachIOV(100, "N", start, end) }

const attachMax = MaxIOV

// attachRow is one IOV of a list after a plan: Copy marks a split copy, which
// shares URL with its original.
type attachRow struct {
	URL        string
	Copy       bool
	Start, End Point
}

func attachBound(v int64) string {
	switch v {
	case math.MaxInt64:
		return "MAX"
	case math.MinInt64:
		return "MIN"
	}
	return strconv.FormatInt(v, 10)
}

func (r attachRow) String() string {
	label := r.URL
	if r.Copy {
		label = "Q<" + r.URL
	}
	return fmt.Sprintf("%s (%s,%s)-(%s,%s)", label,
		attachBound(r.Start.Major), attachBound(r.Start.Minor), attachBound(r.End.Major), attachBound(r.End.Minor))
}

// applyAttachPlan applies plan to existing, attaches n and returns the list,
// sorted by start then label. It refuses structurally wrong plans (unknown or
// repeated ids, a resize of a detached IOV) instead of guessing.
func applyAttachPlan(existing []PayloadIOV, plan AttachPlan, n PayloadIOV) ([]attachRow, error) {
	byID := map[int64]PayloadIOV{}
	for _, x := range existing {
		byID[x.ID] = x
	}
	gone := map[int64]bool{}
	for _, id := range plan.Detach {
		if _, ok := byID[id]; !ok || gone[id] {
			return nil, fmt.Errorf("detach of unknown or repeated id %d", id)
		}
		gone[id] = true
	}
	bounds := map[int64][2]Point{}
	for _, r := range plan.Resize {
		if _, ok := byID[r.ID]; !ok || gone[r.ID] {
			return nil, fmt.Errorf("resize of unknown or detached id %d", r.ID)
		}
		if _, dup := bounds[r.ID]; dup {
			return nil, fmt.Errorf("repeated resize of id %d", r.ID)
		}
		bounds[r.ID] = [2]Point{r.Start, r.End}
	}
	var rows []attachRow
	for _, x := range existing {
		if gone[x.ID] {
			continue
		}
		row := attachRow{URL: x.PayloadURL, Start: x.Start, End: x.End}
		if b, ok := bounds[x.ID]; ok {
			row.Start, row.End = b[0], b[1]
		}
		rows = append(rows, row)
	}
	if sp := plan.Split; sp != nil {
		from, ok := byID[sp.FromID]
		if !ok {
			return nil, fmt.Errorf("split of unknown id %d", sp.FromID)
		}
		rows = append(rows, attachRow{URL: from.PayloadURL, Copy: true, Start: sp.Start, End: sp.End})
	}
	rows = append(rows, attachRow{URL: n.PayloadURL, Start: n.Start, End: n.End})
	slices.SortFunc(rows, func(a, b attachRow) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.String(), b.String())
	})
	return rows, nil
}

func attachRowStrings(rows []attachRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.String()
	}
	return out
}

type unlockedCase struct {
	name     string
	existing []PayloadIOV
	n        PayloadIOV
	want     []string // the list afterwards, by start
}

func runUnlockedCases(t *testing.T, mode IOVMode, cases []unlockedCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := PlanAttach(mode, StatusUnlocked, tc.existing, tc.n)
			if err != nil {
				t.Fatalf("PlanAttach: %v", err)
			}
			rows, err := applyAttachPlan(tc.existing, plan, tc.n)
			if err != nil {
				t.Fatalf("bad plan %+v: %v", plan, err)
			}
			if got := attachRowStrings(rows); !slices.Equal(got, tc.want) {
				t.Errorf("after attach:\n got %q\nwant %q\n(plan %+v)", got, tc.want, plan)
			}
		})
	}
}

// TestPlanAttachUnlockedContinuous covers docs/compatibility.md "Unlocked rules" U1-U9 (reference
// intended, U6 with the empty remnant detached) and the tie rules.
func TestPlanAttachUnlockedContinuous(t *testing.T) {
	p, open := attachPt, OpenEnd
	runUnlockedCases(t, ModeContinuous, []unlockedCase{
		{"U1", nil, attachNew(p(0, 10), p(0, 20)), []string{"N (0,10)-(0,20)"}},
		{"U2", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(0, 100))}, attachNew(p(0, 50), p(0, 60)),
			[]string{"P (0,0)-(0,50)", "N (0,50)-(0,60)", "Q<P (0,60)-(0,100)"}},
		{"U3", []PayloadIOV{attachIOV(1, "P", p(0, 100), open)}, attachNew(p(0, 200), open),
			[]string{"P (0,100)-(0,200)", "N (0,200)-(MAX,MAX)"}},
		{"U3b", []PayloadIOV{attachIOV(1, "P", p(0, 100), open)}, attachNew(p(0, 50), open),
			[]string{"N (0,50)-(MAX,MAX)"}},
		{"U4", []PayloadIOV{attachIOV(1, "P", p(0, 100), open)}, attachNew(p(0, 50), p(0, 70)),
			[]string{"N (0,50)-(0,70)", "P (0,100)-(MAX,MAX)"}},
		{"U5", []PayloadIOV{attachIOV(1, "P", p(0, 100), p(0, 200))}, attachNew(p(0, 50), p(0, 300)),
			[]string{"N (0,50)-(0,300)"}},
		{"U6 empty remnant detached", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(0, 100))}, attachNew(p(0, 0), p(0, 50)),
			[]string{"N (0,0)-(0,50)", "Q<P (0,50)-(0,100)"}},
		{"U7", []PayloadIOV{attachIOV(1, "P", p(1, 0), p(3, 0))}, attachNew(p(2, 0), p(2, 5)),
			[]string{"P (1,0)-(2,0)", "N (2,0)-(2,5)", "Q<P (2,5)-(3,0)"}},
		{"U8", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(1, 0)), attachIOV(2, "S", p(5, 0), p(6, 0))}, attachNew(p(2, 0), p(3, 0)),
			[]string{"P (0,0)-(1,0)", "N (2,0)-(3,0)", "S (5,0)-(6,0)"}},
		{"U9", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(3, 0)), attachIOV(2, "S", p(5, 0), p(8, 0))}, attachNew(p(2, 0), p(6, 0)),
			[]string{"P (0,0)-(2,0)", "N (2,0)-(6,0)", "S (6,0)-(8,0)"}},
		{"input order does not matter", []PayloadIOV{attachIOV(2, "S", p(5, 0), p(8, 0)), attachIOV(1, "P", p(0, 0), p(3, 0))}, attachNew(p(2, 0), p(6, 0)),
			[]string{"P (0,0)-(2,0)", "N (2,0)-(6,0)", "S (6,0)-(8,0)"}},
		{"swallow several, trim P, shift S", []PayloadIOV{
			attachIOV(1, "P", p(0, 0), p(0, 10)), attachIOV(2, "A", p(0, 10), p(0, 20)),
			attachIOV(3, "B", p(0, 20), p(0, 30)), attachIOV(4, "S", p(0, 30), p(0, 40))},
			attachNew(p(0, 5), p(0, 35)),
			[]string{"P (0,0)-(0,5)", "N (0,5)-(0,35)", "S (0,35)-(0,40)"}},
		{"predecessor tie: highest id is P", []PayloadIOV{attachIOV(1, "A", p(0, 0), p(0, 100)), attachIOV(2, "B", p(0, 0), p(0, 100))},
			attachNew(p(0, 50), p(0, 60)),
			[]string{"A (0,0)-(0,100)", "B (0,0)-(0,50)", "N (0,50)-(0,60)", "Q<B (0,60)-(0,100)"}},
		// Equal starts overlap: the reference's steps would move the
		// lower-id C (never an answer) to n's end and leave D, the answer
		// over [20, 40), shadowing n inside its range. The invariant keeps
		// D's payload after n and detaches C.
		{"equal starts inside n: the answer at n's end moves", []PayloadIOV{attachIOV(3, "C", p(0, 20), p(0, 30)), attachIOV(4, "D", p(0, 20), p(0, 40))},
			attachNew(p(0, 10), p(0, 25)),
			[]string{"N (0,10)-(0,25)", "D (0,25)-(0,40)"}},
		{"n already in the list stays", []PayloadIOV{attachIOV(100, "N", p(0, 50), p(0, 60)), attachIOV(1, "S", p(0, 60), p(0, 70))},
			attachNew(p(0, 50), p(0, 60)),
			[]string{"N (0,50)-(0,60)", "N (0,50)-(0,60)", "S (0,60)-(0,70)"}}, // the helper lists the old copy of n too
		// A zero-length legacy row starting at n's end answers nothing
		// (strictly) before and after; it is left for the consistency check.
		{"legacy empty row at n's end stays", []PayloadIOV{attachIOV(1, "E", p(0, 60), p(0, 60))},
			attachNew(p(0, 50), p(0, 60)),
			[]string{"N (0,50)-(0,60)", "E (0,60)-(0,60)"}},
		{"legacy empty row inside n is detached", []PayloadIOV{attachIOV(1, "E", p(0, 55), p(0, 55))},
			attachNew(p(0, 50), p(0, 60)),
			[]string{"N (0,50)-(0,60)"}},
		// The bug report's two cases (docs/design.md "The attach invariant").
		{"bulk 20, 30, 40 then [25, 30)", []PayloadIOV{attachIOV(1, "R20", p(20, 0), open), attachIOV(2, "R30", p(30, 0), open), attachIOV(3, "R40", p(40, 0), open)},
			attachNew(p(25, 0), p(30, 0)),
			[]string{"R20 (20,0)-(25,0)", "N (25,0)-(30,0)", "R30 (30,0)-(MAX,MAX)", "R40 (40,0)-(MAX,MAX)"}},
		{"bulk 20, 26, 27, 40 then [25, 30)", []PayloadIOV{attachIOV(1, "R20", p(20, 0), open), attachIOV(2, "R26", p(26, 0), open),
			attachIOV(3, "R27", p(27, 0), open), attachIOV(4, "R40", p(40, 0), open)},
			attachNew(p(25, 0), p(30, 0)),
			[]string{"R20 (20,0)-(25,0)", "N (25,0)-(30,0)", "R27 (30,0)-(MAX,MAX)", "R40 (40,0)-(MAX,MAX)"}},
	})
}

// TestPlanAttachUnlockedDiscrete re-derives U1-U9 for inclusive ends
// (docs/compatibility.md "Discrete mode") and adds the bounds where Before/After run out.
func TestPlanAttachUnlockedDiscrete(t *testing.T) {
	p, open := attachPt, OpenEnd
	runUnlockedCases(t, ModeDiscrete, []unlockedCase{
		{"U1", nil, attachNew(p(0, 10), p(0, 20)), []string{"N (0,10)-(0,20)"}},
		{"U2", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(0, 100))}, attachNew(p(0, 50), p(0, 60)),
			[]string{"P (0,0)-(0,49)", "N (0,50)-(0,60)", "Q<P (0,61)-(0,100)"}},
		{"U3", []PayloadIOV{attachIOV(1, "P", p(0, 100), open)}, attachNew(p(0, 200), open),
			[]string{"P (0,100)-(0,199)", "N (0,200)-(MAX,MAX)"}},
		{"U3b", []PayloadIOV{attachIOV(1, "P", p(0, 100), open)}, attachNew(p(0, 50), open),
			[]string{"N (0,50)-(MAX,MAX)"}},
		{"U4", []PayloadIOV{attachIOV(1, "P", p(0, 100), open)}, attachNew(p(0, 50), p(0, 70)),
			[]string{"N (0,50)-(0,70)", "P (0,100)-(MAX,MAX)"}},
		{"U5", []PayloadIOV{attachIOV(1, "P", p(0, 100), p(0, 200))}, attachNew(p(0, 50), p(0, 300)),
			[]string{"N (0,50)-(0,300)"}},
		{"U6", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(0, 100))}, attachNew(p(0, 0), p(0, 50)),
			[]string{"N (0,0)-(0,50)", "Q<P (0,51)-(0,100)"}},
		{"U7", []PayloadIOV{attachIOV(1, "P", p(1, 0), p(3, 0))}, attachNew(p(2, 0), p(2, 5)),
			[]string{"P (1,0)-(1,MAX)", "N (2,0)-(2,5)", "Q<P (2,6)-(3,0)"}},
		{"U8", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(1, 0)), attachIOV(2, "S", p(5, 0), p(6, 0))}, attachNew(p(2, 0), p(3, 0)),
			[]string{"P (0,0)-(1,0)", "N (2,0)-(3,0)", "S (5,0)-(6,0)"}},
		{"U9", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(3, 0)), attachIOV(2, "S", p(5, 0), p(8, 0))}, attachNew(p(2, 0), p(6, 0)),
			[]string{"P (0,0)-(1,MAX)", "N (2,0)-(6,0)", "S (6,1)-(8,0)"}},
		{"adjacent predecessor untouched", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(0, 99))}, attachNew(p(0, 100), p(0, 199)),
			[]string{"P (0,0)-(0,99)", "N (0,100)-(0,199)"}},
		{"predecessor ending at n's start is trimmed", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(0, 100))}, attachNew(p(0, 100), p(0, 199)),
			[]string{"P (0,0)-(0,99)", "N (0,100)-(0,199)"}},
		{"one-point n inside P", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(0, 100))}, attachNew(p(0, 50), p(0, 50)),
			[]string{"P (0,0)-(0,49)", "N (0,50)-(0,50)", "Q<P (0,51)-(0,100)"}},
		{"one-point n swallows one-point P", []PayloadIOV{attachIOV(1, "P", p(0, 50), p(0, 50))}, attachNew(p(0, 50), p(0, 50)),
			[]string{"N (0,50)-(0,50)"}},
		{"successor starting at n's end is shifted", []PayloadIOV{attachIOV(2, "S", p(0, 200), p(0, 300))}, attachNew(p(0, 100), p(0, 200)),
			[]string{"N (0,100)-(0,200)", "S (0,201)-(0,300)"}},
		{"shift carries minor MAX to next major", []PayloadIOV{attachIOV(2, "S", p(0, 5), p(2, 0))}, attachNew(p(0, 0), p(0, attachMax)),
			[]string{"N (0,0)-(0,MAX)", "S (1,0)-(2,0)"}},
		{"trim and split across majors", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(2, 0))}, attachNew(p(1, 0), p(1, 0)),
			[]string{"P (0,0)-(0,MAX)", "N (1,0)-(1,0)", "Q<P (1,1)-(2,0)"}},
		{"no point before the minimum: P detached", []PayloadIOV{attachIOV(1, "P", p(math.MinInt64, 0), p(0, 0))},
			attachNew(p(math.MinInt64, 0), p(-5, 0)),
			[]string{"N (MIN,0)-(-5,0)", "Q<P (-5,1)-(0,0)"}},
		{"no point after the maximum: no split", []PayloadIOV{attachIOV(1, "P", p(0, 0), open)}, attachNew(p(5, 0), open),
			[]string{"P (0,0)-(4,MAX)", "N (5,0)-(MAX,MAX)"}},
		{"shift up to the maximum point", []PayloadIOV{attachIOV(2, "S", p(attachMax, attachMax-1), open)}, attachNew(p(0, 0), p(attachMax, attachMax-1)),
			[]string{"N (0,0)-(MAX,9223372036854775806)", "S (MAX,MAX)-(MAX,MAX)"}},
	})
}

// lockedDetail is the reference's refusal text, spelled out independently of
// attach.go.
func lockedDetail(n, x PayloadIOV) string {
	return "GT is LOCKED. You are attempting to insert IOV (major_iov,minor_iov,major_iov_end, minor_iov_end) (" +
		fmt.Sprintf("%d,%d,%d,%d", n.Start.Major, n.Start.Minor, n.End.Major, n.End.Minor) +
		"). Conflicts with existing IOV " + x.PayloadURL +
		fmt.Sprintf(" (%d,%d,%d,%d)", x.Start.Major, x.Start.Minor, x.End.Major, x.End.Minor)
}

type lockedCase struct {
	name     string
	existing []PayloadIOV
	n        PayloadIOV
	conflict string // url of the IOV the refusal quotes; "" = accepted
}

func runLockedCases(t *testing.T, mode IOVMode, cases []lockedCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := PlanAttach(mode, StatusLocked, tc.existing, tc.n)
			if !reflect.DeepEqual(plan, AttachPlan{}) {
				t.Errorf("locked plan changes existing IOVs: %+v", plan)
			}
			if tc.conflict == "" {
				if err != nil {
					t.Errorf("refused: %v, want accepted", err)
				}
				return
			}
			var quoted PayloadIOV
			for _, x := range tc.existing {
				if x.PayloadURL == tc.conflict {
					quoted = x
				}
			}
			if e, ok := err.(*Error); !ok || e.Code != ELocked || e.Detail != lockedDetail(tc.n, quoted) {
				t.Errorf("got %v, want ELocked %q", err, lockedDetail(tc.n, quoted))
			}
		})
	}
}

// TestPlanAttachLockedContinuous covers docs/compatibility.md "Locked rules" L0-L4c and the tie rules.
func TestPlanAttachLockedContinuous(t *testing.T) {
	p, open := attachPt, OpenEnd
	x := func(start, end Point) []PayloadIOV { return []PayloadIOV{attachIOV(1, "X", start, end)} }
	runLockedCases(t, ModeContinuous, []lockedCase{
		{"L0", nil, attachNew(p(0, 10), p(0, 20)), ""},
		{"L1", x(p(0, 10), p(0, 20)), attachNew(p(0, 10), p(0, 30)), "X"},
		{"L1 with an empty legacy remnant", x(p(0, 10), p(0, 10)), attachNew(p(0, 10), p(0, 30)), "X"},
		{"L2", x(p(0, 10), p(0, 20)), attachNew(p(0, 20), open), ""},
		{"L2b", x(p(0, 10), p(0, 20)), attachNew(p(0, 15), p(0, 30)), "X"},
		{"L3", x(p(5, 0), p(8, 0)), attachNew(p(2, 0), p(6, 0)), "X"},
		{"L3b", x(p(0, 100), p(0, 200)), attachNew(p(0, 50), p(0, 150)), "X"},
		{"L3c", x(p(0, 100), p(0, 200)), attachNew(p(0, 50), p(0, 250)), "X"},
		{"L3d", x(p(5, 0), p(8, 0)), attachNew(p(2, 0), p(3, 0)), ""},
		{"L3d adjacent", x(p(5, 0), p(8, 0)), attachNew(p(2, 0), p(5, 0)), ""},
		{"L4", x(p(0, 10), open), attachNew(p(0, 20), open), ""},
		{"L4b", x(p(0, 10), p(0, attachMax)), attachNew(p(0, 20), p(0, attachMax)), ""},
		{"L4c", x(p(0, 10), open), attachNew(p(0, 5), open), "X"},
		{"predecessor quoted before successor", []PayloadIOV{attachIOV(1, "P", p(0, 0), p(0, 20)), attachIOV(2, "S", p(0, 30), p(0, 40))},
			attachNew(p(0, 10), p(0, 35)), "P"},
		{"special case needs the last IOV", []PayloadIOV{attachIOV(1, "A", p(0, 10), open), attachIOV(2, "B", p(0, 30), p(0, 40))},
			attachNew(p(0, 20), open), "A"},
		{"special case needs an online-open n", x(p(0, 10), open), attachNew(p(0, 20), p(0, 30)), "X"},
		{"same start quotes the highest id", []PayloadIOV{attachIOV(1, "A", p(0, 10), p(0, 20)), attachIOV(2, "B", p(0, 10), p(0, 30))},
			attachNew(p(0, 10), open), "B"},
		{"special case T tie: highest id is last (accepted)", []PayloadIOV{attachIOV(1, "A", p(0, 10), p(0, 20)), attachIOV(2, "B", p(0, 10), open)},
			attachNew(p(0, 15), open), ""},
		{"special case T tie: highest id is last (refused)", []PayloadIOV{attachIOV(1, "B", p(0, 10), open), attachIOV(2, "A", p(0, 10), p(0, 20))},
			attachNew(p(0, 15), open), "A"},
	})
}

// TestPlanAttachLockedDiscrete re-derives L0-L4c for inclusive ends: touching
// IOVs now overlap (L2 is refused, its adjacent variant accepted).
func TestPlanAttachLockedDiscrete(t *testing.T) {
	p, open := attachPt, OpenEnd
	x := func(start, end Point) []PayloadIOV { return []PayloadIOV{attachIOV(1, "X", start, end)} }
	runLockedCases(t, ModeDiscrete, []lockedCase{
		{"L0", nil, attachNew(p(0, 10), p(0, 20)), ""},
		{"L1", x(p(0, 10), p(0, 20)), attachNew(p(0, 10), p(0, 30)), "X"},
		{"L2 touching", x(p(0, 10), p(0, 20)), attachNew(p(0, 20), open), "X"},
		{"L2 adjacent", x(p(0, 10), p(0, 20)), attachNew(p(0, 21), open), ""},
		{"L2b", x(p(0, 10), p(0, 20)), attachNew(p(0, 15), p(0, 30)), "X"},
		{"L3", x(p(5, 0), p(8, 0)), attachNew(p(2, 0), p(6, 0)), "X"},
		{"L3b", x(p(0, 100), p(0, 200)), attachNew(p(0, 50), p(0, 150)), "X"},
		{"L3c", x(p(0, 100), p(0, 200)), attachNew(p(0, 50), p(0, 250)), "X"},
		{"L3d", x(p(5, 0), p(8, 0)), attachNew(p(2, 0), p(3, 0)), ""},
		{"L3d touching", x(p(5, 0), p(8, 0)), attachNew(p(2, 0), p(5, 0)), "X"},
		{"L3d adjacent", x(p(5, 0), p(8, 0)), attachNew(p(2, 0), p(4, attachMax)), ""},
		{"L4", x(p(0, 10), open), attachNew(p(0, 20), open), ""},
		{"L4b", x(p(0, 10), p(0, attachMax)), attachNew(p(0, 20), p(0, attachMax)), ""},
		{"L4c", x(p(0, 10), open), attachNew(p(0, 5), open), "X"},
	})
}

// TestPlanAttachLockedDetailText pins the refusal text byte for byte.
func TestPlanAttachLockedDetailText(t *testing.T) {
	p := attachPt
	for _, tc := range []struct {
		existing PayloadIOV
		n        PayloadIOV
		want     string
	}{
		{attachIOV(1, "X", p(0, 10), p(0, 20)), attachNew(p(0, 10), p(0, 30)),
			"GT is LOCKED. You are attempting to insert IOV (major_iov,minor_iov,major_iov_end, minor_iov_end) (0,10,0,30). Conflicts with existing IOV X (0,10,0,20)"},
		{attachIOV(1, "http://x/y", p(0, 10), OpenEnd), attachNew(p(0, 5), OpenEnd),
			"GT is LOCKED. You are attempting to insert IOV (major_iov,minor_iov,major_iov_end, minor_iov_end) (0,5,9223372036854775807,9223372036854775807). Conflicts with existing IOV http://x/y (0,10,9223372036854775807,9223372036854775807)"},
	} {
		_, err := PlanAttach(ModeContinuous, StatusLocked, []PayloadIOV{tc.existing}, tc.n)
		if ErrorCodeOf(err) != ELocked || ErrorDetail(err) != tc.want {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
}

func TestPlanAttachRefusals(t *testing.T) {
	p := attachPt
	existing := []PayloadIOV{attachIOV(1, "X", p(0, 0), p(0, 10))}
	for _, tc := range []struct {
		name   string
		mode   IOVMode
		status string
		n      PayloadIOV
		want   ErrorCode
	}{
		{"frozen", ModeContinuous, StatusFrozen, attachNew(p(0, 20), p(0, 30)), ELocked},
		{"empty continuous", ModeContinuous, StatusUnlocked, attachNew(p(0, 20), p(0, 20)), EInvalid},
		{"inverted discrete", ModeDiscrete, StatusUnlocked, attachNew(p(0, 20), p(0, 19)), EInvalid},
		{"unknown mode", IOVMode("fuzzy"), StatusUnlocked, attachNew(p(0, 20), p(0, 30)), EInternal},
	} {
		plan, err := PlanAttach(tc.mode, tc.status, existing, tc.n)
		if ErrorCodeOf(err) != tc.want || !reflect.DeepEqual(plan, AttachPlan{}) {
			t.Errorf("%s: got %+v, %v; want code %s", tc.name, plan, err, tc.want)
		}
	}
	// "" means continuous and any unknown status means unlocked.
	plan, err := PlanAttach("", "in-review", existing, attachNew(p(0, 5), p(0, 20)))
	if err != nil || len(plan.Resize) != 1 || plan.Resize[0] != (IOVResize{1, p(0, 0), p(0, 5)}) {
		t.Errorf("other status: got %+v, %v", plan, err)
	}
}

// The oracle: a point-by-point model of what a list holds, checked on random
// small lists.

// oracleBoundaries are the points random IOVs start and end at.
var oracleBoundaries = func() []Point {
	var pts []Point
	for _, major := range []int64{math.MinInt64, 0, 1, 2, 3, attachMax} {
		for _, minor := range []int64{0, 1, 2, 3, 4, 5, attachMax} {
			pts = append(pts, Point{major, minor})
		}
	}
	return pts
}()

// oracleProbes are the points the model looks at: every bound a plan can
// produce from oracleBoundaries (they, and the points just before and after
// them) plus a point inside every gap between those, so two lists that agree
// on the probes agree everywhere.
var oracleProbes = func() []Point {
	var pts []Point
	for _, major := range []int64{math.MinInt64, math.MinInt64 + 1, -2, -1, 0, 1, 2, 3, 4, 5, attachMax - 1, attachMax} {
		for _, minor := range []int64{0, 1, 2, 3, 4, 5, 6, 7, 1000, attachMax - 2, attachMax - 1, attachMax} {
			pts = append(pts, Point{major, minor})
		}
	}
	return pts
}()

func holdsAt(mode IOVMode, start, end, q Point) bool {
	if q.Less(start) {
		return false
	}
	if mode == ModeDiscrete {
		return q.Compare(end) <= 0
	}
	return q.Less(end)
}

func overlap(mode IOVMode, aStart, aEnd, bStart, bEnd Point) bool {
	if mode == ModeDiscrete {
		return aStart.Compare(bEnd) <= 0 && bStart.Compare(aEnd) <= 0
	}
	return aStart.Less(bEnd) && bStart.Less(aEnd)
}

func randomOraclePoint(rng *rand.Rand) Point {
	return oracleBoundaries[rng.IntN(len(oracleBoundaries))]
}

func randomRange(rng *rand.Rand, mode IOVMode) (Point, Point) {
	for {
		a, b := randomOraclePoint(rng), randomOraclePoint(rng)
		if b.Less(a) {
			a, b = b, a
		}
		if mode.ValidRange(a, b) {
			return a, b
		}
	}
}

// randomOracleList is a list of valid, pairwise non-overlapping IOVs with
// shuffled ids and one url per IOV.
func randomOracleList(rng *rand.Rand, mode IOVMode) []PayloadIOV {
	ids := rng.Perm(8)
	var list []PayloadIOV
	for try := rng.IntN(12); try > 0 && len(list) < len(ids); try-- {
		a, b := randomRange(rng, mode)
		ok := true
		for _, x := range list {
			ok = ok && !overlap(mode, a, b, x.Start, x.End)
		}
		if ok {
			id := int64(ids[len(list)] + 1)
			list = append(list, attachIOV(id, "u"+strconv.FormatInt(id, 10), a, b))
		}
	}
	return list
}

// checkOracle returns what is wrong with PlanAttach on one case, or "".
func checkOracle(mode IOVMode, status string, existing []PayloadIOV, n PayloadIOV) string {
	plan, err := PlanAttach(mode, status, existing, n)
	if status == StatusLocked {
		return checkLockedOracle(mode, existing, n, plan, err)
	}
	if err != nil {
		return fmt.Sprintf("unlocked attach refused: %v", err)
	}
	rows, err := applyAttachPlan(existing, plan, n)
	if err != nil {
		return fmt.Sprintf("bad plan %+v: %v", plan, err)
	}
	for i, r := range rows {
		if !mode.ValidRange(r.Start, r.End) {
			return fmt.Sprintf("plan %+v leaves an empty or inverted IOV %v", plan, r)
		}
		for _, o := range rows[i+1:] {
			if overlap(mode, r.Start, r.End, o.Start, o.End) {
				return fmt.Sprintf("plan %+v leaves %v overlapping %v", plan, r, o)
			}
		}
	}
	for _, q := range oracleProbes {
		want := ""
		if holdsAt(mode, n.Start, n.End, q) {
			want = n.PayloadURL
		} else {
			for _, x := range existing {
				if holdsAt(mode, x.Start, x.End, q) {
					want = x.PayloadURL
				}
			}
		}
		got := ""
		for _, r := range rows {
			if holdsAt(mode, r.Start, r.End, q) {
				got = r.URL
			}
		}
		if got != want {
			return fmt.Sprintf("at %v the list holds %q, want %q (plan %+v, after %q)", q, got, want, plan, attachRowStrings(rows))
		}
	}
	// IOVs that do not overlap n are not touched at all.
	for _, x := range existing {
		if overlap(mode, x.Start, x.End, n.Start, n.End) {
			continue
		}
		touched := slices.Contains(plan.Detach, x.ID) || (plan.Split != nil && plan.Split.FromID == x.ID)
		for _, r := range plan.Resize {
			touched = touched || r.ID == x.ID
		}
		if touched {
			return fmt.Sprintf("plan %+v touches %v, which does not overlap n", plan, x)
		}
	}
	return ""
}

// checkLockedOracle: refused iff n has an existing start or overlaps an IOV
// outside the online special case; refusals quote such an IOV; acceptances
// change nothing.
func checkLockedOracle(mode IOVMode, existing []PayloadIOV, n PayloadIOV, plan AttachPlan, err error) string {
	if !reflect.DeepEqual(plan, AttachPlan{}) {
		return fmt.Sprintf("locked plan changes existing IOVs: %+v", plan)
	}
	var conflicts []string
	sameStart, overlaps := false, false
	var last *PayloadIOV
	for i, x := range existing {
		same := x.Start == n.Start
		over := overlap(mode, x.Start, x.End, n.Start, n.End)
		sameStart, overlaps = sameStart || same, overlaps || over
		if same || over {
			conflicts = append(conflicts, lockedDetail(n, x))
		}
		if last == nil || last.Start.Less(x.Start) || (last.Start == x.Start && last.ID < x.ID) {
			last = &existing[i]
		}
	}
	special := n.End.IsOnlineOpen() && last != nil && last.End.IsOnlineOpen() && last.Start.Less(n.Start)
	if !sameStart && (special || !overlaps) {
		if err != nil {
			return fmt.Sprintf("refused (%v), want accepted (special case %v)", err, special)
		}
		return ""
	}
	if ErrorCodeOf(err) != ELocked || !slices.Contains(conflicts, ErrorDetail(err)) {
		return fmt.Sprintf("got %v, want ELocked quoting one of %q", err, conflicts)
	}
	return ""
}

// shrinkOracleCase drops existing IOVs while the case still fails.
func shrinkOracleCase(mode IOVMode, status string, existing []PayloadIOV, n PayloadIOV) []PayloadIOV {
	for shrunk := true; shrunk; {
		shrunk = false
		for i := range existing {
			fewer := slices.Delete(slices.Clone(existing), i, i+1)
			if checkOracle(mode, status, fewer, n) != "" {
				existing, shrunk = fewer, true
				break
			}
		}
	}
	return existing
}

func formatIOVs(list []PayloadIOV) string {
	var b strings.Builder
	for _, x := range list {
		fmt.Fprintf(&b, "\n  id %d %v", x.ID, attachRow{URL: x.PayloadURL, Start: x.Start, End: x.End})
	}
	return b.String()
}

func TestPlanAttachOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(20260801, 1))
	for _, mode := range []IOVMode{ModeContinuous, ModeDiscrete} {
		for _, status := range []string{StatusUnlocked, StatusLocked} {
			accepted := 0
			for range 4000 {
				existing := randomOracleList(rng, mode)
				start, end := randomRange(rng, mode)
				n := attachNew(start, end)
				if msg := checkOracle(mode, status, existing, n); msg != "" {
					existing = shrinkOracleCase(mode, status, existing, n)
					t.Fatalf("%s %s: minimal counterexample: attach %v to%s\n%s", mode, status,
						attachRow{URL: "N", Start: n.Start, End: n.End}, formatIOVs(existing), checkOracle(mode, status, existing, n))
				}
				if _, err := PlanAttach(mode, status, existing, n); err == nil {
					accepted++
				}
			}
			// Guard against a generator that never refuses or never accepts.
			t.Logf("%s %s: %d/4000 accepted", mode, status, accepted)
			if accepted < 400 || (status == StatusLocked && accepted > 3600) {
				t.Errorf("%s %s: %d/4000 accepted, the generator is lopsided", mode, status, accepted)
			}
		}
	}
}

// The neighbourhood property: PlanAttach gives the same answer on the whole
// list as on Neighbourhood and on any superset of it, for any input
// (overlapping, inverted, duplicated starts, extreme values).

var wildValues = []int64{math.MinInt64, -1, 0, 1, 2, 3, attachMax - 1, attachMax}

func randomWildPoint(rng *rand.Rand) Point {
	return Point{wildValues[rng.IntN(len(wildValues))], wildValues[rng.IntN(len(wildValues))]}
}

func randomWildList(rng *rand.Rand) []PayloadIOV {
	list := make([]PayloadIOV, rng.IntN(10))
	for i := range list {
		id := int64(i + 1)
		list[i] = attachIOV(id, "u"+strconv.FormatInt(id, 10), randomWildPoint(rng), randomWildPoint(rng))
	}
	rng.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	return list
}

type attachOutcome struct {
	Plan   AttachPlan
	Code   ErrorCode
	Detail string
}

func attachOutcomeOf(mode IOVMode, status string, existing []PayloadIOV, n PayloadIOV) attachOutcome {
	plan, err := PlanAttach(mode, status, existing, n)
	return attachOutcome{plan, ErrorCodeOf(err), ErrorDetail(err)}
}

func TestPlanAttachNeighbourhood(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 20000 {
		mode := []IOVMode{ModeContinuous, ModeDiscrete}[i%2]
		status := []string{StatusUnlocked, StatusLocked}[i/2%2]
		existing := randomWildList(rng)
		var n PayloadIOV
		for !mode.ValidRange(n.Start, n.End) {
			n = attachNew(randomWildPoint(rng), randomWildPoint(rng))
		}
		if len(existing) > 0 && rng.IntN(8) == 0 {
			n.ID = existing[0].ID // n is already in the list, with its bounds
			existing[0].Start, existing[0].End = n.Start, n.End
		}

		full := attachOutcomeOf(mode, status, existing, n)
		for _, p := range full.Plan.Resize {
			if !mode.ValidRange(p.Start, p.End) {
				t.Fatalf("resize to an invalid IOV %+v", p)
			}
		}
		if sp := full.Plan.Split; sp != nil && !mode.ValidRange(sp.Start, sp.End) {
			t.Fatalf("split into an invalid IOV %+v", sp)
		}

		hood := Neighbourhood(existing, n)
		subsets := map[string][]PayloadIOV{"Neighbourhood": hood}
		superset := slices.Clone(hood)
		for _, x := range existing {
			if rng.IntN(2) == 0 && !slices.Contains(hood, x) {
				superset = append(superset, x)
			}
		}
		rng.Shuffle(len(superset), func(i, j int) { superset[i], superset[j] = superset[j], superset[i] })
		subsets["superset"] = superset

		for name, sub := range subsets {
			if got := attachOutcomeOf(mode, status, sub, n); !reflect.DeepEqual(got, full) {
				t.Fatalf("%s %s, attach %v (id %d) to%s\n%s%s\ngives %+v\nwhole list gives %+v",
					mode, status, attachRow{URL: "N", Start: n.Start, End: n.End}, n.ID, formatIOVs(existing),
					name, formatIOVs(sub), got, full)
			}
		}
	}
}

// TestNeighbourhoodPartsAreNeeded shows that each part of NeighbourhoodNote
// matters: without it some answer changes.
func TestNeighbourhoodPartsAreNeeded(t *testing.T) {
	p := attachPt
	a := attachIOV(1, "A", p(0, 0), p(0, attachMax))
	b := attachIOV(2, "B", p(5, 0), p(6, 0))
	c := attachIOV(3, "C", p(0, 20), p(0, 40))
	for _, tc := range []struct {
		name     string
		status   string
		existing []PayloadIOV
		drop     PayloadIOV
		n        PayloadIOV
	}{
		{"(a) IOV inside n", StatusUnlocked, []PayloadIOV{c}, c, attachNew(p(0, 10), p(0, 30))},
		{"(b) predecessor", StatusUnlocked, []PayloadIOV{a}, a, attachNew(p(0, 10), p(0, 30))},
		// Without B, A looks like the last IOV and the special case accepts.
		{"(c) last IOV", StatusLocked, []PayloadIOV{a, b}, b, attachNew(p(0, 10), p(0, attachMax))},
	} {
		hood := Neighbourhood(tc.existing, tc.n)
		if !slices.Contains(hood, tc.drop) {
			t.Errorf("%s: Neighbourhood %v lacks %v", tc.name, hood, tc.drop)
		}
		without := slices.DeleteFunc(slices.Clone(tc.existing), func(x PayloadIOV) bool { return x == tc.drop })
		if reflect.DeepEqual(attachOutcomeOf(ModeContinuous, tc.status, tc.existing, tc.n),
			attachOutcomeOf(ModeContinuous, tc.status, without, tc.n)) {
			t.Errorf("%s: dropping %v changes nothing", tc.name, tc.drop)
		}
	}
}
