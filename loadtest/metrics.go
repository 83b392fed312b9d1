package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// scrapeLookups reads from target's /metrics how many lookups it answered
// from its cache and in all (condcache_lookups_total by source); ok is
// false when the target has no such metrics (another server, or the static
// target).
func scrapeLookups(target string) (hits, total float64, ok bool) {
	status, body, err := fasthttp.GetTimeout(nil, strings.TrimRight(target, "/")+"/metrics", 5*time.Second)
	if err != nil || status != fasthttp.StatusOK {
		return 0, 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, found := strings.CutPrefix(line, `condcache_lookups_total{source="`)
		if !found {
			continue
		}
		source, value, found := strings.Cut(rest, `"} `)
		if !found {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		ok = true
		total += v
		if source == "redis" {
			hits += v
		}
	}
	return hits, total, ok
}

// Metric reads one series of target's /metrics, named exactly as exposed
// (e.g. `condcache_lookups_total{source="redis"}`); 0 when the target does
// not expose it.
func Metric(target, series string) (float64, error) {
	url := strings.TrimRight(target, "/") + "/metrics"
	status, body, err := fasthttp.GetTimeout(nil, url, 5*time.Second)
	if err != nil {
		return 0, err
	}
	if status != fasthttp.StatusOK {
		return 0, fmt.Errorf("%s: HTTP %d", url, status)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("metric %s: %w", series, err)
			}
			return f, nil
		}
	}
	return 0, nil
}
