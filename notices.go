package condcache

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Importance of a notice (docs/design.md "Notices"), Alyx's levels.
type Importance int

const (
	Insignificant Importance = 20
	Minor         Importance = 30
	Major         Importance = 40
	Critical      Importance = 50
)

var importanceNames = map[Importance]string{Critical: "CRITICAL", Major: "MAJOR", Minor: "MINOR", Insignificant: "INSIGNIFICANT"}

func (i Importance) String() string {
	if n, ok := importanceNames[i]; ok {
		return n
	}
	return strconv.Itoa(int(i))
}

// ParseImportance reads a level by name (any case) or number.
func ParseImportance(s string) (Importance, error) {
	for i, n := range importanceNames {
		if strings.EqualFold(s, n) || s == strconv.Itoa(int(i)) {
			return i, nil
		}
	}
	return 0, FieldError(EInvalid, "importance", "Must be one of CRITICAL (50), MAJOR (40), MINOR (30), INSIGNIFICANT (20).")
}

// Notice tells the users of some conditions something they must know
// (docs/design.md "Notices"): known to be bad, superseded, to be used with
// care. It is attached to GTs, payload types, payload lists and IOVs, and
// applies to the answers that involve them, within its run range.
type Notice struct {
	ID              int64
	Description     string // markdown
	DescriptionHTML string // rendered and sanitised
	Importance      Importance
	Author          string
	Created         time.Time
	Updated         time.Time
	VersionAffected *string
	// Runs, when set, limits the notice to the points [From, To], both
	// inclusive.
	Runs *PointRange
	// Dates, when set, say when the problem was (informational).
	Dates *TimeRange
	// What it is attached to.
	GlobalTags   []string
	PayloadTypes []string
	PayloadLists []string
	IOVs         []int64
	// ListIDs are the ids of PayloadLists, resolved when the notice is read
	// for answers (a list is matched by id).
	ListIDs []int64
}

// PointRange is [From, To], both inclusive.
type PointRange struct{ From, To Point }

// TimeRange is [From, To]; a zero end is unbounded.
type TimeRange struct{ From, To time.Time }

// NewNotice is the input of a notice creation or replacement.
type NewNotice struct {
	Description     string
	DescriptionHTML string // rendered and sanitised by the caller
	Importance      Importance
	Author          string
	VersionAffected *string
	Runs            *PointRange
	Dates           *TimeRange
	GlobalTags      []string
	PayloadTypes    []string
	PayloadLists    []string
	IOVs            []int64
}

// NoticeQuery selects notices, most important and newest first.
type NoticeQuery struct {
	GlobalTag     string     // attached to this GT ("" = any)
	PayloadType   string     // attached to this type
	MinImportance Importance // at least this important (0 = any)
	Text          string     // in the description, case-insensitive
	Page          int
	PageSize      int
}

// NoticeService writes notices. Implemented by sql.Store.
type NoticeService interface {
	CreateNotice(ctx context.Context, n NewNotice) (Notice, error)
	ReplaceNotice(ctx context.Context, id int64, n NewNotice) (Notice, error)
	DeleteNotice(ctx context.Context, id int64) (Notice, error)
	// NoticeScope names the GTs a write of notices concerns, for its
	// permission check: those of notice id's current links (id > 0) and
	// those n would link (n != nil), directly or through a list or an IOV
	// of a list attached to them; anyType reports links to payload types,
	// which span every GT. An unknown object n names is ENotFound, an
	// unknown id too.
	NoticeScope(ctx context.Context, id int64, n *NewNotice) (gts []string, anyType bool, err error)
}

// NoticeReader reads notices. Implemented by sql.Reader.
type NoticeReader interface {
	Notices(ctx context.Context, q NoticeQuery) (Page[Notice], error)
	Notice(ctx context.Context, id int64) (Notice, error)
	// CandidateNotices returns the notices that can apply to answers of
	// GT gt: attached to it, to a type or list it holds, or to an IOV of
	// its lists (NoticeApplies picks those of one answer).
	CandidateNotices(ctx context.Context, gt string) ([]Notice, error)
}

// SortNotices orders notices as every answer lists them: most important
// first, then newest.
func SortNotices(ns []Notice) {
	slices.SortFunc(ns, func(a, b Notice) int {
		return cmp.Or(cmp.Compare(b.Importance, a.Importance), b.Created.Compare(a.Created), cmp.Compare(b.ID, a.ID))
	})
}

