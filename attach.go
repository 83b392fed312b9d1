package condcache

import (
	"cmp"
	"fmt"
	"slices"
)

// AttachPlan is what attaching a new IOV N to a payload list changes among
// the IOVs already attached to that list. Applying it and then attaching N
// leaves the list without overlaps (unlocked rules) or refuses (locked rules).
type AttachPlan struct {
	Detach []int64     // existing IOVs swallowed by N (or emptied by a trim): detached from the list
	Resize []IOVResize // existing IOVs whose bounds change (trim, successor shift)
	Split  *IOVSplit   // a copy of an existing IOV with new bounds (N inside it)
}

// IOVResize gives an existing IOV new bounds.
type IOVResize struct {
	ID         int64
	Start, End Point
}

// IOVSplit inserts a copy of IOV FromID (same url, checksum, size, extra,
// list) with new bounds.
type IOVSplit struct {
	FromID     int64
	Start, End Point
}

// NeighbourhoodNote is the contract between PlanAttach and whoever fetches
// the existing IOVs (the SQL layer). Neighbourhood is its executable form.
//
// In SQL, with L the list, s = (sM, sm), e = (eM, em) and n's own id
// excluded everywhere, one way to fetch it is:
//
//	(a) WHERE payload_list_id = L AND (major_iov, minor_iov) >= (sM, sm)
//	        AND (major_iov, minor_iov) <= (eM, em)
//	(b) WHERE payload_list_id = L AND (major_iov, minor_iov) < (sM, sm)
//	    ORDER BY major_iov DESC, minor_iov DESC, id DESC LIMIT 1
//	(c) WHERE payload_list_id = L
//	    ORDER BY major_iov DESC, minor_iov DESC, id DESC LIMIT 1
//	    (or: WHERE ... AND (major_iov, minor_iov) > (eM, em)
//	    ORDER BY major_iov, minor_iov, id LIMIT 1)
const NeighbourhoodNote = `PlanAttach(mode, status, existing, n) reads only these IOVs attached to the target list (n itself excluded), where IOVs are ordered by (start, id): start = (major_iov, minor_iov) compared lexicographically, then id, a higher id being later:
(a) every IOV X with n.start <= X.start <= n.end (both bounds inclusive, in both modes);
(b) the last IOV with X.start < n.start, i.e. the greatest (start, id) among them;
(c) if the list has IOVs starting after n.end, at least one of them: the last IOV of the list (greatest (start, id) overall) or the first one after n.end (smallest (start, id) with X.start > n.end) both do. Only the locked online-open special case uses it, to know whether n starts after every IOV, so it may be skipped unless status is "locked" and n's end is online-open (end major 0 or MAX, end minor MAX).
Any superset, up to the whole list, gives the same plan or error, in any order. No rule changes, or refuses because of, an IOV that starts after n.end. Order by (major_iov, minor_iov, id), not by comb_iov: stored comb_iov values can be stale (API.md 1.7), and the two orders differ for negative minors.`

// Neighbourhood returns the IOVs of existing that PlanAttach needs for n, as
// defined by NeighbourhoodNote, in (start, id) order. For part (c) it takes the
// last IOV of the list, whatever the status.
func Neighbourhood(existing []PayloadIOV, n PayloadIOV) []PayloadIOV {
	rows := sortedRows(existing, n)
	var out []PayloadIOV
	for i, x := range rows {
		inRange := !x.Start.Less(n.Start) && x.Start.Compare(n.End) <= 0
		lastBeforeStart := x.Start.Less(n.Start) && (i+1 == len(rows) || !rows[i+1].Start.Less(n.Start))
		last := i+1 == len(rows)
		if inRange || lastBeforeStart || last {
			out = append(out, x)
		}
	}
	return out
}

