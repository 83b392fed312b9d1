package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// FreshnessOptions configures CheckFreshness.
type FreshnessOptions struct {
	// Writer receives the writes; Reader answers the lookups. They may be
	// the same reader (it forwards writes to the writer).
	Writer, Reader *Client
	// Rounds is the number of write-then-read rounds (default 300).
	Rounds int
	// LookupsPerRound is how many lookups follow each write (default 3).
	LookupsPerRound int
	// Progress, if set, receives a line every 50 rounds.
	Progress io.Writer
}

// FreshnessReport is what CheckFreshness saw.
type FreshnessReport struct {
	GlobalTag string
	Rounds    int
	Lookups   int
	// Stale counts lookups, after a write was acknowledged, that did not
	// show it; FirstStale describes the first.
	Stale      int
	FirstStale string
	// NotModified counts conditional lookups with the current ETag that
	// got 304; Revalidated counts those with the previous round's ETag
	// that got the new answer (200), as they must.
	NotModified, Revalidated, ConditionalLookups int
	// WriteToRead is the time from sending a write to the first lookup
	// showing it, per round (median and max).
	WriteToReadMedian, WriteToReadMax time.Duration
	MetricsOK                         bool
}

// OK reports whether every check held.
func (r FreshnessReport) OK() bool {
	return r.Stale == 0 && r.NotModified == r.ConditionalLookups && r.Revalidated == r.ConditionalLookups && r.MetricsOK
}

func (r FreshnessReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "GT %s: %d write-then-read rounds, %d lookups, %d stale\n", r.GlobalTag, r.Rounds, r.Lookups, r.Stale)
	if r.FirstStale != "" {
		fmt.Fprintf(&b, "  first stale: %s\n", r.FirstStale)
	}
	fmt.Fprintf(&b, "conditional lookups: %d/%d current ETags got 304, %d/%d previous ETags got the new answer\n",
		r.NotModified, r.ConditionalLookups, r.Revalidated, r.ConditionalLookups)
	fmt.Fprintf(&b, "write sent to answer seen: median %v, max %v\n", r.WriteToReadMedian.Round(time.Microsecond), r.WriteToReadMax.Round(time.Microsecond))
	fmt.Fprintf(&b, "/metrics answers: %v\n", r.MetricsOK)
	return b.String()
}

// CheckFreshness creates a GT and, round after round, inserts an IOV that
// takes over the lookup point and immediately looks the point up: every
// lookup after the write is acknowledged must show it (docs/design.md "Point 1: visible after acknowledgement"). Each round also replays the lookup with the current
// ETag (304 expected) and with the previous round's (the new answer
// expected), and the run ends by reading the reader's /metrics.
func CheckFreshness(ctx context.Context, o FreshnessOptions) (FreshnessReport, error) {
	if o.Rounds <= 0 {
		o.Rounds = 300
	}
	if o.LookupsPerRound <= 0 {
		o.LookupsPerRound = 3
	}
	rep := FreshnessReport{GlobalTag: fmt.Sprintf("freshness_%d", time.Now().UnixNano())}
	w, r := o.Writer, o.Reader
	if err := w.CreateStatus(ctx, "unlocked"); err != nil {
		return rep, err
	}
	if err := w.CreateGlobalTag(ctx, rep.GlobalTag, "loadtest"); err != nil {
		return rep, err
	}
	pt := rep.GlobalTag + "_type"
	if err := w.CreatePayloadType(ctx, pt); err != nil {
		return rep, err
	}
	list, err := w.CreateAttachedList(ctx, rep.GlobalTag, pt)
	if err != nil {
		return rep, err
	}
	lookupPath := "payloadiovs/?" + url.Values{"gtName": {rep.GlobalTag}, "majorIOV": {"1000000"}, "minorIOV": {"0"}}.Encode()
	var prevTag string
	delays := make([]time.Duration, 0, o.Rounds)
	for i := range o.Rounds {
		payload := fmt.Sprintf("/cvmfs/freshness/%s/round%06d.root", rep.GlobalTag, i)
		sent := time.Now()
		if err := w.InsertIOV(ctx, list, IOV{URL: payload, Checksum: fmt.Sprintf("%032x", i), Major: int64(i)}); err != nil {
			return rep, fmt.Errorf("round %d: write: %w", i, err)
		}
		var tag string
		for k := range o.LookupsPerRound {
			res, err := r.Get(ctx, lookupPath)
			if err != nil {
				return rep, fmt.Errorf("round %d: lookup: %w", i, err)
			}
			rep.Lookups++
			if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"`+payload+`"`) {
				if rep.Stale++; rep.Stale == 1 {
					rep.FirstStale = fmt.Sprintf("round %d, lookup %d: HTTP %d %.200s (want %s)", i, k, res.Status, res.Body, payload)
				}
				continue
			}
			if k == 0 {
				delays = append(delays, time.Since(sent))
			}
			tag = res.Header.Get("ETag")
		}
		if tag != "" {
			rep.ConditionalLookups++
			if res, err := r.Get(ctx, lookupPath, "If-None-Match", tag); err == nil && res.Status == http.StatusNotModified {
				rep.NotModified++
			}
			old := prevTag
			if old == "" {
				old = `"none"`
			}
			if res, err := r.Get(ctx, lookupPath, "If-None-Match", old); err == nil && res.Status == http.StatusOK &&
				strings.Contains(string(res.Body), `"`+payload+`"`) {
				rep.Revalidated++
			}
		}
		prevTag = tag
		rep.Rounds++
		if o.Progress != nil && (i+1)%50 == 0 {
			fmt.Fprintf(o.Progress, "%d/%d rounds, %d stale\n", i+1, o.Rounds, rep.Stale)
		}
	}
	if len(delays) > 0 {
		slices.Sort(delays)
		rep.WriteToReadMedian, rep.WriteToReadMax = delays[len(delays)/2], delays[len(delays)-1]
	}
	res, err := r.GetRoot(ctx, "/metrics")
	rep.MetricsOK = err == nil && res.Status == http.StatusOK && strings.Contains(string(res.Body), "condcache_lookups_total")
	return rep, nil
}
