package reader

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/admission"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/testkit"
)

// gatedService is the fake whose PayloadTypes waits for gate to close (or
// its context to end), so a test decides when the reader is saturated.
type gatedService struct {
	*fakeService
	gate    chan struct{}
	entered chan struct{}
}

func newGatedService() *gatedService {
	return &gatedService{fakeService: &fakeService{}, gate: make(chan struct{}), entered: make(chan struct{}, 100)}
}

func (g *gatedService) PayloadTypes(ctx context.Context) ([]condcache.PayloadType, error) {
	g.entered <- struct{}{}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.fakeService.PayloadTypes(ctx)
}

// serveReader serves a reader of svc on an in-memory listener.
func serveReader(t *testing.T, svc condcache.ReadService, cfg Config) (*Server, *fasthttp.HostClient) {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv := New(svc, cfg)
	ln := fasthttputil.NewInmemoryListener()
	testkit.Serve(t, srv, ln)
	return srv, &fasthttp.HostClient{
		Addr:                   "reader.test",
		Dial:                   func(string) (net.Conn, error) { return ln.Dial() },
		DisablePathNormalizing: true,
		ReadTimeout:            5 * time.Second, // a request that should be shed at once fails fast
	}
}

// TestReaderShedsLoad: with every slot taken, reads are shed at once, 504
// on legacy paths and 503 on the aliases, with Retry-After in range and a
// JSON body; probes, metrics, GET timeout and proxied writes are not
// subject to the reads' cap.
func TestReaderShedsLoad(t *testing.T) {
	svc := newGatedService()
	reg := prometheus.NewRegistry()
	_, c := serveReader(t, svc, Config{
		Metrics:             api.NewHTTPMetrics(reg),
		Gatherer:            reg,
		TimeoutEndpointWait: time.Millisecond,
		Admission: admission.Config{MaxInFlight: 1, Wait: 10 * time.Millisecond,
			RetryAfterMin: 2 * time.Second, RetryAfterMax: 3 * time.Second},
	})
	get := func(uri string) *answer { return doRequest(t, c, "http://reader.test", "GET", uri, nil) }
	held := make(chan *answer, 1)
	go func() { held <- get(api.Prefix + "pt") }()
	<-svc.entered

	for _, tc := range []struct {
		uri    string
		status int
	}{
		{api.Prefix + "pt", 504},
		{api.Prefix + "globalTags", 504},
		{api.Prefix + "payloadiovs/?gtName=G&majorIOV=1&minorIOV=0", 504},
		{api.Prefix + "payload-types", 503},
		{api.Prefix + "payload-iovs/query/?gtName=G&majorIOV=1&minorIOV=0", 503},
		{api.Prefix + "global-tags", 503},
	} {
		a := get(tc.uri)
		detail, code := a.detail(t)
		retryAfter, err := strconv.Atoi(string(a.header.Peek("Retry-After")))
		if a.status != tc.status || code != "overloaded" || detail == "" || err != nil || retryAfter < 2 || retryAfter > 3 {
			t.Errorf("%s while saturated: %d %s, Retry-After %q; want %d overloaded, Retry-After in [2, 3]",
				tc.uri, a.status, a.body, a.header.Peek("Retry-After"), tc.status)
		}
	}
	for _, uri := range []string{api.HealthzPath, api.ReadyzPath, api.MetricsPath, api.Prefix + "timeout"} {
		if a := get(uri); a.status != 200 {
			t.Errorf("%s while saturated: %d %s", uri, a.status, a.body)
		}
	}
	// No writer is configured: the write is refused by the proxy, not shed.
	a := doRequest(t, c, "http://reader.test", "POST", api.Prefix+"pt", []byte(`{"name":"P"}`))
	if _, code := a.detail(t); a.status != 503 || code != "unavailable" {
		t.Errorf("proxied write while reads are saturated: %d %s", a.status, a.body)
	}

	close(svc.gate)
	if a := <-held; a.status != 200 {
		t.Errorf("held read: %d %s", a.status, a.body)
	}
	if a := get(api.Prefix + "pt"); a.status != 200 {
		t.Errorf("read after the load dropped: %d %s", a.status, a.body)
	}
}
