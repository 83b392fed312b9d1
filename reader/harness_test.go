package reader

import (
	"encoding/json"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/condcache/condcache/internal/testkit"
)

// testReader is a reader served on an in-memory listener, with a client
// that sends requests verbatim and never follows redirects.
type testReader struct {
	t      *testing.T
	srv    *Server
	svc    *fakeService
	client *fasthttp.HostClient
	logs   *testkit.Buffer
}

func newTestReader(t *testing.T, svc *fakeService, cfg Config) *testReader {
	t.Helper()
	logs := &testkit.Buffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := New(svc, cfg)
	ln := fasthttputil.NewInmemoryListener()
	testkit.Serve(t, srv, ln)
	return &testReader{
		t:   t,
		srv: srv,
		svc: svc,
		client: &fasthttp.HostClient{
			Addr:                   "reader.test",
			Dial:                   func(string) (net.Conn, error) { return ln.Dial() },
			DisablePathNormalizing: true,
			ReadTimeout:            10 * time.Second,
		},
		logs: logs,
	}
}

// answer is a response, copied out of fasthttp's pooled objects.
type answer struct {
	status int
	body   string
	header fasthttp.ResponseHeader
}

// do sends method uri (relative to the host) with body and header
// name/value pairs.
func (r *testReader) do(method, uri string, body []byte, header ...string) *answer {
	r.t.Helper()
	return doRequest(r.t, r.client, "http://reader.test", method, uri, body, header...)
}

func (r *testReader) get(uri string) *answer {
	r.t.Helper()
	return r.do(fasthttp.MethodGet, uri, nil)
}

func doRequest(t *testing.T, c *fasthttp.HostClient, origin, method, uri string, body []byte, header ...string) *answer {
	t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(origin + uri)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if body != nil {
		req.SetBody(body)
	}
	if err := c.Do(req, resp); err != nil {
		// Errorf, not Fatalf: some tests send from another goroutine.
		t.Errorf("%s %s: %v", method, uri, err)
		return &answer{}
	}
	a := &answer{status: resp.StatusCode(), body: string(resp.Body())}
	resp.Header.CopyTo(&a.header)
	return a
}

// json decodes the body, failing the test when it is not JSON.
func (a *answer) json(t *testing.T) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		t.Fatalf("body %q is not JSON: %v", a.body, err)
	}
	return v
}

// detail returns the "detail" of a JSON error body.
func (a *answer) detail(t *testing.T) (detail, code string) {
	t.Helper()
	m, ok := a.json(t).(map[string]any)
	if !ok {
		t.Fatalf("body %q is not an object", a.body)
	}
	detail, _ = m["detail"].(string)
	code, _ = m["code"].(string)
	return detail, code
}
