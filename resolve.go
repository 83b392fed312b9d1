package condcache

import (
	"cmp"
	"slices"
)

// Resolved is a lookup answer as the v2 API gives it (docs/design.md "The
// v2 read API"): the payloads that hold at a point, the requested or
// expired types that have none, and the window of points around it where
// exactly this answer holds.
type Resolved struct {
	Payloads []LookupRow // ordered by type
	Missing  []string    // ordered by name
	// From and Until bound the window [From, Until); nil: unbounded.
	From, Until *Point
	Digest      string
}

// ResolveOptions selects what Resolve keeps.
type ResolveOptions struct {
	// Strict honours IOV ends: a type whose IOV ended before the point
	// (continuous: end <= point; discrete: end < point) is missing.
	Strict bool
	Mode   IOVMode
	// Types, when not empty, keeps only these payload types; those without
	// a payload are missing.
	Types []string
}

// Resolve builds the answer at point at from the compatible lookup's rows
// and window there.
func Resolve(rows []LookupRow, w Window, at Point, o ResolveOptions) Resolved {
	var out Resolved
	if w.HasFrom {
		p := w.FromPoint
		out.From = &p
	}
	if w.HasUntil {
		p := w.UntilPoint
		out.Until = &p
	}
	wanted := map[string]bool{}
	for _, t := range o.Types {
		wanted[t] = true
	}
	answered := map[string]bool{}
	for _, r := range rows {
		if len(wanted) > 0 && !wanted[r.PayloadType] {
			continue
		}
		// The point after which r no longer holds, when it has one.
		end, ends := r.End, true
		if o.Mode == ModeDiscrete {
			end, ends = r.End.After()
		}
		if o.Strict && ends && comparePositions(end, at) <= 0 {
			// Ended before the point: missing from its end to the next start.
			if out.From == nil || comparePositions(end, *out.From) > 0 {
				out.From = &end
			}
			continue
		}
		if o.Strict && ends && (out.Until == nil || comparePositions(end, *out.Until) < 0) {
			out.Until = &end
		}
		answered[r.PayloadType] = true
		out.Payloads = append(out.Payloads, r)
	}
	slices.SortStableFunc(out.Payloads, func(a, b LookupRow) int { return cmp.Compare(a.PayloadType, b.PayloadType) })
	missing := map[string]bool{}
	for _, r := range rows {
		if !answered[r.PayloadType] && (len(wanted) == 0 || wanted[r.PayloadType]) {
			missing[r.PayloadType] = true
		}
	}
	for t := range wanted {
		if !answered[t] {
			missing[t] = true
		}
	}
	for t := range missing {
		out.Missing = append(out.Missing, t)
	}
	slices.Sort(out.Missing)
	out.Digest = DigestRows(out.Payloads)
	return out
}
