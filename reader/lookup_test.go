package reader

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/admission"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/usage"
)

func TestLookupHTTP(t *testing.T) {
	svc := &fakeService{}
	r := newTestReader(t, svc, Config{})
	const q = api.Prefix + "payloadiovs/?"
	cases := []struct {
		query  string
		status int
		body   string
	}{
		{"gtName=sPHENIX_ExampleGT_24&majorIOV=54321&minorIOV=-7", 200, rowsJSON},
		{"gtName=sPHENIX_ExampleGT_24&majorIOV=+1+&minorIOV=2&shape=dict", 200, dictsJSON},
		// The same connection and response buffer, shorter answers after longer ones.
		{"gtName=nope&majorIOV=1&minorIOV=2", 200, `[]`},
		{"gtName=x&gtName=sPHENIX_ExampleGT_24&majorIOV=9&majorIOV=1&minorIOV=2&shape=dict&shape=x", 200, rowsJSON},
		{"majorIOV=1&minorIOV=2", 200, `[]`},
		{"gtName=sPHENIX_ExampleGT_24&minorIOV=2", 200, `[]`},
		{"gtName=sPHENIX_ExampleGT_24&majorIOV=2", 200, `[]`},
		{"gtName=sPHENIX_ExampleGT_24&majorIOV=abc&minorIOV=2", 400, `{"code":"invalid","detail":"majorIOV must be an integer, got \"abc\""}`},
		{"gtName=sPHENIX_ExampleGT_24&majorIOV=1&minorIOV=25.7", 400, `{"code":"invalid","detail":"minorIOV must be an integer, got \"25.7\""}`},
		{"gtName=sPHENIX_ExampleGT_24&majorIOV=1&minorIOV=10000000000000000000", 400,
			`{"code":"invalid","detail":"minorIOV must be an integer between -9223372036854775808 and 9223372036854775807, got \"10000000000000000000\""}`},
	}
	for _, c := range cases {
		a := r.get(q + c.query)
		if a.status != c.status || a.body != c.body {
			t.Errorf("lookup %s = %d %s\nwant %d %s", c.query, a.status, a.body, c.status, c.body)
		}
		if ct := string(a.header.ContentType()); ct != "application/json" {
			t.Errorf("lookup %s: Content-Type %q", c.query, ct)
		}
	}
	// Only complete, valid queries reach the service, with the last values.
	want := []lookupCall{
		{"sPHENIX_ExampleGT_24", condcache.Point{Major: 54321, Minor: -7}},
		{"sPHENIX_ExampleGT_24", condcache.Point{Major: 1, Minor: 2}},
		{"nope", condcache.Point{Major: 1, Minor: 2}},
		{"sPHENIX_ExampleGT_24", condcache.Point{Major: 1, Minor: 2}},
	}
	if !reflect.DeepEqual(svc.lookups, want) {
		t.Errorf("service lookups = %+v\nwant %+v", svc.lookups, want)
	}
}

func BenchmarkLookupHandler(b *testing.B) {
	benchLookup(b, New(&fakeService{}, Config{}), -1)
}

// benchLookup runs one lookup after another through s's whole handler,
// each answered 200 with a body of bodyLen bytes (-1: any).
func benchLookup(b *testing.B, s *Server, bodyLen int) {
	h := s.Handler()
	ctx := newBenchCtx(api.Prefix + "payloadiovs/?gtName=sPHENIX_ExampleGT_24&majorIOV=54321&minorIOV=0")
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		h(ctx)
		if ctx.Response.StatusCode() != 200 || bodyLen >= 0 && len(ctx.Response.Body()) != bodyLen {
			b.Fatal(ctx.Response.StatusCode(), string(ctx.Response.Body()))
		}
	}
}

// newBenchCtx returns a RequestCtx for a GET of uri, for calling the
// handler directly.
func newBenchCtx(uri string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodGet)
	req.SetRequestURI(uri)
	req.Header.SetHost("reader.test")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, nil, nil)
	return ctx
}

// leasedCache is a cache whose every lookup is a copy served under the
// lease: BenchmarkLeasedLookupHandler measures what the handler chain adds
// to a cache hit that needs no call.
type leasedCache struct{ hit condcache.CachedLookup }

func (c *leasedCache) GetLookup(context.Context, string, condcache.Point, bool) (condcache.CachedLookup, error) {
	return c.hit, nil
}

func (c *leasedCache) FillLookup(context.Context, string, bool, *condcache.LookupResult, []byte) (bool, error) {
	return false, nil
}

func (c *leasedCache) LeaseHit(string, condcache.Point, bool) (condcache.CachedLookup, bool) {
	return c.hit, true
}

type discardUsage struct{}

func (discardUsage) RecordUsage(context.Context, []condcache.UsageCount) error { return nil }

// BenchmarkLeasedLookupHandler: a cached lookup as `condcache reader`
// wires it (metrics, admission with client labels, access accounting,
// lookup sources), from the request to the written headers, with the
// answer's 13 KB body served from the copy.
func BenchmarkLeasedLookupHandler(b *testing.B) {
	reg := prometheus.NewRegistry()
	sources := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookups_total"}, []string{"source"})
	counter := usage.New(discardUsage{}, usage.Options{Interval: time.Hour})
	hit := condcache.CachedLookup{State: condcache.CacheHit, Generation: 42, Status: condcache.StatusUnlocked,
		Window: condcache.Window{HasFrom: true, FromPoint: condcache.Point{Major: 54000}, HasUntil: true, UntilPoint: condcache.Point{Major: 55000}},
		Digest: condcache.DigestRows(nil), Body: bytes.Repeat([]byte("x"), 12_985)}
	s := New(&fakeService{}, Config{Cache: &leasedCache{hit: hit}, Metrics: api.NewHTTPMetrics(reg), LookupSources: sources,
		Usage: counter, Admission: admission.Config{MaxInFlight: 256}})
	benchLookup(b, s, len(hit.Body))
}
