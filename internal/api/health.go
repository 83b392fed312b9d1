package api

import (
	"regexp"
	"strings"

	"github.com/valyala/fasthttp"

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
// credentials (RedactCredentials) since probes are often exposed.
func Readyz(ctx *fasthttp.RequestCtx, err error) {
	if err == nil {
		WriteJSON(ctx, fasthttp.StatusOK, []byte(`{"status":"ready"}`))
		return
	}
	b := append([]byte(nil), `{"status":"unavailable","detail":`...)
	b = wire.AppendString(b, RedactCredentials(err.Error()))
	b = append(b, `,"code":"unavailable"}`...)
	ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
	WriteJSON(ctx, fasthttp.StatusServiceUnavailable, b)
}

// credentialsInURL matches the userinfo of a URL ("postgres://user:pw@")
// and key=value passwords of libpq connection strings.
var credentialsInURL = regexp.MustCompile(`(?i)(://)[^/@\s]*@|(password|passwd|pwd)=\S*`)

// RedactCredentials hides the user info of URLs and password=… pairs in
// s, for log lines and probe answers built from error texts that may quote
// a DSN.
func RedactCredentials(s string) string {
	return credentialsInURL.ReplaceAllStringFunc(s, func(m string) string {
		if m[0] == ':' {
			return "://***@"
		}
		if i := strings.IndexByte(m, '='); i >= 0 {
			return m[:i+1] + "***"
		}
		return "***"
	})
}
