package api

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/condcache/condcache/internal/admission"
)

// MetricsPath is where both processes serve Prometheus metrics.
const MetricsPath = "/metrics"

// HTTPMetrics counts requests and their latency per route and status, and
// holds what admission control records (admission.Metrics, NewAdmission).
type HTTPMetrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	admission *admission.Metrics
}

// NewHTTPMetrics registers the request and admission metrics on reg.
func NewHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	m := &HTTPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "condcache_http_requests_total",
			Help: "HTTP requests by route name and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "condcache_http_request_duration_seconds",
			Help:    "HTTP request latency by route name.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	m.admission = admission.NewMetrics(reg)
	return m
}

// Instrument wraps h to record each request under route. A nil m returns h.
func (m *HTTPMetrics) Instrument(route string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	if m == nil {
		return h
	}
	latency := m.latency.WithLabelValues(route)
	// The counters of the common answers, resolved at their first use
	// (a series appears when it first counts): a label lookup per request
	// was a tenth of a cache hit's handling.
	ok := sync.OnceValue(func() prometheus.Counter { return m.requests.WithLabelValues(route, "200") })
	notModified := sync.OnceValue(func() prometheus.Counter { return m.requests.WithLabelValues(route, "304") })
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		h(ctx)
		latency.Observe(time.Since(start).Seconds())
		switch code := ctx.Response.StatusCode(); code {
		case fasthttp.StatusOK:
			ok().Inc()
		case fasthttp.StatusNotModified:
			notModified().Inc()
		default:
			m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		}
	}
}

// MetricsHandler serves g in the Prometheus text format.
func MetricsHandler(g prometheus.Gatherer) fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
}
