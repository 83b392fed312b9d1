package api

import (
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/redact"
	"github.com/condcache/condcache/internal/wire"
)

// Health probe paths, outside Prefix so they never collide with the
// compatible API.
const (
	HealthzPath = "/healthz"
	ReadyzPath  = "/readyz"
)

var healthyBody = []byte(`{"status":"ok"}`)

// Healthz answers the liveness probe: the process is up and serving.
// It checks no dependency, so a database outage never gets the process
// restarted.
func Healthz(ctx *fasthttp.RequestCtx) {
	WriteJSON(ctx, fasthttp.StatusOK, healthyBody)
}

// Readyz answers the readiness probe from the outcome of a readiness check:
// 200 {"status":"ready"}, or 503 {"status":"unavailable","detail":<reason>}
// so a load balancer stops routing here. The reason is redacted of
// credentials (redact.Credentials) since probes are often exposed.
func Readyz(ctx *fasthttp.RequestCtx, err error) {
	if err == nil {
		WriteJSON(ctx, fasthttp.StatusOK, []byte(`{"status":"ready"}`))
		return
	}
	b := append([]byte(nil), `{"status":"unavailable","detail":`...)
	b = wire.AppendString(b, redact.Credentials(err.Error()))
	b = append(b, `,"code":`...)
	b = wire.AppendString(b, string(condcache.EUnavailable))
	b = append(b, '}')
	ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
	WriteJSON(ctx, condcache.EUnavailable.HTTPStatus(), b)
}
