package reader

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/admission"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// UsageCounter counts reads per GT and client (internal/usage.Counter,
// docs/design.md "Access accounting"). Add must not block.
type UsageCounter interface {
	Add(gt, client []byte)
}

// usageRoutes are the v2 reads of access accounting (docs/design.md "Access accounting").
func (s *Server) usageRoutes() []v2Route {
	return []v2Route{
		{"v2.Usage", "usage", s.v2Usage, nil},
		{"v2.Unused", "usage/unused", s.v2Unused, nil},
	}
}

// gtsRead name the GTs a read of each route reads, as bytes of the
// request (no copy): the reads that are counted.
var gtsRead = map[string]func(ctx *fasthttp.RequestCtx, add func([]byte)){
	api.Lookup:                queryGTs("gtName"),
	api.GlobalTagByName:       pathGT,
	api.GlobalTagPayloadLists: pathGT,
	"v2.Lookup":               queryGTs("gt"),
	"v2.Range":                queryGTs("gt"),
	"v2.Digest":               pathGT,
	"v2.Diff":                 queryGTs("a", "b"),
	"v2.Export":               pathGT,
}

func queryGTs(params ...string) func(*fasthttp.RequestCtx, func([]byte)) {
	return func(ctx *fasthttp.RequestCtx, add func([]byte)) {
		for _, p := range params {
			if v, ok := drf.LastQueryArg(ctx.QueryArgs(), p); ok && len(v) > 0 {
				add(v)
			}
		}
	}
}

func pathGT(ctx *fasthttp.RequestCtx, add func([]byte)) {
	if gt := drf.PathParam(ctx, "name"); gt != "" {
		add([]byte(gt))
	}
}

// counting counts, after h answered it with success (2xx or 304), a read
// of route's GTs by the request's client. A GT that does not exist is
// dropped when the counts are written.
func (s *Server) counting(route string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	gts, ok := gtsRead[route]
	if !ok || s.cfg.Usage == nil {
		return h
	}
	return func(ctx *fasthttp.RequestCtx) {
		h(ctx)
		if st := ctx.Response.StatusCode(); st >= 300 && st != fasthttp.StatusNotModified {
			return
		}
		var buf [64]byte
		client := append(buf[:0], admission.RequestClient(ctx, s.cfg.Admission.TrustForwarded)...)
		gts(ctx, func(gt []byte) { s.cfg.Usage.Add(gt, client) })
	}
}

// v2Usage: GET /api/v2/usage?gt=&client=&since=&page=&page_size=: per GT
// and client, the reads counted and the first and last, most recent
// first. Counts reach the database every few seconds.
func (s *Server) v2Usage(ctx *fasthttp.RequestCtx) error {
	if s.cfg.UsageReader == nil {
		return errNotAvailable("Access accounting")
	}
	var q condcache.UsageQuery
	var err error
	if q.GlobalTag, err = v2Text(ctx, "gt"); err != nil {
		return err
	}
	if q.Client, err = v2Text(ctx, "client"); err != nil {
		return err
	}
	if q.Since, err = sinceParam(ctx, "since"); err != nil {
		return err
	}
	if q.Page, q.PageSize, err = v2Page(ctx); err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	page, err := s.cfg.UsageReader.Usage(sctx, q)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	api.WriteOK(ctx, wire.NewV2UsagePage(page))
	return nil
}

// v2Unused: GET /api/v2/usage/unused?since=90d (or an RFC 3339 time):
// the GTs nobody read since then, never-read ones first.
func (s *Server) v2Unused(ctx *fasthttp.RequestCtx) error {
	if s.cfg.UsageReader == nil {
		return errNotAvailable("Access accounting")
	}
	since, err := sinceParam(ctx, "since")
	if err != nil {
		return err
	}
	if since.IsZero() {
		return condcache.FieldError(condcache.EInvalid, "since", drf.MsgRequired)
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	gts, err := s.cfg.UsageReader.UnusedSince(sctx, since)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	api.WriteOK(ctx, wire.NewV2Unused(since, gts))
	return nil
}

// sinceParam reads a time: RFC 3339, or an age before now, "90d", "12h",
// "30m" (days, or a Go duration).
func sinceParam(ctx *fasthttp.RequestCtx, name string) (time.Time, error) {
	v, err := v2Text(ctx, name)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	age, err := condcache.ParseAge(v)
	if err != nil {
		return time.Time{}, condcache.FieldError(condcache.EInvalid, name,
			`Must be an RFC 3339 time (2026-09-01T00:00:00Z) or an age: "90d", "12h", "30m".`)
	}
	return time.Now().Add(-age), nil
}
