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
// In SQL, with L the list, s = (sM, sm), e = (eM, em), one way to fetch it is:
//
//	(a) WHERE payload_list_id = L AND (major_iov, minor_iov) >= (sM, sm)
//	        AND (major_iov, minor_iov) <= (eM, em)
//	(b) WHERE payload_list_id = L AND (major_iov, minor_iov) < (sM, sm)
//	    ORDER BY major_iov DESC, minor_iov DESC, id DESC LIMIT 1
//	(c) WHERE payload_list_id = L AND (major_iov, minor_iov) > (eM, em)
//	    ORDER BY major_iov, minor_iov, id LIMIT 1
const NeighbourhoodNote = `PlanAttach(mode, status, existing, n) reads only these IOVs attached to the target list (n itself included when it is already there), where IOVs are ordered by (start, id): start = (major_iov, minor_iov) compared lexicographically, then id, a higher id being later:
(a) every IOV X with n.start <= X.start <= n.end (both bounds inclusive, in both modes);
(b) the last IOV with X.start < n.start, i.e. the greatest (start, id) among them;
(c) the first IOV after n.end (smallest (start, id) with X.start > n.end), if any. The discrete rules use it to know whether an IOV starts just after n.end, the locked online-open special case to know whether n would start after every IOV.
Any superset, up to the whole list, gives the same plan or error, in any order. No rule changes an IOV that starts after n.end. Order by (major_iov, minor_iov, id), not by comb_iov: stored comb_iov values can be stale (docs/compatibility.md "comb_iov"); for minors >= 0 the two orders agree.`

// Neighbourhood returns the IOVs of existing that PlanAttach needs for n, as
// defined by NeighbourhoodNote, in (start, id) order.
func Neighbourhood(existing []PayloadIOV, n PayloadIOV) []PayloadIOV {
	rows := slices.Clone(existing)
	slices.SortFunc(rows, compareRows)
	var out []PayloadIOV
	firstAfter := true
	for i, x := range rows {
		inRange := !x.Start.Less(n.Start) && x.Start.Compare(n.End) <= 0
		lastBeforeStart := x.Start.Less(n.Start) && (i+1 == len(rows) || !rows[i+1].Start.Less(n.Start))
		after := n.End.Less(x.Start) && firstAfter
		if after {
			firstAfter = false
		}
		if inRange || lastBeforeStart || after {
			out = append(out, x)
		}
	}
	return out
}

