package ui

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
)

// routes are the pages by their name under Prefix. Objects are named in
// query parameters (/ui/gt?name=…), which carry any name, slashes
// included, so every page has a deep link.
func (u *UI) routes() map[string]handler {
	return map[string]handler{
		"":            u.home,
		"gts":         u.globalTags,
		"gt":          u.globalTag,
		"types":       u.payloadTypes,
		"type":        u.payloadType,
		"lists":       u.payloadLists,
		"list":        u.payloadList,
		"iovs":        u.payloadIOVs,
		"iov":         u.payloadIOV,
		"timeline":    u.timeline,
		"diff":        u.diff,
		"lookup":      u.lookup,
		"notices":     u.notices,
		"notice":      u.notice,
		"audit":       u.audit,
		"audit-entry": u.auditEntry,
		"usage":       u.usage,
		"check":       u.check,
	}
}

// unavailable names a service this server does not have.
func unavailable(what string) error {
	return condcache.Errorf(condcache.ENotFound, "%s is not available on this server.", what)
}

// --------------------------------------------------------------- home

type homeData struct {
	GlobalTags, Types, Lists, IOVs int64
	Notices                        int64 // -1: not available
	Recent                         []condcache.GlobalTagSummary
	Statuses                       []condcache.GlobalTagStatus
}

func (u *UI) home(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	one := condcache.BrowseQuery{Page: 1, PageSize: 1}
	var d homeData
	gts, err := u.cfg.Read.BrowseGlobalTags(sctx, condcache.BrowseQuery{Page: 1, PageSize: 10, Sort: "updated", Desc: true})
	if err != nil {
		return err
	}
	d.GlobalTags, d.Recent = gts.Count, gts.Results
	pts, err := u.cfg.Read.BrowsePayloadTypes(sctx, one)
	if err != nil {
		return err
	}
	d.Types = pts.Count
	pls, err := u.cfg.Read.BrowsePayloadLists(sctx, one)
	if err != nil {
		return err
	}
	d.Lists = pls.Count
	iovs, err := u.cfg.Read.BrowsePayloadIOVs(sctx, one)
	if err != nil {
		return err
	}
	d.IOVs = iovs.Count
	d.Notices = -1
	if u.cfg.Notices != nil {
		ns, err := u.cfg.Notices.Notices(sctx, condcache.NoticeQuery{Page: 1, PageSize: 1})
		if err != nil {
			return err
		}
		d.Notices = ns.Count
	}
	if d.Statuses, err = u.cfg.Read.GlobalTagStatuses(sctx); err != nil {
		return err
	}
	return u.render(ctx, "home.html", "condcache", "home", d)
}

// ------------------------------------------------------ browse pages

type gtsData struct {
	View     browseView
	Rows     []condcache.GlobalTagSummary
	Statuses []condcache.GlobalTagStatus
	Sorts    []column
}

func (u *UI) globalTags(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	q, err := parseBrowse(ctx, gtBrowse)
	if err != nil {
		return err
	}
	p, err := u.cfg.Read.BrowseGlobalTags(sctx, q)
	if err != nil {
		return err
	}
	st, err := u.cfg.Read.GlobalTagStatuses(sctx)
	if err != nil {
		return err
	}
	return u.render(ctx, "gts.html", "Global tags", "gts", gtsData{View: newBrowseView("gts", gtBrowse, q, p), Rows: p.Results, Statuses: st, Sorts: gtBrowse.sorts})
}

type typesData struct {
	View  browseView
	Rows  []condcache.PayloadType
	Sorts []column
}

func (u *UI) payloadTypes(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	q, err := parseBrowse(ctx, typeBrowse)
	if err != nil {
		return err
	}
	p, err := u.cfg.Read.BrowsePayloadTypes(sctx, q)
	if err != nil {
		return err
	}
	return u.render(ctx, "types.html", "Payload types", "types", typesData{View: newBrowseView("types", typeBrowse, q, p), Rows: p.Results, Sorts: typeBrowse.sorts})
}

type listsData struct {
	View  browseView
	Rows  []condcache.PayloadListSummary
	Sorts []column
}

