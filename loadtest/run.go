package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// RunOptions configures Run.
type RunOptions struct {
	// Target is the server's base URL, e.g. http://127.0.0.1:8000.
	Target   string
	Workload Workload
	// Connections is the number of keep-alive connections, and so of
	// requests in flight at most (default 64).
	Connections int
	// Rate, if > 0, makes the run open loop: requests are sent at this
	// fixed rate per second whatever the answers' latency, and each
	// latency is measured from when its request was due, so a stalled
	// server is charged for the whole stall (no coordinated omission).
	// 0 is closed loop: each connection sends its next request when the
	// previous one is answered.
	Rate float64
	// Duration is how long requests are measured (default 10 s), after
	// Warmup (not measured).
	Duration, Warmup time.Duration
	// Seed makes the requests repeatable.
	Seed uint64
	// Progress, if set, receives a line per second.
	Progress io.Writer
}

// Result is one run's measurements.
type Result struct {
	Target      string  `json:"target"`
	Workload    string  `json:"workload"`
	Mode        string  `json:"mode"` // closed or open
	Connections int     `json:"connections"`
	OfferedRate float64 `json:"offered_rate,omitempty"`
	Seconds     float64 `json:"seconds"`
	Requests    int64   `json:"requests"`
	// Errors counts failed requests by kind: "http_<status>", "timeout",
	// "connection", "overrun" (open loop: the request could not even be
	// started within a second of when it was due).
	Errors     map[string]int64 `json:"errors"`
	Bytes      int64            `json:"response_bytes"`
	Throughput float64          `json:"throughput"` // answered requests per second
	Latency    Latency          `json:"latency_ms"`
	// CacheHitRatio is the share of lookups the target answered from its
	// cache during the run, read from its /metrics (nil when it has none).
	CacheHitRatio *float64 `json:"cache_hit_ratio,omitempty"`
	// Stale, when measured (MeasureStaleness), is how many lookups right
	// after an acknowledged write did not show it.
	Stale *Staleness `json:"stale_after_write,omitempty"`
	// Extra holds a workload's own figures (mixed: writes, write_errors).
	Extra map[string]float64 `json:"extra,omitempty"`

	hist                 *hdrhistogram.Histogram
	cacheHits, cacheSeen float64 // lookups answered from the cache, and in all, during the run
}

// Latency holds percentiles in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Failed is the number of failed requests.
func (r *Result) Failed() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// histMax is the longest latency a histogram holds; longer ones are
// recorded as histMax (an open-loop run behind a stalled server can queue
// for that long).
const histMax = int64(10 * time.Minute / time.Microsecond)

// newHist records latencies in microseconds from 1 µs to histMax, 3
// significant digits.
func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, histMax, 3) }

func (r *Result) finish() {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	h := r.hist
	r.Latency = Latency{P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()), Mean: h.Mean() / 1000}
	if r.Seconds > 0 {
		r.Throughput = float64(r.Requests-r.Failed()) / r.Seconds
	}
	if r.cacheSeen > 0 {
		ratio := r.cacheHits / r.cacheSeen
		r.CacheHitRatio = &ratio
	}
}

// merge adds o's measurements to r (same target and workload).
func (r *Result) merge(o *Result) {
	r.Seconds += o.Seconds
	r.Requests += o.Requests
	r.Bytes += o.Bytes
	for k, v := range o.Errors {
		r.Errors[k] += v
	}
	r.hist.Merge(o.hist)
	r.cacheHits += o.cacheHits
	r.cacheSeen += o.cacheSeen
	r.finish()
}

// Starter is a workload with activity of its own while a run lasts (the
// mixed workload's writer): Start begins it, stop ends it and reports.
type Starter interface {
	Start(ctx context.Context) (stop func() (map[string]float64, error), err error)
}

// Checker is a Source that checks each successful answer to its last
// request; a false counts as a "stale" error.
type Checker interface {
	Check(body []byte) bool
}

// worker state shared by a run.
type runState struct {
	measuring atomic.Bool
	requests  atomic.Int64
	failures  atomic.Int64
}

