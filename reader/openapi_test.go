package reader

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/testkit"
)

// TestOpenAPIDocumentsEveryRoute: every method and path the reader's router
// serves is an operation of docs/openapi.yaml (HEAD mirrors GET), so a new
// route cannot ship undocumented (docs/design.md "OpenAPI document").
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	ops, err := testkit.OpenAPIOperations()
	if err != nil {
		t.Fatal(err)
	}
	s := New(&fakeService{}, Config{Gatherer: prometheus.NewRegistry()})
	n := 0
	for method, paths := range s.router.List() {
		if method == fasthttp.MethodHead {
			continue
		}
		for _, p := range paths {
			n++
			if op := method + " " + testkit.TemplatePath(p); !ops[op] {
				t.Errorf("the reader serves %s, which docs/openapi.yaml does not describe", op)
			}
		}
	}
	for _, want := range []string{"GET " + api.OpenAPIPath, "GET /api/v2/lookup", "GET " + api.MetricsPath} {
		if !slices.Contains(s.router.List()[fasthttp.MethodGet], want[len("GET "):]) {
			t.Errorf("the reader does not serve %s", want)
		}
	}
	if n < 50 {
		t.Errorf("only %d routes listed", n)
	}
}

// TestOpenAPIServed: GET /api/openapi.json answers the document.
func TestOpenAPIServed(t *testing.T) {
	r := newTestReader(t, &fakeService{}, Config{})
	want, err := api.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	a := r.get(api.OpenAPIPath)
	if a.status != 200 || a.body != string(want) {
		t.Fatalf("status %d, %d bytes; want 200 and the document", a.status, len(a.body))
	}
	etag := string(a.header.Peek(fasthttp.HeaderETag))
	if a := r.do(fasthttp.MethodGet, api.OpenAPIPath, nil, fasthttp.HeaderIfNoneMatch, etag); a.status != 304 {
		t.Errorf("If-None-Match %s: status %d, want 304", etag, a.status)
	}
	if a := r.do(fasthttp.MethodHead, api.OpenAPIPath, nil); a.status != 200 || a.body != "" {
		t.Errorf("HEAD: status %d, body %q", a.status, a.body)
	}
}
