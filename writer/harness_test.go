package writer

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/testkit"
)

// ts is the timestamp of every row the fake returns.
var ts = time.Date(2026, 7, 23, 0, 0, 26, 714171000, time.UTC)

const tsJSON = `"2026-07-23T00:00:26.714171"`

// fakeService is a condcache.WriteService that records each call as a Go-ish
// signature and answers canned rows. It exists only to check the HTTP
// mapping: which method is called with which decoded arguments, and how
// answers and errors are rendered.
type fakeService struct {
	mu    sync.Mutex
	calls []string

	// err, when set, is returned by every method after recording the call.
	err error
	// panicMsg, when set, makes every method panic.
	panicMsg string
	// listGT is the GT name AttachPayloadIOV passes to authorize.
	listGT string
	// block, when set, makes every method wait for it to close or for the
	// call's context to end (then returning the context's error).
	block chan struct{}
	// entered receives a value when a blocked call starts.
	entered chan struct{}
}

func (f *fakeService) record(format string, args ...any) error {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	return f.err
}

func (f *fakeService) wait(ctx context.Context) error {
	if f.block == nil {
		return nil
	}
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	select {
	case <-f.block:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Calls returns the calls recorded so far and forgets them.
func (f *fakeService) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func str(p *string) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", *p)
}

func i64(p *int64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func (f *fakeService) CreateGlobalTagStatus(ctx context.Context, name string) (condcache.GlobalTagStatus, error) {
	if err := f.record("CreateGlobalTagStatus(%q)", name); err != nil {
		return condcache.GlobalTagStatus{}, err
	}
	if err := f.wait(ctx); err != nil {
		return condcache.GlobalTagStatus{}, err
	}
	return condcache.GlobalTagStatus{ID: 3, Name: name, Created: ts}, nil
}

func (f *fakeService) CreateGlobalTag(_ context.Context, name, status string, author *string) (condcache.GlobalTag, error) {
	if err := f.record("CreateGlobalTag(%q, %q, %s)", name, status, str(author)); err != nil {
		return condcache.GlobalTag{}, err
	}
	return condcache.GlobalTag{ID: 7, Name: name, Author: author, Status: condcache.GlobalTagStatus{ID: 2, Name: status}, Created: ts, Updated: ts}, nil
}

func (f *fakeService) CloneGlobalTag(_ context.Context, src, dst string) (condcache.GlobalTagSummary, error) {
	if err := f.record("CloneGlobalTag(%q, %q)", src, dst); err != nil {
		return condcache.GlobalTagSummary{}, err
	}
	author := "a"
	return condcache.GlobalTagSummary{
		GlobalTag:        condcache.GlobalTag{ID: 8, Name: dst, Author: &author, Status: condcache.GlobalTagStatus{ID: 1, Name: "unlocked"}, Created: ts, Updated: ts},
		PayloadListCount: 2, PayloadIOVCount: 5,
	}, nil
}

func (f *fakeService) ChangeGlobalTagStatus(_ context.Context, name, status string) (condcache.GlobalTag, error) {
	if err := f.record("ChangeGlobalTagStatus(%q, %q)", name, status); err != nil {
		return condcache.GlobalTag{}, err
	}
	return condcache.GlobalTag{ID: 7, Name: name, Status: condcache.GlobalTagStatus{ID: 9, Name: status}, Created: ts, Updated: ts}, nil
}

func (f *fakeService) DeleteGlobalTag(_ context.Context, name string) error {
	return f.record("DeleteGlobalTag(%q)", name)
}

func (f *fakeService) CreatePayloadType(ctx context.Context, name string) (condcache.PayloadType, error) {
	if err := f.record("CreatePayloadType(%q)", name); err != nil {
		return condcache.PayloadType{}, err
	}
	if err := f.wait(ctx); err != nil {
		return condcache.PayloadType{}, err
	}
	return condcache.PayloadType{ID: 4, Name: name, Created: ts}, nil
}

func (f *fakeService) DeletePayloadType(_ context.Context, name string) error {
	return f.record("DeletePayloadType(%q)", name)
}

func (f *fakeService) CreatePayloadList(_ context.Context, payloadType string) (condcache.PayloadList, error) {
	if err := f.record("CreatePayloadList(%q)", payloadType); err != nil {
		return condcache.PayloadList{}, err
	}
	return condcache.PayloadList{ID: 42, Name: payloadType + "_42", PayloadTypeID: 4, PayloadType: payloadType, Created: ts, Updated: ts}, nil
}

func (f *fakeService) AttachPayloadList(_ context.Context, globalTag, payloadList string) (condcache.PayloadList, error) {
	if err := f.record("AttachPayloadList(%q, %q)", globalTag, payloadList); err != nil {
		return condcache.PayloadList{}, err
	}
	gtID := int64(7)
	return condcache.PayloadList{ID: 42, Name: payloadList, GlobalTagID: &gtID, GlobalTag: &globalTag, PayloadTypeID: 4, PayloadType: "Beam", Created: ts, Updated: ts}, nil
}

func (f *fakeService) DeletePayloadList(_ context.Context, name string) error {
	return f.record("DeletePayloadList(%q)", name)
}

func (f *fakeService) CreatePayloadIOV(_ context.Context, iov condcache.NewPayloadIOV) (condcache.PayloadIOV, error) {
	if err := f.record("CreatePayloadIOV(%q, %q, %s, %v->%v)", iov.PayloadURL, iov.Checksum, i64(iov.Size), iov.Start, iov.End); err != nil {
		return condcache.PayloadIOV{}, err
	}
	comb := iov.Start.CombIOV()
	return condcache.PayloadIOV{ID: 11, PayloadURL: iov.PayloadURL, Checksum: iov.Checksum, Size: iov.Size,
		Start: iov.Start, End: iov.End, CombIOV: &comb, Created: ts, Updated: ts}, nil
}

func (f *fakeService) BulkCreatePayloadIOVs(_ context.Context, iovs []condcache.BulkPayloadIOV) (int64, error) {
	parts := make([]string, len(iovs))
	for i, v := range iovs {
		parts[i] = fmt.Sprintf("{%q %q %q %s %v->%v}", v.PayloadList, v.PayloadURL, v.Checksum, i64(v.Size), v.Start, v.End)
	}
	if err := f.record("BulkCreatePayloadIOVs([%s])", strings.Join(parts, " ")); err != nil {
		return 0, err
	}
	return int64(len(iovs)), nil
}

func (f *fakeService) AttachPayloadIOV(_ context.Context, payloadList string, iovID int64, authorize func(globalTag string) error) (condcache.PayloadIOV, error) {
	if err := f.record("AttachPayloadIOV(%q, %d)", payloadList, iovID); err != nil {
		return condcache.PayloadIOV{}, err
	}
	err := authorize(f.listGT)
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("authorize(%q) = %v", f.listGT, err))
	f.mu.Unlock()
	if err != nil {
		return condcache.PayloadIOV{}, err
	}
	start := condcache.Point{Major: 0, Minor: 1000}
	comb := start.CombIOV()
	return condcache.PayloadIOV{ID: iovID, PayloadURL: "u.root", Checksum: "c", Start: start, End: condcache.OpenEnd,
		CombIOV: &comb, PayloadList: &payloadList, Created: ts, Updated: ts}, nil
}

func (f *fakeService) DeletePayloadIOV(_ context.Context, globalTag, payloadType string, start, end condcache.Point) (condcache.PayloadIOV, error) {
	if err := f.record("DeletePayloadIOV(%q, %q, %v->%v)", globalTag, payloadType, start, end); err != nil {
		return condcache.PayloadIOV{}, err
	}
	return condcache.PayloadIOV{ID: 5, PayloadURL: "deleted.root", Start: start, End: end}, nil
}

var _ condcache.WriteService = (*fakeService)(nil)

// testServer is a writer on an in-memory listener.
type testServer struct {
	t    *testing.T
	srv  *Server
	svc  *fakeService
	ln   *fasthttputil.InmemoryListener
	cl   *fasthttp.Client
	logs *testkit.Buffer
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	svc := &fakeService{}
	logs := &testkit.Buffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := New(svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	testkit.Serve(t, srv, ln)
	return &testServer{
		t: t, srv: srv, svc: svc, ln: ln, logs: logs,
		cl: &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }},
	}
}

