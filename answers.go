package condcache

import (
	"bytes"
	"cmp"
	"slices"
)

// Interval is a run range [From, Until) over which the compatible lookup of
// one list answers Row. Until nil means no upper bound.
type Interval struct {
	From  Point
	Until *Point
	Row   PayloadIOV
}

// EffectiveIntervals returns what the compatible lookup answers for one
// list, interval by interval (docs/compatibility.md "The lookup"): at each
// point, the IOV with the greatest comb_iov at or before it, ties to the
// highest id, whatever its end. rows are the IOVs attached to the list, in
// any order; those without a comb_iov are invisible to lookups and left
// out. Intervals are in order and do not overlap; before the first one
// there is no answer.
func EffectiveIntervals(rows []PayloadIOV) []Interval {
	type keyed struct {
		key CombKey
		row PayloadIOV
	}
	visible := make([]keyed, 0, len(rows))
	for _, x := range rows {
		if k, ok := storedKey(x); ok {
			visible = append(visible, keyed{k, x})
		}
	}
	slices.SortFunc(visible, func(a, b keyed) int {
		if c := bytes.Compare(a.key[:], b.key[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.row.ID, b.row.ID)
	})
	var out []Interval
	for i, x := range visible {
		// Of several IOVs at one position only the last (highest id) ever
		// answers.
		if i+1 < len(visible) && visible[i+1].key == x.key {
			continue
		}
		iv := Interval{From: x.row.Start, Row: x.row}
		if i+1 < len(visible) {
			next := visible[i+1].row.Start
			iv.Until = &next
		}
		out = append(out, iv)
	}
	return out
}

// storedKey is the position at which lookups find x: its stored comb_iov
// (which may disagree with its start in legacy data), else none.
func storedKey(x PayloadIOV) (CombKey, bool) {
	if x.CombIOV == nil {
		return CombKey{}, false
	}
	k, err := ParseCombKey(*x.CombIOV)
	return k, err == nil
}

// SamePayload reports whether two answers give a job the same payload: url,
// checksum and size (a split copy does, with other bounds).
func SamePayload(a, b *PayloadIOV) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.PayloadURL == b.PayloadURL && a.Checksum == b.Checksum && equalPtr(a.Size, b.Size)
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// DiffAnswers returns the run ranges where the compatible lookup of GT gt
// answers another payload after than before, per payload type. before and
// after map each type to the IOVs attached to the GT's list of that type (a
// type missing from a map has no list). Adjacent ranges with the same pair
// of payloads are merged. The result is ordered by type, then range.
func DiffAnswers(gt string, before, after map[string][]PayloadIOV) []AnswerChange {
	types := make([]string, 0, len(before)+len(after))
	for t := range before {
		types = append(types, t)
	}
	for t := range after {
		if _, ok := before[t]; !ok {
			types = append(types, t)
		}
	}
	slices.Sort(types)
	var out []AnswerChange
	for _, t := range types {
		for _, c := range diffIntervals(EffectiveIntervals(before[t]), EffectiveIntervals(after[t])) {
			c.GlobalTag, c.PayloadType = gt, t
			out = append(out, c)
		}
	}
	return out
}

// diffIntervals walks two interval sequences together, cutting at every
// bound of either, and keeps the pieces whose payloads differ.
func diffIntervals(a, b []Interval) []AnswerChange {
	var cuts []Point
	for _, seq := range [][]Interval{a, b} {
		for _, iv := range seq {
			cuts = append(cuts, iv.From)
			if iv.Until != nil {
				cuts = append(cuts, *iv.Until)
			}
		}
	}
	slices.SortFunc(cuts, comparePositions)
	cuts = slices.CompactFunc(cuts, func(p, q Point) bool { return comparePositions(p, q) == 0 })

	var out []AnswerChange
	for i, from := range cuts {
		var until *Point
		if i+1 < len(cuts) {
			until = &cuts[i+1]
		}
		x, y := answerIn(a, from), answerIn(b, from)
		if SamePayload(x, y) {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Until != nil && comparePositions(*out[n-1].Until, from) == 0 &&
			SamePayload(out[n-1].Before, x) && SamePayload(out[n-1].After, y) {
			out[n-1].Until = until
			continue
		}
		out = append(out, AnswerChange{From: from, Until: until, Before: x, After: y})
	}
	return out
}

// comparePositions orders points as lookups do: by comb_iov.
func comparePositions(p, q Point) int {
	pk, qk := p.CombKey(), q.CombKey()
	return bytes.Compare(pk[:], qk[:])
}

// answerIn returns the row of the interval holding p, or nil.
func answerIn(seq []Interval, p Point) *PayloadIOV {
	i, found := slices.BinarySearchFunc(seq, p, func(iv Interval, p Point) int { return comparePositions(iv.From, p) })
	if !found {
		i--
	}
	if i < 0 {
		return nil
	}
	if u := seq[i].Until; u != nil && comparePositions(*u, p) <= 0 {
		return nil
	}
	return &seq[i].Row
}

// DiffRange returns, per payload type present in both a and b (type → the
// IOVs of its list that can answer in the range), the pieces of [from, to]
// (both inclusive) where the compatible lookup answers another payload in
// b than in a (AnswerChange.Before is a's answer, After is b's), clipped
// to the range; and the types only one of them has.
func DiffRange(a, b map[string][]PayloadIOV, from, to Point) (changes []AnswerChange, onlyInA, onlyInB []string) {
	common := map[string][]PayloadIOV{}
	for t := range a {
		if _, ok := b[t]; ok {
			common[t] = nil
		} else {
			onlyInA = append(onlyInA, t)
		}
	}
	for t := range b {
		if _, ok := a[t]; !ok {
			onlyInB = append(onlyInB, t)
		}
	}
	slices.Sort(onlyInA)
	slices.Sort(onlyInB)
	before, after := map[string][]PayloadIOV{}, map[string][]PayloadIOV{}
	for t := range common {
		before[t], after[t] = a[t], b[t]
	}
	end, bounded := to.After()
	for _, c := range DiffAnswers("", before, after) {
		if c.Until != nil && comparePositions(*c.Until, from) <= 0 || bounded && comparePositions(c.From, end) >= 0 {
			continue
		}
		if comparePositions(c.From, from) < 0 {
			c.From = from
		}
		if bounded && (c.Until == nil || comparePositions(*c.Until, end) > 0) {
			e := end
			c.Until = &e
		}
		changes = append(changes, c)
	}
	return changes, onlyInA, onlyInB
}
