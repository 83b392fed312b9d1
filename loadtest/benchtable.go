package loadtest

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// BenchFigures are what one `condcache loadtest bench` run measured for
// issue 17's targets; BenchTable turns them into the table. A zero
// figure is one that was not measured (its row says so and is not met).
type BenchFigures struct {
	// Target 1: cache hits of the reader with Redis, side by side with
	// nginx's proxy_cache (TTL 300 s) in front of it and a static reply
	// of the same bytes; then write-then-read rounds through the reader
	// and through nginx.
	CachedRate, NginxRate, StaticRate float64 // lookups/s
	CachedP99, NginxP99               float64 // ms
	CachedStale, NginxStale           *Staleness
	// Target 2: the uncached readers (GT index; lookup statement alone)
	// and the pgbench ceilings of the lookup statement and of the
	// reference's (ReferenceLookupSQL), best of a few client counts.
	UncachedRate, SQLReaderRate float64
	OurSQLRate, RefSQLRate      float64
	// Target 3: p99 of each browse/list endpoint on the uncached reader.
	Endpoints []EndpointTime
	// Target 4: a bulk load through the writer and a clone of the GT it
	// loaded (CloneRows rows; the goal is for 1M, scaled linearly).
	BulkRowsPerSec float64
	CloneSeconds   float64
	CloneRows      int
	// Target 5: a farm burst.
	Burst *Burst
	// Target 6: the mixed workload's write visibility, through Probes
	// readers.
	VisibleP99          float64 // ms
	VisibleLate, Probes int
	VisibleMeasured     bool
}

// EndpointTime is one endpoint's latency over Requests sequential GETs.
type EndpointTime struct {
	Name     string // the route, e.g. "globalTags"
	Path     string // what was asked, under the API prefix
	Requests int
	P50, P99 float64 // ms
	Failed   int
}

// BenchRow is one line of the table. Ratio is oriented so that > 1 is
// better: measured ÷ baseline for a goal relative to a baseline, and for
// an absolute goal measured ÷ goal (a floor) or goal ÷ measured (a
// ceiling); NaN when there is none.
type BenchRow struct {
	Target, Goal, Measured, Baseline string
	Ratio                            float64
	Met                              bool
	// Unmeasured: the figure is missing; Met is false and the table says
	// "not measured".
	Unmeasured bool
}

