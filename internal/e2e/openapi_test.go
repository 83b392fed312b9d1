package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/router"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	"go.yaml.in/yaml/v3"

	"github.com/condcache/condcache/docs"
)

// The OpenAPI check (docs/design.md "OpenAPI document"): every response
// that a test's client gets (client.do) is checked against docs/openapi.yaml
// with libopenapi-validator, so the document cannot drift from what the
// servers answer. Only responses are checked, never requests: the hostile
// tests send what no document allows, and their answers must still be
// documented ones.
//
// A response to a request that matches an operation must have a status the
// operation declares, its content type, a body of its schema and the
// declared headers' formats; a status of the document's
// x-condcache-unrouted any-request list (malformed framing, a body too
// large, …) may answer any request. A request that matches no operation
// (an unknown path, or a known path with another method) must be answered
// with a status of that extension's lists and an Error body, or, for
// OPTIONS on a known path, 200 {}.
//
// Violations fail the test that got them, each distinct one once, where the
// request was made, with the request and the response; repeats are counted
// at the test's end.

type openAPIChecker struct {
	v                       validator.Validator
	router                  router.Router
	schemas                 schema_validation.SchemaValidator
	errorSchema, empty      *base.Schema
	anyRequest, noOperation map[int]bool
}

var openAPICheck = sync.OnceValues(newOpenAPIChecker)

func newOpenAPIChecker() (*openAPIChecker, error) {
	doc, err := libopenapi.NewDocument(docs.OpenAPIYAML)
	if err != nil {
		return nil, err
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, err
	}
	// Strict server matching keeps trailing slashes significant, as the
	// servers' routing does (payloadiovs/ is not payloadiovs); the document
	// has no servers, so it matches wherever it is served.
	opts := []config.Option{config.WithFormatAssertions(), config.WithCustomFormat("int64", int64Format), config.WithStrictServerMatching()}
	c := &openAPIChecker{
		v:       validator.NewValidatorFromV3Model(&model.Model, opts...),
		router:  router.NewRouter(&model.Model),
		schemas: schema_validation.NewSchemaValidator(opts...),
	}
	schemas := model.Model.Components.Schemas
	if c.errorSchema, c.empty = schemas.GetOrZero("Error").Schema(), schemas.GetOrZero("Empty").Schema(); c.errorSchema == nil || c.empty == nil {
		return nil, fmt.Errorf("docs/openapi.yaml: no Error or Empty schema")
	}
	var ext struct {
		Unrouted struct {
			AnyRequest  map[string]string `yaml:"any-request"`
			NoOperation map[string]string `yaml:"no-operation"`
		} `yaml:"x-condcache-unrouted"`
	}
	if err := yaml.Unmarshal(docs.OpenAPIYAML, &ext); err != nil {
		return nil, err
	}
	statuses := func(m map[string]string) (map[int]bool, error) {
		out := map[int]bool{}
		for k := range m {
			n, err := strconv.Atoi(k)
			if err != nil {
				return nil, fmt.Errorf("docs/openapi.yaml: x-condcache-unrouted status %q", k)
			}
			out[n] = true
		}
		return out, nil
	}
	if c.anyRequest, err = statuses(ext.Unrouted.AnyRequest); err != nil {
		return nil, err
	}
	if c.noOperation, err = statuses(ext.Unrouted.NoOperation); err != nil {
		return nil, err
	}
	if len(c.anyRequest) == 0 || len(c.noOperation) == 0 {
		return nil, fmt.Errorf("docs/openapi.yaml: x-condcache-unrouted lists no status")
	}
	return c, nil
}

// check returns the violations of one response to req (its body read into
// body), empty when it matches the document.
func (c *openAPIChecker) check(req *http.Request, res *http.Response, body []byte) []string {
	head := req.Method == http.MethodHead
	vreq := req
	if head {
		// HEAD is answered wherever GET is, with its status and headers.
		vreq = req.Clone(req.Context())
		vreq.Method = http.MethodGet
	}
	vres := *res
	vres.Body = io.NopCloser(bytes.NewReader(body))
	if route, _ := c.router.FindRoute(vreq); route != nil && slices.Contains(slices.Collect(maps.Values(route.PathParams)), "") {
		// The servers' path parameters are non-empty segments
		// (gtPayloadLists/ is an unknown path), the validator's may be empty.
		return c.unrouted(req, res, body, "the path has an empty parameter of "+route.Path, false)
	}
	ok, errs := c.v.ValidateHttpResponse(vreq, &vres)
	if ok {
		return nil
	}
	if len(errs) > 0 && errs[0].ValidationType == helpers.PathValidation {
		return c.unrouted(req, res, body, describe(errs[0]), errs[0].ValidationSubType == helpers.ValidationMissingOperation)
	}
	if c.anyRequest[res.StatusCode] && slices.ContainsFunc(errs, isUndeclaredStatus) {
		return c.errorBody(res, body)
	}
	var out []string
	for _, e := range errs {
		if head && e.ValidationType == helpers.ResponseBodyValidation && e.ValidationSubType == helpers.Schema {
			continue // no body
		}
		out = append(out, describe(e))
	}
	return out
}

