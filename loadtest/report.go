package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a load test run writes: the results, and for a
// side-by-side run the ratio of each figure to the first target's.
type Report struct {
	Started time.Time `json:"started"`
	Command string    `json:"command"`
	Machine Machine   `json:"machine"`
	Results []*Result `json:"results"`
	Ratios  []Ratio   `json:"ratios,omitempty"`
}

// Machine describes where the run was made.
type Machine struct {
	Hostname string `json:"hostname"`
	CPUs     int    `json:"cpus"`
	GOOS     string `json:"goos"`
	GOARCH   string `json:"goarch"`
}

// Ratio compares a target's figures with the baseline's (first target):
// Throughput is this/baseline, latencies this/baseline.
type Ratio struct {
	Target     string  `json:"target"`
	Baseline   string  `json:"baseline"`
	Throughput float64 `json:"throughput"`
	P50        float64 `json:"p50"`
	P99        float64 `json:"p99"`
	P999       float64 `json:"p99_9"`
}

// NewReport starts a report of the machine this runs on.
func NewReport(command string) *Report {
	host, _ := os.Hostname()
	return &Report{Started: time.Now().UTC(), Command: command,
		Machine: Machine{Hostname: host, CPUs: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}}
}

// AddCompared adds side-by-side results and their ratios to the first.
func (r *Report) AddCompared(results []*Result) {
	r.Results = append(r.Results, results...)
	if len(results) < 2 {
		return
	}
	for _, o := range results[1:] {
		r.Ratios = append(r.Ratios, ratio(o, results[0]))
	}
}

func ratio(o, base *Result) Ratio {
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	return Ratio{Target: o.Target, Baseline: base.Target,
		Throughput: div(o.Throughput, base.Throughput), P50: div(o.Latency.P50, base.Latency.P50),
		P99: div(o.Latency.P99, base.Latency.P99), P999: div(o.Latency.P999, base.Latency.P999)}
}

// AddBaseline adds base, measured apart, and the ratio of other's figures
// (a result already in the report) to it.
func (r *Report) AddBaseline(base, other *Result) {
	r.Results = append(r.Results, base)
	r.Ratios = append(r.Ratios, ratio(other, base))
}

// WriteText prints the results as a table, then the ratios.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tworkload\tmode\tconns\toffered/s\treq/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\tfailed\tMB\tcache hits\tstale\t")
	for _, res := range r.Results {
		offered, hits, stale := "-", "-", "-"
		if res.Stale != nil {
			stale = res.Stale.String()
		}
		if res.OfferedRate > 0 {
			offered = fmt.Sprintf("%.0f", res.OfferedRate)
		}
		if res.CacheHitRatio != nil {
			hits = fmt.Sprintf("%.1f%%", 100**res.CacheHitRatio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%.0f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t%.1f\t%s\t%s\t\n",
			res.Target, res.Workload, res.Mode, res.Connections, offered, res.Throughput,
			res.Latency.P50, res.Latency.P90, res.Latency.P99, res.Latency.P999, res.Latency.Max,
			failures(res), float64(res.Bytes)/1e6, hits, stale)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.Results {
		if len(res.Extra) > 0 {
			keys := slices.Sorted(maps.Keys(res.Extra))
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = fmt.Sprintf("%s=%g", k, res.Extra[k])
			}
			fmt.Fprintf(w, "%s %s: %s\n", res.Target, res.Workload, strings.Join(parts, " "))
		}
	}
	for _, ra := range r.Ratios {
		fmt.Fprintf(w, "%s vs %s: throughput %.2f×, p50 %.2f×, p99 %.2f×, p99.9 %.2f×\n",
			ra.Target, ra.Baseline, ra.Throughput, ra.P50, ra.P99, ra.P999)
	}
	return nil
}

func failures(r *Result) string {
	if r.Failed() == 0 {
		return "0"
	}
	kinds := make([]string, 0, len(r.Errors))
	for k, v := range r.Errors {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(kinds)
	return fmt.Sprintf("%d (%s)", r.Failed(), strings.Join(kinds, " "))
}

// Save writes report.json, report.txt and, when the results are an open
// loop series on one target, latency.svg into dir; it returns the paths.
func (r *Report) Save(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "report.json")
	if err := os.WriteFile(p, append(j, '\n'), 0o644); err != nil {
		return nil, err
	}
	paths = append(paths, p)
	var txt strings.Builder
	if err := r.WriteText(&txt); err != nil {
		return nil, err
	}
	p = filepath.Join(dir, "report.txt")
	if err := os.WriteFile(p, []byte(txt.String()), 0o644); err != nil {
		return nil, err
	}
	paths = append(paths, p)
	if series := r.openSeries(); len(series) >= 2 {
		p = filepath.Join(dir, "latency.svg")
		title := fmt.Sprintf("%s, %s: latency vs offered load", series[0].Target, series[0].Workload)
		if err := os.WriteFile(p, LatencyChart(title, series), 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// openSeries returns the open-loop results, by offered rate.
func (r *Report) openSeries() []*Result {
	var s []*Result
	for _, res := range r.Results {
		if res.Mode == "open" {
			s = append(s, res)
		}
	}
	slices.SortFunc(s, func(a, b *Result) int { return int(a.OfferedRate - b.OfferedRate) })
	return s
}
