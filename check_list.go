package condcache

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The rules of the consistency check (docs/design.md "Consistency check")
// as pure functions: the storage layer streams a GT's lists and their IOVs
// and hands them over one list at a time.

// CheckList returns the findings among rows, the IOVs attached to list
// (whose GlobalTag, PayloadType and Name label the findings), in mode
// (ModeDiscrete, or continuous for anything else, as ValidRange). Rows may
// come in any order; they are examined in (start, id) order, the order the
// attach rules use, and only their ID, Start, End and CombIOV are read. The
// findings are in no particular order (SortFindings).
func CheckList(mode IOVMode, list PayloadList, rows []PayloadIOV) []Finding {
	if !slices.IsSortedFunc(rows, byStartThenID) {
		rows = slices.Clone(rows)
		slices.SortFunc(rows, byStartThenID)
	}
	c := listCheck{mode: mode, list: list}
	// Rows with one start form a run; "later" for an IOV of one run means
	// the next run (equal starts are duplicate_start, not overlap).
	for i := 0; i < len(rows); {
		end := runEnd(rows, i)
		var next []PayloadIOV
		if end < len(rows) {
			next = rows[end:runEnd(rows, end)]
		}
		run := rows[i:end]
		if len(run) > 1 {
			c.duplicateStart(run)
		}
		for _, v := range run {
			c.row(v, next)
		}
		i = end
	}
	c.openEndedOverlaps()
	return c.out
}

// runEnd returns the index after the run of rows that start where rows[i]
// starts.
func runEnd(rows []PayloadIOV, i int) int {
	j := i + 1
	for j < len(rows) && rows[j].Start == rows[i].Start {
		j++
	}
	return j
}