func (u *UI) payloadLists(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	q, err := parseBrowse(ctx, listBrowse)
	if err != nil {
		return err
	}
	p, err := u.cfg.Read.BrowsePayloadLists(sctx, q)
	if err != nil {
		return err
	}
	return u.render(ctx, "lists.html", "Payload lists", "lists", listsData{View: newBrowseView("lists", listBrowse, q, p), Rows: p.Results, Sorts: listBrowse.sorts})
}

type iovsData struct {
	View  browseView
	Rows  []iovRow
	Sorts []column
}

// iovRow is an IOV of a table, with its protection when known.
type iovRow struct {
	condcache.PayloadIOVBrowse
	Protected string // why it is protected, "" when it is not (or unknown)
}

func (u *UI) payloadIOVs(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	q, err := parseBrowse(ctx, iovBrowse)
	if err != nil {
		return err
	}
	p, err := u.cfg.Read.BrowsePayloadIOVs(sctx, q)
	if err != nil {
		return err
	}
	rows := make([]iovRow, len(p.Results))
	for i, r := range p.Results {
		rows[i] = iovRow{PayloadIOVBrowse: r}
	}
	return u.render(ctx, "iovs.html", "Payload IOVs", "iovs", iovsData{View: newBrowseView("iovs", iovBrowse, q, p), Rows: rows, Sorts: iovBrowse.sorts})
}

// ------------------------------------------------------- GT detail

type gtData struct {
	GT         condcache.GlobalTagSummary
	Lists      []listRow
	Protection *condcache.ProtectionReport
	Marked     bool // the GT itself has a mark
	MarkNote   string
	Findings   []condcache.Finding
	CheckErr   string
	Notices    []condcache.Notice
	Usage      []condcache.UsageCount
	Audit      []condcache.AuditEntry
	Statuses   []condcache.GlobalTagStatus
	Types      []condcache.PayloadType
	Range      [2]string // a default run range for the timeline
	Available  map[string]bool
}

type listRow struct {
	condcache.PayloadListSummary
	Protected string
}

func (u *UI) globalTag(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	name, err := requiredText(ctx, "name")
	if err != nil {
		return err
	}
	gt, err := u.cfg.Read.GlobalTagSummaryByName(sctx, name)
	if err != nil {
		return notFoundAs(err, "GlobalTag %q not found.", name)
	}
	d := gtData{GT: gt, Available: u.available()}
	lists, err := u.cfg.Read.BrowsePayloadLists(sctx, condcache.BrowseQuery{Page: 1, PageSize: maxPageSize, Sort: "payload_type",
		Filters: map[string]string{"global_tag": name}})
	if err != nil {
		return err
	}
	marks, err := u.marks(sctx, name)
	if err != nil {
		return err
	}
	if marks != nil {
		d.Protection = &marks.report
		if m, ok := marks.gts[gt.ID]; ok {
			d.Marked, d.MarkNote = true, m.Note
		}
	}
	for _, l := range lists.Results {
		d.Lists = append(d.Lists, listRow{PayloadListSummary: l, Protected: marks.listReason(l.ID, gt.ID)})
	}
	if u.cfg.Checker != nil {
		if d.Findings, err = u.cfg.Checker.Check(sctx, name); err != nil {
			d.CheckErr = condcache.ErrorDetail(err)
		}
	}
	if u.cfg.Notices != nil {
		ns, err := u.cfg.Notices.Notices(sctx, condcache.NoticeQuery{GlobalTag: name, Page: 1, PageSize: 20})
		if err != nil {
			return err
		}
		d.Notices = ns.Results
	}
	if u.cfg.Usage != nil {
		us, err := u.cfg.Usage.Usage(sctx, condcache.UsageQuery{GlobalTag: name, Page: 1, PageSize: 10})
		if err != nil {
			return err
		}
		d.Usage = us.Results
	}
	if u.cfg.Audit != nil {
		au, err := u.cfg.Audit.Audit(sctx, condcache.AuditQuery{GlobalTag: name, Page: 1, PageSize: 10})
		if err != nil {
			return err
		}
		d.Audit = au.Results
	}
	if d.Statuses, err = u.cfg.Read.GlobalTagStatuses(sctx); err != nil {
		return err
	}
	if d.Types, err = u.cfg.Read.PayloadTypes(sctx); err != nil {
		return err
	}
	if from, to, ok, err := u.extent(sctx, name); err != nil {
		return err
	} else if ok {
		d.Range = [2]string{pointText(from), toText(to)}
	}
	return u.render(ctx, "gt.html", "Global tag "+name, "gts", d)
}