// NoticeApplies reports whether notice n applies to an answer of GT gt made
// of rows (the IOVs that answer, with their type and list), over the points
// [from, to] (from = to for one point): n is attached to the GT, to a type
// or list of the answer, or to an answering IOV, and its run range, if
// any, meets [from, to].
func NoticeApplies(n Notice, gt string, rows []AnsweringIOV, from, to Point) bool {
	if n.Runs != nil && (comparePositions(n.Runs.To, from) < 0 || comparePositions(to, n.Runs.From) < 0) {
		return false
	}
	if slices.Contains(n.GlobalTags, gt) {
		return true
	}
	for _, r := range rows {
		if slices.Contains(n.PayloadTypes, r.PayloadType) || slices.Contains(n.ListIDs, r.ListID) || slices.Contains(n.IOVs, r.ID) {
			return true
		}
	}
	return false
}

// AnsweringIOV is what NoticeApplies needs of an IOV in an answer.
type AnsweringIOV struct {
	ID          int64
	ListID      int64
	PayloadType string
}

// ApplicableNotices filters candidates with NoticeApplies and sorts them.
func ApplicableNotices(candidates []Notice, gt string, rows []AnsweringIOV, from, to Point) []Notice {
	var out []Notice
	for _, n := range candidates {
		if NoticeApplies(n, gt, rows, from, to) {
			out = append(out, n)
		}
	}
	SortNotices(out)
	return out
}

// NoticeSummary is the X-Condcache-Notices header of a compatible lookup:
// "<n>; max-importance=<NAME>", or "" when none applies.
func NoticeSummary(ns []Notice) string {
	if len(ns) == 0 {
		return ""
	}
	top := ns[0].Importance
	for _, n := range ns {
		top = max(top, n.Importance)
	}
	return strconv.Itoa(len(ns)) + "; max-importance=" + top.String()
}

// NoticesForRange returns the candidates that apply to a range answer of
// GT gt (the pieces of ResolveRange, over [from, to]), sorted: attached to
// the GT and meeting the range, or attached to a type, list or IOV that
// answers in a piece meeting the notice's run range.
func NoticesForRange(candidates []Notice, gt string, types []TypeIntervals, from, to Point) []Notice {
	var out []Notice
	for _, n := range candidates {
		lo, hi := from, to
		if n.Runs != nil {
			if comparePositions(n.Runs.To, from) < 0 || comparePositions(to, n.Runs.From) < 0 {
				continue
			}
			if comparePositions(n.Runs.From, lo) > 0 {
				lo = n.Runs.From
			}
			if comparePositions(n.Runs.To, hi) < 0 {
				hi = n.Runs.To
			}
		}
		if slices.Contains(n.GlobalTags, gt) || answersIn(n, types, lo, hi) {
			out = append(out, n)
		}
	}
	SortNotices(out)
	return out
}

// answersIn reports whether an IOV n is attached to (itself, its list or
// its type) answers in a piece meeting [lo, hi].
func answersIn(n Notice, types []TypeIntervals, lo, hi Point) bool {
	for _, t := range types {
		for _, p := range t.Intervals {
			if p.Row == nil || comparePositions(p.From, hi) > 0 || (p.Until != nil && comparePositions(*p.Until, lo) <= 0) {
				continue
			}
			x := p.Row
			if slices.Contains(n.PayloadTypes, t.PayloadType) || slices.Contains(n.IOVs, x.ID) ||
				(x.PayloadListID != nil && slices.Contains(n.ListIDs, *x.PayloadListID)) {
				return true
			}
		}
	}
	return false
}

// NarrowWindow bounds w, the window of the answer of GT gt made of rows at
// point at, where the run range of a candidate that can apply to it starts
// or ends: the notices an answer carries change there, and everything
// keyed by the window (cache entries, X-Valid-From/Until, v2 "valid") must
// hold the same notices throughout.
func NarrowWindow(w *Window, candidates []Notice, gt string, rows []AnsweringIOV, at Point) {
	for _, n := range candidates {
		if n.Runs == nil || !NoticeApplies(Notice{GlobalTags: n.GlobalTags, PayloadTypes: n.PayloadTypes, ListIDs: n.ListIDs, IOVs: n.IOVs}, gt, rows, at, at) {
			continue
		}
		end, bounded := n.Runs.To.After()
		switch {
		case comparePositions(at, n.Runs.From) < 0:
			narrowUntil(w, n.Runs.From)
		case comparePositions(at, n.Runs.To) <= 0:
			narrowFrom(w, n.Runs.From)
			if bounded {
				narrowUntil(w, end)
			}
		case bounded:
			narrowFrom(w, end)
		}
	}
}

func narrowFrom(w *Window, p Point) {
	if k := p.CombKey(); !w.HasFrom || string(k[:]) > string(w.From[:]) {
		w.From, w.HasFrom, w.FromPoint = k, true, p
	}
}
