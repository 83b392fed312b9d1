package admission_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/admission"
	"github.com/condcache/condcache/internal/api"
)

// gatedHandler is a server's work: it counts the requests inside it (and
// the most at once), and each waits for the gate to open, so a test decides
// when the server is saturated.
type gatedHandler struct {
	gate    chan struct{}
	work    time.Duration // after the gate
	inside  atomic.Int64
	peak    atomic.Int64
	entered atomic.Int64
}

func newGatedHandler() *gatedHandler { return &gatedHandler{gate: make(chan struct{})} }

func (g *gatedHandler) serve(ctx *fasthttp.RequestCtx) {
	n := g.inside.Add(1)
	defer g.inside.Add(-1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	g.entered.Add(1)
	<-g.gate
	time.Sleep(g.work)
	api.WriteJSON(ctx, fasthttp.StatusOK, []byte(`{}`))
}

// testServer stands in for a server: it runs each request through h on
// the calling goroutine, as the server would, with no network in between.
// The tests run in synctest bubbles, so every wait (the admission wait, the
// work, the retries) is on the fake clock, and a request that should be shed
// at once and is not shows as time taken, or as a deadlock, instead of
// hanging the test.
type testServer struct {
	t *testing.T
	h fasthttp.RequestHandler
}

func startTestServer(t *testing.T, h fasthttp.RequestHandler) *testServer {
	return &testServer{t: t, h: h}
}

type reply struct {
	status     int
	retryAfter string
	body       string
	took       time.Duration
}

// clientAddr is where every request comes from.
var clientAddr = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}

func (s *testServer) get(path string, header ...string) reply {
	var req fasthttp.Request
	req.SetRequestURI("http://api.test" + path)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, clientAddr, nil)
	start := time.Now()
	s.h(&ctx)
	return reply{status: ctx.Response.StatusCode(), retryAfter: string(ctx.Response.Header.Peek(fasthttp.HeaderRetryAfter)),
		body: string(ctx.Response.Body()), took: time.Since(start)}
}

// checkShed fails unless r is shed load: status, a JSON body with detail
// and code, and a Retry-After in [lo, hi] seconds.
func checkShed(t *testing.T, what string, r reply, status int, code string, lo, hi int) {
	t.Helper()
	var body struct{ Detail, Code string }
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Detail == "" || body.Code != code {
		t.Errorf("%s: body %q, want JSON with a detail and code %q", what, r.body, code)
	}
	if r.status != status {
		t.Errorf("%s: status %d, want %d", what, r.status, status)
	}
	if s, err := strconv.Atoi(r.retryAfter); err != nil || s < lo || s > hi {
		t.Errorf("%s: Retry-After %q, want whole seconds in [%d, %d]", what, r.retryAfter, lo, hi)
	}
}

// saturate sends n requests to path that will hold the server's slots (the
// gate is closed) and waits until they are inside.
func (s *testServer) saturate(g *gatedHandler, path string, n int) (done chan reply) {
	s.t.Helper()
	done = make(chan reply, n)
	for range n {
		go func() { done <- s.get(path) }()
	}
	synctest.Wait()
	if in := g.inside.Load(); in != int64(n) {
		s.t.Fatalf("only %d of %d requests got in", in, n)
	}
	return done
}

// TestAdmissionSheds: while every slot is taken, requests are shed after
// the wait, each with its path's status and a Retry-After drawn from the
// configured range; probes and metrics still answer; once the slots free
// up, requests are served again.
func TestAdmissionSheds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGatedHandler()
		a := api.NewAdmission(admission.Config{MaxInFlight: 2, Wait: 20 * time.Millisecond,
			RetryAfterMin: 2 * time.Second, RetryAfterMax: 6 * time.Second}, nil)
		probe := func(ctx *fasthttp.RequestCtx) { api.WriteJSON(ctx, fasthttp.StatusOK, []byte(`{"status":"ok"}`)) }
		s := startTestServer(t, a.Wrap(func(ctx *fasthttp.RequestCtx) {
			switch string(ctx.Path()) {
			case api.HealthzPath, api.ReadyzPath, api.MetricsPath:
				probe(ctx)
			default:
				g.serve(ctx)
			}
		}))
		held := s.saturate(g, api.Prefix+"pt", 2)

		seen := map[string]bool{}
		for _, c := range []struct {
			path   string
			status int
		}{
			{api.Prefix + "pt", 504},
			{api.Prefix + "payloadiovs/?gtName=G&majorIOV=1&minorIOV=0", 504},
			{api.Prefix + "gtPayloadLists/G", 504},
			{api.Prefix + "deletePayloadIOV/G/T/1/0", 504},
			{api.Prefix + "payload-types", 503},
			{api.Prefix + "payload-iovs/query/?gtName=G&majorIOV=1&minorIOV=0", 503},
			{api.Prefix + "global-tags/G/payload-lists", 503},
			{"/", 503},
		} {
			for range 10 {
				r := s.get(c.path)
				checkShed(t, c.path, r, c.status, "overloaded", 2, 6)
				if r.took != 20*time.Millisecond {
					t.Errorf("%s: shed after %v, want after the 20 ms wait", c.path, r.took)
				}
				seen[r.retryAfter] = true
			}
		}
		if len(seen) < 2 {
			t.Errorf("80 shed requests all got Retry-After %v: not jittered", seen)
		}
		for _, p := range []string{api.HealthzPath, api.ReadyzPath, api.MetricsPath} {
			if r := s.get(p); r.status != 200 {
				t.Errorf("%s while saturated: %d %s", p, r.status, r.body)
			}
		}
		if p := g.peak.Load(); p > 2 {
			t.Errorf("%d requests worked on at once, cap 2", p)
		}

		close(g.gate)
		for range 2 {
			if r := <-held; r.status != 200 {
				t.Errorf("held request: %d %s", r.status, r.body)
			}
		}
		if r := s.get(api.Prefix + "pt"); r.status != 200 {
			t.Errorf("after the load dropped: %d %s", r.status, r.body)
		}
	})
}

