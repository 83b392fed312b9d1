package ui

import (
	"context"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
)

// The pages of notices, the audit trail, access accounting and the
// consistency check.

type pagedView struct {
	Count      int64
	PageNo     int
	TotalPages int64
	Prev, Next string
}

func newPagedView(page string, p, total int64, count int64, kv ...string) pagedView {
	v := pagedView{Count: count, PageNo: int(p), TotalPages: total}
	at := func(n int64) string {
		return link(page, append(append([]string{}, kv...), "page", strconv.FormatInt(n, 10))...)
	}
	if p > 1 {
		v.Prev = at(p - 1)
	}
	if p < total {
		v.Next = at(p + 1)
	}
	return v
}

func pageParam(ctx *fasthttp.RequestCtx) (int, error) {
	p, err := intParam(ctx, "page", 1, 1, 1<<31-1)
	return int(p), err
}

// ---------------------------------------------------------- notices

type noticesData struct {
	GT, Type, Importance, Text string
	Notices                    []condcache.Notice
	View                       pagedView
	Importances                []string
	Available                  map[string]bool
}

var importances = []string{"CRITICAL", "MAJOR", "MINOR", "INSIGNIFICANT"}

func (u *UI) notices(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	if u.cfg.Notices == nil {
		return unavailable("Notices")
	}
	d := noticesData{Importances: importances, Available: u.available()}
	var err error
	if d.GT, err = text(ctx, "gt"); err != nil {
		return err
	}
	if d.Type, err = text(ctx, "type"); err != nil {
		return err
	}
	if d.Importance, err = text(ctx, "importance"); err != nil {
		return err
	}
	if d.Text, err = text(ctx, "text"); err != nil {
		return err
	}
	q := condcache.NoticeQuery{GlobalTag: d.GT, PayloadType: d.Type, Text: d.Text, PageSize: 25}
	if d.Importance != "" {
		if q.MinImportance, err = condcache.ParseImportance(d.Importance); err != nil {
			return err
		}
	}
	if q.Page, err = pageParam(ctx); err != nil {
		return err
	}
	p, err := u.cfg.Notices.Notices(sctx, q)
	if err != nil {
		return err
	}
	d.Notices = p.Results
	d.View = newPagedView("notices", int64(q.Page), p.TotalPages, p.Count, "gt", d.GT, "type", d.Type, "importance", d.Importance, "text", d.Text)
	return u.render(ctx, "notices.html", "Notices", "notices", d)
}

func (u *UI) notice(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	if u.cfg.Notices == nil {
		return unavailable("Notices")
	}
	id, err := intParam(ctx, "id", 0, 1, condcache.MaxIOV)
	if err != nil {
		return err
	}
	if id == 0 {
		return condcache.FieldError(condcache.EInvalid, "id", "This field is required.")
	}
	n, err := u.cfg.Notices.Notice(sctx, id)
	if err != nil {
		return err
	}
	return u.render(ctx, "notice.html", "Notice "+strconv.FormatInt(id, 10), "notices", struct {
		Notice    condcache.Notice
		Available map[string]bool
	}{n, u.available()})
}

// ------------------------------------------------------------ audit

type auditData struct {
	GT, Type, Actor, Since, Until string
	Entries                       []condcache.AuditEntry
	View                          pagedView
}

func (u *UI) audit(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	if u.cfg.Audit == nil {
		return unavailable("The audit trail")
	}
	var d auditData
	var err error
	for _, p := range []struct {
		name string
		into *string
	}{{"gt", &d.GT}, {"type", &d.Type}, {"actor", &d.Actor}, {"since", &d.Since}, {"until", &d.Until}} {
		if *p.into, err = text(ctx, p.name); err != nil {
			return err
		}
	}
	q := condcache.AuditQuery{GlobalTag: d.GT, PayloadType: d.Type, Actor: d.Actor, PageSize: 25}
	if q.Since, err = timeParam(ctx, "since"); err != nil {
		return err
	}
	if q.Until, err = timeParam(ctx, "until"); err != nil {
		return err
	}
	if q.Page, err = pageParam(ctx); err != nil {
		return err
	}
	p, err := u.cfg.Audit.Audit(sctx, q)
	if err != nil {
		return err
	}
	d.Entries = p.Results
	d.View = newPagedView("audit", int64(q.Page), p.TotalPages, p.Count, "gt", d.GT, "type", d.Type, "actor", d.Actor, "since", d.Since, "until", d.Until)
	title := "Audit trail"
	if d.GT != "" {
		title = "Audit trail of " + d.GT
	}
	return u.render(ctx, "audit.html", title, "audit", d)
}

