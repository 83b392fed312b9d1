package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// BurstOptions describe a farm burst: Jobs jobs asking their first lookup
// of a GT at the same moment, at Width neighbouring runs from First,
// spread over the Readers (base URLs) in turn.
type BurstOptions struct {
	Readers     []string
	GlobalTag   string
	First       int64
	Width       int64
	Jobs        int
	Connections int // per reader
}

// Burst is what a burst cost: the database queries the readers issued
// for it (condcache_lookups_total from a replica or the primary, summed
// over the readers), against the distinct answer windows the jobs got.
type Burst struct {
	Jobs, Failed       int
	Points, Windows    int
	Queries            float64
	P50, P99, Max      time.Duration // from the moment every job was due
	FirstFailure       string
	QueriesPerWindow   float64
	ReadersMeasured    int
	DistinctWindowList []string `json:"-"`
}

func (b Burst) String() string {
	s := fmt.Sprintf("%d jobs at %d runs through %d reader(s): %d distinct answer windows, %.0f database queries (%.2f per window); latency from the burst's start p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d failed",
		b.Jobs, b.Points, b.ReadersMeasured, b.Windows, b.Queries, b.QueriesPerWindow,
		ms(b.P50), ms(b.P99), ms(b.Max), b.Failed)
	if b.FirstFailure != "" {
		s += " (first: " + b.FirstFailure + ")"
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// quantiles returns the median, the 99th percentile and the maximum of d
// (not empty), which it sorts.
func quantiles(d []time.Duration) (p50, p99, maxD time.Duration) {
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, len(d)*99/100)], d[len(d)-1]
}

// databaseLookups are the series a reader counts its database lookups in.
var databaseLookups = []string{`condcache_lookups_total{source="replica"}`, `condcache_lookups_total{source="primary"}`}

func queriesOf(readers []string) (float64, error) {
	var n float64
	for _, r := range readers {
		for _, series := range databaseLookups {
			v, err := Metric(r, series)
			if err != nil {
				return 0, err
			}
			n += v
		}
	}
	return n, nil
}

// FarmBurst is `condcache loadtest burst`: a write through writer that
// changes none of o.GlobalTag's answers (an empty payload list of a new
// type attached to it) empties the GT's cache, then MeasureBurst.
func FarmBurst(ctx context.Context, writer *Client, o BurstOptions) (Burst, error) {
	pt := fmt.Sprintf("burst_%d", time.Now().UnixNano())
	if err := writer.CreatePayloadType(ctx, pt); err != nil {
		return Burst{}, err
	}
	if _, err := writer.CreateAttachedList(ctx, o.GlobalTag, pt); err != nil {
		return Burst{}, err
	}
	return MeasureBurst(ctx, o)
}

// MeasureBurst fires the burst: every job's request is made ready, then
// all are released at once (open loop: each job's latency counts from the
// release, whatever the connection pool makes it wait).
func MeasureBurst(ctx context.Context, o BurstOptions) (Burst, error) {
	if len(o.Readers) == 0 || o.Jobs <= 0 || o.Width <= 0 {
		return Burst{}, errors.New("loadtest: a burst needs readers, jobs and a width")
	}
	conns := max(o.Connections, 1)
	clients := make([]*http.Client, len(o.Readers))
	for i := range clients {
		clients[i] = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns}}
	}
	before, err := queriesOf(o.Readers)
	if err != nil {
		return Burst{}, err
	}
	type answer struct {
		took   time.Duration
		window string
		err    string
	}
	answers := make([]answer, o.Jobs)
	release := make(chan struct{})
	var started time.Time
	var wg sync.WaitGroup
	for j := range o.Jobs {
		reader := j % len(o.Readers)
		run := o.First + int64(j)%o.Width
		url := fmt.Sprintf("%s/api/cdb_rest/payloadiovs/?gtName=%s&majorIOV=%d&minorIOV=0", strings.TrimRight(o.Readers[reader], "/"), o.GlobalTag, run)
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			<-release
			res, err := clients[reader].Do(req)
			a := &answers[j]
			if err != nil {
				a.err = err.Error()
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			a.took = time.Since(started)
			if res.StatusCode != 200 {
				a.err = fmt.Sprintf("HTTP %d", res.StatusCode)
				return
			}
			a.window = res.Header.Get("X-Valid-From") + " → " + res.Header.Get("X-Valid-Until")
		})
	}
	time.Sleep(100 * time.Millisecond) // every job waits at the barrier
	started = time.Now()
	close(release)
	wg.Wait()
	after, err := queriesOf(o.Readers)
	if err != nil {
		return Burst{}, err
	}
	out := Burst{Jobs: o.Jobs, Points: int(min(o.Width, int64(o.Jobs))), Queries: after - before, ReadersMeasured: len(o.Readers)}
	windows := map[string]bool{}
	var took []time.Duration
	for _, a := range answers {
		if a.err != "" {
			out.Failed++
			if out.FirstFailure == "" {
				out.FirstFailure = a.err
			}
			continue
		}
		windows[a.window] = true
		took = append(took, a.took)
	}
	out.Windows = len(windows)
	for w := range windows {
		out.DistinctWindowList = append(out.DistinctWindowList, w)
	}
	slices.Sort(out.DistinctWindowList)
	if out.Windows > 0 {
		out.QueriesPerWindow = out.Queries / float64(out.Windows)
	}
	if len(took) > 0 {
		out.P50, out.P99, out.Max = quantiles(took)
	}
	return out, nil
}
