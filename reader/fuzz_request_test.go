package reader

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// FuzzReaderRequest sends any GET or HEAD request target (path parameters,
// escapes, query strings) to the reader's whole handler, in front of a
// service that answers everything: the answer is never a 5xx, and every
// 4xx is JSON with a detail. Writes are proxied and not fuzzed here.
func FuzzReaderRequest(f *testing.F) {
	for _, uri := range []string{
		"/api/cdb_rest/payloadiovs/?gtName=G&majorIOV=1&minorIOV=0",
		"/api/cdb_rest/globalTag/%00",
		"/api/cdb_rest/gtPayloadLists/..%2F..%2Fetc%2Fpasswd",
		"/api/cdb_rest/piov/18446744073709551616",
		"/api/cdb_rest/piov/-1",
		"/api/cdb_rest/global-tags/%ff%fe/payload-lists",
		"/api/cdb_rest/globalTags?page=0&page_size=-5&sort=%27;DROP%20TABLE",
		"/api/cdb_rest/payloadiovs/?gtName=G&majorIOV=1e400&minorIOV=0&shape=x",
		"//api//cdb_rest//gt",
		"/api/cdb_rest/timeout?seconds=0.001",
		"*",
	} {
		f.Add(false, uri)
	}
	// The timeout endpoint answers at once here instead of after 30 min.
	srv := New(&fakeService{}, Config{TimeoutEndpointWait: time.Millisecond})
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, head bool, uri string) {
		var req fasthttp.Request
		req.Header.SetMethod(fasthttp.MethodGet)
		if head {
			req.Header.SetMethod(fasthttp.MethodHead)
		}
		req.SetRequestURI(uri)
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
		h(&ctx)
		status := ctx.Response.StatusCode()
		if status >= 500 {
			t.Fatalf("GET %q: %d %s", uri, status, ctx.Response.Body())
		}
		if status >= 400 && !head {
			var e struct{ Detail string }
			if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil || e.Detail == "" {
				t.Fatalf("GET %q: %d with body %q, want JSON with a detail", uri, status, ctx.Response.Body())
			}
		}
	})
}
