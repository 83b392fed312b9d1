package sql

import "github.com/prometheus/client_golang/prometheus"

var (
	lagDesc = prometheus.NewDesc("condcache_backend_lag_seconds",
		"Replication lag of each database backend as of its last check (0 for the primary).", []string{"backend"}, nil)
	usableDesc = prometheus.NewDesc("condcache_backend_usable",
		"1 when the backend takes reads (healthy, and for a replica not lagging beyond MaxLag).", []string{"backend"}, nil)
	readsDesc = prometheus.NewDesc("condcache_backend_reads_total",
		"Reads answered by each database backend.", []string{"backend"}, nil)
	behindDesc = prometheus.NewDesc("condcache_backend_behind_total",
		"Reads a backend answered from a snapshot older than the generation the reader knew of, retried on another backend.", []string{"backend"}, nil)
)

// readerCollector reports the backends' state at scrape time.
type readerCollector struct{ r *Reader }

func (c readerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagDesc
	ch <- usableDesc
	ch <- readsDesc
	ch <- behindDesc
}

func (c readerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, b := range c.r.Backends() {
		usable := 0.0
		if b.Usable {
			usable = 1
		}
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, b.Lag.Seconds(), b.Name)
		ch <- prometheus.MustNewConstMetric(usableDesc, prometheus.GaugeValue, usable, b.Name)
		ch <- prometheus.MustNewConstMetric(readsDesc, prometheus.CounterValue, float64(b.Reads), b.Name)
		ch <- prometheus.MustNewConstMetric(behindDesc, prometheus.CounterValue, float64(b.Behind), b.Name)
	}
}

// RegisterMetrics registers the backends' lag, usability and read counts.
func (r *Reader) RegisterMetrics(reg prometheus.Registerer) {
	reg.MustRegister(readerCollector{r})
}