// TestAdmissionQueueFull: beyond MaxWaiting, requests are shed without
// waiting.
func TestAdmissionQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGatedHandler()
		a := api.NewAdmission(admission.Config{MaxInFlight: 1, MaxWaiting: 1, Wait: time.Minute}, nil)
		s := startTestServer(t, a.Wrap(g.serve))
		held := s.saturate(g, api.Prefix+"pt", 1)
		waiter := make(chan reply, 1)
		go func() { waiter <- s.get(api.Prefix + "pt") }()
		synctest.Wait()
		if a.Waiting() != 1 {
			t.Fatal("the second request does not wait")
		}
		r := s.get(api.Prefix + "payload-types")
		checkShed(t, "third request", r, 503, "overloaded", 1, 5)
		if r.took != 0 {
			t.Errorf("the third request waited %v", r.took)
		}
		close(g.gate)
		if r := <-held; r.status != 200 {
			t.Errorf("held: %d", r.status)
		}
		if r := <-waiter; r.status != 200 {
			t.Errorf("waiter: %d", r.status)
		}
	})
}

// TestAdmissionOverload drives a server whose work needs one of 4
// "database connections" (an unbounded FIFO queue, like a pool without an
// acquire bound) with 10× that many clients. With admission capped at 4,
// the work never runs more than 4 at once and every request is answered
// within the admission wait plus one unit of work (exactly: the clock is
// synctest's); the rest are shed with 504 and a Retry-After in range. The
// work is shorter than the wait, so some requests wait for a slot and get
// one. Without the cap requests queue at the pool and wait for the ones
// ahead of them: about 10 units of work each.
func TestAdmissionOverload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			capacity = 4
			clients  = 10 * capacity
			rounds   = 3
			work     = 60 * time.Millisecond
			wait     = 100 * time.Millisecond
		)
		db := make(chan struct{}, capacity)
		var inside, peak atomic.Int64
		h := func(ctx *fasthttp.RequestCtx) {
			db <- struct{}{}
			n := inside.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(work)
			inside.Add(-1)
			<-db
			api.WriteJSON(ctx, fasthttp.StatusOK, []byte(`{}`))
		}
		a := api.NewAdmission(admission.Config{MaxInFlight: capacity, Wait: wait,
			RetryAfterMin: time.Second, RetryAfterMax: 3 * time.Second}, nil)
		var inFlight, inFlightPeak atomic.Int64
		s := startTestServer(t, a.Wrap(func(ctx *fasthttp.RequestCtx) {
			n := inFlight.Add(1)
			for p := inFlightPeak.Load(); n > p && !inFlightPeak.CompareAndSwap(p, n); p = inFlightPeak.Load() {
			}
			defer inFlight.Add(-1)
			h(ctx)
		}))

		var mu sync.Mutex
		var served, shed int
		var slowest, slowestServed time.Duration
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for range rounds {
					r := s.get(api.Prefix + "payloadiovs/?gtName=G&majorIOV=1&minorIOV=0")
					mu.Lock()
					slowest = max(slowest, r.took)
					if r.status == 200 {
						served++
						slowestServed = max(slowestServed, r.took)
					} else {
						shed++
					}
					mu.Unlock()
					if r.status != 200 {
						checkShed(t, "shed lookup", r, 504, "overloaded", 1, 3)
					}
				}
			})
		}
		wg.Wait()
		if p := inFlightPeak.Load(); p > capacity {
			t.Errorf("%d requests in flight at once, cap %d", p, capacity)
		}
		if bound := wait + work; slowest > bound {
			t.Errorf("slowest answer took %v, bound %v (wait + work)", slowest, bound)
		}
		if served == 0 || shed == 0 {
			t.Errorf("served %d, shed %d: want both under a 10× overload", served, shed)
		}
		if slowestServed <= work {
			t.Errorf("no request waited for a slot and got one (slowest served %v): the bound was not exercised", slowestServed)
		}
		t.Logf("served %d, shed %d, slowest %v, peak in flight %d", served, shed, slowest, inFlightPeak.Load())
	})
}

