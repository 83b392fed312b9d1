package reader

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
)

// errInternal is what clients see of any failure that is not an application
// error: the real cause is logged, never sent (it may name hosts or SQL).
var errInternal = condcache.Errorf(condcache.EInternal, "Internal error.")

// errServiceTimeout answers a service call that ran out of time or was
// cancelled by a hard shutdown. 503, not 504: 504 makes the C++ client
// retry, and is reserved for deliberate load shedding (DESIGN.md
// "Compatibility decisions" 3).
var errServiceTimeout = condcache.Errorf(condcache.EUnavailable, "The database did not answer in time.")

// writeError answers err: application errors with the status of their
// code, timeouts with 503, anything else with a logged 500.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, route string, err error) {
	switch {
	case api.IsAppError(err):
		if condcache.ErrorCodeOf(err) == condcache.EUnavailable {
			ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
			s.log.Warn("backend unavailable", "route", route, "path", string(ctx.Path()), "err", redact(err))
		}
		api.WriteError(ctx, err)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		s.log.Warn("service call timed out", "route", route, "path", string(ctx.Path()), "err", redact(err))
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
		api.WriteError(ctx, errServiceTimeout)
	default:
		// Only the route and path are logged: never headers (Authorization).
		s.log.Error("read failed", "route", route, "path", string(ctx.Path()), "err", redact(err))
		api.WriteError(ctx, errInternal)
	}
}

// recoverPanic turns a handler panic into a logged 500 JSON answer, so one
// bad request cannot take the reader down.
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	if p := recover(); p != nil {
		s.log.Error("handler panic", "path", string(ctx.Path()), "panic", api.RedactCredentials(fmt.Sprint(p)), "stack", string(debug.Stack()))
		ctx.Response.Reset()
		api.WriteError(ctx, errInternal)
	}
}

// redact renders err for logs without credentials (errors from the
// database layer may quote a DSN).
func redact(err error) string { return api.RedactCredentials(err.Error()) }
