package cache

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	results       *prometheus.CounterVec
	leaseHits     prometheus.Counter // results' lease_hit, resolved once: the hot path
	responses     *prometheus.CounterVec
	fills         *prometheus.CounterVec
	invalidations *prometheus.CounterVec
	resyncs       prometheus.Counter
	breakerOpen   prometheus.Gauge
	leaseWait     prometheus.Histogram
	leaseTimeouts prometheus.Counter
	leaseLost     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "condcache_cache_lookups_total",
			Help: "Cache reads of lookups by result: hit, miss, pending (a write in flight), unknown (Redis not synchronised), error.",
		}, []string{"result"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "condcache_cache_responses_total",
			Help: "Cache reads of the other read endpoints by result: hit, miss, pending, unknown, error.",
		}, []string{"result"}),
		fills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "condcache_cache_fills_total",
			Help: "Cache fills (lookups and other reads) by outcome: stored, skipped (generation moved on or write pending), error.",
		}, []string{"outcome"}),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "condcache_cache_invalidations_total",
			Help: "GT invalidations sent to Redis by step and outcome: marked, mark_failed, published, publish_failed.",
		}, []string{"outcome"}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "condcache_cache_resyncs_total",
			Help: "Completed rebuilds of Redis's generations from the database (after a Redis restart).",
		}),
		breakerOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "condcache_cache_breaker_open",
			Help: "1 while the Redis circuit breaker keeps Redis out of the request path.",
		}),
		leaseWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "condcache_cache_lease_wait_seconds",
			Help:    "How long a write waited for the readers' leases (acknowledged or expired) after its marks.",
			Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5},
		}),
		leaseTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "condcache_cache_lease_timeouts_total",
			Help: "Writes that waited a reader's lease out (the reader did not acknowledge: paused, partitioned or dead).",
		}),
		leaseLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "condcache_cache_lease_lost_total",
			Help: "Times a reader lost its invalidation subscription (its lease stops until it resubscribes).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.results, m.responses, m.fills, m.invalidations, m.resyncs, m.breakerOpen,
			m.leaseWait, m.leaseTimeouts, m.leaseLost)
	}
	m.leaseHits = m.results.WithLabelValues("lease_hit")
	return m
}
