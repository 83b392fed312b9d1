package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// RangeVsLookups measures what a job that processes runs first..last pays
// to learn its conditions (docs/design.md "The v2 read API"): one v2 range
// request against one compatible lookup per run, one after the other, as a
// job does, against the reader at base.
type RangeVsLookups struct {
	Runs                    int
	LookupBytes, RangeBytes int64
	LookupTime, RangeTime   time.Duration
}

func (r RangeVsLookups) String() string {
	return fmt.Sprintf("%d runs: %d compatible lookups %.1f MB in %v; one v2 range %.1f MB in %v (%.1f× less time, %.1f× fewer bytes)",
		r.Runs, r.Runs, float64(r.LookupBytes)/1e6, r.LookupTime.Round(time.Millisecond), float64(r.RangeBytes)/1e6,
		r.RangeTime.Round(time.Millisecond), r.LookupTime.Seconds()/r.RangeTime.Seconds(), float64(r.LookupBytes)/float64(r.RangeBytes))
}

// MeasureRangeVsLookups runs the comparison on GT gt over runs
// first..last (subrun 0).
func MeasureRangeVsLookups(ctx context.Context, base, gt string, first, last int64) (RangeVsLookups, error) {
	out := RangeVsLookups{Runs: int(last - first + 1)}
	client := &http.Client{Timeout: 5 * time.Minute}
	get := func(u string) (int64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		n, err := io.Copy(io.Discard, res.Body)
		if err == nil && res.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: HTTP %d", u, res.StatusCode)
		}
		return n, err
	}
	began := time.Now()
	for run := first; run <= last; run++ {
		n, err := get(fmt.Sprintf("%s/api/cdb_rest/payloadiovs/?gtName=%s&majorIOV=%d&minorIOV=0", base, url.QueryEscape(gt), run))
		if err != nil {
			return out, err
		}
		out.LookupBytes += n
	}
	out.LookupTime = time.Since(began)
	began = time.Now()
	n, err := get(fmt.Sprintf("%s/api/v2/range?gt=%s&from=%d&to=%d", base, url.QueryEscape(gt), first, last))
	if err != nil {
		return out, err
	}
	out.RangeBytes, out.RangeTime = n, time.Since(began)
	return out, nil
}
