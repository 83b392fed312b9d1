package api

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/redact"
)

// ExactRouter returns a router that matches paths exactly, as the reference
// does (docs/compatibility.md "Conventions"): no trailing-slash or case fixing. Unknown paths,
// methods and OPTIONS go to the given handlers, which answer JSON.
func ExactRouter(notFound, methodNotAllowed, options fasthttp.RequestHandler) *router.Router {
	r := router.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.HandleOPTIONS = true
	r.GlobalOPTIONS = options
	r.NotFound = notFound
	r.MethodNotAllowed = methodNotAllowed
	return r
}

// GET registers h for GET and HEAD (fasthttp omits the body of HEAD answers
// by itself).
func GET(r *router.Router, path string, h fasthttp.RequestHandler) {
	r.GET(path, h)
	r.HEAD(path, h)
}

var errShuttingDown = errors.New("shutting down")

// ReadyHandler answers the readiness probe: 503 as soon as stopping is
// closed (a shutdown started, so load balancers drain this process first),
// else 200 while check succeeds within timeout, 503 with the reason (logged,
// credentials redacted) when it fails. A nil check is always ready.
// (/healthz, the liveness probe, is Healthz: it checks nothing.)
func ReadyHandler(base context.Context, stopping <-chan struct{}, timeout time.Duration,
	check func(context.Context) error, log *slog.Logger) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		select {
		case <-stopping:
			Readyz(ctx, errShuttingDown)
			return
		default:
		}
		if check == nil {
			Readyz(ctx, nil)
			return
		}
		rctx, cancel := context.WithTimeout(base, timeout)
		defer cancel()
		err := check(rctx)
		if err != nil {
			log.Warn("not ready", "err", redact.Credentials(err.Error()))
		}
		Readyz(ctx, err)
	}
}
