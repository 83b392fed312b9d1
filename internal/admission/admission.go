// Package admission is the admission control of the HTTP servers
// (docs/operations.md "Load shedding"): each request waits a bounded time
// for one of a bounded number of slots, optionally within its client's
// rate, and is otherwise answered at once as shed load, with a jittered
// Retry-After, instead of queueing without bound. It also tells clients
// apart (ClientKey: a client header, else the address) for the per-client
// metrics and rate limits, and for the audit trail.
//
// It knows no routes: its caller names the paths never shed and the
// legacy paths, where shed load is 504 (Paths).
package admission

import (
	"math"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/wire"
)

// Defaults (Config zero values).
const (
	// DefaultMaxInFlight is the in-flight cap of a server whose caller does
	// not derive one from its pool size (MaxInFlightFor).
	DefaultMaxInFlight = 64
	// DefaultWait is how long a request may wait for a slot: long enough
	// to ride out a burst (requests take milliseconds), short enough that a
	// saturated server answers at once rather than queueing.
	DefaultWait = 250 * time.Millisecond
	// DefaultRetryAfterMin and DefaultRetryAfterMax bound the Retry-After
	// of a shed request, drawn at random so that the clients told to come
	// back do not all come back in the same second.
	DefaultRetryAfterMin = 1 * time.Second
	DefaultRetryAfterMax = 5 * time.Second
	// DefaultClientLabels is how many clients get a metrics label of their
	// own; the rest are "other".
	DefaultClientLabels = 50
	// clientIdle is how long a client keeps its label without a request.
	clientIdle = 10 * time.Minute
	// inFlightPerConn is how many requests a server works on per database
	// connection behind it: most reads are answered from the cache without
	// one, and requests queued at the pool beyond that wait for nothing.
	inFlightPerConn = 4
)

// MaxInFlightFor is the default in-flight cap of a server with conns
// database connections behind it.
func MaxInFlightFor(conns int) int { return inFlightPerConn * max(1, conns) }

var (
	errOverloaded  = &condcache.Error{Code: condcache.EOverloaded, Detail: "The server is busy. Try again later."}
	errRateLimited = &condcache.Error{Code: condcache.ERateLimited, Detail: "Too many requests from this client. Try again later."}
	// The bodies are built once: shedding must stay cheap under overload.
	overloadedBody  = wire.ErrorBody(errOverloaded)
	rateLimitedBody = wire.ErrorBody(errRateLimited)
)

// Config bounds the work a server takes on. Zero fields take the defaults
// above.
type Config struct {
	// MaxInFlight caps the requests being worked on at once; < 0: no cap.
	MaxInFlight int
	// MaxWaiting caps the requests waiting for a slot (0: MaxInFlight);
	// beyond it requests are shed without waiting.
	MaxWaiting int
	// Wait bounds how long a request waits for a slot before it is shed.
	Wait time.Duration
	// RetryAfterMin and RetryAfterMax bound the Retry-After (whole seconds)
	// of shed requests.
	RetryAfterMin, RetryAfterMax time.Duration
	// ClientRate, when positive, limits each client (ClientKey) to this
	// many requests per second, in bursts of up to ClientBurst (0: the
	// rate rounded up). Off by default.
	ClientRate  float64
	ClientBurst int
	// TrustForwarded attributes requests without a client header to the
	// last X-Forwarded-For address instead of the peer: set it when every
	// request comes through a proxy that appends it (nginx, or readers in
	// front of the writer).
	TrustForwarded bool
	// ClientLabels is how many clients get a metrics label of their own.
	ClientLabels int
}

func (c *Config) setDefaults() {
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxWaiting <= 0 {
		c.MaxWaiting = max(c.MaxInFlight, 1)
	}
	setDefault(&c.Wait, DefaultWait)
	setDefault(&c.RetryAfterMin, DefaultRetryAfterMin)
	setDefault(&c.RetryAfterMax, max(DefaultRetryAfterMax, c.RetryAfterMin))
	c.RetryAfterMax = max(c.RetryAfterMax, c.RetryAfterMin)
	setDefault(&c.ClientLabels, DefaultClientLabels)
}

