package reader

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
)

// disconnectPoll is how often a waiting GET timeout checks whether its
// client is still there.
var disconnectPoll = time.Second

var errTooManyWaiters = condcache.Errorf(condcache.EUnavailable, "Too many timeout requests in progress.")

// timeout answers GET timeout (docs/compatibility.md "Timeout"): it exists to test proxy and
// gateway timeouts, so it waits Config.TimeoutEndpointWait (1800 s) and then
// answers 200 {} (the reference's empty body makes clients fail to parse).
// Unlike the reference it gives up its connection as soon as the client
// disconnects or the server shuts down, and it caps how many calls wait at
// once, so it is not a cheap way to exhaust the server (§8.31).
func (s *Server) timeout(ctx *fasthttp.RequestCtx) error {
	if n := s.timeoutWaiters.Add(1); n > int64(s.cfg.MaxTimeoutWaiters) {
		s.timeoutWaiters.Add(-1)
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "60")
		return errTooManyWaiters
	}
	defer s.timeoutWaiters.Add(-1)

	timer := time.NewTimer(s.cfg.TimeoutEndpointWait)
	defer timer.Stop()
	poll := time.NewTicker(disconnectPoll)
	defer poll.Stop()
	for waiting := true; waiting; {
		select {
		case <-timer.C:
			waiting = false
		case <-s.stopping:
			waiting = false
		case <-ctx.Done(): // closed by fasthttp on shutdown when Handler is mounted elsewhere
			waiting = false
		case <-poll.C:
			waiting = !clientGone(ctx.Conn())
		}
	}
	api.WriteJSON(ctx, fasthttp.StatusOK, []byte(`{}`))
	return nil
}
