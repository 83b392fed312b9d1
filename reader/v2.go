package reader

import (
	"slices"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
)

// v2Route is one endpoint of condcache's own read API under api.V2Prefix
// (docs/design.md "Beyond the compatible API"): JSON answers, the error
// shape and codes of the compatible API.
type v2Route struct {
	name, path string
	h          handlerFunc
	// scope, when set, names the one GT an answer depends on: the answer
	// is then cached under it (cachedV2).
	scope func(*fasthttp.RequestCtx) (string, bool)
}

// v2Routes registers the v2 read endpoints on r.
func (s *Server) v2Routes(r *router.Router) {
	builtin := []v2Route{
		{"v2.Lookup", "lookup", s.v2Lookup, nil}, // answers from the lookup cache
		{"v2.Range", "range", s.v2Range, gtOfQuery},
		{"v2.Digest", "gt/{name}/digest", s.v2Digest, gtOfPath},
		{"v2.Diff", "diff", s.v2Diff, nil}, // two GTs: read afresh, ETag of both
		{"v2.Check", "check", s.v2Check, nil},
		{"v2.Audit", "audit", s.v2Audit, nil},
		{"v2.AuditEntry", "audit/{id}", s.v2AuditEntry, nil},
	}
	for _, rt := range slices.Concat(builtin, s.noticeRoutes(), s.protectionRoutes(), s.repositoryRoutes(), s.usageRoutes()) {
		h := rt.h
		if rt.scope != nil {
			h = s.cachedV2(rt.scope, h)
		}
		api.GET(r, api.V2Prefix+rt.path, s.cfg.Metrics.Instrument(rt.name, s.counting(rt.name, s.handle(rt.name, h))))
	}
}

// errNotAvailable answers a v2 endpoint whose service this reader was not
// given (an offline reader has no audit trail, say).
func errNotAvailable(what string) error {
	return condcache.Errorf(condcache.ENotFound, "%s is not available on this server.", what)
}