type auditEntryData struct {
	Entry   condcache.AuditEntry
	Request string
	Changes []auditChange
}

type auditChange struct {
	condcache.AuditChange
	Old, New []string
}

func (u *UI) auditEntry(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	if u.cfg.Audit == nil {
		return unavailable("The audit trail")
	}
	id, err := intParam(ctx, "id", 0, 1, condcache.MaxIOV)
	if err != nil {
		return err
	}
	if id == 0 {
		return condcache.FieldError(condcache.EInvalid, "id", "This field is required.")
	}
	e, err := u.cfg.Audit.AuditEntry(sctx, id)
	if err != nil {
		return err
	}
	d := auditEntryData{Entry: e, Request: prettyJSON(e.Request)}
	for _, c := range e.Changes {
		ac := auditChange{AuditChange: c}
		for _, r := range c.Old {
			ac.Old = append(ac.Old, prettyJSON(r))
		}
		for _, r := range c.New {
			ac.New = append(ac.New, prettyJSON(r))
		}
		d.Changes = append(d.Changes, ac)
	}
	return u.render(ctx, "audit-entry.html", "Audit entry "+strconv.FormatInt(id, 10), "audit", d)
}

// ------------------------------------------------------------ usage

type usageData struct {
	GT, Client, Since, Unused string
	Rows                      []condcache.UsageCount
	View                      pagedView
	UnusedGTs                 []condcache.UnusedGT
}

func (u *UI) usage(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	if u.cfg.Usage == nil {
		return unavailable("Access accounting")
	}
	var d usageData
	var err error
	for _, p := range []struct {
		name string
		into *string
	}{{"gt", &d.GT}, {"client", &d.Client}, {"since", &d.Since}, {"unused", &d.Unused}} {
		if *p.into, err = text(ctx, p.name); err != nil {
			return err
		}
	}
	q := condcache.UsageQuery{GlobalTag: d.GT, Client: d.Client, PageSize: 25}
	if q.Since, err = timeParam(ctx, "since"); err != nil {
		return err
	}
	if q.Page, err = pageParam(ctx); err != nil {
		return err
	}
	p, err := u.cfg.Usage.Usage(sctx, q)
	if err != nil {
		return err
	}
	d.Rows = p.Results
	d.View = newPagedView("usage", int64(q.Page), p.TotalPages, p.Count, "gt", d.GT, "client", d.Client, "since", d.Since, "unused", d.Unused)
	if d.GT == "" {
		if d.Unused == "" {
			d.Unused = "90d"
		}
		age, err := condcache.ParseAge(d.Unused)
		if err != nil {
			return condcache.FieldError(condcache.EInvalid, "unused", err.Error())
		}
		if d.UnusedGTs, err = u.cfg.Usage.UnusedSince(sctx, time.Now().Add(-age)); err != nil {
			return err
		}
	}
	title := "Usage"
	if d.GT != "" {
		title = "Usage of " + d.GT
	}
	return u.render(ctx, "usage.html", title, "usage", d)
}

// ------------------------------------------------------------ check

func (u *UI) check(sctx context.Context, ctx *fasthttp.RequestCtx) error {
	if u.cfg.Checker == nil {
		return unavailable("The consistency check")
	}
	gt, err := requiredText(ctx, "gt")
	if err != nil {
		return err
	}
	fs, err := u.cfg.Checker.Check(sctx, gt)
	if err != nil {
		return err
	}
	return u.render(ctx, "check.html", "Consistency check of "+gt, "gts", struct {
		GT       string
		Findings []condcache.Finding
	}{gt, fs})
}
