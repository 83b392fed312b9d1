package loadtest

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Static is the trivial target: a fasthttp server answering every request
// with the same JSON body. Measured beside condcache on the same machine,
// it shows how close a lookup comes to the cost of an empty HTTP round
// trip.
type Static struct {
	URL string
	srv *fasthttp.Server
	ln  net.Listener
}

// StartStatic serves body on a free loopback port.
func StartStatic(body []byte) (*Static, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}, NoDefaultServerHeader: true, NoDefaultDate: true}
	go func() { _ = srv.Serve(ln) }()
	return &Static{URL: "http://" + ln.Addr().String(), srv: srv, ln: ln}, nil
}

// Close stops the server.
func (s *Static) Close() error { return s.srv.Shutdown() }

// StartStaticLike starts a Static target whose body is the answer of the
// target to the workload's first request, so both send the same bytes.
func StartStaticLike(target string, w Workload) (*Static, error) {
	uri := w.NewSource(1).Next(nil)
	status, body, err := fasthttp.GetTimeout(nil, strings.TrimRight(target, "/")+string(uri), 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("loadtest: sampling %s for the static target's body: %w", target, err)
	}
	if status != fasthttp.StatusOK {
		return nil, fmt.Errorf("loadtest: sampling %s%s for the static target's body: HTTP %d", target, uri, status)
	}
	return StartStatic(body)
}
