package writer

import (
	"encoding/json"
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzWriterRequest sends any method, request target and body to the
// writer's whole handler, in front of a service that accepts everything:
// path parameters (names, ids, IOV points) and JSON bodies are checked by
// the writer itself, so the answer is never a 5xx and every 4xx is JSON
// with a detail.
func FuzzWriterRequest(f *testing.F) {
	for _, s := range []struct {
		method uint8
		uri    string
		body   string
	}{
		{0, "/api/cdb_rest/piov", `{"payload_url":"a","checksum":"c","major_iov":1,"minor_iov":0}`},
		{0, "/api/cdb_rest/piov", `{"payload_url":"a","major_iov":9223372036854775808,"minor_iov":-1}`},
		{0, "/api/cdb_rest/bulk_piov", `[{"payload_url":"a","major_iov":1,"minor_iov":0,"payload_list":"L"},{}]`},
		{1, "/api/cdb_rest/piov_attach", `{"payload_list":"L","piov_id":1e400}`},
		{1, "/api/cdb_rest/gt_change_status/G%00/locked", ``},
		{2, "/api/cdb_rest/deletePayloadIOV/G/T/18446744073709551616/0", ``},
		{2, "/api/cdb_rest/deletePayloadIOV/G/T/1/0/2/-3", ``},
		{0, "/api/cdb_rest/cloneGlobalTag/..%2F..%2Fetc/x", ``},
		{0, "/api/cdb_rest/gt", `{"name":"` + "\u202e\u0301" + `","status":"unlocked","author":null}`},
		{0, "/api/cdb_rest/gt", `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`},
	} {
		f.Add(s.method, s.uri, s.body)
	}
	srv, err := New(&fakeService{}, Config{})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	methods := []string{fasthttp.MethodPost, fasthttp.MethodPut, fasthttp.MethodDelete, fasthttp.MethodGet, fasthttp.MethodPatch}
	f.Fuzz(func(t *testing.T, method uint8, uri, body string) {
		m := methods[int(method)%len(methods)]
		var req fasthttp.Request
		req.Header.SetMethod(m)
		req.SetRequestURI(uri)
		req.Header.SetContentType("application/json")
		req.SetBodyString(body)
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
		h(&ctx)
		status := ctx.Response.StatusCode()
		if status >= 500 {
			t.Fatalf("%s %q %q: %d %s", m, uri, body, status, ctx.Response.Body())
		}
		if status >= 400 {
			var e struct{ Detail any }
			if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil || e.Detail == nil {
				t.Fatalf("%s %q %q: %d with body %q, want JSON with a detail", m, uri, body, status, ctx.Response.Body())
			}
		}
	})
}
