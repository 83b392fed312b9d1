package admission

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is what a Controller records: slots, waits, shed requests, and
// the load of each client (label values bounded by clientTable).
type Metrics struct {
	inFlight       prometheus.Gauge
	waiting        prometheus.Gauge
	wait           prometheus.Histogram
	shedTotal      *prometheus.CounterVec
	clientRequests *prometheus.CounterVec
	clientSeconds  *prometheus.CounterVec
	// served holds each labelled client's served and busy-seconds
	// counters (client label → *clientCounters), resolved at its first
	// request: two label lookups per request were a tenth of a cache
	// hit's handling. forgetClient removes a client's. servedMu orders
	// the resolving of a client's counters and the forgetting of its
	// series, so that no counters of deleted series are kept.
	served   sync.Map
	servedMu sync.Mutex
}

type clientCounters struct{ requests, seconds prometheus.Counter }

// NewMetrics registers the admission metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "condcache_http_in_flight",
			Help: "Requests holding an admission slot (probes and metrics excluded).",
		}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "condcache_http_waiting",
			Help: "Requests waiting for an admission slot.",
		}),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "condcache_http_admission_wait_seconds",
			Help:    "Time admitted requests waited for a slot (0 when one was free).",
			Buckets: []float64{0, .001, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		shedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "condcache_http_shed_total",
			Help: "Requests shed, by reason: busy (no slot in time), queue_full, rate_limited, database (no pool connection in time).",
		}, []string{"reason"}),
		clientRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "condcache_client_requests_total",
			Help: `Requests by client (X-Condcache-Client, else address; the first clients seen get a label, the rest are "other") and outcome: served, shed, rate_limited.`,
		}, []string{"client", "outcome"}),
		clientSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "condcache_client_busy_seconds_total",
			Help: "Time spent on admitted requests, by client: the share of the server each client uses.",
		}, []string{"client"}),
	}
	reg.MustRegister(m.inFlight, m.waiting, m.wait, m.shedTotal, m.clientRequests, m.clientSeconds)
	return m
}

// The methods below are no-ops on a nil *Metrics.

func (m *Metrics) admitted(waited time.Duration) {
	if m != nil {
		m.inFlight.Inc()
		m.wait.Observe(waited.Seconds())
	}
}

func (m *Metrics) releasedSlot() {
	if m != nil {
		m.inFlight.Dec()
	}
}

func (m *Metrics) waitingAdd(n float64) {
	if m != nil {
		m.waiting.Add(n)
	}
}

func (m *Metrics) shed(reason string) {
	if m != nil {
		m.shedTotal.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) clientShed(client, reason string) {
	if m == nil {
		return
	}
	outcome := "shed"
	if reason == shedRateLimited {
		outcome = shedRateLimited
	}
	m.clientRequests.WithLabelValues(client, outcome).Inc()
}

func (m *Metrics) clientServed(client, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	if outcome != "served" {
		m.clientRequests.WithLabelValues(client, outcome).Inc()
		m.clientSeconds.WithLabelValues(client).Add(took.Seconds())
		return
	}
	c, ok := m.served.Load(client)
	if !ok {
		m.servedMu.Lock()
		if c, ok = m.served.Load(client); !ok {
			c = &clientCounters{
				requests: m.clientRequests.WithLabelValues(client, outcome),
				seconds:  m.clientSeconds.WithLabelValues(client),
			}
			m.served.Store(client, c)
		}
		m.servedMu.Unlock()
	}
	cc := c.(*clientCounters)
	cc.requests.Inc()
	cc.seconds.Add(took.Seconds())
}

// forgetClient deletes the series of a client that lost its label.
func (m *Metrics) forgetClient(client string) {
	if m != nil {
		m.servedMu.Lock()
		defer m.servedMu.Unlock()
		m.served.Delete(client)
		m.clientRequests.DeletePartialMatch(prometheus.Labels{"client": client})
		m.clientSeconds.DeleteLabelValues(client)
	}
}
