package loadtest

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestPrewarmRetriesShedLookups: a lookup the target sheds (504 with
// Retry-After, as admission control answers on the legacy path) is asked
// again after the wait, so a prewarm is not lost to one shed request; any
// other failure still ends it.
func TestPrewarmRetriesShedLookups(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	shed, answered := false, map[string]bool{}
	fail := ""
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		defer mu.Unlock()
		run := string(ctx.QueryArgs().Peek("majorIOV"))
		if run == fail {
			ctx.SetStatusCode(fasthttp.StatusInternalServerError)
			return
		}
		if !shed {
			shed = true
			ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
			ctx.SetStatusCode(fasthttp.StatusGatewayTimeout)
			return
		}
		answered[run] = true
		ctx.SetBodyString("[]")
	}}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Shutdown()
	url := "http://" + ln.Addr().String()
	if err := Prewarm(context.Background(), url, "G", RunRange{First: 1, Last: 20, Subruns: 1}, 4); err != nil {
		t.Fatalf("prewarm with one shed lookup: %v", err)
	}
	if len(answered) != 20 {
		t.Errorf("%d of 20 runs answered", len(answered))
	}
	mu.Lock()
	fail = "7"
	mu.Unlock()
	if err := Prewarm(context.Background(), url, "G", RunRange{First: 1, Last: 20, Subruns: 1}, 4); err == nil {
		t.Error("a prewarm with a run answered 500 succeeded")
	}
}
