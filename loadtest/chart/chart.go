// Package chart draws latency line charts as SVG, which any browser opens.
// It depends on nothing, so both the load generator (loadtest) and the SQL
// scaling series (loadtest/pgdata) draw with it.
package chart

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Chart is a line chart of latencies (a logarithmic axis, in ms) against
// an x value per point, drawn as SVG.
type Chart struct {
	Title, XLabel string
	LogX          bool // a logarithmic x axis, for table sizes
	X             []X
	Lines         []Line // each with one value per X
}

// X is one point of the x axis.
type X struct {
	Value float64
	Label string // tick label
	Note  string // optional, in red under the tick
}

// Line is one named series of latencies.
type Line struct {
	Name string
	Ms   []float64
}

var colors = []string{"#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#66a61e", "#e6ab02"}

// SVG draws the chart.
func (c Chart) SVG() []byte {
	const (
		width, height             = 800, 480
		left, right, top, bottom  = 70, 150, 40, 50
		plotW, plotH              = width - left - right, height - top - bottom
		minLatencyMs, maxFloorsMs = 0.01, 1.0
	)
	xv := func(v float64) float64 {
		if c.LogX {
			return math.Log10(max(v, 1))
		}
		return v
	}
	loX, hiX, hiMs, loMs := math.Inf(1), math.Inf(-1), maxFloorsMs, math.Inf(1)
	for _, p := range c.X {
		loX, hiX = min(loX, xv(p.Value)), max(hiX, xv(p.Value))
	}
	if !c.LogX {
		loX = 0
	}
	for _, l := range c.Lines {
		for _, ms := range l.Ms {
			hiMs = max(hiMs, ms)
			loMs = min(loMs, max(ms, minLatencyMs))
		}
	}
	lo := math.Pow(10, math.Floor(math.Log10(loMs)))
	hi := math.Pow(10, math.Ceil(math.Log10(hiMs)))
	x := func(v float64) float64 {
		if hiX <= loX {
			return left + plotW/2
		}
		return left + plotW*(xv(v)-loX)/(hiX-loX)
	}
	y := func(ms float64) float64 {
		ms = max(ms, lo)
		return top + plotH*(1-(math.Log10(ms)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo)))
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15">%s</text>`+"\n", left, html.EscapeString(c.Title))
	// Latency grid: one line per decade.
	for v := lo; v <= hi*1.0001; v *= 10 {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, left+plotW, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s ms</text>`+"\n", left-6, y(v)+4, fmt.Sprintf("%g", v))
	}
	for _, p := range c.X {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#999"/>`+"\n", x(p.Value), x(p.Value), top+plotH, top+plotH+5)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(p.Value), top+plotH+18, html.EscapeString(p.Label))
		if p.Note != "" {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#b00">%s</text>`+"\n", x(p.Value), top+plotH+32, html.EscapeString(p.Note))
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", left+plotW/2, height-10, html.EscapeString(c.XLabel))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", left, top, plotW, plotH)
	for i, l := range c.Lines {
		color := colors[i%len(colors)]
		var pts []string
		for j, ms := range l.Ms {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(c.X[j].Value), y(ms)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		ly := top + 20 + 20*i
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", left+plotW+15, left+plotW+40, ly, ly, color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left+plotW+46, ly+4, html.EscapeString(l.Name))
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}