// resp is an answer of the server.
type resp struct {
	status int
	body   string
	header *fasthttp.ResponseHeader
	json   map[string]any // the body when it is a JSON object
}

// noBody marks a request without a body.
const noBody = "\x00none"

// do sends method path (relative to /api/cdb_rest/ unless it starts with
// "/") with a JSON body (noBody for none) and header pairs.
func (s *testServer) do(method, path, body string, headers ...string) resp {
	s.t.Helper()
	ct := "application/json"
	if body != noBody {
		for i := 0; i+1 < len(headers); i += 2 {
			if strings.EqualFold(headers[i], "Content-Type") {
				ct = headers[i+1]
			}
		}
	}
	return s.raw(method, path, body, ct, headers...)
}

// raw is do with an explicit content type ("" = none).
func (s *testServer) raw(method, path, body, contentType string, headers ...string) resp {
	s.t.Helper()
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	if !strings.HasPrefix(path, "/") {
		path = "/api/cdb_rest/" + path
	}
	req.Header.SetMethod(method)
	req.SetRequestURI("http://writer" + path)
	req.URI().DisablePathNormalizing = true
	if body != noBody {
		req.SetBodyString(body)
		if contentType != "" {
			req.Header.SetContentType(contentType)
		}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if !strings.EqualFold(headers[i], "Content-Type") {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	if err := s.cl.DoTimeout(req, res, 10*time.Second); err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	r := resp{status: res.StatusCode(), body: string(res.Body()), header: &fasthttp.ResponseHeader{}}
	res.Header.CopyTo(r.header)
	if ct := string(res.Header.ContentType()); !strings.HasPrefix(ct, "application/json") {
		s.t.Errorf("%s %s: Content-Type %q, want JSON", method, path, ct)
	}
	if err := json.Unmarshal(res.Body(), &r.json); err != nil && strings.HasPrefix(r.body, "{") {
		s.t.Errorf("%s %s: body is not JSON: %v: %s", method, path, err, r.body)
	}
	return r
}

// wire sends a raw HTTP/1.1 request text and returns the status and body of
// the answer, for requests fasthttp's client would normalize.
func (s *testServer) wire(request string) (int, string) {
	s.t.Helper()
	conn, err := s.ln.Dial()
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(request)); err != nil {
		s.t.Fatal(err)
	}
	var res fasthttp.Response
	if err := res.Read(bufio.NewReader(conn)); err != nil {
		s.t.Fatalf("reading the answer to %q: %v", request, err)
	}
	return res.StatusCode(), string(res.Body())
}

// wantError checks an error answer: status, a string detail (equal to
// detail unless detail is ""), a string code (equal to code unless "").
func wantError(t *testing.T, what string, r resp, status int, code, detail string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	if r.json == nil {
		t.Errorf("%s: error body is not a JSON object: %q", what, r.body)
		return
	}
	d, ok := r.json["detail"].(string)
	if !ok || d == "" || (detail != "" && d != detail) {
		t.Errorf("%s: detail %#v, want %q", what, r.json["detail"], detail)
	}
	if c, ok := r.json["code"].(string); !ok || (code != "" && c != code) {
		t.Errorf("%s: code %#v, want %q", what, r.json["code"], code)
	}
}

// wantField checks that the answer has field errors field = [msg, ...]
// (msg "" = any message).
func wantField(t *testing.T, what string, r resp, field, msg string) {
	t.Helper()
	a, ok := r.json[field].([]any)
	if !ok || len(a) == 0 {
		t.Errorf("%s: no field errors %q in %s", what, field, r.body)
		return
	}
	if s, ok := a[0].(string); !ok || (msg != "" && s != msg) {
		t.Errorf("%s: %s = %v, want [%q]", what, field, a, msg)
	}
}

// wantCalls checks the service calls since the last check.
func (s *testServer) wantCalls(what string, want ...string) {
	s.t.Helper()
	got := s.svc.Calls()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		s.t.Errorf("%s: service calls\n got  %q\n want %q", what, got, want)
	}
}
