package reader

import (
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// v2Audit: GET /api/v2/audit?gt=&type=&actor=&since=&until=&page=&page_size=
// (docs/design.md "Audit trail"), newest first, paged like browse mode,
// each entry with a summary of its changes. Never cached: the trail of
// every write is new.
func (s *Server) v2Audit(ctx *fasthttp.RequestCtx) error {
	if s.cfg.Audit == nil {
		return errNotAvailable("The audit trail")
	}
	var q condcache.AuditQuery
	var err error
	for name, into := range map[string]*string{"gt": &q.GlobalTag, "type": &q.PayloadType, "actor": &q.Actor} {
		if *into, err = v2Text(ctx, name); err != nil {
			return err
		}
	}
	if q.Since, err = v2Time(ctx, "since"); err != nil {
		return err
	}
	if q.Until, err = v2Time(ctx, "until"); err != nil {
		return err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return condcache.FieldError(condcache.EInvalid, "until", "Must not be before since.")
	}
	if q.Page, q.PageSize, err = v2Page(ctx); err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	page, err := s.cfg.Audit.Audit(sctx, q)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	api.WriteOK(ctx, wire.NewV2AuditPage(page))
	return nil
}

// v2AuditEntry: GET /api/v2/audit/{id}, one entry with every row it
// changed.
func (s *Server) v2AuditEntry(ctx *fasthttp.RequestCtx) error {
	if s.cfg.Audit == nil {
		return errNotAvailable("The audit trail")
	}
	id, err := drf.ParseInt([]byte(drf.PathParam(ctx, "id")))
	if err != nil {
		return condcache.Errorf(condcache.ENotFound, "Not found.")
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	e, err := s.cfg.Audit.AuditEntry(sctx, id)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	api.WriteOK(ctx, wire.NewV2AuditEntry(e, true))
	return nil
}