// available says which services this server has, for the templates.
func (u *UI) available() map[string]bool {
	return map[string]bool{
		"ranges": u.cfg.Ranges != nil, "notices": u.cfg.Notices != nil, "audit": u.cfg.Audit != nil,
		"usage": u.cfg.Usage != nil, "check": u.cfg.Checker != nil, "protection": u.cfg.Protection != nil,
		"repositories": u.cfg.Repositories != nil, "writes": !u.cfg.ReadOnly,
	}
}

// notFoundAs gives a not-found error a detail naming what was asked.
func notFoundAs(err error, format string, args ...any) error {
	if condcache.ErrorCodeOf(err) == condcache.ENotFound {
		return condcache.Errorf(condcache.ENotFound, format, args...)
	}
	return err
}

// gtMarks are the protection marks on a GT, its lists and their IOVs.
type gtMarks struct {
	report condcache.ProtectionReport
	gts    map[int64]condcache.Protection
	lists  map[int64]condcache.Protection
	iovs   map[int64]condcache.Protection
}

// maxMarks bounds the marks a page reads for one GT.
const maxMarks = 1000

// marks reads the marks of GT gt (nil without a ProtectionReader, or
// when gt is "": detached objects).
func (u *UI) marks(sctx context.Context, gt string) (*gtMarks, error) {
	if u.cfg.Protection == nil || gt == "" {
		return nil, nil
	}
	rep, err := u.cfg.Protection.Protections(sctx, condcache.ProtectionQuery{GlobalTag: gt, Page: 1, PageSize: maxMarks})
	if err != nil {
		return nil, err
	}
	m := &gtMarks{report: rep, gts: map[int64]condcache.Protection{}, lists: map[int64]condcache.Protection{}, iovs: map[int64]condcache.Protection{}}
	for _, p := range rep.Marks.Results {
		if !p.Protected {
			continue
		}
		switch p.Kind {
		case condcache.KindGlobalTag:
			m.gts[p.ID] = p
		case condcache.KindPayloadList:
			m.lists[p.ID] = p
		case condcache.KindPayloadIOV:
			m.iovs[p.ID] = p
		}
	}
	return m, nil
}

// listReason says why list id of GT gtID is protected, "" when it is not.
func (m *gtMarks) listReason(id, gtID int64) string {
	switch {
	case m == nil:
		return ""
	case hasKey(m.lists, id):
		return "protected"
	case hasKey(m.gts, gtID):
		return "protected (its global tag is)"
	case m.report.Frozen:
		return "protected (its global tag is frozen)"
	}
	return ""
}

// iovReason says why IOV id, of list listID in GT gtID, is protected.
func (m *gtMarks) iovReason(id, listID, gtID int64) string {
	if m == nil {
		return ""
	}
	if hasKey(m.iovs, id) {
		return "protected"
	}
	if hasKey(m.lists, listID) {
		return "protected (its list is)"
	}
	if r := m.listReason(-1, gtID); r != "" {
		return r
	}
	return ""
}

func hasKey[V any](m map[int64]V, k int64) bool { _, ok := m[k]; return ok }

