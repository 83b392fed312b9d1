package condcache

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The attach invariant (docs/design.md "The attach invariant"), checked point
// by point on random lists shaped like real data. The oracle knows nothing of
// how PlanAttach works: it evaluates the lookups a client makes, before and
// after the plan is applied, at every point where an answer can change.

// lookupAt is the compatible lookup of one list: the IOV with the greatest
// start at or before p in comb_iov order, ties to the highest id; nil when no
// IOV starts at or before p. Ends are ignored.
func lookupAt(rows []PayloadIOV, p Point) *PayloadIOV {
	pk := p.CombKey()
	var best *PayloadIOV
	var bestKey CombKey
	for i := range rows {
		x := &rows[i]
		k := x.Start.CombKey()
		if bytes.Compare(k[:], pk[:]) > 0 {
			continue
		}
		if c := bytes.Compare(k[:], bestKey[:]); best == nil || c > 0 || (c == 0 && x.ID > best.ID) {
			best, bestKey = x, k
		}
	}
	return best
}

// coversPoint reports whether IOV x holds at p: [start, end) in continuous
// mode, [start, end] in discrete mode.
func coversPoint(mode IOVMode, x PayloadIOV, p Point) bool {
	if p.Less(x.Start) {
		return false
	}
	if mode == ModeDiscrete {
		return p.Compare(x.End) <= 0
	}
	return p.Less(x.End)
}

// strictAt is the strict lookup: lookupAt, unless that IOV ended before p.
func strictAt(mode IOVMode, rows []PayloadIOV, p Point) *PayloadIOV {
	if x := lookupAt(rows, p); x != nil && coversPoint(mode, *x, p) {
		return x
	}
	return nil
}

// payloadOf is what a job reads from an answer; a split copy has the same.
func payloadOf(x *PayloadIOV) string {
	if x == nil {
		return "(none)"
	}
	return x.PayloadURL + "#" + x.Checksum
}

// probePoints returns every point where a lookup of rows can change: each
// start and end, and the points just before and after them.
func probePoints(lists ...[]PayloadIOV) []Point {
	seen := map[Point]bool{}
	var out []Point
	add := func(p Point) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, rows := range lists {
		for _, x := range rows {
			for _, b := range []Point{x.Start, x.End} {
				add(b)
				if q, ok := b.Before(); ok {
					add(q)
				}
				if q, ok := b.After(); ok {
					add(q)
				}
			}
		}
	}
	slices.SortFunc(out, Point.Compare)
	return out
}

// appliedList applies plan to existing and attaches n, as the store does: a
// split copy gets a new id above every other. It returns an error for a
// structurally wrong plan instead of guessing.
func appliedList(existing []PayloadIOV, plan AttachPlan, n PayloadIOV) ([]PayloadIOV, error) {
	byID := map[int64]int{}
	maxID := n.ID
	for i, x := range existing {
		byID[x.ID] = i
		maxID = max(maxID, x.ID)
	}
	rows := slices.Clone(existing)
	gone := map[int64]bool{}
	for _, id := range plan.Detach {
		if _, ok := byID[id]; !ok || gone[id] || id == n.ID {
			return nil, fmt.Errorf("detach of unknown, repeated or new id %d", id)
		}
		gone[id] = true
	}
	resized := map[int64]bool{}
	for _, r := range plan.Resize {
		i, ok := byID[r.ID]
		if !ok || gone[r.ID] || resized[r.ID] || r.ID == n.ID {
			return nil, fmt.Errorf("resize of unknown, detached, repeated or new id %d", r.ID)
		}
		resized[r.ID] = true
		rows[i].Start, rows[i].End = r.Start, r.End
	}
	if sp := plan.Split; sp != nil {
		i, ok := byID[sp.FromID]
		if !ok {
			return nil, fmt.Errorf("split of unknown id %d", sp.FromID)
		}
		q := existing[i]
		q.ID, q.Start, q.End = maxID+1, sp.Start, sp.End
		rows = append(rows, q)
	}
	rows = slices.DeleteFunc(rows, func(x PayloadIOV) bool { return gone[x.ID] || x.ID == n.ID })
	return append(rows, n), nil
}

