package reader

import (
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/wire"
)

// protectionRoutes are the v2 reads of protection (docs/design.md "Protection").
func (s *Server) protectionRoutes() []v2Route {
	return []v2Route{{"v2.Protections", "protect", s.v2Protections, nil}}
}

// v2Protections: GET /api/v2/protect[?gt=NAME][&page=&page_size=]: with gt,
// the GT's status, how many of its lists and IOVs are protected, and one
// page of the marks on it, its lists and their IOVs; without, one page of
// every mark. Never cached: it is asked before a delete, to see what it
// would meet.
func (s *Server) v2Protections(ctx *fasthttp.RequestCtx) error {
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	pr, ok := s.svc.(condcache.ProtectionReader)
	if !ok {
		return errNotAvailable("Protection")
	}
	var q condcache.ProtectionQuery
	var err error
	if q.GlobalTag, err = v2Text(ctx, "gt"); err != nil {
		return err
	}
	if q.Page, q.PageSize, err = v2Page(ctx); err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	rep, err := pr.Protections(sctx, q)
	if err != nil {
		return err
	}
	if q.GlobalTag == "" {
		api.WriteOK(ctx, wire.NewV2ProtectionPage(rep.Marks))
	} else {
		api.WriteOK(ctx, wire.NewV2GTProtection(rep))
	}
	return nil
}
