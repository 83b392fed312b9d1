package writer

import (
	"context"
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/api"
)

var errShuttingDown = errors.New("shutting down")

// readyz answers the readiness probe: 200 while Config.Ready succeeds, 503
// with the reason otherwise, and 503 as soon as a shutdown starts so load
// balancers stop sending writes here. (/healthz, the liveness probe, is
// api.Healthz: it checks nothing.)
func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	select {
	case <-s.stopping:
		api.Readyz(ctx, errShuttingDown)
		return
	default:
	}
	if s.cfg.Ready == nil {
		api.Readyz(ctx, nil)
		return
	}
	rctx, cancel := context.WithTimeout(s.base, s.cfg.ReadyTimeout)
	defer cancel()
	err := s.cfg.Ready(rctx)
	if err != nil {
		s.log.Warn("not ready", "err", redact(err))
	}
	api.Readyz(ctx, err)
}
