package loadtest

import (
	"math"
	"strings"
	"testing"
	"time"
)

// fullFigures is a run that measured everything, every target met.
func fullFigures() BenchFigures {
	return BenchFigures{
		CachedRate: 50_000, NginxRate: 40_000, StaticRate: 60_000,
		CachedP99: 4, NginxP99: 5,
		CachedStale: &Staleness{Rounds: 100}, NginxStale: &Staleness{Rounds: 100, Stale: 100},
		UncachedRate: 9_000, SQLReaderRate: 7_000, OurSQLRate: 2_500, RefSQLRate: 2_000,
		Endpoints: []EndpointTime{
			{Name: "gtstatus", Requests: 200, P99: 1},
			{Name: "globalTags", Requests: 200, P99: 2},
			{Name: "piov paged", Requests: 200, P99: 40},
		},
		BulkRowsPerSec: 250_000, CloneSeconds: 10, CloneRows: 1_000_000,
		Burst:      &Burst{Jobs: 10000, Windows: 4, Queries: 4, QueriesPerWindow: 1, P99: 500 * time.Millisecond},
		VisibleP99: 3, Probes: 4, VisibleMeasured: true,
	}
}

func rowNamed(t *testing.T, rows []BenchRow, prefix string) BenchRow {
	t.Helper()
	for _, r := range rows {
		if strings.HasPrefix(r.Target, prefix) {
			return r
		}
	}
	t.Fatalf("no row %q in %v", prefix, rows)
	return BenchRow{}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestBenchTableAllMet(t *testing.T) {
	rows := BenchTable(fullFigures())
	if len(rows) != 14 {
		t.Fatalf("%d rows, want 14 (4 + 3 + 2 + 2 + 2 + 1)", len(rows))
	}
	for _, r := range rows {
		if !r.Met || r.Unmeasured {
			t.Errorf("%s: met %v unmeasured %v, want met", r.Target, r.Met, r.Unmeasured)
		}
	}
	// Ratios > 1 are better: measured ÷ baseline, measured ÷ floor,
	// ceiling ÷ measured.
	for prefix, want := range map[string]float64{
		"1 cache hits vs nginx":  50_000.0 / 40_000,
		"1 cache hits vs static": 50_000.0 / 60_000,
		"1 cache hits p99":       5.0 / 4,
		"2 uncached (GT index)":  9_000.0 / 2_000,
		"2 uncached (SQL alone)": 7_000.0 / 2_000,
		"2 lookup statement":     2_500.0 / 2_000,
		"3 globalTags":           50.0 / 2,
		"3 worst":                50.0 / 40,
		"4 bulk":                 250_000.0 / 200_000,
		"4 clone":                15.0 / 10,
		"5 farm burst: queries":  1,
		"5 farm burst p99":       1000.0 / 500,
		"6 write visibility":     5.0 / 3,
	} {
		if r := rowNamed(t, rows, prefix); !near(r.Ratio, want) {
			t.Errorf("%s: ratio %v, want %v", prefix, r.Ratio, want)
		}
	}
	if r := rowNamed(t, rows, "1 stale"); !math.IsNaN(r.Ratio) || r.Measured != "0 of 100" || r.Baseline != "nginx-ttl 100 of 100" {
		t.Errorf("stale row %+v", r)
	}
	if r := rowNamed(t, rows, "3 worst"); !strings.Contains(r.Measured, "piov paged") {
		t.Errorf("worst endpoint row does not name it: %q", r.Measured)
	}
}

func TestBenchTableMissed(t *testing.T) {
	cases := []struct {
		name, row string
		change    func(*BenchFigures)
	}{
		{"slower than nginx", "1 cache hits vs nginx", func(f *BenchFigures) { f.NginxRate = 50_001 }},
		{"under 0.8 of static", "1 cache hits vs static", func(f *BenchFigures) { f.StaticRate = 70_000 }},
		{"p99 over 5 ms", "1 cache hits p99", func(f *BenchFigures) { f.CachedP99 = 5.01 }},
		{"one stale answer", "1 stale", func(f *BenchFigures) { f.CachedStale = &Staleness{Rounds: 100, Stale: 1} }},
		{"under 3x the reference", "2 uncached (GT index)", func(f *BenchFigures) { f.UncachedRate = 5_999 }},
		{"our statement slower", "2 lookup statement", func(f *BenchFigures) { f.OurSQLRate = 1_999 }},
		{"globalTags over 50 ms", "3 ", func(f *BenchFigures) { f.Endpoints[1].P99 = 51 }},
		{"an endpoint over 50 ms", "3 worst", func(f *BenchFigures) { f.Endpoints[0].P99 = 60 }},
		{"a failed endpoint request", "3 worst", func(f *BenchFigures) { f.Endpoints[2].Failed = 1 }},
		{"bulk under 200k", "4 bulk", func(f *BenchFigures) { f.BulkRowsPerSec = 199_999 }},
		{"clone over 15 s", "4 clone", func(f *BenchFigures) { f.CloneSeconds = 15.5 }},
		{"two queries a window", "5 farm burst: queries", func(f *BenchFigures) { f.Burst.QueriesPerWindow = 1.25 }},
		{"burst p99 of 1 s", "5 farm burst p99", func(f *BenchFigures) { f.Burst.P99 = time.Second }},
		{"visibility over 5 ms", "6 write visibility", func(f *BenchFigures) { f.VisibleP99 = 6 }},
		{"a late probe", "6 write visibility", func(f *BenchFigures) { f.VisibleLate = 1 }},
	}
	for _, c := range cases {
		f := fullFigures()
		c.change(&f)
		rows := BenchTable(f)
		if r := rowNamed(t, rows, c.row); r.Met {
			t.Errorf("%s: row %q met", c.name, r.Target)
		}
		// Only that row (or rows, for a prefix naming more: globalTags is
		// also the worst endpoint then) is missed.
		for _, r := range rows {
			if !strings.HasPrefix(r.Target, c.row) && !r.Met {
				t.Errorf("%s: row %q not met too", c.name, r.Target)
			}
		}
	}
}

func TestBenchTableCloneScaledTo1M(t *testing.T) {
	f := fullFigures()
	f.CloneSeconds, f.CloneRows = 2, 100_000 // 20 s at 1M
	r := rowNamed(t, BenchTable(f), "4 clone")
	if r.Met || !near(r.Ratio, 15.0/20) || !strings.Contains(r.Measured, "scaled to 1M") {
		t.Errorf("clone of 100k rows in 2 s: %+v, want 20 s at 1M, not met", r)
	}
}

func TestBenchTableUnmeasured(t *testing.T) {
	rows := BenchTable(BenchFigures{})
	for _, r := range rows {
		if r.Met || !r.Unmeasured {
			t.Errorf("%s: met %v unmeasured %v, want unmeasured and not met", r.Target, r.Met, r.Unmeasured)
		}
	}
	md := BenchMarkdown(rows)
	if n := strings.Count(md, "| not measured |"); n != len(rows) {
		t.Errorf("%d rows say not measured, want %d:\n%s", n, len(rows), md)
	}
}

func TestBenchMarkdown(t *testing.T) {
	md := BenchMarkdown(BenchTable(fullFigures()))
	lines := strings.Split(strings.TrimSpace(md), "\n")
	if lines[0] != "| target | goal | measured | baseline (same run) | ratio | met |" {
		t.Errorf("header %q", lines[0])
	}
	want := "| 1 cache hits vs nginx-ttl | ≥ 1.0× nginx proxy_cache, TTL 300 s | 50,000/s | 40,000/s | 1.25× | yes |"
	if lines[2] != want {
		t.Errorf("first row\n%s\nwant\n%s", lines[2], want)
	}
	for _, l := range lines[2:16] {
		if strings.Count(l, " | ") != 5 {
			t.Errorf("row with a stray cell separator: %q", l)
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1.5: "1.5", 4.256: "4.26", 99.999: "100", 1234: "1,234", 1234567.8: "1,234,568",
		-2500: "-2,500", math.Inf(1): "∞"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestSpliceReadme(t *testing.T) {
	const doc = "# x\n\nprose\n" + ReadmeBegin + "\nold table\nold line\n" + ReadmeEnd + "\nafter\n"
	got, err := SpliceReadme(doc, "new table\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# x\n\nprose\n" + ReadmeBegin + "\nnew table\n" + ReadmeEnd + "\nafter\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Splicing again replaces, it does not accumulate.
	again, err := SpliceReadme(got, "newer\n")
	if err != nil || again != "# x\n\nprose\n"+ReadmeBegin+"\nnewer\n"+ReadmeEnd+"\nafter\n" {
		t.Errorf("second splice: %q, %v", again, err)
	}
	for name, bad := range map[string]string{
		"no markers":       "# x\n",
		"no end":           ReadmeBegin + "\n",
		"no begin":         ReadmeEnd + "\n",
		"two begins":       ReadmeBegin + "\n" + ReadmeBegin + "\n" + ReadmeEnd + "\n",
		"two ends":         ReadmeBegin + "\n" + ReadmeEnd + "\n" + ReadmeEnd + "\n",
		"two blocks":       ReadmeBegin + ReadmeEnd + ReadmeBegin + ReadmeEnd,
		"end before begin": ReadmeEnd + "\n" + ReadmeBegin + "\n",
	} {
		if out, err := SpliceReadme(bad, "t"); err == nil {
			t.Errorf("%s: no error, got %q", name, out)
		}
	}
}

func TestReadmeBlock(t *testing.T) {
	quiet := ReadmeBlock("T\n", "condcache loadtest bench", "2026-12-02 06:00 UTC", "sphenix", 2, 0.3, 0.9)
	if !strings.HasPrefix(quiet, "T\n") || !strings.Contains(quiet, "`condcache loadtest bench`, 2026-12-02 06:00 UTC, preset `sphenix`, 2 CPUs, load average 0.30 at the start and 0.90 at the end.") {
		t.Errorf("block %q", quiet)
	}
	if strings.Contains(quiet, "loaded") {
		t.Errorf("a quiet machine is called loaded: %q", quiet)
	}
	if loaded := ReadmeBlock("T\n", "c", "d", "p", 2, 0.5, 3.2); !strings.Contains(loaded, "The machine was loaded") {
		t.Errorf("a load average of 3.2 on 2 CPUs is not called loaded: %q", loaded)
	}
}