// unrouted checks the answer to a request that matches no operation, why
// not, and whether its path is known (only its method is missing).
func (c *openAPIChecker) unrouted(req *http.Request, res *http.Response, body []byte, why string, knownPath bool) []string {
	if req.Method == http.MethodOptions && knownPath && res.StatusCode == http.StatusOK {
		return c.schemaBody(res, body, c.empty, "OPTIONS answer")
	}
	if !c.anyRequest[res.StatusCode] && !c.noOperation[res.StatusCode] {
		return []string{fmt.Sprintf("%s; its status %d is none of x-condcache-unrouted's", why, res.StatusCode)}
	}
	return c.errorBody(res, body)
}

func (c *openAPIChecker) errorBody(res *http.Response, body []byte) []string {
	return c.schemaBody(res, body, c.errorSchema, "Error body")
}

func (c *openAPIChecker) schemaBody(res *http.Response, body []byte, s *base.Schema, what string) []string {
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return []string{fmt.Sprintf("%s: Content-Type %q, want application/json", what, ct)}
	}
	if ok, errs := c.schemas.ValidateSchemaBytes(s, body); !ok {
		var out []string
		for _, e := range errs {
			out = append(out, what+": "+describe(e))
		}
		return out
	}
	return nil
}

// int64Format asserts format int64 on numbers decoded as float64, which
// represents the int64 bounds as ±2^63: integral and within them.
func int64Format(v any) error {
	f, ok := v.(float64)
	if !ok {
		return nil // json.Number and other kinds: the type keyword decides
	}
	if f != math.Trunc(f) || f < -(1<<63) || f > 1<<63 {
		return fmt.Errorf("%v is not an int64", f)
	}
	return nil
}

func isUndeclaredStatus(e *verrors.ValidationError) bool {
	return e.ValidationType == helpers.ResponseBodyValidation && e.ValidationSubType == helpers.ResponseBodyResponseCode
}

// arrayIndex is an index in a failure's place: $[3].payload_iov[0] is
// reported once as $[*].payload_iov[*], however long the array.
var arrayIndex = regexp.MustCompile(`\[[0-9]+\]`)

// describe renders a validation error with its schema failures, each
// distinct one once.
func describe(e *verrors.ValidationError) string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Reason != "" && e.Reason != e.Message {
		b.WriteString(": " + e.Reason)
	}
	seen := map[string]bool{}
	for _, s := range e.SchemaValidationErrors {
		line := "\n      - " + s.Reason
		if s.FieldPath != "" {
			line += " at " + s.FieldPath
		}
		if s.KeywordLocation != "" {
			line += " (schema " + s.KeywordLocation + ")"
		}
		if line = arrayIndex.ReplaceAllString(line, "[*]"); !seen[line] {
			seen[line] = true
			b.WriteString(line)
		}
	}
	return b.String()
}

// violationLog is what one test has seen: each distinct violation and how
// often.
type violationLog struct {
	mu   sync.Mutex
	seen map[string]int
	keys []string
}

var violationLogs sync.Map // testing.TB → *violationLog

// checkOpenAPI checks one exchange of a client (client.do) and fails t for
// each violation it has not seen yet.
func checkOpenAPI(t testing.TB, req *http.Request, res *http.Response, r Resp) {
	t.Helper()
	c, err := openAPICheck()
	if err != nil {
		t.Fatalf("loading docs/openapi.yaml: %v", err)
	}
	violations := c.check(req, res, r.Body)
	if len(violations) == 0 {
		return
	}
	v, loaded := violationLogs.LoadOrStore(t, &violationLog{seen: map[string]int{}})
	log := v.(*violationLog)
	if !loaded {
		t.Cleanup(func() {
			violationLogs.Delete(t)
			log.mu.Lock()
			defer log.mu.Unlock()
			for _, k := range log.keys {
				if n := log.seen[k]; n > 1 {
					t.Logf("docs/openapi.yaml: %d more responses had: %s", n-1, k)
				}
			}
		})
	}
	for _, msg := range violations {
		log.mu.Lock()
		n := log.seen[msg]
		log.seen[msg] = n + 1
		if n == 0 {
			log.keys = append(log.keys, msg)
		}
		log.mu.Unlock()
		if n == 0 {
			t.Errorf("%s\n    does not match docs/openapi.yaml: %s", r, msg)
		}
	}
}

// TestOpenAPIDocumentServed: readers and the writer serve docs/openapi.yaml
// as JSON at /api/openapi.json, with an ETag that a revalidation matches
// (their answers are checked against the document like every other).
func TestOpenAPIDocumentServed(t *testing.T) {
	t.Parallel()
	var want any
	if err := yaml.Unmarshal(docs.OpenAPIYAML, &want); err != nil {
		t.Fatal(err)
	}
	wantJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{servers.ReaderURL, servers.WriterURL} {
		c := newClient(t, base)
		r := c.ok("GET", "/api/openapi.json", nil)
		if got, _ := json.Marshal(r.JSON); !bytes.Equal(canonicalJSON(t, got), canonicalJSON(t, wantJSON)) {
			t.Errorf("%s/api/openapi.json is not docs/openapi.yaml", base)
		}
		etag := r.Header.Get("ETag")
		wantStatus(t, c.do("GET", "/api/openapi.json", nil, "If-None-Match", etag), 304)
	}
}

// canonicalJSON re-encodes a JSON document with sorted keys and numbers
// written alike.
func canonicalJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
