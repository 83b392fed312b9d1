package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DriveOptions configures Drive, `condcache loadtest run`.
type DriveOptions struct {
	Target    string
	Workload  string // reco, reco-zipf, farm, browse or mixed
	WriteRate float64
	GlobalTag string
	Runs      RunRange
	Conns     int
	Rate      float64   // open loop at this rate; 0 = closed loop
	Rates     []float64 // open-loop sweep
	Duration  time.Duration
	Warmup    time.Duration
	Compare   string // a second target, "static" or "nginx-ttl"
	Slices    int
	Out       string // report directory; "" = reports/<time>
	Prewarm   bool
	// Command is recorded in the report.
	Command string
	// Stdout receives the report, Progress the progress; nil = os.Stdout,
	// os.Stderr.
	Stdout, Progress io.Writer
}

// Workloads are the names Drive accepts.
var Workloads = []string{"reco", "reco-zipf", "farm", "browse", "mixed"}

// Drive is `condcache loadtest run`: o.Workload against o.Target, alone,
// side by side with another target, or as an open-loop sweep of rates;
// prints the report and saves it.
func Drive(ctx context.Context, o DriveOptions) error {
	stdout, progress := o.Stdout, o.Progress
	if stdout == nil {
		stdout = os.Stdout
	}
	if progress == nil {
		progress = os.Stderr
	}
	rr := o.Runs
	if o.Prewarm {
		began := time.Now()
		if err := Prewarm(ctx, o.Target, o.GlobalTag, rr, o.Conns); err != nil {
			return err
		}
		fmt.Fprintf(progress, "prewarmed %d runs in %v\n", rr.Last-rr.First+1, time.Since(began).Round(time.Millisecond))
	}
	var w Workload
	switch o.Workload {
	case "reco":
		w = Reco{GlobalTag: o.GlobalTag, Runs: rr}
	case "reco-zipf":
		w = Reco{GlobalTag: o.GlobalTag, Runs: rr, ZipfS: 1.1}
	case "farm":
		w = NewFarm(o.GlobalTag, rr, 0, 0)
	case "browse":
		w = Browse{GlobalTag: o.GlobalTag}
	case "mixed":
		m := NewMixed(Reco{GlobalTag: o.GlobalTag, Runs: rr}, NewClient(o.Target), o.WriteRate)
		m.Probes = []*Client{NewClient(o.Target)}
		w = m
	default:
		return fmt.Errorf("unknown workload %q (%s)", o.Workload, strings.Join(Workloads, ", "))
	}
	if o.Workload == "mixed" && (o.Compare != "" || len(o.Rates) > 0) {
		return errors.New("-workload mixed writes to -target and checks reads against those writes: it runs alone, not with -compare or -rates")
	}
	ro := RunOptions{Target: o.Target, Workload: w, Connections: o.Conns, Rate: o.Rate,
		Duration: o.Duration, Warmup: o.Warmup, Progress: progress}
	rep := NewReport(o.Command)
	switch {
	case len(o.Rates) > 0:
		results, err := Sweep(ctx, ro, o.Rates)
		if err != nil {
			return err
		}
		rep.Results = results
	case o.Compare != "":
		other, err := compareTarget(o.Compare, o.Target, w)
		if err != nil {
			return err
		}
		defer other.Close()
		results, err := Compare(ctx, ro, []string{other.URL, o.Target}, o.Slices)
		if err != nil {
			return err
		}
		// After the throughput slices (a write invalidates the GT):
		// how many answers right after a write miss it, through each
		// target that can be written through.
		for i, target := range []string{other.URL, o.Target} {
			if i == 0 && !other.writable {
				continue
			}
			st, err := MeasureStaleness(ctx, NewClient(target), target, StalenessRounds)
			if err != nil {
				return err
			}
			results[i].Stale = &st
		}
		rep.AddCompared(results)
	default:
		res, err := Run(ctx, ro)
		if err != nil {
			return err
		}
		rep.Results = []*Result{res}
	}
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	dir := o.Out
	if dir == "" {
		dir = filepath.Join("reports", time.Now().Format("20060102-150405"))
	}
	paths, err := rep.Save(dir)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "report:", strings.Join(paths, " "))
	return nil
}

// Freshness is `condcache loadtest freshness`: CheckFreshness, its report
// printed; an error when a stale answer was seen.
func Freshness(ctx context.Context, o FreshnessOptions, stdout io.Writer) error {
	rep, err := CheckFreshness(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, rep)
	if !rep.OK() {
		return errors.New("freshness check failed")
	}
	return nil
}

// StalenessRounds is how many write-then-read rounds a comparison makes
// per target.
const StalenessRounds = 100

// comparison is the other target of a side-by-side run.
type comparison struct {
	URL string
	// writable: writes sent to it reach the writer (a server, or a cache
	// in front of one), so its staleness after a write can be measured.
	writable bool
	close    func() error
}

func (c comparison) Close() error {
	if c.close == nil {
		return nil
	}
	return c.close()
}

// compareTarget starts what -compare names: "static" (a fasthttp reply of
// the target's first answer), "nginx-ttl" (nginx caching target for 300 s,
// as sites deploy in front of the reference), or a URL.
func compareTarget(name, target string, w Workload) (comparison, error) {
	switch name {
	case "static":
		st, err := StartStaticLike(target, w)
		if err != nil {
			return comparison{}, err
		}
		return comparison{URL: st.URL, close: st.Close}, nil
	case "nginx-ttl":
		n, err := StartNginxTTL(target, 300*time.Second)
		if err != nil {
			return comparison{}, err
		}
		return comparison{URL: n.URL, writable: true, close: n.Close}, nil
	}
	return comparison{URL: name, writable: true}, nil
}