// extent is a run range covering a GT's IOV starts, for a timeline asked
// without one: from the first start to a tenth beyond the last.
func (u *UI) extent(sctx context.Context, gt string) (from, to condcache.Point, ok bool, err error) {
	first, err := u.cfg.Read.BrowsePayloadIOVs(sctx, condcache.BrowseQuery{Page: 1, PageSize: 1, Sort: "major_iov", Filters: map[string]string{"global_tag": gt}})
	if err != nil || len(first.Results) == 0 {
		return from, to, false, err
	}
	last, err := u.cfg.Read.BrowsePayloadIOVs(sctx, condcache.BrowseQuery{Page: 1, PageSize: 1, Sort: "major_iov", Desc: true, Filters: map[string]string{"global_tag": gt}})
	if err != nil || len(last.Results) == 0 {
		return from, to, false, err
	}
	lo, hi := first.Results[0].Start.Major, last.Results[0].Start.Major
	pad := max((hi-lo)/10, 1)
	if hi > condcache.MaxIOV-pad {
		hi = condcache.MaxIOV - pad
	}
	return condcache.Point{Major: lo}, condcache.Point{Major: hi + pad, Minor: condcache.MaxIOV}, true, nil
}

// ------------------------------------------------------ type detail

type typeData struct {
	Type      condcache.PayloadType
	Lists     []condcache.PayloadListSummary
	Notices   []condcache.Notice
	Available map[string]bool
}