// checkInvariant returns what is wrong with PlanAttach for attaching n to a
// list holding existing (which may hold n itself), or "".
func checkInvariant(mode IOVMode, status string, existing []PayloadIOV, n PayloadIOV) string {
	plan, err := PlanAttach(mode, status, existing, n)
	if status == StatusLocked {
		return checkLockedInvariant(mode, existing, n, plan, err)
	}
	if err != nil {
		return fmt.Sprintf("unlocked attach refused: %v", err)
	}
	after, err := appliedList(existing, plan, n)
	if err != nil {
		return fmt.Sprintf("bad plan %+v: %v", plan, err)
	}
	for _, x := range after {
		if x.ID != n.ID && !mode.ValidRange(x.Start, x.End) && !slices.ContainsFunc(existing, func(y PayloadIOV) bool { return y == x }) {
			return fmt.Sprintf("plan %+v makes an empty or inverted IOV %v", plan, ivString(x))
		}
	}
	return compareAnswers(mode, existing, after, n, plan)
}

// compareAnswers checks the invariant between the lists before and after.
func compareAnswers(mode IOVMode, before, after []PayloadIOV, n PayloadIOV, plan AttachPlan) string {
	for _, p := range probePoints(before, after, []PayloadIOV{n}) {
		cb, sb := lookupAt(before, p), strictAt(mode, before, p)
		ca, sa := lookupAt(after, p), strictAt(mode, after, p)
		var what string
		switch {
		case coversPoint(mode, n, p):
			if ca == nil || ca.ID != n.ID || sa == nil || sa.ID != n.ID {
				what = fmt.Sprintf("inside the new IOV the answer is %s (strict %s)", payloadOf(ca), payloadOf(sa))
			}
		case sb != nil:
			if payloadOf(ca) != payloadOf(sb) || payloadOf(sa) != payloadOf(sb) {
				what = fmt.Sprintf("covered point changed from %s to %s (strict %s)", payloadOf(sb), payloadOf(ca), payloadOf(sa))
			}
		case sa != nil:
			what = fmt.Sprintf("a gap (compatible answer %s) is now covered by %s", payloadOf(cb), payloadOf(sa))
		}
		if what != "" {
			return fmt.Sprintf("at %v: %s\nplan %+v\nafter:%s", p, what, plan, ivList(after))
		}
	}
	return ""
}

// checkLockedInvariant: a locked GT changes no existing IOV, and accepts n
// exactly when no point of n's range has an answer and no IOV starts inside
// it, or in the online special case (n and the last IOV online-open, n
// starting after it). An accepted attach keeps the invariant; a refusal
// quotes an IOV that is the reason.
func checkLockedInvariant(mode IOVMode, existing []PayloadIOV, n PayloadIOV, plan AttachPlan, err error) string {
	if len(plan.Detach)+len(plan.Resize) > 0 || plan.Split != nil {
		return fmt.Sprintf("locked plan changes existing IOVs: %+v", plan)
	}
	others := slices.DeleteFunc(slices.Clone(existing), func(x PayloadIOV) bool { return x.ID == n.ID })
	var reasons []string
	for _, x := range others {
		if coversPoint(mode, n, x.Start) || x.Start == n.Start {
			reasons = append(reasons, lockedDetail(n, x))
		}
	}
	covered := false
	for _, p := range probePoints(others, []PayloadIOV{n}) {
		if x := strictAt(mode, others, p); coversPoint(mode, n, p) && x != nil {
			covered = true
			reasons = append(reasons, lockedDetail(n, *x))
		}
	}
	last := lookupAt(others, OpenEnd)
	special := n.End.IsOnlineOpen() && last != nil && last.End.IsOnlineOpen() && last.Start.Less(n.Start)
	accept := special || len(reasons) == 0
	switch {
	case accept && err != nil:
		return fmt.Sprintf("refused (%v), want accepted (special case %v, covered %v)", err, special, covered)
	case accept && !special:
		return compareAnswers(mode, others, append(slices.Clone(others), n), n, plan)
	case !accept && (ErrorCodeOf(err) != ELocked || !slices.Contains(reasons, ErrorDetail(err))):
		return fmt.Sprintf("got %v, want ELocked quoting one of %q", err, reasons)
	}
	return ""
}

func ivString(x PayloadIOV) string {
	return fmt.Sprintf("id %d %s %s-%s", x.ID, x.PayloadURL, pointString(x.Start), pointString(x.End))
}

func pointString(p Point) string {
	return "(" + attachBound(p.Major) + "," + attachBound(p.Minor) + ")"
}

func ivList(rows []PayloadIOV) string {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, compareRows)
	var b strings.Builder
	for _, x := range rows {
		b.WriteString("\n  " + ivString(x))
	}
	return b.String()
}

