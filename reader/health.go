package reader

import (
	"context"
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/api"
)

var errShuttingDown = errors.New("shutting down")

// readyz answers the readiness probe: 200 when the service can answer (at
// least one backend is up), 503 with the reason otherwise, and 503 as soon
// as a shutdown starts so load balancers drain this reader first.
// (/healthz, the liveness probe, is api.Healthz: it checks nothing.)
func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	select {
	case <-s.stopping:
		api.Readyz(ctx, errShuttingDown)
		return
	default:
	}
	rctx, cancel := context.WithTimeout(s.base, s.cfg.ReadyTimeout)
	defer cancel()
	err := s.svc.Ready(rctx)
	if err != nil {
		s.log.Warn("not ready", "err", redact(err))
	}
	api.Readyz(ctx, err)
}
