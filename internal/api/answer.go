package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/admission"
	"github.com/condcache/condcache/internal/redact"
)

// ErrInternal is what clients see of any failure that is not an application
// error: the real cause is logged, never sent (it may name hosts or SQL).
var ErrInternal = condcache.Errorf(condcache.EInternal, "Internal error.")

// ErrServiceTimeout answers a service call that ran out of time or was
// cancelled by a hard shutdown (a write's transaction is then rolled back).
// 503, not 504: 504 makes the C++ client retry, and is reserved for
// deliberate load shedding (docs/compatibility.md "Status codes").
var ErrServiceTimeout = condcache.Errorf(condcache.EUnavailable, "The database did not answer in time.")

// AnsweredCode is the request's user-value key under which AnswerError and
// RecoverPanic leave the error code they answered, for access logs.
type AnsweredCode struct{}

// AnswerError answers err of a request to route: application errors with
// the status of their code (not logged as errors: they are the client's),
// a saturated database pool as shed load (504 on legacy paths, else 503,
// with Retry-After), an unavailable backend and timeouts with 503 and
// Retry-After, anything else with a 500 whose cause is logged as failed
// (e.g. "read failed").
// Only the route and path are logged, never headers (Authorization), and
// credentials are cut from causes.
func AnswerError(ctx *fasthttp.RequestCtx, log *slog.Logger, route, failed string, err error) {
	switch {
	case condcache.ErrorCodeOf(err) == condcache.EOverloaded:
		// A database pool had no connection in time: shed like load at
		// the door (no log line per request: under overload that would
		// be a storm; condcache_http_shed_total counts them).
		admission.ShedSaturated(ctx, IsLegacyPath(ctx.Path()))
		ctx.SetUserValue(AnsweredCode{}, string(condcache.EOverloaded))
		return
	case IsAppError(err):
		if condcache.ErrorCodeOf(err) == condcache.EUnavailable {
			// A handler that knows better (GET timeout's 60 s, an
			// export's 10 s) has set it already.
			if len(ctx.Response.Header.Peek(fasthttp.HeaderRetryAfter)) == 0 {
				ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
			}
			log.Warn("backend unavailable", "route", route, "path", string(ctx.Path()), "err", redactErr(err))
		}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		log.Warn("service call timed out", "route", route, "path", string(ctx.Path()), "err", redactErr(err))
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
		err = ErrServiceTimeout
	default:
		log.Error(failed, "route", route, "path", string(ctx.Path()), "err", redactErr(err))
		err = ErrInternal
	}
	ctx.SetUserValue(AnsweredCode{}, string(condcache.ErrorCodeOf(err)))
	WriteError(ctx, err)
}

// RecoverPanic, deferred by a handler, turns its panic into a logged 500
// JSON answer, so one bad request cannot take a server down.
func RecoverPanic(ctx *fasthttp.RequestCtx, log *slog.Logger) {
	if p := recover(); p != nil {
		log.Error("handler panic", "path", string(ctx.Path()), "panic", redact.Credentials(fmt.Sprint(p)), "stack", string(debug.Stack()))
		ctx.Response.Reset()
		ctx.SetUserValue(AnsweredCode{}, string(condcache.EInternal))
		WriteError(ctx, ErrInternal)
	}
}

// redactErr renders err for logs without credentials (errors from the
// database layer may quote a DSN).
func redactErr(err error) string { return redact.Credentials(err.Error()) }
