package api

import (
	"strconv"
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
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		h(ctx)
		latency.Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(route, strconv.Itoa(ctx.Response.StatusCode())).Inc()
	}
}

// MetricsHandler serves g in the Prometheus text format.
func MetricsHandler(g prometheus.Gatherer) fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
}
