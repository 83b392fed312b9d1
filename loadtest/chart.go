package loadtest

import (
	"fmt"

	"github.com/condcache/condcache/loadtest/chart"
)

// LatencyChart draws latency percentiles (p50, p90, p99, p99.9) against
// offered load as an SVG line chart with a logarithmic latency axis, which
// any browser opens. series must be sorted by OfferedRate. Points where the
// target fell behind the offered load are annotated with its throughput,
// so saturation shows.
func LatencyChart(title string, series []*Result) []byte {
	c := chart.Chart{Title: title, XLabel: "offered load (requests/s)"}
	for _, r := range series {
		x := chart.X{Value: r.OfferedRate, Label: fmt.Sprintf("%.0f", r.OfferedRate)}
		if r.Throughput < 0.95*r.OfferedRate {
			x.Note = fmt.Sprintf("%.0f/s", r.Throughput)
		}
		c.X = append(c.X, x)
	}
	for _, l := range []struct {
		name  string
		value func(*Result) float64
	}{
		{"p50", func(r *Result) float64 { return r.Latency.P50 }},
		{"p90", func(r *Result) float64 { return r.Latency.P90 }},
		{"p99", func(r *Result) float64 { return r.Latency.P99 }},
		{"p99.9", func(r *Result) float64 { return r.Latency.P999 }},
	} {
		line := chart.Line{Name: l.name}
		for _, r := range series {
			line.Ms = append(line.Ms, l.value(r))
		}
		c.Lines = append(c.Lines, line)
	}
	return c.SVG()
}
