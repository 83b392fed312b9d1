package writer

import (
	"slices"

	"github.com/fasthttp/router"

	"github.com/condcache/condcache/internal/api"
)

// v2Route is one write endpoint of condcache's own API under api.V2Prefix
// (docs/design.md "Beyond the compatible API"): the same authentication,
// audit trail, dry runs (dry_run=1) and error shape as the compatible
// writes.
type v2Route struct {
	name, method, path string
	h                  endpoint
}

// v2Endpoints are the v2 writes, each feature's in its own file.
func (s *Server) v2Endpoints() []v2Route {
	return slices.Concat(s.noticeEndpoints(), s.protectionEndpoints(), s.repositoryEndpoints())
}

// v2Routes registers the v2 writes on r; reads of v2 paths belong to the
// readers, and the router answers them 405 or 404.
func (s *Server) v2Routes(r *router.Router) {
	for _, rt := range s.v2Endpoints() {
		r.Handle(rt.method, api.V2Prefix+rt.path, s.cfg.Metrics.Instrument(rt.name, s.handle(rt.name, rt.h)))
	}
}