// Run sends the workload's requests to the target and measures them.
func Run(ctx context.Context, o RunOptions) (*Result, error) {
	if o.Connections <= 0 {
		o.Connections = 64
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	u, err := url.Parse(o.Target)
	if err != nil || u.Host == "" || u.Scheme != "http" {
		return nil, fmt.Errorf("loadtest: target %q is not an http://host:port URL", o.Target)
	}
	client := &fasthttp.HostClient{Addr: u.Host, MaxConns: o.Connections, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, MaxIdemponentCallAttempts: 1}
	defer client.CloseIdleConnections()

	hits0, lookups0, hasMetrics := scrapeLookups(o.Target)
	res := &Result{Target: o.Target, Workload: o.Workload.Name(), Mode: "closed", Connections: o.Connections,
		Errors: map[string]int64{}, hist: newHist()}
	if o.Rate > 0 {
		res.Mode, res.OfferedRate = "open", o.Rate
	}

	var st runState
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stopWorkload func() (map[string]float64, error)
	if s, ok := o.Workload.(Starter); ok {
		if stopWorkload, err = s.Start(ctx); err != nil {
			return nil, fmt.Errorf("loadtest: starting %s: %w", o.Workload.Name(), err)
		}
	}
	var due chan time.Time // open loop: when each request is due
	if o.Rate > 0 {
		due = make(chan time.Time, o.Connections*4)
	}
	workers := make([]*worker, o.Connections)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{client: client, src: o.Workload.NewSource(o.Seed*1000 + uint64(i) + 1), st: &st,
			hist: newHist(), errors: map[string]int64{}}
		workers[i] = w
		wg.Go(func() { w.loop(ctx, due) })
	}
	var overrun atomic.Int64
	if due != nil {
		go schedule(ctx, o.Rate, due, &st, &overrun)
	}

	if o.Warmup > 0 {
		if !sleep(ctx, o.Warmup) {
			cancel()
			wg.Wait()
			return nil, ctx.Err()
		}
	}
	st.measuring.Store(true)
	began := time.Now()
	stopProgress := progress(o.Progress, &st, began)
	sleep(ctx, o.Duration)
	st.measuring.Store(false)
	ended := time.Now()
	res.Seconds = ended.Sub(began).Seconds()
	stopProgress()
	// Requests sent inside the window finish and count (the slowest are
	// the ones that matter); requests due inside it but never sent count
	// as overruns.
	cancel()
	wg.Wait()
	if due != nil {
		for len(due) > 0 {
			if t := <-due; t.Before(ended) && !t.Before(began) {
				overrun.Add(1)
			}
		}
	}
	if stopWorkload != nil {
		var err error
		if res.Extra, err = stopWorkload(); err != nil {
			return nil, err
		}
	}

	for _, w := range workers {
		res.Requests += w.requests
		res.Bytes += w.bytes
		for k, v := range w.errors {
			res.Errors[k] += v
		}
		res.hist.Merge(w.hist)
	}
	if n := overrun.Load(); n > 0 {
		res.Errors["overrun"] += n
		res.Requests += n
	}
	if hasMetrics {
		if hits1, lookups1, ok := scrapeLookups(o.Target); ok {
			res.cacheHits, res.cacheSeen = hits1-hits0, lookups1-lookups0
		}
	}
	res.finish()
	return res, nil
}

// schedule sends a due time every 1/rate seconds. A request that cannot be
// handed to a worker within a second of the scheduler reaching it counts
// as an overrun (every connection was busy) and is skipped.
func schedule(ctx context.Context, rate float64, due chan<- time.Time, st *runState, overrun *atomic.Int64) {
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for {
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			if !sleep(ctx, d) {
				return
			}
		}
		select {
		case due <- next:
		case <-ctx.Done():
			return
		default:
			// All connections busy: wait up to a second for one.
			t := time.NewTimer(time.Second)
			select {
			case due <- next:
			case <-t.C:
				if st.measuring.Load() {
					overrun.Add(1)
				}
			case <-ctx.Done():
				t.Stop()
				return
			}
			t.Stop()
		}
	}
}

type worker struct {
	client *fasthttp.HostClient
	src    Source
	st     *runState
	hist   *hdrhistogram.Histogram
	errors map[string]int64

	requests, bytes int64
}

func (w *worker) loop(ctx context.Context, due <-chan time.Time) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	var uri []byte
	for ctx.Err() == nil {
		start := time.Now()
		if due != nil {
			select {
			case start = <-due:
			case <-ctx.Done():
				return
			}
		}
		counted := w.st.measuring.Load() // by when it was sent, not when it finished
		uri = w.src.Next(uri[:0])
		req.SetRequestURIBytes(uri)
		req.Header.SetHost(w.client.Addr)
		err := w.client.Do(req, resp)
		elapsed := time.Since(start)
		if !counted {
			continue
		}
		w.requests++
		w.st.requests.Add(1)
		kind := ""
		switch {
		case errors.Is(err, fasthttp.ErrTimeout):
			kind = "timeout"
		case err != nil:
			kind = "connection"
		case resp.StatusCode() != fasthttp.StatusOK && resp.StatusCode() != fasthttp.StatusNotModified:
			kind = fmt.Sprintf("http_%d", resp.StatusCode())
		}
		if c, ok := w.src.(Checker); ok && kind == "" && !c.Check(resp.Body()) {
			kind = "stale"
		}
		// Failed requests are in the percentiles too: a server that times
		// out must not look fast.
		_ = w.hist.RecordValue(min(max(elapsed.Microseconds(), 1), histMax))
		if kind != "" {
			w.errors[kind]++
			w.st.failures.Add(1)
			continue
		}
		w.bytes += int64(len(resp.Body()))
	}
}

// progress prints a line per second until the returned func is called.
func progress(out io.Writer, st *runState, began time.Time) func() {
	if out == nil {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				return
			case <-t.C:
				n := st.requests.Load()
				fmt.Fprintf(out, "  %3.0fs  %8d req/s  %d failed so far\n", time.Since(began).Seconds(), n-last, st.failures.Load())
				last = n
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