// realList draws lists the way real ones come about: bulk loads of
// open-ended IOVs at increasing starts, closed IOVs with gaps, IOVs at an
// existing start, zero-length legacy rows, online-open ends, and lists
// reshaped by earlier attaches; on runs, on subruns of run 0 (sPHENIX), or
// near MAX. Ids grow with creation, as in the database; nextID is shared with
// the caller so the new IOV can be created at any moment.
type realList struct {
	rng    *rand.Rand
	mode   IOVMode
	majors []int64
	minors []int64
	rows   []PayloadIOV
	nextID int64
}

func newRealList(rng *rand.Rand, mode IOVMode) *realList {
	l := &realList{rng: rng, mode: mode, nextID: 1}
	switch rng.IntN(3) {
	case 0: // runs
		l.majors, l.minors = spanInts(0, 30), []int64{0}
	case 1: // subruns of run 0
		l.majors, l.minors = []int64{0}, spanInts(0, 30)
	default: // near the top of the range
		l.majors = []int64{0, 1, 2, MaxIOV - 2, MaxIOV - 1, MaxIOV}
		l.minors = []int64{0, 1, 2, MaxIOV - 2, MaxIOV - 1, MaxIOV}
	}
	return l
}

func spanInts(lo, hi int64) []int64 {
	var out []int64
	for v := lo; v <= hi; v++ {
		out = append(out, v)
	}
	return out
}

func (l *realList) point() Point {
	return Point{l.majors[l.rng.IntN(len(l.majors))], l.minors[l.rng.IntN(len(l.minors))]}
}

func (l *realList) newID() int64 { l.nextID++; return l.nextID - 1 }

func (l *realList) add(start, end Point) {
	id := l.newID()
	l.rows = append(l.rows, PayloadIOV{ID: id, PayloadURL: "u" + strconv.FormatInt(id, 10), Checksum: "c", Start: start, End: end})
}

// end draws an end for start: open, online-open, or a later point.
func (l *realList) end(start Point) Point {
	switch l.rng.IntN(5) {
	case 0:
		return OpenEnd
	case 1:
		if start.Major == 0 {
			return Point{0, MaxIOV}
		}
		return OpenEnd
	}
	for range 20 {
		if e := l.point(); l.mode.ValidRange(start, e) {
			return e
		}
	}
	return OpenEnd
}

func (l *realList) grow() {
	for ops := l.rng.IntN(7); ops > 0; ops-- {
		switch l.rng.IntN(7) {
		case 0, 1: // bulk load: open-ended IOVs at increasing starts
			starts := make([]Point, 1+l.rng.IntN(5))
			for i := range starts {
				starts[i] = l.point()
			}
			slices.SortFunc(starts, Point.Compare)
			for _, s := range starts {
				l.add(s, OpenEnd)
			}
		case 2: // a closed IOV, leaving gaps around it
			s := l.point()
			if e := l.end(s); l.mode.ValidRange(s, e) {
				l.add(s, e)
			}
		case 3: // at an existing start
			if len(l.rows) > 0 {
				s := l.rows[l.rng.IntN(len(l.rows))].Start
				l.add(s, l.end(s))
			}
		case 4: // a zero-length legacy row (one point in discrete mode)
			s := l.point()
			l.add(s, s)
		default: // an attach done earlier, under the unlocked rules
			s := l.point()
			e := l.end(s)
			if !l.mode.ValidRange(s, e) {
				continue
			}
			n := PayloadIOV{ID: l.newID(), Start: s, End: e}
			n.PayloadURL = "u" + strconv.FormatInt(n.ID, 10)
			if plan, err := PlanAttach(l.mode, StatusUnlocked, l.rows, n); err == nil {
				if rows, err := appliedList(l.rows, plan, n); err == nil {
					l.rows = rows
					l.nextID = max(l.nextID, maxID(rows)+1)
				}
			}
		}
	}
}

func maxID(rows []PayloadIOV) int64 {
	var m int64
	for _, x := range rows {
		m = max(m, x.ID)
	}
	return m
}

// newIOV draws the IOV to attach: closed or open, created before or after
// the list's IOVs, or one of them (attached again).
func (l *realList) newIOV() PayloadIOV {
	if len(l.rows) > 0 && l.rng.IntN(20) == 0 {
		if x := l.rows[l.rng.IntN(len(l.rows))]; l.mode.ValidRange(x.Start, x.End) {
			return x // attached again
		}
	}
	var n PayloadIOV
	for !l.mode.ValidRange(n.Start, n.End) || n.End == (Point{}) {
		n.Start = l.point()
		n.End = l.end(n.Start)
	}
	n.ID = l.newID()
	if l.rng.IntN(4) == 0 {
		n.ID = 0 // renumbered below: created before every IOV of the list
	}
	n.PayloadURL, n.Checksum = "N", "cN"
	if n.ID == 0 {
		for i := range l.rows {
			l.rows[i].ID++
		}
		n.ID = 1
	}
	return n
}