// BenchTable is issue 17's targets against f, one row per figure.
func BenchTable(f BenchFigures) []BenchRow {
	var rows []BenchRow
	add := func(r BenchRow) { rows = append(rows, r) }
	none := math.NaN()

	// atLeast: measured must be at least want × baseline.
	atLeast := func(target, goal string, measured, baseline, want float64, unit string) BenchRow {
		r := BenchRow{Target: target, Goal: goal, Measured: num(measured) + unit, Baseline: num(baseline) + unit, Ratio: none}
		if measured <= 0 || baseline <= 0 {
			r.Unmeasured = true
			return r
		}
		r.Ratio = measured / baseline
		r.Met = r.Ratio >= want
		return r
	}
	// ceiling: measured must be at most limit (lower is better).
	ceiling := func(target, goal string, measured, limit float64, unit, baseline string, ok bool) BenchRow {
		r := BenchRow{Target: target, Goal: goal, Measured: num(measured) + unit, Baseline: baseline, Ratio: none}
		if !ok || measured < 0 {
			r.Unmeasured = true
			return r
		}
		if measured > 0 {
			r.Ratio = limit / measured
		} else {
			r.Ratio = math.Inf(1)
		}
		r.Met = measured <= limit
		return r
	}

	add(atLeast("1 cache hits vs nginx-ttl", "≥ 1.0× nginx proxy_cache, TTL 300 s", f.CachedRate, f.NginxRate, 1.0, "/s"))
	add(atLeast("1 cache hits vs static", "≥ 0.8× static reply, same bytes", f.CachedRate, f.StaticRate, 0.8, "/s"))
	add(ceiling("1 cache hits p99", "≤ 5 ms", f.CachedP99, 5, " ms", "nginx-ttl "+num(f.NginxP99)+" ms", f.CachedRate > 0))
	stale := BenchRow{Target: "1 stale after a write", Goal: "0 (of 100 write-then-read rounds)", Ratio: none, Unmeasured: f.CachedStale == nil}
	if f.CachedStale != nil {
		stale.Measured = f.CachedStale.String()
		stale.Met = f.CachedStale.Rounds > 0 && f.CachedStale.Stale == 0
		stale.Unmeasured = f.CachedStale.Rounds == 0
	}
	stale.Baseline = "-"
	if f.NginxStale != nil {
		stale.Baseline = "nginx-ttl " + f.NginxStale.String()
	}
	add(stale)

	// Nopayloaddb cannot run here; its statement's pgbench ceiling bounds
	// any server running it from above, so the ratio is a lower bound.
	refGoal := "≥ 3× Nopayloaddb; baseline its statement's pgbench ceiling (≥ Nopayloaddb: ratio is a lower bound)"
	add(atLeast("2 uncached (GT index) vs reference", refGoal, f.UncachedRate, f.RefSQLRate, 3, "/s"))
	add(atLeast("2 uncached (SQL alone) vs reference", refGoal, f.SQLReaderRate, f.RefSQLRate, 3, "/s"))
	add(atLeast("2 lookup statement vs reference's", "≥ 1.0× the reference's statement, both under pgbench", f.OurSQLRate, f.RefSQLRate, 1.0, "/s"))

	gt := BenchRow{Target: "3 globalTags p99, uncached", Goal: "≤ 50 ms", Baseline: "-", Ratio: none, Unmeasured: true}
	worst := BenchRow{Target: "3 worst browse/list endpoint p99", Goal: "≤ 50 ms, every endpoint", Baseline: "-", Ratio: none, Unmeasured: true}
	var worstE *EndpointTime
	failed := 0
	for i, e := range f.Endpoints {
		failed += e.Failed
		if e.Name == "globalTags" {
			gt = ceiling(gt.Target, gt.Goal, e.P99, 50, " ms", "-", e.Requests > 0 && e.Failed == 0)
			gt.Measured += fmt.Sprintf(" (%d requests)", e.Requests)
		}
		if worstE == nil || e.P99 > worstE.P99 {
			worstE = &f.Endpoints[i]
		}
	}
	if worstE != nil {
		worst = ceiling(worst.Target, worst.Goal, worstE.P99, 50, " ms", "-", failed == 0)
		worst.Measured += fmt.Sprintf(" (%s, of %d endpoints)", worstE.Name, len(f.Endpoints))
		if failed > 0 {
			worst.Measured += fmt.Sprintf("; %d requests failed", failed)
		}
	}
	add(gt)
	add(worst)

	bulk := BenchRow{Target: "4 bulk load", Goal: "≥ 200,000 rows/s", Measured: num(f.BulkRowsPerSec) + " rows/s", Baseline: "-",
		Ratio: none, Unmeasured: f.BulkRowsPerSec <= 0}
	if !bulk.Unmeasured {
		bulk.Ratio = f.BulkRowsPerSec / 200_000
		bulk.Met = bulk.Ratio >= 1
	}
	add(bulk)
	cloneAt1M := f.CloneSeconds
	cloneNote := ""
	if f.CloneRows > 0 && f.CloneRows != 1_000_000 {
		cloneAt1M = f.CloneSeconds * 1e6 / float64(f.CloneRows)
		cloneNote = fmt.Sprintf(" (%s s for %s rows, scaled to 1M)", num(f.CloneSeconds), num(float64(f.CloneRows)))
	}
	clone := ceiling("4 clone of a 1M-row GT", "≤ 15 s", cloneAt1M, 15, " s", "-", f.CloneSeconds > 0 && f.CloneRows > 0)
	clone.Measured += cloneNote
	add(clone)

	qpw := BenchRow{Target: "5 farm burst: queries per window", Goal: "≤ 1 database query per distinct answer window", Baseline: "-", Ratio: none, Unmeasured: true}
	bp99 := BenchRow{Target: "5 farm burst p99", Goal: "< 1 s", Baseline: "-", Ratio: none, Unmeasured: true}
	if b := f.Burst; b != nil && b.Windows > 0 {
		qpw = ceiling(qpw.Target, qpw.Goal, b.QueriesPerWindow, 1, "", "-", true)
		qpw.Measured = fmt.Sprintf("%s (%s queries, %d windows, %s jobs, %d shed)", num(b.QueriesPerWindow), num(b.Queries), b.Windows, num(float64(b.Jobs)), b.Failed)
		p99 := ms(b.P99)
		bp99 = ceiling(bp99.Target, bp99.Goal, p99, 1000, " ms", "-", true)
		bp99.Met = p99 < 1000
	}
	add(qpw)
	add(bp99)

	vis := ceiling("6 write visibility p99", "≤ 5 ms, through every reader", f.VisibleP99, 5, " ms", "-", f.VisibleMeasured)
	if f.VisibleMeasured {
		vis.Measured += fmt.Sprintf(" (%d readers, %d late)", f.Probes, f.VisibleLate)
		if f.VisibleLate > 0 {
			vis.Met = false // a late first answer is a stale one
		}
	}
	add(vis)
	return rows
}

