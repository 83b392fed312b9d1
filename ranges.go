package condcache

import (
	"slices"
)

// RangeInterval is one piece [From, Until) of a payload type's answers over
// a range; Row nil means no answer there (before the first IOV, or, for a
// strict answer, after an IOV ended). Until nil means no upper bound.
type RangeInterval struct {
	From  Point
	Until *Point
	Row   *PayloadIOV
}

// TypeIntervals are the pieces of one payload type, in order.
type TypeIntervals struct {
	PayloadType string
	Intervals   []RangeInterval
}

// ResolveRange tiles [from, to] (both inclusive) with the answers of each
// payload type of lists (type → the IOVs of its list that can answer
// there), as the compatible lookup gives them interval by interval, or with
// o.Strict honouring IOV ends; o.Types keeps some types only. It returns the
// types in name order and the range digest of the pieces that have an
// answer (docs/design.md "Digests").
func ResolveRange(lists map[string][]PayloadIOV, from, to Point, o ResolveOptions) ([]TypeIntervals, string) {
	end, bounded := to.After() // the range is [from, end)
	types := make([]string, 0, len(lists))
	for t := range lists {
		if len(o.Types) == 0 || slices.Contains(o.Types, t) {
			types = append(types, t)
		}
	}
	slices.Sort(types)
	var out []TypeIntervals
	var digested []TypedInterval
	for _, t := range types {
		var pieces []RangeInterval
		add := func(a Point, b *Point, row *PayloadIOV) {
			if b != nil && comparePositions(*b, a) <= 0 {
				return // empty
			}
			if n := len(pieces); n > 0 && pieces[n-1].Row == nil && row == nil {
				pieces[n-1].Until = b // merge two stretches without an answer
				return
			}
			pieces = append(pieces, RangeInterval{From: a, Until: b, Row: row})
		}
		cursor, done := from, false
		for _, iv := range EffectiveIntervals(lists[t]) {
			a, b := iv.From, iv.Until
			if bounded && comparePositions(a, end) >= 0 {
				break
			}
			if b != nil && comparePositions(*b, cursor) <= 0 {
				continue // ends before the range
			}
			if comparePositions(a, cursor) > 0 {
				add(cursor, &a, nil) // nothing answers before this IOV
			} else {
				a = cursor
			}
			if bounded && (b == nil || comparePositions(*b, end) > 0) {
				e := end
				b = &e
			}
			row := iv.Row
			if cover, ends := coverEnd(row, o.Mode); o.Strict && ends && (b == nil || comparePositions(cover, *b) < 0) {
				// The IOV ends inside its interval: no answer after its end.
				gap := a
				if comparePositions(cover, a) > 0 {
					add(a, &cover, &row)
					gap = cover
				}
				add(gap, b, nil)
			} else {
				add(a, b, &row)
			}
			if b == nil {
				done = true
				break
			}
			cursor = *b
		}
		if !done && (!bounded || comparePositions(cursor, end) < 0) {
			var e *Point
			if bounded {
				e = &end
			}
			add(cursor, e, nil) // nothing answers after the last IOV's interval
		}
		for _, p := range pieces {
			if p.Row != nil {
				digested = append(digested, TypedInterval{PayloadType: t, Interval: Interval{From: p.From, Until: p.Until, Row: *p.Row}})
			}
		}
		out = append(out, TypeIntervals{PayloadType: t, Intervals: pieces})
	}
	return out, DigestIntervals(digested)
}

// coverEnd is the first point where x no longer holds; ok false when it
// holds to the last point there is (discrete mode, end (MAX, MAX)).
func coverEnd(x PayloadIOV, mode IOVMode) (Point, bool) {
	if mode == ModeDiscrete {
		return x.End.After()
	}
	return x.End, true
}

// LookupIn is the compatible lookup computed from whole lists in memory
// (type → the IOVs attached to its list), as a reconstructed past state
// gives them: the rows at point at and the window around it where they
// hold.
func LookupIn(lists map[string][]PayloadIOV, at Point) ([]LookupRow, Window) {
	w := Window{From: MinCombKey, Until: MaxCombKey}
	var rows []LookupRow
	types := make([]string, 0, len(lists))
	for t := range lists {
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		ivs := EffectiveIntervals(lists[t])
		for _, iv := range ivs {
			if comparePositions(iv.From, at) > 0 {
				narrowUntil(&w, iv.From) // the first IOV after the point
				break
			}
			if iv.Until != nil && comparePositions(*iv.Until, at) <= 0 {
				continue
			}
			x := iv.Row
			row := LookupRow{PayloadType: t, PayloadURL: x.PayloadURL, Checksum: x.Checksum, Size: x.Size,
				Start: x.Start, End: x.End, Revision: x.Extra, ID: x.ID}
			if x.PayloadListID != nil {
				row.ListID = *x.PayloadListID
			}
			rows = append(rows, row)
			if k := x.Start.CombKey(); !w.HasFrom || string(k[:]) > string(w.From[:]) {
				w.From, w.HasFrom, w.FromPoint = k, true, x.Start
			}
			if iv.Until != nil {
				narrowUntil(&w, *iv.Until)
			}
			break
		}
	}
	return rows, w
}

func narrowUntil(w *Window, p Point) {
	if k := p.CombKey(); string(k[:]) < string(w.Until[:]) {
		w.Until, w.HasUntil, w.UntilPoint = k, true, p
	}
}
