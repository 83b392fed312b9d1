package wire

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/condcache/condcache"
)

// Shapes of condcache's own API under /api/v2/ (docs/design.md "Beyond the
// compatible API"): points are {"major", "minor"} objects, times RFC 3339.

// V2Point is an IOV point.
type V2Point struct {
	Major int64 `json:"major"`
	Minor int64 `json:"minor"`
}

// NewV2Point renders p.
func NewV2Point(p condcache.Point) V2Point { return V2Point{p.Major, p.Minor} }

// NewV2PointPtr renders p, nil as null.
func NewV2PointPtr(p *condcache.Point) *V2Point {
	if p == nil {
		return nil
	}
	v := NewV2Point(*p)
	return &v
}

// V2Payload is an IOV as a lookup answers it.
type V2Payload struct {
	ID       int64   `json:"id"`
	URL      string  `json:"url"`
	Checksum string  `json:"checksum"`
	Size     *int64  `json:"size"`
	Start    V2Point `json:"start"`
	End      V2Point `json:"end"`
	Revision *string `json:"revision"`
	// Site is where the payload is at the site a range asked for (site=);
	// absent without it.
	Site *V2Site `json:"site,omitempty"`
}

// NewV2Payload renders x, nil as null.
func NewV2Payload(x *condcache.PayloadIOV) *V2Payload {
	if x == nil {
		return nil
	}
	return &V2Payload{ID: x.ID, URL: x.PayloadURL, Checksum: x.Checksum, Size: x.Size,
		Start: NewV2Point(x.Start), End: NewV2Point(x.End), Revision: x.Extra}
}

// V2AnswerChange is a run range of one payload type whose answer changes.
type V2AnswerChange struct {
	GlobalTag   string     `json:"global_tag"`
	PayloadType string     `json:"payload_type"`
	From        V2Point    `json:"from"`
	Until       *V2Point   `json:"until"`
	Before      *V2Payload `json:"before"`
	After       *V2Payload `json:"after"`
}

// NewV2AnswerChanges renders cs; never nil.
func NewV2AnswerChanges(cs []condcache.AnswerChange) []V2AnswerChange {
	out := make([]V2AnswerChange, len(cs))
	for i, c := range cs {
		out[i] = V2AnswerChange{GlobalTag: c.GlobalTag, PayloadType: c.PayloadType, From: NewV2Point(c.From),
			Until: NewV2PointPtr(c.Until), Before: NewV2Payload(c.Before), After: NewV2Payload(c.After)}
	}
	return out
}

