package admission

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestClientCountersAfterForget: a client's served requests are counted
// through counters resolved at its first request; once the client lost its
// label (forgetClient deleted its series), a request of a client labelled
// again under that name must count in a new series, not in the deleted one.
func TestClientCountersAfterForget(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	served := func() float64 { return testutil.ToFloat64(m.clientRequests.WithLabelValues("job-1", "served")) }
	series := func() int { return testutil.CollectAndCount(m.clientRequests) }

	m.clientServed("job-1", "served", time.Millisecond)
	m.clientServed("job-1", "served", time.Millisecond)
	if got := served(); got != 2 {
		t.Fatalf("served = %v, want 2", got)
	}
	m.forgetClient("job-1")
	if n := series(); n != 0 {
		t.Fatalf("%d series left after forgetClient", n)
	}
	m.clientServed("job-1", "served", time.Millisecond)
	if n := series(); n != 1 {
		t.Fatalf("%d series after the client came back, want 1", n)
	}
	if got := served(); got != 1 {
		t.Errorf("served = %v after the client came back, want 1", got)
	}
	if got := testutil.ToFloat64(m.clientSeconds.WithLabelValues("job-1")); got != 0.001 {
		t.Errorf("busy seconds = %v after the client came back, want 0.001", got)
	}
}