// setDefault sets *v to def when it is not positive.
func setDefault[T time.Duration | int](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Paths says how a server's request paths are treated.
type Paths struct {
	// Exempt paths are always let through: probes and metrics must tell
	// the truth under load, and some endpoints have a bound of their own.
	Exempt []string
	// Legacy reports the paths whose clients retry 504 and nothing else
	// (docs/compatibility.md "504 only for shedding"): shed load is 504
	// there. Nil: none.
	Legacy func(path []byte) bool
}

// Controller sheds load instead of queueing it without bound: a request
// waits at most Wait for one of MaxInFlight slots, else it is answered at
// once, 504 on the legacy paths and 503 elsewhere, with a jittered
// Retry-After (answerShed). Exempt paths are never shed.
type Controller struct {
	cfg     Config
	legacy  func(path []byte) bool // nil: no legacy paths
	slots   chan struct{}          // nil: no cap
	waiting atomic.Int64
	exempt  map[string]bool
	rates   *clientRates // nil: no rate limits
	clients *clientTable // nil: no metrics
	m       *Metrics
}

// New returns the admission control of one server, recording to m (nil:
// no metrics).
func New(cfg Config, paths Paths, m *Metrics) *Controller {
	cfg.setDefaults()
	a := &Controller{cfg: cfg, legacy: paths.Legacy, m: m, exempt: map[string]bool{}}
	for _, p := range paths.Exempt {
		a.exempt[p] = true
	}
	if cfg.MaxInFlight > 0 {
		a.slots = make(chan struct{}, cfg.MaxInFlight)
	}
	if cfg.ClientRate > 0 {
		a.rates = newClientRates(cfg.ClientRate, cfg.ClientBurst)
	}
	if m != nil {
		a.clients = newClientTable(cfg.ClientLabels, clientIdle, m.forgetClient)
	}
	return a
}

// controllerKey is the user-value key under which Wrap leaves the request's
// *Controller, for ShedSaturated to shed a request a database pool refused.
// A pointer boxes without allocating, on every request.
type controllerKey struct{}

// clientKeyKey is the user-value key under which Wrap leaves the request's
// ClientKey, for RequestClient: the headers are looked up once per request.
type clientKeyKey struct{}

// RequestClient is ClientKey(ctx, trustForwarded), as Wrap found it when it
// ran (with the same trustForwarded), else found now.
func RequestClient(ctx *fasthttp.RequestCtx, trustForwarded bool) string {
	if client, ok := ctx.UserValue(clientKeyKey{}).(string); ok {
		return client
	}
	return ClientKey(ctx, trustForwarded)
}

// saturatedKey marks a request that ShedSaturated answered, so that served
// counts it as shed.
type saturatedKey struct{}

// Wrap returns h behind the admission control.
func (a *Controller) Wrap(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if a.exempt[string(ctx.Path())] {
			h(ctx)
			return
		}
		var client string
		if a.rates != nil || a.clients != nil {
			client = ClientKey(ctx, a.cfg.TrustForwarded)
			ctx.SetUserValue(clientKeyKey{}, client)
		}
		if a.rates != nil {
			if ok, retryIn := a.rates.take(client, monoNow()); !ok {
				a.shed(ctx, client, shedRateLimited, retryIn)
				return
			}
		}
		if reason := a.acquire(); reason != "" {
			a.shed(ctx, client, reason, 0)
			return
		}
		defer a.release()
		ctx.SetUserValue(controllerKey{}, a)
		start := time.Now()
		h(ctx)
		a.served(ctx, client, time.Since(start))
	}
}

// Shed reasons, the reason label of condcache_http_shed_total.
const (
	shedBusy        = "busy"                         // no slot within Wait
	shedQueueFull   = "queue_full"                   // MaxWaiting requests already waiting
	shedRateLimited = string(condcache.ERateLimited) // over the client's rate: the label is the error code
	shedDatabase    = "database"                     // a database pool had no connection in time
)

