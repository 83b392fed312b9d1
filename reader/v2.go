package reader

import (
	"github.com/fasthttp/router"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
)

// v2Route is one endpoint of condcache's own read API under api.V2Prefix
// (docs/design.md "Beyond the compatible API"): JSON answers, the error
// shape and codes of the compatible API.
type v2Route struct {
	name, path string
	h          handlerFunc
}

// v2Routes registers the v2 read endpoints on r.
func (s *Server) v2Routes(r *router.Router) {
	for _, rt := range []v2Route{
		{"v2.Lookup", "lookup", s.v2Lookup},
		{"v2.Range", "range", s.v2Range},
		{"v2.Digest", "gt/{name}/digest", s.v2Digest},
		{"v2.Diff", "diff", s.v2Diff},
		{"v2.Check", "check", s.v2Check},
		{"v2.Audit", "audit", s.v2Audit},
		{"v2.AuditEntry", "audit/{id}", s.v2AuditEntry},
	} {
		api.GET(r, api.V2Prefix+rt.path, s.cfg.Metrics.Instrument(rt.name, s.handle(rt.name, rt.h)))
	}
}

// errNotAvailable answers a v2 endpoint whose service this reader was not
// given (an offline reader has no audit trail, say).
func errNotAvailable(what string) error {
	return condcache.Errorf(condcache.ENotFound, "%s is not available on this server.", what)
}