func shrinkInvariantCase(mode IOVMode, status string, existing []PayloadIOV, n PayloadIOV) []PayloadIOV {
	for shrunk := true; shrunk; {
		shrunk = false
		for i := range existing {
			fewer := slices.Delete(slices.Clone(existing), i, i+1)
			if checkInvariant(mode, status, fewer, n) != "" {
				existing, shrunk = fewer, true
				break
			}
		}
	}
	return existing
}

// TestAttachInvariant checks the invariant on 12,000 random attaches per
// mode and status.
func TestAttachInvariant(t *testing.T) {
	const cases = 12000
	rng := rand.New(rand.NewPCG(20261201, 11))
	for _, mode := range []IOVMode{ModeContinuous, ModeDiscrete} {
		for _, status := range []string{StatusUnlocked, StatusLocked} {
			accepted, overlapping := 0, 0
			for range cases {
				l := newRealList(rng, mode)
				l.grow()
				n := l.newIOV()
				existing := l.rows
				if hasOverlap(mode, existing) {
					overlapping++
				}
				if msg := checkInvariant(mode, status, existing, n); msg != "" {
					existing = shrinkInvariantCase(mode, status, existing, n)
					t.Fatalf("%s %s: attach %s to%s\n%s", mode, status, ivString(n), ivList(existing),
						checkInvariant(mode, status, existing, n))
				}
				if _, err := PlanAttach(mode, status, existing, n); err == nil {
					accepted++
				}
			}
			t.Logf("%s %s: %d cases, %d accepted, %d on overlapping lists", mode, status, cases, accepted, overlapping)
			// Guard against a generator that stopped making the cases that matter.
			if overlapping < cases/4 || accepted < cases/10 {
				t.Errorf("%s %s: generator lopsided: %d accepted, %d overlapping", mode, status, accepted, overlapping)
			}
		}
	}
}

func hasOverlap(mode IOVMode, rows []PayloadIOV) bool {
	for i, a := range rows {
		for _, b := range rows[i+1:] {
			if coversPoint(mode, a, b.Start) || coversPoint(mode, b, a.Start) || a.Start == b.Start {
				return true
			}
		}
	}
	return false
}

// TestAttachInvariantReproductions are the two cases of the bug report.
func TestAttachInvariantReproductions(t *testing.T) {
	open := OpenEnd
	at := func(run int64) Point { return Point{run, 0} }
	bulk := func(runs ...int64) []PayloadIOV {
		var rows []PayloadIOV
		for i, r := range runs {
			rows = append(rows, PayloadIOV{ID: int64(i + 1), PayloadURL: fmt.Sprintf("run%d.root", r), Start: at(r), End: open})
		}
		return rows
	}
	fix := PayloadIOV{ID: 100, PayloadURL: "fix.root", Start: at(25), End: at(30)}
	for _, tc := range []struct {
		name     string
		existing []PayloadIOV
		want     map[int64]string // run → payload after the attach
	}{
		{"bulk 20, 30, 40", bulk(20, 30, 40), map[int64]string{
			19: "(none)", 20: "run20.root", 24: "run20.root", 25: "fix.root", 29: "fix.root",
			30: "run30.root", 39: "run30.root", 40: "run40.root", 1000: "run40.root"}},
		{"bulk 20, 26, 27, 40", bulk(20, 26, 27, 40), map[int64]string{
			20: "run20.root", 24: "run20.root", 25: "fix.root", 26: "fix.root", 27: "fix.root", 29: "fix.root",
			30: "run27.root", 39: "run27.root", 40: "run40.root"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := checkInvariant(ModeContinuous, StatusUnlocked, tc.existing, fix); msg != "" {
				t.Error(msg)
			}
			plan, err := PlanAttach(ModeContinuous, StatusUnlocked, tc.existing, fix)
			if err != nil {
				t.Fatal(err)
			}
			after, err := appliedList(tc.existing, plan, fix)
			if err != nil {
				t.Fatal(err)
			}
			for run, want := range tc.want {
				if x := lookupAt(after, at(run)); strings.TrimSuffix(payloadOf(x), "#") != want {
					t.Errorf("run %d answers %s, want %s", run, payloadOf(x), want)
				}
			}
		})
	}
}
