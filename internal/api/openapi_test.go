package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/valyala/fasthttp"
	"go.yaml.in/yaml/v3"

	"github.com/condcache/condcache/docs"
)

// TestOpenAPIDocumentIsValid: docs/openapi.yaml, and the JSON the servers
// serve from it, are valid OpenAPI 3.1 documents whose references all
// resolve (docs/design.md "OpenAPI document").
func TestOpenAPIDocumentIsValid(t *testing.T) {
	served, err := OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string][]byte{"docs/openapi.yaml": docs.OpenAPIYAML, OpenAPIPath: served} {
		t.Run(name, func(t *testing.T) {
			doc, err := libopenapi.NewDocument(src)
			if err != nil {
				t.Fatal(err)
			}
			if v := doc.GetVersion(); v != "3.1.0" {
				t.Errorf("openapi %q, want 3.1.0", v)
			}
			if _, err := doc.BuildV3Model(); err != nil {
				t.Fatalf("building the model: %v", err)
			}
			v, errs := validator.NewValidator(doc)
			if len(errs) > 0 {
				t.Fatalf("validator: %v", errs)
			}
			if ok, verrs := v.ValidateDocument(); !ok {
				for _, e := range verrs {
					t.Errorf("%s: %s (line %d)", e.Message, e.Reason, e.SpecLine)
					for _, s := range e.SchemaValidationErrors {
						t.Errorf("  %s at %s (line %d)", s.Reason, s.KeywordLocation, s.Line)
					}
				}
			}
		})
	}
}

// openAPIOperation is what the route checks read of an operation.
type openAPIOperation struct {
	OperationID string `json:"operationId"`
	Route       string `json:"x-condcache-route"`
	AliasOf     string `json:"x-condcache-alias-of"`
	RedirectTo  string `json:"x-condcache-redirect-to"`
}

var routerParam = regexp.MustCompile(`\{([a-z_]+):[^}]*\}`)

// TestOpenAPICoversTheRouteTable: every route of the compatible API, with
// each of its paths and its method, is an operation of the document (the
// first path marked with the route's name, the others as its aliases),
// every slash redirect too, and the document has no other operation under
// Prefix.
func TestOpenAPICoversTheRouteTable(t *testing.T) {
	served, err := OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(served, &doc); err != nil {
		t.Fatal(err)
	}
	op := func(path, method string) (openAPIOperation, bool) {
		raw, ok := doc.Paths[path][strings.ToLower(method)]
		var o openAPIOperation
		if ok {
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
		}
		return o, ok
	}
	covered := map[string]bool{} // "METHOD path"
	for _, rt := range Routes {
		var legacy string
		for i, p := range rt.Paths {
			path := Prefix + routerParam.ReplaceAllString(p, "{$1}")
			covered[rt.Method+" "+path] = true
			o, ok := op(path, rt.Method)
			switch {
			case !ok:
				t.Errorf("route %s: %s %s is not in docs/openapi.yaml", rt.Name, rt.Method, path)
			case i == 0:
				legacy = o.OperationID
				if o.Route != rt.Name {
					t.Errorf("%s %s: x-condcache-route %q, want %q", rt.Method, path, o.Route, rt.Name)
				}
			case o.AliasOf != legacy:
				t.Errorf("%s %s: x-condcache-alias-of %q, want %q (the operation of %s)", rt.Method, path, o.AliasOf, legacy, rt.Paths[0])
			}
		}
	}
	for _, p := range SlashRedirects {
		path := Prefix + p
		covered["GET "+path] = true
		if o, ok := op(path, "GET"); !ok || o.RedirectTo == "" {
			t.Errorf("slash redirect GET %s: not in docs/openapi.yaml with x-condcache-redirect-to", path)
		}
	}
	covered["GET "+Prefix+WebApp] = true
	if o, ok := op(Prefix+WebApp, "GET"); !ok || o.RedirectTo == "" {
		t.Errorf("the web app's redirect GET %s: not in docs/openapi.yaml with x-condcache-redirect-to", Prefix+WebApp)
	}
	for path, item := range doc.Paths {
		if !strings.HasPrefix(path, Prefix) {
			continue
		}
		for method := range item {
			if m := strings.ToUpper(method); slices.Contains([]string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}, m) && !covered[m+" "+path] {
				t.Errorf("docs/openapi.yaml has %s %s, which is not in the route table", m, path)
			}
		}
	}
}