// acquire takes a slot, waiting at most Wait; it returns the shed reason
// when it gets none.
func (a *Controller) acquire() (shedReason string) {
	if a.slots == nil {
		return ""
	}
	select {
	case a.slots <- struct{}{}:
		a.m.admitted(0)
		return ""
	default:
	}
	if a.waiting.Add(1) > int64(a.cfg.MaxWaiting) {
		a.waiting.Add(-1)
		return shedQueueFull
	}
	defer a.waiting.Add(-1)
	a.m.waitingAdd(1)
	defer a.m.waitingAdd(-1)
	start := time.Now()
	t := time.NewTimer(a.cfg.Wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		a.m.admitted(time.Since(start))
		return ""
	case <-t.C:
		return shedBusy
	}
}

func (a *Controller) release() {
	if a.slots != nil {
		<-a.slots
		a.m.releasedSlot()
	}
}

// served records a request that was worked on, against its client; one
// that a database pool refused counts as shed.
func (a *Controller) served(ctx *fasthttp.RequestCtx, client string, took time.Duration) {
	if a.clients == nil {
		return
	}
	label := a.clients.label(client, monoNow())
	outcome := "served"
	if ctx.UserValue(saturatedKey{}) != nil {
		outcome = "shed"
	}
	a.m.clientServed(label, outcome, took)
}

// shed answers a request that will not be worked on, and counts it.
func (a *Controller) shed(ctx *fasthttp.RequestCtx, client, reason string, retryIn time.Duration) {
	legacy := a.legacy != nil && a.legacy(ctx.Path())
	if reason == shedRateLimited {
		answerShed(ctx, condcache.ERateLimited, rateLimitedBody, legacy, a.retryAfter(retryIn))
	} else {
		answerShed(ctx, condcache.EOverloaded, overloadedBody, legacy, a.retryAfter(retryIn))
	}
	a.m.shed(reason)
	if a.clients != nil {
		a.m.clientShed(a.clients.label(client, monoNow()), reason)
	}
}

// answerShed answers shed load: 504 on a legacy path, where it is the one
// status the C++ client retries (docs/compatibility.md "Status codes"), else
// the code's status (503, or 429 over a client's rate); always with
// Retry-After and a JSON body.
func answerShed(ctx *fasthttp.RequestCtx, code condcache.ErrorCode, body []byte, legacy bool, retryAfter int) {
	status := code.HTTPStatus()
	if legacy {
		status = fasthttp.StatusGatewayTimeout
	}
	ctx.Response.Reset()
	ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(retryAfter))
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// retryAfter draws whole seconds from [RetryAfterMin, RetryAfterMax], and
// no fewer than retryIn rounded up.
func (a *Controller) retryAfter(retryIn time.Duration) int {
	return retryAfterSeconds(a.cfg.RetryAfterMin, a.cfg.RetryAfterMax, retryIn)
}

func retryAfterSeconds(lo, hi, atLeast time.Duration) int {
	l := max(1, int(math.Ceil(lo.Seconds())))
	h := max(l, int(hi.Seconds()))
	s := l + rand.IntN(h-l+1)
	return max(s, int(math.Ceil(atLeast.Seconds())))
}

// ShedSaturated answers a request that a database pool refused (an error
// with condcache.EOverloaded) like load shed at the door: it did no work
// either. legacy says whether its path is a legacy one (Paths.Legacy). Its
// client is counted when the request completes (served).
func ShedSaturated(ctx *fasthttp.RequestCtx, legacy bool) {
	var retryAfter int
	if a, ok := ctx.UserValue(controllerKey{}).(*Controller); ok {
		retryAfter = a.retryAfter(0)
		a.m.shed(shedDatabase)
	} else {
		// A handler mounted without a Controller: the default range.
		retryAfter = retryAfterSeconds(DefaultRetryAfterMin, DefaultRetryAfterMax, 0)
	}
	ctx.SetUserValue(saturatedKey{}, true)
	answerShed(ctx, condcache.EOverloaded, overloadedBody, legacy, retryAfter)
}

// epoch anchors monoNow.
var epoch = time.Now()

// monoNow is a monotonic clock in nanoseconds, never 0, for rate limits and
// label ages (wall-clock jumps must not refill or age anything).
func monoNow() int64 { return int64(time.Since(epoch)) + 1 }