func byStartThenID(a, b PayloadIOV) int {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// listCheck collects the findings of one list.
type listCheck struct {
	mode IOVMode
	list PayloadList
	out  []Finding
	// openEnded are the open-ended IOVs that a later start cuts short.
	openEnded []int64
}

func (c *listCheck) add(kind FindingKind, ids []int64, format string, args ...any) {
	var gt string
	if c.list.GlobalTag != nil {
		gt = *c.list.GlobalTag
	}
	c.out = append(c.out, Finding{
		Kind: kind, GlobalTag: gt, PayloadType: c.list.PayloadType, PayloadList: c.list.Name,
		IDs: ids, Detail: fmt.Sprintf(format, args...),
	})
}

func (c *listCheck) discrete() bool { return c.mode == ModeDiscrete }

// duplicateStart reports a run of two or more IOVs with one start. The
// lookup breaks the tie by the highest id, among the IOVs whose comb_iov
// places them at that start.
func (c *listCheck) duplicateStart(run []PayloadIOV) {
	ids := make([]int64, len(run))
	for i, v := range run {
		ids[i] = v.ID
	}
	both := "both"
	if len(run) > 2 {
		both = "all"
	}
	answer := ""
	for _, v := range slices.Backward(run) {
		if combMatches(v) {
			answer = fmt.Sprintf("; lookups answer %d", v.ID)
			break
		}
	}
	c.add(FindingDuplicateStart, ids, "IOVs %s %s start at %s%s", joinIDs(ids), both, pointText(run[0].Start), answer)
}

// row reports what is wrong with v alone, and its overlap with next, the
// run of IOVs that start right after v's start (nil when v's run is the
// last).
func (c *listCheck) row(v PayloadIOV, next []PayloadIOV) {
	switch d := v.End.Compare(v.Start); {
	case d < 0:
		c.add(FindingInverted, []int64{v.ID}, "IOV %d ends at %s, before it starts at %s", v.ID, pointText(v.End), pointText(v.Start))
	case d == 0 && !c.discrete():
		// In discrete mode [s, s] is the valid one-point IOV.
		c.add(FindingZeroLength, []int64{v.ID}, "IOV %d starts and ends at %s, so it holds at no point (continuous mode)", v.ID, pointText(v.Start))
	}
	switch {
	case v.CombIOV == nil:
		c.add(FindingNullCombIOV, []int64{v.ID}, "IOV %d starting at %s has no comb_iov; lookups never answer it", v.ID, pointText(v.Start))
	case !combMatches(v):
		c.add(FindingCombIOVMismatch, []int64{v.ID}, "IOV %d starts at %s but its comb_iov is %s, not %s; lookups place it by comb_iov",
			v.ID, pointText(v.Start), *v.CombIOV, v.Start.CombIOV())
	}
	if len(next) == 0 {
		return
	}
	// The lookup answers the highest id of the next run from its start on.
	later := next[len(next)-1]
	if v.End == OpenEnd && c.holdsAt(v, later.Start) {
		c.openEnded = append(c.openEnded, v.ID)
		return
	}
	if c.holdsAt(v, later.Start) {
		c.add(FindingOverlap, []int64{v.ID, later.ID}, "IOV %d %s still holds at %s, where IOV %d starts; lookups answer %d from there",
			v.ID, c.rangeText(v), pointText(later.Start), later.ID, later.ID)
	}
}

// openEndedOverlaps summarises the open-ended IOVs cut short by a later
// start in one informational finding, listing at most MaxFindingIDs ids: a
// bulk-loaded list of a million IOVs makes one finding, not a million.
func (c *listCheck) openEndedOverlaps() {
	n := len(c.openEnded)
	if n == 0 {
		return
	}
	ids := c.openEnded[:min(n, MaxFindingIDs)]
	shown := ""
	if n > len(ids) {
		shown = fmt.Sprintf(" (the first %d listed)", len(ids))
	}
	what := strconv.Itoa(n) + " IOVs are open-ended and each holds"
	if n == 1 {
		what = "1 IOV is open-ended and holds"
	}
	c.add(FindingOpenEndedOverlap, slices.Clone(ids),
		"%s only until the next start%s; this is how bulk loads store IOVs, and lookups answer the latest start",
		what, shown)
}

// holdsAt reports whether v's end lies past p (continuous: [start, end)) or
// at or past it (discrete: [start, end]); p is after v's start.
func (c *listCheck) holdsAt(v PayloadIOV, p Point) bool {
	d := v.End.Compare(p)
	return d > 0 || (d == 0 && c.discrete())
}

func (c *listCheck) rangeText(v PayloadIOV) string {
	closing := ")"
	if c.discrete() {
		closing = "]"
	}
	return "[" + pointText(v.Start) + ", " + pointText(v.End) + closing
}

// combMatches reports whether v's stored comb_iov is exactly its start,
// compared as positions (CombKey), never as floats: the two differ in the
// 19th fractional digit.
func combMatches(v PayloadIOV) bool {
	if v.CombIOV == nil {
		return false
	}
	k, err := ParseCombKey(*v.CombIOV)
	return err == nil && k == v.Start.CombKey()
}

// CheckTypes returns a FindingDuplicateType for every GT among lists (the
// lists attached to one or more GTs) that has two or more lists of one
// payload type attached. gtPayloadLists then names the highest list id,
// and lookups answer a row from each list.
func CheckTypes(lists []PayloadList) []Finding {
	type key struct{ gt, typ string }
	byType := map[key][]PayloadList{}
	var keys []key
	for _, l := range lists {
		if l.GlobalTag == nil {
			continue
		}
		k := key{*l.GlobalTag, l.PayloadType}
		if byType[k] == nil {
			keys = append(keys, k)
		}
		byType[k] = append(byType[k], l)
	}
	var out []Finding
	for _, k := range keys {
		same := byType[k]
		if len(same) < 2 {
			continue
		}
		slices.SortFunc(same, func(a, b PayloadList) int { return cmp.Compare(a.ID, b.ID) })
		ids := make([]int64, len(same))
		names := make([]string, len(same))
		for i, l := range same {
			ids[i] = l.ID
			names[i] = fmt.Sprintf("%s (%d)", l.Name, l.ID)
		}
		both := "both"
		if len(same) > 2 {
			both = "all"
		}
		out = append(out, Finding{
			Kind: FindingDuplicateType, GlobalTag: k.gt, PayloadType: k.typ, IDs: ids,
			Detail: fmt.Sprintf("lists %s of type %s are %s attached; gtPayloadLists names %s, and lookups answer a row from each",
				joinWords(names), k.typ, both, same[len(same)-1].Name),
		})
	}
	return out
}

// SortFindings orders findings by GT, payload type, payload list, kind and
// ids, the order of the check's answers.
func SortFindings(findings []Finding) {
	slices.SortFunc(findings, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.GlobalTag, b.GlobalTag),
			cmp.Compare(a.PayloadType, b.PayloadType),
			cmp.Compare(a.PayloadList, b.PayloadList),
			cmp.Compare(a.Kind, b.Kind),
			slices.Compare(a.IDs, b.IDs),
		)
	})
}

// pointText renders p like Point.String, with MaxIOV components as MAX, the
// open end being (MAX,MAX).
func pointText(p Point) string {
	c := func(v int64) string {
		if v == MaxIOV {
			return "MAX"
		}
		return strconv.FormatInt(v, 10)
	}
	return "(" + c(p.Major) + "," + c(p.Minor) + ")"
}

func joinIDs(ids []int64) string {
	words := make([]string, len(ids))
	for i, id := range ids {
		words[i] = strconv.FormatInt(id, 10)
	}
	return joinWords(words)
}

// joinWords joins "a", "a and b", "a, b and c".
func joinWords(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