// num formats a figure for the table: integers above 100 with thousands
// separators, smaller ones with up to two decimals.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case math.IsInf(v, 1):
		return "∞"
	case math.Abs(v) >= 100:
		s := fmt.Sprintf("%.0f", v)
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		if neg {
			return "-" + b.String()
		}
		return b.String()
	default:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	}
}

// BenchMarkdown is rows as a Markdown table, then how to read the ratio.
func BenchMarkdown(rows []BenchRow) string {
	var b strings.Builder
	b.WriteString("| target | goal | measured | baseline (same run) | ratio | met |\n|---|---|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, r := range rows {
		ratio, met, measured := "-", "no", r.Measured
		if !math.IsNaN(r.Ratio) {
			ratio = num(r.Ratio) + "×"
		}
		if r.Met {
			met = "yes"
		}
		if r.Unmeasured {
			met, measured = "not measured", "-"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell(r.Target), cell(r.Goal), cell(measured), cell(r.Baseline), ratio, met)
	}
	b.WriteString("\nratio: > 1 is better; measured ÷ baseline against a baseline, else measured ÷ goal for a floor and goal ÷ measured for a ceiling.\n")
	return b.String()
}

// Markers around the block of README.md that `loadtest bench -readme`
// replaces.
const (
	ReadmeBegin = "<!-- bench:begin -->"
	ReadmeEnd   = "<!-- bench:end -->"
)

// SpliceReadme returns readme with what lies between its ReadmeBegin and
// ReadmeEnd lines replaced by block; an error unless each marker is there
// exactly once, begin first.
func SpliceReadme(readme, block string) (string, error) {
	b, e := strings.Count(readme, ReadmeBegin), strings.Count(readme, ReadmeEnd)
	switch {
	case b == 0 || e == 0:
		return "", fmt.Errorf("no %s … %s block to replace: put both markers, each on a line of its own, where the table goes", ReadmeBegin, ReadmeEnd)
	case b > 1 || e > 1:
		return "", fmt.Errorf("%d %s and %d %s markers: want one of each", b, ReadmeBegin, e, ReadmeEnd)
	}
	i, j := strings.Index(readme, ReadmeBegin), strings.Index(readme, ReadmeEnd)
	if j < i {
		return "", errors.New(ReadmeEnd + " comes before " + ReadmeBegin)
	}
	head := readme[:i+len(ReadmeBegin)]
	tail := readme[j:]
	return head + "\n" + strings.TrimRight(block, "\n") + "\n" + tail, nil
}

// ReadmeBlock is what -readme puts between the markers: the table, then
// the command, the date, the preset and the machine's load.
func ReadmeBlock(table, command, date, preset string, cpus int, load1, load1End float64) string {
	s := table + fmt.Sprintf("\nFrom `%s`, %s, preset `%s`, %d CPUs, load average %.2f at the start and %.2f at the end.", command, date, preset, cpus, load1, load1End)
	// A shared machine that was busy: its absolute figures are a fraction
	// of a quiet one's; the side-by-side ratios still hold.
	if max(load1, load1End) > float64(cpus)/2 {
		s += " The machine was loaded (other work ran beside the bench): absolute figures are low, compare the ratios measured side by side."
	}
	return s + "\n"
}
