package reader

import (
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/api"
)

// writeError answers err (api.AnswerError): application errors with the
// status of their code, timeouts with 503, anything else with a logged 500.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, route string, err error) {
	api.AnswerError(ctx, s.log, route, "read failed", err)
}