// V2RowChange is one row a write changes, with its columns before and after.
type V2RowChange struct {
	Table  string          `json:"table"`
	Action string          `json:"action"`
	ID     int64           `json:"id"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// NewV2RowChanges renders cs; never nil.
func NewV2RowChanges(cs []condcache.RowChange) []V2RowChange {
	out := make([]V2RowChange, len(cs))
	for i, c := range cs {
		out[i] = V2RowChange{Table: c.Table, Action: c.Action, ID: c.ID, Before: nullIfEmpty(c.Before), After: nullIfEmpty(c.After)}
	}
	return out
}

func nullIfEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// DryRunAnswer is the answer of any write asked with dry_run=1
// (docs/design.md "Dry runs"): the body the write would have answered, and
// what it would have changed. A bulk load or a clone changes millions of
// rows: the lists hold at most MaxDryRunChanges and MaxDryRunAnswerChanges
// entries, the totals say how many there are.
type DryRunAnswer struct {
	DryRun             bool             `json:"dry_run"`
	Response           json.RawMessage  `json:"response"`
	ChangesTotal       int              `json:"changes_total"`
	Changes            []V2RowChange    `json:"changes"`
	AnswerChangesTotal int              `json:"answer_changes_total"`
	AnswerChanges      []V2AnswerChange `json:"answer_changes"`
	// Forced: the protected objects the write would delete under force=1
	// (docs/design.md "Protection"); left out when there are none.
	Forced []V2ProtectedObject `json:"forced,omitempty"`
}

// Bounds of a DryRunAnswer's lists.
const (
	MaxDryRunChanges       = 1000
	MaxDryRunAnswerChanges = 10000
)

// NewDryRunAnswer renders d with the write's would-be body response.
func NewDryRunAnswer(d *condcache.DryRun, response []byte) DryRunAnswer {
	if !json.Valid(response) {
		response = []byte("null")
	}
	return DryRunAnswer{DryRun: true, Response: response,
		ChangesTotal: len(d.Changes), Changes: NewV2RowChanges(d.Changes[:min(len(d.Changes), MaxDryRunChanges)]),
		AnswerChangesTotal: len(d.AnswerChanges),
		AnswerChanges:      NewV2AnswerChanges(d.AnswerChanges[:min(len(d.AnswerChanges), MaxDryRunAnswerChanges)]),
		Forced:             NewV2ProtectedObjects(d.Forced)}
}

// V2AuditEntry is an entry of the audit trail.
type V2AuditEntry struct {
	ID          int64           `json:"id"`
	Time        string          `json:"time"`
	Actor       string          `json:"actor"`
	Endpoint    string          `json:"endpoint"`
	Request     json.RawMessage `json:"request"`
	Generations []V2Generation  `json:"generations"`
	Changes     []V2AuditChange `json:"changes"`
	// Forced: what the write deleted under force=1 (docs/design.md
	// "Protection"); left out for every other entry.
	Forced []V2ProtectedObject `json:"forced,omitempty"`
}

// V2Generation is the generation a GT reached.
type V2Generation struct {
	GlobalTag  string `json:"global_tag"`
	Generation int64  `json:"generation"`
}

// V2AuditChange is what one statement did to one table; old and new only
// in a single entry's answer.
type V2AuditChange struct {
	Table string            `json:"table"`
	Op    string            `json:"op"`
	Rows  int64             `json:"rows"`
	Old   []json.RawMessage `json:"old,omitempty"`
	New   []json.RawMessage `json:"new,omitempty"`
}

// NewV2AuditEntry renders e, with its rows when withRows.
func NewV2AuditEntry(e condcache.AuditEntry, withRows bool) V2AuditEntry {
	out := V2AuditEntry{ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339Nano), Actor: e.Actor, Endpoint: e.Endpoint,
		Request: nullIfEmpty(e.Request), Generations: []V2Generation{}, Changes: []V2AuditChange{}, Forced: NewV2ProtectedObjects(e.Forced)}
	for _, g := range e.Generations {
		out.Generations = append(out.Generations, V2Generation{g.GlobalTag, g.Generation})
	}
	for _, c := range e.Changes {
		vc := V2AuditChange{Table: c.Table, Op: c.Op, Rows: c.Rows}
		if withRows {
			vc.Old, vc.New = c.Old, c.New
		}
		out.Changes = append(out.Changes, vc)
	}
	return out
}

// V2Page is one page of a v2 listing, shaped like browse mode's.
type V2Page[T any] struct {
	Count      int64 `json:"count"`
	Page       int   `json:"page"`
	PageSize   int   `json:"page_size"`
	TotalPages int64 `json:"total_pages"`
	Results    []T   `json:"results"`
}

// NewV2AuditPage renders a page of entries without their rows.
func NewV2AuditPage(p condcache.Page[condcache.AuditEntry]) V2Page[V2AuditEntry] {
	out := V2Page[V2AuditEntry]{Count: p.Count, Page: p.Page, PageSize: p.PageSize, TotalPages: p.TotalPages, Results: []V2AuditEntry{}}
	for _, e := range p.Results {
		out.Results = append(out.Results, NewV2AuditEntry(e, false))
	}
	return out
}

// V2Window is the window of points [from, until) where an answer holds;
// null bounds are unbounded.
type V2Window struct {
	From  *V2Point `json:"from"`
	Until *V2Point `json:"until"`
}

// V2TypedPayload is a payload of a v2 lookup answer.
type V2TypedPayload struct {
	ID       int64   `json:"id"` // the IOV's (notices attach to it)
	Type     string  `json:"type"`
	URL      string  `json:"url"`
	Checksum string  `json:"checksum"`
	Size     *int64  `json:"size"`
	Start    V2Point `json:"start"`
	End      V2Point `json:"end"`
	Revision *string `json:"revision"`
	// Site is where the payload is at the site a lookup asked for
	// (site=); absent without it.
	Site *V2Site `json:"site,omitempty"`
}

// NewV2TypedPayloads renders rows; never nil.
func NewV2TypedPayloads(rows []condcache.LookupRow) []V2TypedPayload {
	out := make([]V2TypedPayload, len(rows))
	for i, r := range rows {
		out[i] = V2TypedPayload{ID: r.ID, Type: r.PayloadType, URL: r.PayloadURL, Checksum: r.Checksum, Size: r.Size,
			Start: NewV2Point(r.Start), End: NewV2Point(r.End), Revision: r.Revision}
	}
	return out
}

// V2Lookup is the answer of GET /api/v2/lookup (docs/design.md "The v2
// read API").
type V2Lookup struct {
	GlobalTag  string           `json:"global_tag"`
	Status     string           `json:"status"`
	Generation int64            `json:"generation"`
	Point      V2Point          `json:"point"`
	AsOf       *string          `json:"asof,omitempty"`
	Valid      V2Window         `json:"valid"`
	Digest     string           `json:"digest"`
	Payloads   []V2TypedPayload `json:"payloads"`
	Missing    []string         `json:"missing"`
	// Notices are those that apply to this answer (docs/design.md
	// "Notices"), most important first.
	Notices []V2Notice `json:"notices"`
}

// NewV2Lookup renders a resolved answer.
func NewV2Lookup(gt, status string, generation int64, at condcache.Point, r condcache.Resolved) V2Lookup {
	missing := r.Missing
	if missing == nil {
		missing = []string{}
	}
	return V2Lookup{GlobalTag: gt, Status: status, Generation: generation, Point: NewV2Point(at),
		Valid:  V2Window{From: NewV2PointPtr(r.From), Until: NewV2PointPtr(r.Until)},
		Digest: r.Digest, Payloads: NewV2TypedPayloads(r.Payloads), Missing: missing, Notices: []V2Notice{}}
}

// V2Interval is one piece of a type's answers over a range; payload null:
// no answer there.
type V2Interval struct {
	From    V2Point    `json:"from"`
	Until   *V2Point   `json:"until"`
	Payload *V2Payload `json:"payload"`
}

// V2TypeIntervals are one payload type's pieces.
type V2TypeIntervals struct {
	Type      string       `json:"type"`
	Intervals []V2Interval `json:"intervals"`
}

// V2Range is the answer of GET /api/v2/range.
type V2Range struct {
	GlobalTag  string            `json:"global_tag"`
	Status     string            `json:"status"`
	Generation int64             `json:"generation"`
	From       V2Point           `json:"from"`
	To         V2Point           `json:"to"`
	AsOf       *string           `json:"asof,omitempty"`
	Digest     string            `json:"digest"`
	Types      []V2TypeIntervals `json:"types"`
	// Notices are those that apply somewhere in the range.
	Notices []V2Notice `json:"notices"`
}

// NewV2Range renders a resolved range.
func NewV2Range(gt, status string, generation int64, from, to condcache.Point, digest string, types []condcache.TypeIntervals) V2Range {
	out := V2Range{GlobalTag: gt, Status: status, Generation: generation, From: NewV2Point(from), To: NewV2Point(to),
		Digest: digest, Types: make([]V2TypeIntervals, len(types)), Notices: []V2Notice{}}
	for i, t := range types {
		ivs := make([]V2Interval, len(t.Intervals))
		for j, iv := range t.Intervals {
			ivs[j] = V2Interval{From: NewV2Point(iv.From), Until: NewV2PointPtr(iv.Until), Payload: NewV2Payload(iv.Row)}
		}
		out.Types[i] = V2TypeIntervals{Type: t.PayloadType, Intervals: ivs}
	}
	return out
}

// V2Digest is the answer of GET /api/v2/gt/{name}/digest.
type V2Digest struct {
	GlobalTag  string  `json:"global_tag"`
	Status     string  `json:"status"`
	Generation int64   `json:"generation"`
	From       V2Point `json:"from"`
	To         V2Point `json:"to"`
	AsOf       *string `json:"asof,omitempty"`
	Digest     string  `json:"digest"`
}

// V2DiffInterval is a piece of a range where two GTs answer differently.
type V2DiffInterval struct {
	From  V2Point    `json:"from"`
	Until *V2Point   `json:"until"`
	A     *V2Payload `json:"a"`
	B     *V2Payload `json:"b"`
}

// V2DiffType is one payload type's differences.
type V2DiffType struct {
	Type      string           `json:"type"`
	Intervals []V2DiffInterval `json:"intervals"`
}

// V2Diff is the answer of GET /api/v2/diff over a range.
type V2Diff struct {
	A           string       `json:"a"`
	B           string       `json:"b"`
	AGeneration int64        `json:"a_generation"`
	BGeneration int64        `json:"b_generation"`
	From        V2Point      `json:"from"`
	To          V2Point      `json:"to"`
	OnlyInA     []string     `json:"only_in_a"`
	OnlyInB     []string     `json:"only_in_b"`
	Types       []V2DiffType `json:"types"`
	// ANotices and BNotices apply to each GT's answers over the range.
	ANotices []V2Notice `json:"a_notices"`
	BNotices []V2Notice `json:"b_notices"`
}

// NewV2Diff renders range differences (AnswerChange.Before is a's).
func NewV2Diff(a, b string, genA, genB int64, from, to condcache.Point, changes []condcache.AnswerChange, onlyA, onlyB []string) V2Diff {
	out := V2Diff{A: a, B: b, AGeneration: genA, BGeneration: genB, From: NewV2Point(from), To: NewV2Point(to),
		OnlyInA: nonNil(onlyA), OnlyInB: nonNil(onlyB), Types: []V2DiffType{}, ANotices: []V2Notice{}, BNotices: []V2Notice{}}
	for _, c := range changes {
		if n := len(out.Types); n == 0 || out.Types[n-1].Type != c.PayloadType {
			out.Types = append(out.Types, V2DiffType{Type: c.PayloadType})
		}
		t := &out.Types[len(out.Types)-1]
		t.Intervals = append(t.Intervals, V2DiffInterval{From: NewV2Point(c.From), Until: NewV2PointPtr(c.Until),
			A: NewV2Payload(c.Before), B: NewV2Payload(c.After)})
	}
	return out
}

// V2DiffAtType is one payload type whose answers differ at a point.
type V2DiffAtType struct {
	Type string          `json:"type"`
	A    *V2TypedPayload `json:"a"`
	B    *V2TypedPayload `json:"b"`
}

// V2DiffAt is the answer of GET /api/v2/diff at one point.
type V2DiffAt struct {
	A           string         `json:"a"`
	B           string         `json:"b"`
	AGeneration int64          `json:"a_generation"`
	BGeneration int64          `json:"b_generation"`
	Point       V2Point        `json:"point"`
	Differences []V2DiffAtType `json:"differences"`
	// ANotices and BNotices apply to each GT's answer at the point.
	ANotices []V2Notice `json:"a_notices"`
	BNotices []V2Notice `json:"b_notices"`
}

// NewV2DiffAt compares two answers at a point, type by type.
func NewV2DiffAt(a, b string, genA, genB int64, at condcache.Point, rowsA, rowsB []condcache.LookupRow) V2DiffAt {
	out := V2DiffAt{A: a, B: b, AGeneration: genA, BGeneration: genB, Point: NewV2Point(at), Differences: []V2DiffAtType{},
		ANotices: []V2Notice{}, BNotices: []V2Notice{}}
	byType := func(rows []condcache.LookupRow) map[string]*V2TypedPayload {
		m := map[string]*V2TypedPayload{}
		for _, p := range NewV2TypedPayloads(rows) {
			m[p.Type] = &p
		}
		return m
	}
	ma, mb := byType(rowsA), byType(rowsB)
	var types []string
	for t := range ma {
		types = append(types, t)
	}
	for t := range mb {
		if _, ok := ma[t]; !ok {
			types = append(types, t)
		}
	}
	slices.Sort(types)
	for _, t := range types {
		pa, pb := ma[t], mb[t]
		if pa != nil && pb != nil && pa.URL == pb.URL && pa.Checksum == pb.Checksum && equalInt64(pa.Size, pb.Size) {
			continue
		}
		out.Differences = append(out.Differences, V2DiffAtType{Type: t, A: pa, B: pb})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func equalInt64(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// V2Usage is the reads of one GT by one client.
type V2Usage struct {
	GlobalTag string `json:"global_tag"`
	Client    string `json:"client"`
	Reads     int64  `json:"reads"`
	FirstRead string `json:"first_read"`
	LastRead  string `json:"last_read"`
}

// NewV2UsagePage renders a page of usage rows.
func NewV2UsagePage(p condcache.Page[condcache.UsageCount]) V2Page[V2Usage] {
	out := V2Page[V2Usage]{Count: p.Count, Page: p.Page, PageSize: p.PageSize, TotalPages: p.TotalPages, Results: []V2Usage{}}
	for _, u := range p.Results {
		out.Results = append(out.Results, V2Usage{GlobalTag: u.GlobalTag, Client: u.Client, Reads: u.Reads,
			FirstRead: u.First.UTC().Format(time.RFC3339Nano), LastRead: u.Last.UTC().Format(time.RFC3339Nano)})
	}
	return out
}

// V2UnusedGT is a GT nobody read since some time.
type V2UnusedGT struct {
	GlobalTag string  `json:"global_tag"`
	Status    string  `json:"status"`
	Created   string  `json:"created"`
	LastRead  *string `json:"last_read"`
	Reads     int64   `json:"reads"`
}

// V2Unused is the answer of GET /api/v2/usage/unused.
type V2Unused struct {
	Since      string       `json:"since"`
	Count      int          `json:"count"`
	GlobalTags []V2UnusedGT `json:"global_tags"`
}

// NewV2Unused renders the GTs unused since since.
func NewV2Unused(since time.Time, gts []condcache.UnusedGT) V2Unused {
	out := V2Unused{Since: since.UTC().Format(time.RFC3339Nano), Count: len(gts), GlobalTags: []V2UnusedGT{}}
	for _, g := range gts {
		u := V2UnusedGT{GlobalTag: g.GlobalTag, Status: g.Status, Created: g.Created.UTC().Format(time.RFC3339Nano), Reads: g.Reads}
		if g.LastRead != nil {
			s := g.LastRead.UTC().Format(time.RFC3339Nano)
			u.LastRead = &s
		}
		out.GlobalTags = append(out.GlobalTags, u)
	}
	return out
}
