package writer

import (
	"context"
	"log/slog"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/api"
)

// logRequest writes the access log line of a request: method, route name,
// path, status, duration, and the error code of an error answer. Health
// probes are logged at debug level: they arrive every few seconds. The
// query string and headers are never logged.
func (s *Server) logRequest(ctx *fasthttp.RequestCtx, start time.Time) {
	route, _ := ctx.UserValue(routeKey{}).(string)
	level := slog.LevelInfo
	if route == "healthz" || route == "readyz" {
		level = slog.LevelDebug
	}
	if !s.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", string(ctx.Method())),
		slog.String("route", route),
		slog.String("path", string(ctx.Path())),
		slog.Int("status", ctx.Response.StatusCode()),
		slog.Duration("duration", time.Since(start)),
	}
	if code, ok := ctx.UserValue(api.AnsweredCode{}).(string); ok {
		attrs = append(attrs, slog.String("code", code))
	}
	s.log.LogAttrs(context.Background(), level, "request", attrs...)
}
