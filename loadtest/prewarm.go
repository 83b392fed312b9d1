package loadtest

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Prewarm looks up every run of r once (minor 0), with conns requests in
// flight, so that a cache in front of the target holds every answer window
// before a measured run of cache hits.
func Prewarm(ctx context.Context, target, gt string, r RunRange, conns int) error {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("loadtest: target %q is not an http://host:port URL", target)
	}
	client := &fasthttp.HostClient{Addr: u.Host, MaxConns: conns, ReadTimeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	prefix := lookupPrefix(gt)
	var next atomic.Int64
	next.Store(r.First)
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for range conns {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			var uri []byte
			for ctx.Err() == nil {
				run := next.Add(1) - 1
				if run > r.Last {
					return
				}
				uri = appendLookup(uri[:0], prefix, run, 0, false)
				req.SetRequestURIBytes(uri)
				req.Header.SetHost(u.Host)
				err := client.Do(req, resp)
				// Shed load (504 on the legacy path) is retried after its
				// Retry-After, as the C++ client does, a few times: a large
				// preset's prewarm runs for minutes at the uncached rate.
				for tries := 0; err == nil && resp.StatusCode() == fasthttp.StatusGatewayTimeout && tries < maxShedRetries && ctx.Err() == nil; tries++ {
					time.Sleep(retryAfter(resp))
					err = client.Do(req, resp)
				}
				if err == nil && resp.StatusCode() != fasthttp.StatusOK {
					err = fmt.Errorf("HTTP %d", resp.StatusCode())
				}
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("loadtest: prewarming run %d: %w", run, err) })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// maxShedRetries bounds the retries of one shed prewarm lookup.
const maxShedRetries = 5

// retryAfter is a shed answer's Retry-After (whole seconds), 1 s when
// missing or unreadable, at most 10 s.
func retryAfter(resp *fasthttp.Response) time.Duration {
	n, err := strconv.Atoi(string(resp.Header.Peek(fasthttp.HeaderRetryAfter)))
	if err != nil || n < 1 {
		n = 1
	}
	return time.Duration(min(n, 10)) * time.Second
}