// PlanAttach computes the attach of n into a list whose attached IOVs are
// existing, for a GT of the given status, so that the attach invariant holds
// (docs/design.md "The attach invariant"): inside n's range n answers every
// lookup, and every point outside it that had an answer keeps its payload.
//
// Unlocked rules (any status but locked and frozen, or a detached list), in
// the terms of the compatible lookup (latest start at or before the point,
// ties to the highest id); z is the first point after n (n.end in continuous
// mode, the point after n.end in discrete mode):
//  1. Every IOV starting inside n's range [s, z) is detached, except the one
//     that answers at z when it still holds there: its start moves to z.
//  2. P, the IOV answering at s, when it starts before s and reaches s, is
//     trimmed to end just before s.
//  3. When P also answers at z and still holds there (n lies inside it), a
//     copy of P covering [z, P.end] is added.
//
// On lists without overlapping IOVs these are the reference-intended steps
// of docs/compatibility.md "Attach rules" (swallow, trim, split, shift);
// on lists with overlaps (bulk loads of open-ended IOVs, legacy data) they
// are what keeps the invariant, where the reference's steps would let a split
// copy tie with a later IOV or leave IOVs starting inside n.
//
// Locked rules: nothing existing changes; n is refused (ELocked, the
// reference's "GT is LOCKED…" text quoting the conflicting IOV) when an IOV
// starts at n's start, when the IOV answering at s still holds there, or when
// an IOV starts inside n's range, except in the online special case: n and
// the last IOV of the list are online-open and n starts after it. StatusFrozen
// is refused (ELocked, "Global Tag is frozen.").
//
// mode is ModeContinuous ([start, end), also for "") or ModeDiscrete
// ([start, end] inclusive). An IOV that a trim or move would leave empty or
// inverted is detached instead, and a split copy that would be empty is not
// made, so a plan never produces an invalid IOV.
//
// existing must hold at least the neighbourhood of n (see NeighbourhoodNote);
// it may hold the whole list, in any order. A row with n's id is n already in
// the list: the unlocked rules leave it in place (its bounds taken from n),
// the locked rules ignore it.
//
// An invalid n or mode is EInvalid or EInternal.
func PlanAttach(mode IOVMode, status string, existing []PayloadIOV, n PayloadIOV) (AttachPlan, error) {
	r, err := rulesFor(mode)
	if err != nil {
		return AttachPlan{}, err
	}
	if !r.valid(n.Start, n.End) {
		return AttachPlan{}, Errorf(EInvalid, "IOV %v→%v is not a valid %s range", n.Start, n.End, r.mode())
	}
	switch status {
	case StatusFrozen:
		return AttachPlan{}, Errorf(ELocked, "Global Tag is frozen.")
	case StatusLocked:
		return AttachPlan{}, checkLocked(r, sortedRows(existing, n, false), n)
	}
	return planUnlocked(r, sortedRows(existing, n, true), n), nil
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

// sortedRows returns a sorted copy of existing in which a row with n's id (n
// already in the list; a zero id is not a stored row) is replaced by n when
// keepN is set, and dropped otherwise.
func sortedRows(existing []PayloadIOV, n PayloadIOV, keepN bool) []PayloadIOV {
	rows := make([]PayloadIOV, 0, len(existing))
	for _, x := range existing {
		if n.ID != 0 && x.ID == n.ID {
			if !keepN {
				continue
			}
			x = n
		}
		rows = append(rows, x)
	}
	slices.SortFunc(rows, compareRows)
	return rows
}

// checkLocked applies docs/compatibility.md "Locked rules" (reference-intended) to rows sorted by
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

// planUnlocked applies the unlocked rules of PlanAttach to rows sorted by
// (start, id), n among them if it is already in the list.
func planUnlocked(r iovRules, rows []PayloadIOV, n PayloadIOV) AttachPlan {
	s := n.Start
	z, hasZ := r.startAfter(n.End) // no z: n runs to the last point there is
	inRange := func(p Point) bool { return !p.Less(s) && (!hasZ || p.Less(z)) }
	holdsAt := func(x PayloadIOV, p Point) bool { return !p.Less(x.Start) && r.reaches(x.End, p) }

	// The answers at s and at z, in the list as it is.
	p, a := answerAt(rows, s), -1
	if hasZ {
		a = answerAt(rows, z)
	}

	var plan AttachPlan
	for i, x := range rows {
		switch {
		case x.ID == n.ID && n.ID != 0:
			// n itself, already in the list: it stays.
		case inRange(x.Start):
			// Rule 1; when x is P, the detach is the trim of rule 2 that
			// leaves it empty.
			if i == a && i != p && holdsAt(x, z) {
				plan.Resize = append(plan.Resize, IOVResize{ID: x.ID, Start: z, End: x.End})
			} else {
				plan.Detach = append(plan.Detach, x.ID)
			}
		case i == p && r.reaches(x.End, s):
			// Rule 2. x starts before s, so with minors >= 0 the point
			// before s exists and is not before x's start; other inputs
			// (discrete mode refuses negative minors) detach x.
			if end, ok := r.endBefore(s); ok && r.valid(x.Start, end) {
				plan.Resize = append(plan.Resize, IOVResize{ID: x.ID, Start: x.Start, End: end})
			} else {
				plan.Detach = append(plan.Detach, x.ID)
			}
		}
	}
	// Rule 3.
	if p >= 0 && a == p && rows[p].ID != n.ID && holdsAt(rows[p], z) {
		plan.Split = &IOVSplit{FromID: rows[p].ID, Start: z, End: rows[p].End}
	}
	return plan
}

// answerAt is the index of the row the compatible lookup answers at q: the
// greatest (start, id) with start <= q; -1 when none. rows are sorted by
// (start, id).
func answerAt(rows []PayloadIOV, q Point) int {
	i := -1
	for i+1 < len(rows) && rows[i+1].Start.Compare(q) <= 0 {
		i++
	}
	return i
}