func TestOpenAPIHandler(t *testing.T) {
	h := OpenAPIHandler()
	want, _ := OpenAPIJSON()
	get := func(header ...string) *fasthttp.RequestCtx {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(OpenAPIPath)
		for i := 0; i+1 < len(header); i += 2 {
			ctx.Request.Header.Set(header[i], header[i+1])
		}
		h(&ctx)
		return &ctx
	}
	ctx := get()
	if got := ctx.Response.StatusCode(); got != 200 {
		t.Fatalf("status %d", got)
	}
	if !bytes.Equal(ctx.Response.Body(), want) {
		t.Error("body is not the converted document")
	}
	if ct := string(ctx.Response.Header.ContentType()); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	etag := string(ctx.Response.Header.Peek(fasthttp.HeaderETag))
	if !regexp.MustCompile(`^"[0-9a-f]{64}"$`).MatchString(etag) {
		t.Errorf("ETag %q", etag)
	}
	if cc := string(ctx.Response.Header.Peek(fasthttp.HeaderCacheControl)); cc != "public, max-age=300" {
		t.Errorf("Cache-Control %q", cc)
	}
	for _, inm := range []string{etag, "W/" + etag, `"x", ` + etag, "*"} {
		if got := get(fasthttp.HeaderIfNoneMatch, inm).Response.StatusCode(); got != 304 {
			t.Errorf("If-None-Match %s: status %d, want 304", inm, got)
		}
	}
	if got := get(fasthttp.HeaderIfNoneMatch, `"other"`).Response.StatusCode(); got != 200 {
		t.Errorf("another ETag: status %d, want 200", got)
	}
}

func TestYAMLToJSON(t *testing.T) {
	got, err := YAMLToJSON([]byte("b: 1\na:\n  - x\n  - 2.5\n  - true\n  - null\n  - '200'\n  - <&>\n\"200\": {c: *x}\n"))
	if err == nil {
		t.Errorf("an unknown alias converted: %s", got)
	}
	got, err = YAMLToJSON([]byte("b: 1\na: &x\n  - x\n  - 2.5\n  - true\n  - null\n  - '200'\n  - <&>\n\"200\": {c: *x, d: 9223372036854775807}\n"))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"b":1,"a":["x",2.5,true,null,"200","<&>"],"200":{"c":["x",2.5,true,null,"200","<&>"],"d":9223372036854775807}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{"a: 1\na: 2\n", "? [a]\n: 1\n", "a: &m {x: 1}\nb:\n  <<: *m\n", "a: 1\n---\nb: 2\n"} {
		if got, err := YAMLToJSON([]byte(bad)); err == nil {
			t.Errorf("%q converted to %s", bad, got)
		}
	}
}

// TestOpenAPIJSONEqualsTheYAML: the conversion keeps every value (a
// generic YAML decoder reads the same document).
func TestOpenAPIJSONEqualsTheYAML(t *testing.T) {
	served, err := OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(docs.OpenAPIYAML, &fromYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(served, &fromJSON); err != nil {
		t.Fatal(err)
	}
	a, b := fmt.Sprint(canonical(t, fromYAML)), fmt.Sprint(canonical(t, fromJSON))
	if a != b {
		t.Error("the served JSON differs from docs/openapi.yaml")
	}
}

// canonical re-encodes v as JSON, which sorts keys and writes numbers alike.
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var w any
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(w)
	return string(b)
}
