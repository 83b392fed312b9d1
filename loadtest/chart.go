package loadtest

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// LatencyChart draws latency percentiles (p50, p90, p99, p99.9) against
// offered load as an SVG line chart with a logarithmic latency axis, which
// any browser opens. series must be sorted by OfferedRate.
func LatencyChart(title string, series []*Result) []byte {
	const (
		width, height             = 800, 480
		left, right, top, bottom  = 70, 150, 40, 50
		plotW, plotH              = width - left - right, height - top - bottom
		minLatencyMs, maxFloorsMs = 0.01, 1.0
	)
	lines := []struct {
		name  string
		color string
		value func(*Result) float64
	}{
		{"p50", "#1b9e77", func(r *Result) float64 { return r.Latency.P50 }},
		{"p90", "#7570b3", func(r *Result) float64 { return r.Latency.P90 }},
		{"p99", "#d95f02", func(r *Result) float64 { return r.Latency.P99 }},
		{"p99.9", "#e7298a", func(r *Result) float64 { return r.Latency.P999 }},
	}
	maxRate, hiMs, loMs := 0.0, maxFloorsMs, math.Inf(1)
	for _, r := range series {
		maxRate = max(maxRate, r.OfferedRate)
		for _, l := range lines {
			hiMs = max(hiMs, l.value(r))
			loMs = min(loMs, max(l.value(r), minLatencyMs))
		}
	}
	lo := math.Pow(10, math.Floor(math.Log10(loMs)))
	hi := math.Pow(10, math.Ceil(math.Log10(hiMs)))
	x := func(rate float64) float64 { return left + plotW*rate/max(maxRate, 1) }
	y := func(ms float64) float64 {
		ms = max(ms, lo)
		return top + plotH*(1-(math.Log10(ms)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo)))
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15">%s</text>`+"\n", left, html.EscapeString(title))
	// Latency grid: one line per decade.
	for v := lo; v <= hi*1.0001; v *= 10 {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, left+plotW, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s ms</text>`+"\n", left-6, y(v)+4, fmt.Sprintf("%g", v))
	}
	// Rate ticks: every series point.
	for _, r := range series {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#999"/>`+"\n", x(r.OfferedRate), x(r.OfferedRate), top+plotH, top+plotH+5)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%.0f</text>`+"\n", x(r.OfferedRate), top+plotH+18, r.OfferedRate)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">offered load (requests/s)</text>`+"\n", left+plotW/2, height-10)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", left, top, plotW, plotH)
	for i, l := range lines {
		var pts []string
		for _, r := range series {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(r.OfferedRate), y(l.value(r))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", l.color, strings.Join(pts, " "))
		ly := top + 20 + 20*i
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", left+plotW+15, left+plotW+40, ly, ly, l.color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left+plotW+46, ly+4, l.name)
	}
	// Achieved throughput under each point, so saturation shows.
	for _, r := range series {
		if r.Throughput < 0.95*r.OfferedRate {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#b00">%.0f/s</text>`+"\n", x(r.OfferedRate), top+plotH+32, r.Throughput)
		}
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}
