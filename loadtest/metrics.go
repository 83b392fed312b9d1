package loadtest

import (
	"bufio"
	"bytes"
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