func (u *UI) payloadType(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	name, err := requiredText(ctx, "name")
	if err != nil {
		return err
	}
	all, err := u.cfg.Read.PayloadTypes(sctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(all, func(t condcache.PayloadType) bool { return t.Name == name })
	if i < 0 {
		return condcache.Errorf(condcache.ENotFound, "PayloadType %q not found.", name)
	}
	d := typeData{Type: all[i], Available: u.available()}
	lists, err := u.cfg.Read.BrowsePayloadLists(sctx, condcache.BrowseQuery{Page: 1, PageSize: maxPageSize, Sort: "id", Desc: true,
		Filters: map[string]string{"payload_type": name}})
	if err != nil {
		return err
	}
	d.Lists = lists.Results
	if u.cfg.Notices != nil {
		ns, err := u.cfg.Notices.Notices(sctx, condcache.NoticeQuery{PayloadType: name, Page: 1, PageSize: 20})
		if err != nil {
			return err
		}
		d.Notices = ns.Results
	}
	return u.render(ctx, "type.html", "Payload type "+name, "types", d)
}

// ------------------------------------------------------ list detail

type listData struct {
	List      condcache.PayloadListSummary
	Protected string
	Frozen    bool
	Status    string
	View      browseView
	Rows      []iovRow
	Sorts     []column
	Available map[string]bool
}

func (u *UI) payloadList(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	name, err := requiredText(ctx, "name")
	if err != nil {
		return err
	}
	l, err := u.cfg.Read.PayloadListByName(sctx, name)
	if err != nil {
		return notFoundAs(err, "PayloadList %q not found.", name)
	}
	spec := browseSpec{sorts: iovBrowse.sorts}
	q, err := parseBrowse(ctx, spec)
	if err != nil {
		return err
	}
	if q.Sort == "" {
		q.Sort = "major_iov"
	}
	q.Filters = map[string]string{"payload_list": name}
	p, err := u.cfg.Read.BrowsePayloadIOVs(sctx, q)
	if err != nil {
		return err
	}
	d := listData{List: l, Sorts: spec.sorts, Available: u.available()}
	var gtID int64
	if l.GlobalTag != nil {
		gt, err := u.cfg.Read.GlobalTagSummaryByName(sctx, *l.GlobalTag)
		if err != nil {
			return err
		}
		gtID, d.Status, d.Frozen = gt.ID, gt.Status.Name, gt.Status.Name == condcache.StatusFrozen
	}
	marks, err := u.marks(sctx, deref(l.GlobalTag))
	if err != nil {
		return err
	}
	d.Protected = marks.listReason(l.ID, gtID)
	for _, r := range p.Results {
		d.Rows = append(d.Rows, iovRow{PayloadIOVBrowse: r, Protected: marks.iovReason(r.ID, l.ID, gtID)})
	}
	d.View = newBrowseView("list", spec, q, p, "name", name)
	return u.render(ctx, "list.html", "Payload list "+name, "lists", d)
}

// ------------------------------------------------------- IOV detail

type iovData struct {
	IOV       condcache.PayloadIOV
	GlobalTag string
	Type      string
	Protected string
	Files     []condcache.FileRecord
	Available map[string]bool
}

func (u *UI) payloadIOV(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	id, err := intParam(ctx, "id", 0, 1, condcache.MaxIOV)
	if err != nil {
		return err
	}
	if id == 0 {
		return condcache.FieldError(condcache.EInvalid, "id", "This field is required.")
	}
	x, err := u.cfg.Read.PayloadIOVByID(sctx, id)
	if err != nil {
		return notFoundAs(err, "PayloadIOV %d not found.", id)
	}
	d := iovData{IOV: x, Available: u.available()}
	if x.PayloadList != nil {
		l, err := u.cfg.Read.PayloadListByName(sctx, *x.PayloadList)
		if err != nil {
			return err
		}
		d.Type = l.PayloadType
		var gtID int64
		if l.GlobalTag != nil {
			d.GlobalTag = *l.GlobalTag
			gt, err := u.cfg.Read.GlobalTagSummaryByName(sctx, d.GlobalTag)
			if err != nil {
				return err
			}
			gtID = gt.ID
		}
		marks, err := u.marks(sctx, d.GlobalTag)
		if err != nil {
			return err
		}
		d.Protected = marks.iovReason(x.ID, l.ID, gtID)
	}
	if u.cfg.Repositories != nil {
		fs, err := u.cfg.Repositories.FileRecords(sctx, condcache.FileQuery{IOV: id, Page: 1, PageSize: 100})
		if err != nil {
			return err
		}
		d.Files = fs.Results
	}
	return u.render(ctx, "iov.html", "Payload IOV "+strconv.FormatInt(id, 10), "iovs", d)
}

// -------------------------------------------------------- timeline

// maxTimelineIOVs bounds the IOVs one timeline draws; beyond, the range
// must be narrowed (the API's range read allows more).
const maxTimelineIOVs = 20_000

type timelineData struct {
	GT        string
	Status    string
	From, To  string
	Strict    bool
	Timeline  *timeline
	Digest    string
	Findings  []condcache.Finding
	Notices   []condcache.Notice
	Empty     bool
	Available map[string]bool
}

func (u *UI) timeline(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	gt, err := requiredText(ctx, "gt")
	if err != nil {
		return err
	}
	if u.cfg.Ranges == nil {
		return unavailable("The timeline (range reads)")
	}
	from, to, ok, err := u.rangeOf(sctx, ctx, gt)
	if err != nil {
		return err
	}
	d := timelineData{GT: gt, Strict: flag(ctx, "strict"), Available: u.available()}
	if !ok {
		// A GT without IOVs: nothing to draw, but say whether it exists.
		g, err := u.cfg.Read.GlobalTagSummaryByName(sctx, gt)
		if err != nil {
			return notFoundAs(err, "GlobalTag %q not found.", gt)
		}
		d.Status, d.Empty = g.Status.Name, true
		return u.render(ctx, "timeline.html", "Timeline of "+gt, "gts", d)
	}
	d.From, d.To = pointText(from), toText(to)
	res, err := u.cfg.Ranges.RangeAt(sctx, gt, from, to, maxTimelineIOVs, condcache.Freshness{Latest: true})
	if err != nil {
		return err
	}
	if !res.Found {
		return condcache.Errorf(condcache.ENotFound, "GlobalTag %q not found.", gt)
	}
	d.Status = res.Status
	types, digest := condcache.ResolveRange(res.Lists, from, to, condcache.ResolveOptions{Strict: d.Strict, Mode: u.cfg.IOVMode})
	d.Digest = digest
	lists := map[string]string{}
	for t, ivs := range res.Lists {
		for _, x := range ivs {
			if x.PayloadList != nil {
				lists[t] = *x.PayloadList
				break
			}
		}
	}
	if u.cfg.Checker != nil {
		if d.Findings, err = u.cfg.Checker.Check(sctx, gt); err != nil {
			return err
		}
	}
	tl := buildTimeline(types, lists, from, to, d.Findings)
	d.Timeline = &tl
	if u.cfg.Notices != nil {
		cands, err := u.cfg.Notices.CandidateNotices(sctx, gt)
		if err != nil {
			return err
		}
		d.Notices = condcache.NoticesForRange(cands, gt, types, from, to)
	}
	return u.render(ctx, "timeline.html", "Timeline of "+gt, "gts", d)
}

// rangeOf reads from and to ("R" or "R.m"; a subrun-less to is its whole
// run), or, both absent, the GT's extent; ok is false when there is none.
func (u *UI) rangeOf(sctx context.Context, ctx *fasthttp.RequestCtx, gts ...string) (from, to condcache.Point, ok bool, err error) {
	from, hasFrom, err := pointParam(ctx, "from", 0)
	if err != nil {
		return from, to, false, err
	}
	to, hasTo, err := pointParam(ctx, "to", condcache.MaxIOV)
	if err != nil {
		return from, to, false, err
	}
	if !hasFrom || !hasTo {
		found := false
		for _, gt := range gts {
			f, t, ok, err := u.extent(sctx, gt)
			if err != nil {
				return from, to, false, err
			}
			if !ok {
				continue
			}
			if !hasFrom && (!found || f.Less(from)) {
				from = f
			}
			if !hasTo && (!found || to.Less(t)) {
				to = t
			}
			found = true
		}
		if !found {
			return from, to, false, nil
		}
		if hasFrom && to.Less(from) {
			to = condcache.Point{Major: from.Major, Minor: condcache.MaxIOV}
		}
		if hasTo && to.Less(from) {
			from = condcache.Point{Major: to.Major}
		}
	}
	if to.Less(from) {
		return from, to, false, condcache.FieldError(condcache.EInvalid, "to", "Must not be before from.")
	}
	if float64(to.Major)-float64(from.Major) > 1_000_000 {
		return from, to, false, condcache.Errorf(condcache.EInvalid, "The range spans more than 1000000 runs: narrow it.")
	}
	return from, to, true, nil
}

// ------------------------------------------------------------ diff

type diffData struct {
	A, B      string
	From, To  string
	Asked     bool
	Changes   []condcache.AnswerChange
	OnlyA     []string
	OnlyB     []string
	Timeline  *timeline
	StatusA   string
	StatusB   string
	ANotices  []condcache.Notice
	BNotices  []condcache.Notice
	Available map[string]bool
}

func (u *UI) diff(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	a, err := text(ctx, "a")
	if err != nil {
		return err
	}
	b, err := text(ctx, "b")
	if err != nil {
		return err
	}
	d := diffData{A: a, B: b, Available: u.available()}
	if a == "" || b == "" {
		return u.render(ctx, "diff.html", "Diff", "diff", d)
	}
	if u.cfg.Ranges == nil {
		return unavailable("The diff (range reads)")
	}
	d.Asked = true
	from, to, ok, err := u.rangeOf(sctx, ctx, a, b)
	if err != nil {
		return err
	}
	if !ok {
		from, to = condcache.Point{}, condcache.Point{Minor: condcache.MaxIOV}
	}
	d.From, d.To = pointText(from), toText(to)
	need := condcache.Freshness{Latest: true}
	ra, err := u.cfg.Ranges.RangeAt(sctx, a, from, to, maxTimelineIOVs, need)
	if err != nil {
		return err
	}
	rb, err := u.cfg.Ranges.RangeAt(sctx, b, from, to, maxTimelineIOVs, need)
	if err != nil {
		return err
	}
	if !ra.Found {
		return condcache.Errorf(condcache.ENotFound, "GlobalTag %q not found.", a)
	}
	if !rb.Found {
		return condcache.Errorf(condcache.ENotFound, "GlobalTag %q not found.", b)
	}
	d.StatusA, d.StatusB = ra.Status, rb.Status
	d.Changes, d.OnlyA, d.OnlyB = condcache.DiffRange(ra.Lists, rb.Lists, from, to)
	tl := buildDiffTimeline(d.Changes, d.OnlyA, d.OnlyB, from, to)
	d.Timeline = &tl
	if u.cfg.Notices != nil {
		for _, s := range []struct {
			gt   string
			res  condcache.RangeResult
			into *[]condcache.Notice
		}{{a, ra, &d.ANotices}, {b, rb, &d.BNotices}} {
			cands, err := u.cfg.Notices.CandidateNotices(sctx, s.gt)
			if err != nil {
				return err
			}
			types, _ := condcache.ResolveRange(s.res.Lists, from, to, condcache.ResolveOptions{Mode: u.cfg.IOVMode})
			*s.into = condcache.NoticesForRange(cands, s.gt, types, from, to)
		}
	}
	return u.render(ctx, "diff.html", "Diff of "+a+" and "+b, "diff", d)
}

// ---------------------------------------------------------- lookup

type lookupData struct {
	GT, Point, Types, AsOf string
	Strict                 bool
	Asked                  bool
	Status                 string
	Generation             int64
	At                     condcache.Point
	Answer                 condcache.Resolved
	Notices                []condcache.Notice
	AsOfTime               string
	Available              map[string]bool
}

func (u *UI) lookup(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	var d lookupData
	var err error
	d.Available = u.available()
	if d.GT, err = text(ctx, "gt"); err != nil {
		return err
	}
	if d.Point, err = text(ctx, "at"); err != nil {
		return err
	}
	if d.Types, err = text(ctx, "types"); err != nil {
		return err
	}
	if d.AsOf, err = text(ctx, "asof"); err != nil {
		return err
	}
	d.Strict = flag(ctx, "strict")
	if d.GT == "" || d.Point == "" {
		return u.render(ctx, "lookup.html", "Lookup", "lookup", d)
	}
	d.Asked = true
	at, _, err := parsePoint("at", d.Point, 0)
	if err != nil {
		return err
	}
	d.At = at
	o := condcache.ResolveOptions{Strict: d.Strict, Mode: u.cfg.IOVMode, Types: splitNames(d.Types)}
	if d.AsOf != "" {
		t, err := timeParam(ctx, "asof")
		if err != nil {
			return err
		}
		if t.After(time.Now()) {
			return condcache.FieldError(condcache.EInvalid, "asof", "Must not be in the future.")
		}
		if u.cfg.Audit == nil {
			return unavailable("The audit trail")
		}
		state, err := u.cfg.Audit.GlobalTagAt(sctx, d.GT, t)
		if err != nil {
			return err
		}
		rows, w := condcache.LookupIn(state.Lists, at)
		var cands []condcache.Notice
		if u.cfg.Notices != nil {
			if cands, err = u.cfg.Notices.CandidateNotices(sctx, d.GT); err != nil {
				return err
			}
		}
		condcache.NarrowWindow(&w, cands, d.GT, answering(rows), at)
		d.Answer = condcache.Resolve(rows, w, at, o)
		d.Status, d.Generation, d.AsOfTime = state.Status, state.Generation, t.UTC().Format(time.RFC3339Nano)
		d.Notices = condcache.ApplicableNotices(cands, d.GT, answering(d.Answer.Payloads), at, at)
		return u.render(ctx, "lookup.html", "Lookup in "+d.GT, "lookup", d)
	}
	res, err := u.cfg.Read.LookupAt(sctx, d.GT, at, condcache.Freshness{Latest: true})
	if err != nil {
		return err
	}
	if !res.Found {
		return condcache.Errorf(condcache.ENotFound, "GlobalTag %s not found.", d.GT)
	}
	condcache.NarrowWindow(&res.Window, res.Notices, d.GT, answering(res.Rows), at)
	d.Answer = condcache.Resolve(res.Rows, res.Window, at, o)
	d.Status, d.Generation = res.Status, res.Generation
	d.Notices = condcache.ApplicableNotices(res.Notices, d.GT, answering(d.Answer.Payloads), at, at)
	return u.render(ctx, "lookup.html", "Lookup in "+d.GT, "lookup", d)
}

func answering(rows []condcache.LookupRow) []condcache.AnsweringIOV {
	out := make([]condcache.AnsweringIOV, len(rows))
	for i, r := range rows {
		out[i] = condcache.AnsweringIOV{ID: r.ID, ListID: r.ListID, PayloadType: r.PayloadType}
	}
	return out
}

func splitNames(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if n := s[start:i]; n != "" && !slices.Contains(out, n) {
				out = append(out, n)
			}
			start = i + 1
		}
	}
	return out
}