// PlanAttach computes the attach of n into a list whose attached IOVs are
// existing, for a GT of the given status: locked rules (API.md §3.5, nothing
// existing changes, conflicts refused) for StatusLocked, unlocked rules
// (§3.4: swallow, trim, split, shift) for anything else. StatusFrozen should be
// refused by the caller before; PlanAttach refuses it too (ELocked,
// "Global Tag is frozen.").
//
// mode is ModeContinuous ([start, end), also for "") or ModeDiscrete
// ([start, end] inclusive, DESIGN.md "Compatibility decisions" 2). Where the
// reference leaves a choice:
//   - Ties between IOVs with the same start are broken by id: IOVs are
//     ordered by (start, id) and the higher id is the later one. So the
//     predecessor P is the greatest (start, id) with start <= n.start (< in
//     locked mode), the successor S the smallest (start, id) with start >
//     n.start, the locked "same start" IOV quoted is the one with the highest
//     id and the online special case looks at the greatest (start, id). A
//     split copy counts as later than an existing IOV with the same start (it
//     gets a new, higher id).
//   - An IOV that a trim or shift would leave empty or inverted is detached
//     instead (DESIGN.md decision 1), and a split copy that would be empty is
//     not made; so a plan never produces an invalid IOV, even where the point
//     before or after a bound does not exist.
//
// existing must hold at least the neighbourhood of n (see NeighbourhoodNote);
// it may hold the whole list, in any order. A row with n's id (n already in
// the list) is ignored: re-attaching an IOV to its own list changes nothing
// because of itself. Existing IOVs are expected not to overlap; if they do,
// the steps are still applied as written, to P and S only.
//
// A locked refusal is an *Error with code ELocked and the reference's
// "GT is LOCKED…" detail; an invalid n or mode is EInvalid or EInternal.
func PlanAttach(mode IOVMode, status string, existing []PayloadIOV, n PayloadIOV) (AttachPlan, error) {
	r, err := rulesFor(mode)
	if err != nil {
		return AttachPlan{}, err
	}
	if !r.valid(n.Start, n.End) {
		return AttachPlan{}, Errorf(EInvalid, "IOV %v→%v is not a valid %s range", n.Start, n.End, r.mode())
	}
	rows := sortedRows(existing, n)
	switch status {
	case StatusFrozen:
		return AttachPlan{}, Errorf(ELocked, "Global Tag is frozen.")
	case StatusLocked:
		return AttachPlan{}, checkLocked(r, rows, n)
	}
	return planUnlocked(r, rows, n), nil
}

// iovRules holds what differs between continuous ([start, end)) and discrete
// ([start, end]) IOVs.
type iovRules struct{ discrete bool }

func rulesFor(mode IOVMode) (iovRules, error) {
	switch mode {
	case "", ModeContinuous:
		return iovRules{}, nil
	case ModeDiscrete:
		return iovRules{discrete: true}, nil
	}
	return iovRules{}, Errorf(EInternal, "unknown IOV mode %q", string(mode))
}

func (r iovRules) mode() IOVMode {
	if r.discrete {
		return ModeDiscrete
	}
	return ModeContinuous
}

func (r iovRules) valid(start, end Point) bool { return r.mode().ValidRange(start, end) }

// reaches reports whether an IOV ending at end still holds at p, for a p not
// before its start: p < end for continuous, p <= end for discrete. It is the
// overlap test against a neighbour that starts earlier.
func (r iovRules) reaches(end, p Point) bool {
	if r.discrete {
		return p.Compare(end) <= 0
	}
	return p.Less(end)
}

// endBefore is the end of an IOV trimmed to stop just before s. ok is false
// when no such end exists.
func (r iovRules) endBefore(s Point) (end Point, ok bool) {
	if r.discrete {
		return s.Before()
	}
	return s, true
}

// startAfter is the start of an IOV moved to begin just after an IOV ending
// at e. ok is false when no such start exists.
func (r iovRules) startAfter(e Point) (start Point, ok bool) {
	if r.discrete {
		return e.After()
	}
	return e, true
}

// compareRows orders IOVs by (start, id); end breaks the remaining ties so
// that even duplicated ids give an input-order independent result.
func compareRows(a, b PayloadIOV) int {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	return a.End.Compare(b.End)
}

// sortedRows returns a sorted copy of existing without n itself (a zero id is
// not a stored row, so it never matches).
func sortedRows(existing []PayloadIOV, n PayloadIOV) []PayloadIOV {
	rows := make([]PayloadIOV, 0, len(existing))
	for _, x := range existing {
		if n.ID == 0 || x.ID != n.ID {
			rows = append(rows, x)
		}
	}
	slices.SortFunc(rows, compareRows)
	return rows
}

// checkLocked applies API.md §3.5 (reference-intended) to rows sorted by
// (start, id): nil accepts n unchanged, else the reference's refusal.
func checkLocked(r iovRules, rows []PayloadIOV, n PayloadIOV) error {
	// i is the last row with start <= n.Start: the same-start row with the
	// highest id if there is one, else the predecessor; i+1 is the successor.
	i := -1
	for i+1 < len(rows) && rows[i+1].Start.Compare(n.Start) <= 0 {
		i++
	}
	if i >= 0 && rows[i].Start == n.Start {
		return lockedConflict(n, rows[i])
	}
	if n.End.IsOnlineOpen() && len(rows) > 0 {
		// Online special case: appending an online-open IOV after the last
		// one, itself online-open, is allowed although they overlap.
		t := rows[len(rows)-1]
		if t.End.IsOnlineOpen() && t.Start.Less(n.Start) {
			return nil
		}
	}
	if i >= 0 && r.reaches(rows[i].End, n.Start) {
		return lockedConflict(n, rows[i])
	}
	if i+1 < len(rows) && r.reaches(n.End, rows[i+1].Start) {
		return lockedConflict(n, rows[i+1])
	}
	return nil
}