// TestAdmissionRateLimits: a client over its rate is refused (429, or 504
// on a legacy path) with a Retry-After of at least the time to its next
// token, and served again once it has come; other clients are not
// affected.
func TestAdmissionRateLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := api.NewAdmission(admission.Config{ClientRate: 0.5, ClientBurst: 2, RetryAfterMin: time.Second, RetryAfterMax: time.Second}, nil)
		s := startTestServer(t, a.Wrap(func(ctx *fasthttp.RequestCtx) { api.WriteJSON(ctx, 200, []byte(`{}`)) }))
		for i := range 2 {
			if r := s.get(api.Prefix+"payload-types", admission.HeaderClient, "job-1"); r.status != 200 {
				t.Fatalf("request %d within the burst: %d %s", i, r.status, r.body)
			}
		}
		// The next token is 2 s away: Retry-After says so, above the range.
		checkShed(t, "over the rate", s.get(api.Prefix+"payload-types", admission.HeaderClient, "job-1"), 429, "rate_limited", 2, 2)
		checkShed(t, "over the rate, legacy", s.get(api.Prefix+"pt", admission.HeaderClient, "job-1"), 504, "rate_limited", 2, 2)
		if r := s.get(api.Prefix+"pt", admission.HeaderClient, "job-2"); r.status != 200 {
			t.Errorf("another client: %d %s", r.status, r.body)
		}
		if r := s.get(api.HealthzPath, admission.HeaderClient, "job-1"); r.status != 200 {
			t.Errorf("healthz of a limited client: %d", r.status)
		}
		time.Sleep(2 * time.Second)
		if r := s.get(api.Prefix+"payload-types", admission.HeaderClient, "job-1"); r.status != 200 {
			t.Errorf("after the Retry-After: %d %s", r.status, r.body)
		}
	})
}

// TestAnswerErrorShedsSaturatedPool: an error with condcache.EOverloaded (a
// database pool had no connection in time) is answered like shed load.
func TestAnswerErrorShedsSaturatedPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// What sql.ErrSaturated looks like by the time a service returns it.
		saturated := fmt.Errorf("lookup: %w", &condcache.Error{Code: condcache.EOverloaded, Detail: "The database is saturated."})
		a := api.NewAdmission(admission.Config{RetryAfterMin: 3 * time.Second, RetryAfterMax: 4 * time.Second}, nil)
		h := func(ctx *fasthttp.RequestCtx) {
			api.AnswerError(ctx, slog.New(slog.DiscardHandler), "Route", "read failed", saturated)
		}
		s := startTestServer(t, a.Wrap(h))
		checkShed(t, "legacy", s.get(api.Prefix+"globalTags"), 504, "overloaded", 3, 4)
		checkShed(t, "alias", s.get(api.Prefix+"global-tags"), 503, "overloaded", 3, 4)

		bare := startTestServer(t, h) // no Admission: the default range
		checkShed(t, "without admission", bare.get(api.Prefix+"pt"), 504, "overloaded",
			int(admission.DefaultRetryAfterMin.Seconds()), int(admission.DefaultRetryAfterMax.Seconds()))
	})
}

// TestAdmissionMetrics: client labels stay within ClientLabels plus
// "other", and shed requests are counted by reason.
func TestAdmissionMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		m := api.NewHTTPMetrics(reg)
		// One request per client and no refill to speak of: a second request
		// of the same client is over its rate.
		a := api.NewAdmission(admission.Config{ClientLabels: 3, ClientRate: 0.001, ClientBurst: 1}, m)
		s := startTestServer(t, a.Wrap(func(ctx *fasthttp.RequestCtx) { api.WriteJSON(ctx, 200, []byte(`{}`)) }))
		for i := range 20 {
			s.get(api.Prefix+"pt", admission.HeaderClient, "job-"+strconv.Itoa(i))
		}
		s.get(api.Prefix+"pt", "X-Job-ID", "job-0")
		s.get(api.Prefix+"pt", "X-Job-ID", "job-0") // over its burst of 1 at once: rate_limited
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		clients := map[string]bool{}
		var rateLimited float64
		for _, f := range families {
			for _, metric := range f.GetMetric() {
				for _, l := range metric.GetLabel() {
					if l.GetName() == "client" {
						clients[l.GetValue()] = true
					}
					if f.GetName() == "condcache_http_shed_total" && l.GetValue() == "rate_limited" {
						rateLimited += metric.GetCounter().GetValue()
					}
				}
			}
		}
		if len(clients) != 4 || !clients[admission.OtherClient] || !clients["job-0"] {
			t.Errorf("client labels %v: want job-0..job-2 and %q", clients, admission.OtherClient)
		}
		if rateLimited < 1 {
			t.Error("the rate-limited request was not counted")
		}
	})
}
