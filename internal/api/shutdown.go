package api

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"
)

// Shutdown stops srv gracefully once the caller has started failing its
// readiness probe: it keeps accepting for delay (or until ctx ends), so
// load balancers that poll /readyz stop sending requests here before the
// listener closes, instead of seeing connections refused; then it closes
// the listener and waits for in-flight requests until ctx ends, returning
// ctx's error if they did not finish.
func Shutdown(ctx context.Context, srv *fasthttp.Server, delay time.Duration) error {
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	return srv.ShutdownWithContext(ctx)
}