// lockedConflict is the reference's refusal, text included.
func lockedConflict(n, x PayloadIOV) error {
	return &Error{Code: ELocked, Detail: fmt.Sprintf(
		"GT is LOCKED. You are attempting to insert IOV (major_iov,minor_iov,major_iov_end, minor_iov_end) (%d,%d,%d,%d). Conflicts with existing IOV %s (%d,%d,%d,%d)",
		n.Start.Major, n.Start.Minor, n.End.Major, n.End.Minor,
		x.PayloadURL, x.Start.Major, x.Start.Minor, x.End.Major, x.End.Minor)}
}

// slot is one IOV of the list while an unlocked plan is computed.
type slot struct {
	id         int64
	start, end Point
	detached   bool // swallowed, or emptied by a trim or shift
	moved      bool // bounds changed
}

// setBounds gives s new bounds, or detaches it when they do not exist or
// would make it empty or inverted (DESIGN.md decision 1).
func (s *slot) setBounds(r iovRules, start, end Point, ok bool) {
	if !ok || !r.valid(start, end) {
		s.detached = true
		return
	}
	s.start, s.end, s.moved = start, end, true
}

// planUnlocked applies API.md §3.4 steps 1-3 (reference-intended), or their
// discrete reading, to rows sorted by (start, id).
func planUnlocked(r iovRules, rows []PayloadIOV, n PayloadIOV) AttachPlan {
	s, e := n.Start, n.End
	slots := make([]slot, len(rows))
	for i, x := range rows {
		slots[i] = slot{id: x.ID, start: x.Start, end: x.End}
	}

	// 1. Swallow every IOV inside n. (start <= e only matters for inverted
	// rows; it keeps rows starting after n out of the neighbourhood.)
	for i := range slots {
		x := &slots[i]
		if !x.start.Less(s) && x.start.Compare(e) <= 0 && x.end.Compare(e) <= 0 {
			x.detached = true
		}
	}

	// 2. Predecessor: trim it to stop before n, and keep its part after n as
	// a split copy.
	var split *slot
	if p := lastAttached(slots, func(x *slot) bool { return x.start.Compare(s) <= 0 }); p != nil {
		pe := p.end
		if r.reaches(pe, s) {
			end, ok := r.endBefore(s)
			p.setBounds(r, p.start, end, ok)
		}
		if e.Less(pe) {
			if start, ok := r.startAfter(e); ok && r.valid(start, pe) {
				split = &slot{id: p.id, start: start, end: pe}
			}
		}
	}

	// 3. Successor (the split copy is a candidate, later than an existing IOV
	// with the same start): move its start after n if n reaches into it.
	succ := firstAttached(slots, func(x *slot) bool { return s.Less(x.start) })
	if split != nil && s.Less(split.start) && (succ == nil || split.start.Less(succ.start)) {
		succ = split
	}
	if succ != nil && r.reaches(e, succ.start) {
		start, ok := r.startAfter(e)
		succ.setBounds(r, start, succ.end, ok)
	}

	return collectPlan(slots, split)
}

// lastAttached returns the last attached slot for which match holds.
func lastAttached(slots []slot, match func(*slot) bool) *slot {
	for i := len(slots) - 1; i >= 0; i-- {
		if x := &slots[i]; !x.detached && match(x) {
			return x
		}
	}
	return nil
}

// firstAttached returns the first attached slot for which match holds.
func firstAttached(slots []slot, match func(*slot) bool) *slot {
	for i := range slots {
		if x := &slots[i]; !x.detached && match(x) {
			return x
		}
	}
	return nil
}

func collectPlan(slots []slot, split *slot) AttachPlan {
	var plan AttachPlan
	for _, x := range slots {
		switch {
		case x.detached:
			plan.Detach = append(plan.Detach, x.id)
		case x.moved:
			plan.Resize = append(plan.Resize, IOVResize{ID: x.id, Start: x.start, End: x.end})
		}
	}
	if split != nil && !split.detached {
		plan.Split = &IOVSplit{FromID: split.id, Start: split.start, End: split.end}
	}
	return plan
}
