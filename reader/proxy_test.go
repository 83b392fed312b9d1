package reader

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/api"
)

// seenRequest is what the stub writer received.
type seenRequest struct {
	method, path, query, host string
	body                      []byte
	header                    map[string]string
}

// startStubWriter serves a fasthttp stub writer on a loopback port. It
// records each request and answers 409 with a JSON body and a custom
// header, or 404 for paths it does not know.
func startStubWriter(t *testing.T) (url string, seen func() []seenRequest) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reqs []seenRequest
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		r := seenRequest{
			method: string(ctx.Method()),
			path:   string(ctx.Request.URI().PathOriginal()),
			query:  string(ctx.URI().QueryString()),
			host:   string(ctx.Host()),
			body:   append([]byte(nil), ctx.Request.Body()...),
			header: map[string]string{},
		}
		for k, v := range ctx.Request.Header.All() {
			r.header[string(k)] = string(v)
		}
		mu.Lock()
		reqs = append(reqs, r)
		mu.Unlock()
		if strings.HasSuffix(r.path, "/nope") {
			ctx.SetStatusCode(404)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"detail":"Not found."}`)
			return
		}
		ctx.Response.Header.Set("X-Writer", "stub")
		ctx.Response.Header.Set("Keep-Alive", "timeout=5")
		ctx.SetStatusCode(409)
		ctx.SetContentType("application/json; charset=utf-8")
		ctx.SetBodyString(`{"detail":"Global Tag is locked.","code":"locked"}`)
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String(), func() []seenRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]seenRequest(nil), reqs...)
	}
}

func TestProxyForwardsWritesUnchanged(t *testing.T) {
	writerURL, seen := startStubWriter(t)
	r := newTestReader(t, &fakeService{}, Config{WriterURL: writerURL})

	body := []byte(`null`)
	a := r.do("PUT", api.Prefix+"gt_change_status/My%20GT/locked?x=1&x=2&e=%2F", body,
		"Content-Type", "application/json",
		"Authorization", "Bearer tok.en.sig",
		"X-Custom", "kept",
		"Proxy-Authorization", "Basic c2VjcmV0",
		"X-Forwarded-For", "10.0.0.1",
	)
	if a.status != 409 || a.body != `{"detail":"Global Tag is locked.","code":"locked"}` {
		t.Errorf("proxied answer = %d %s", a.status, a.body)
	}
	if v := string(a.header.Peek("X-Writer")); v != "stub" {
		t.Errorf("writer header X-Writer = %q", v)
	}
	if ct := string(a.header.ContentType()); ct != "application/json; charset=utf-8" {
		t.Errorf("writer Content-Type = %q", ct)
	}
	if v := a.header.Peek("Keep-Alive"); len(v) != 0 {
		t.Errorf("hop-by-hop Keep-Alive relayed: %q", v)
	}
	if a.header.ConnectionClose() {
		t.Error("the client connection is closed")
	}

	reqs := seen()
	if len(reqs) != 1 {
		t.Fatalf("writer saw %d requests", len(reqs))
	}
	got := reqs[0]
	if got.method != "PUT" || got.path != api.Prefix+"gt_change_status/My%20GT/locked" || got.query != "x=1&x=2&e=%2F" || !bytes.Equal(got.body, body) {
		t.Errorf("writer saw %s %s ? %s body %q", got.method, got.path, got.query, got.body)
	}
	for name, want := range map[string]string{
		"Content-Type":      "application/json",
		"Authorization":     "Bearer tok.en.sig",
		"X-Custom":          "kept",
		"X-Forwarded-For":   "10.0.0.1, ",
		"X-Forwarded-Host":  "reader.test",
		"X-Forwarded-Proto": "http",
	} {
		if v := got.header[name]; !strings.HasPrefix(v, want) {
			t.Errorf("writer saw %s = %q, want %q", name, v, want)
		}
	}
	if v, ok := got.header["Proxy-Authorization"]; ok {
		t.Errorf("hop-by-hop Proxy-Authorization forwarded: %q", v)
	}
	if got.host != strings.TrimPrefix(writerURL, "http://") {
		t.Errorf("writer saw Host %q", got.host)
	}

	// Every write method, any path under the prefix (the writer decides),
	// large bodies intact.
	big := bytes.Repeat([]byte(`{"payload_url":"u","major_iov":1,"minor_iov":2,"payload_list":"Beam_1"},`), 20000)
	for _, c := range []struct {
		method, path string
		body         []byte
		status       int
	}{
		{"POST", "bulk_piov", big, 409},
		{"POST", "gt", []byte(`{"name":"x"}`), 409},
		{"DELETE", "deletePayloadIOV/g/p/-1/2", nil, 409},
		{"PATCH", "pl_attach", []byte(`{}`), 409},
		{"POST", "nope", []byte(`{}`), 404},
		{"POST", "payloadiovs", nil, 409}, // slash-less: the writer's call
	} {
		a := r.do(c.method, api.Prefix+c.path, c.body, "Content-Type", "application/json")
		if a.status != c.status {
			t.Errorf("%s %s = %d %s", c.method, c.path, a.status, a.body)
		}
		reqs := seen()
		last := reqs[len(reqs)-1]
		if last.method != c.method || last.path != api.Prefix+c.path || !bytes.Equal(last.body, c.body) && len(c.body) > 0 {
			t.Errorf("%s %s: writer saw %s %s (%d bytes)", c.method, c.path, last.method, last.path, len(last.body))
		}
	}
}

func TestProxyWriterDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more

	for _, writerURL := range []string{"http://" + addr, "", "ftp://x"} {
		r := newTestReader(t, &fakeService{}, Config{WriterURL: writerURL})
		a := r.do("POST", api.Prefix+"gt", []byte(`{"name":"x"}`),
			"Authorization", "Bearer very-secret-token", "Content-Type", "application/json")
		detail, code := a.detail(t)
		if a.status != 503 || code != "unavailable" || !strings.HasPrefix(detail, "writer unavailable: ") {
			t.Errorf("writer %q: %d %s", writerURL, a.status, a.body)
		}
		if string(a.header.Peek("Retry-After")) == "" {
			t.Errorf("writer %q: no Retry-After", writerURL)
		}
		if strings.Contains(a.body+r.logs.String(), "very-secret-token") {
			t.Errorf("writer %q: the Authorization header leaked", writerURL)
		}
		// Reads keep working.
		if a := r.get(api.Prefix + "gtstatus"); a.status != 200 {
			t.Errorf("writer %q: reads fail: %d", writerURL, a.status)
		}
	}
}

func TestProxyTimeoutIs503(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	slow := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { <-release }}
	go func() { _ = slow.Serve(ln) }()
	t.Cleanup(func() {
		close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = slow.ShutdownWithContext(ctx)
	})
	r := newTestReader(t, &fakeService{}, Config{WriterURL: "http://" + ln.Addr().String(), WriterTimeout: 100 * time.Millisecond})
	a := r.do("PUT", api.Prefix+"piov_attach", []byte(`{}`))
	if _, code := a.detail(t); a.status != 503 || code != "unavailable" {
		t.Errorf("slow writer answered %d %s, want 503 (never 504: the C++ client would retry a write)", a.status, a.body)
	}
}
