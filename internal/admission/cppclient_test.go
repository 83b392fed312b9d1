package admission_test

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/admission"
	"github.com/condcache/condcache/internal/api"
)

// cppGet mimics the C++ client's request loop (docs/compatibility.md "C++ client checklist" item 5): 200 is
// success; 504 is retried after sleeping a random 1..2 × retrySleepMean,
// up to nRetries tries in all; any other status fails at once.
func cppGet(s *testServer, path string, nRetries int, retrySleepMean time.Duration) (tries int, err error) {
	for tries = 1; tries <= nRetries; tries++ {
		r := s.get(path)
		switch r.status {
		case fasthttp.StatusOK:
			return tries, nil
		case fasthttp.StatusGatewayTimeout:
			time.Sleep(retrySleepMean + rand.N(retrySleepMean+1))
		default:
			return tries, fmt.Errorf("HTTP %d %s", r.status, r.body)
		}
	}
	return nRetries, fmt.Errorf("request failed after %d tries", nRetries)
}

// TestCppClientRidesOutOverload: a C++-style client that meets a saturated
// server on a legacy path is shed with 504, retries, and succeeds once the
// load drops. The same client on a path shed with 503 gives up at once,
// which is what a 503 on the legacy paths would do to every batch job.
func TestCppClientRidesOutOverload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGatedHandler()
		a := api.NewAdmission(admission.Config{MaxInFlight: 1, Wait: 10 * time.Millisecond}, nil)
		admitted := a.Wrap(g.serve)
		var shed504 atomic.Int64
		s := startTestServer(t, func(ctx *fasthttp.RequestCtx) {
			admitted(ctx)
			if ctx.Response.StatusCode() == fasthttp.StatusGatewayTimeout {
				shed504.Add(1)
			}
		})
		held := s.saturate(g, api.Prefix+"gtPayloadLists/G", 1)

		if tries, err := cppGet(s, api.Prefix+"payload-iovs/query/?gtName=G&majorIOV=1&minorIOV=0", 10, 5*time.Millisecond); err == nil || tries != 1 {
			t.Errorf("a client retrying only 504 on a path shed with 503: %d tries, %v; want failure at the first", tries, err)
		}

		// The load drops after the client has been shed a few times.
		go func() {
			for shed504.Load() < 3 {
				time.Sleep(time.Millisecond)
			}
			close(g.gate)
		}()
		tries, err := cppGet(s, api.Prefix+"payloadiovs/?gtName=G&majorIOV=1&minorIOV=0", 50, 5*time.Millisecond)
		if err != nil {
			t.Fatalf("the C++-style client failed on a legacy path: %v", err)
		}
		if tries < 4 {
			t.Errorf("succeeded after %d tries; the server was saturated for the first 3", tries)
		}
		if r := <-held; r.status != 200 {
			t.Errorf("held request: %d", r.status)
		}
	})
}
