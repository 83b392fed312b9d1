package writer

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/testkit"
)

// TestOpenAPIDocumentsEveryRoute: every method and path the writer's router
// serves is an operation of docs/openapi.yaml (its GETs of read paths are
// the readers' operations, which it answers 405; HEAD mirrors GET)
// (docs/design.md "OpenAPI document").
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	ops, err := testkit.OpenAPIOperations()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(&fakeService{}, Config{Gatherer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for method, paths := range s.router.List() {
		if method == fasthttp.MethodHead {
			continue
		}
		for _, p := range paths {
			n++
			if op := method + " " + testkit.TemplatePath(p); !ops[op] {
				t.Errorf("the writer serves %s, which docs/openapi.yaml does not describe", op)
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d routes listed", n)
	}
}

// TestOpenAPIServed: the writer serves the document too.
func TestOpenAPIServed(t *testing.T) {
	s := startServer(t, Config{})
	want, err := api.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	if r := s.do("GET", api.OpenAPIPath, noBody); r.status != 200 || r.body != string(want) {
		t.Errorf("status %d, %d bytes; want 200 and the document", r.status, len(r.body))
	}
}
