package reader

import (
	"net/http"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/testkit"
)

// TestShutdownSequence: on Shutdown, /readyz turns 503 at once while the
// listener still accepts for ShutdownDelay; then new connections are
// refused, and a read in flight all along completes normally.
func TestShutdownSequence(t *testing.T) {
	const delay = time.Second
	svc := newGatedService()
	srv := New(svc, Config{ShutdownDelay: delay})
	testkit.CheckShutdown(t, testkit.Shutdown{
		Server: srv, Stopping: srv.stopping, Delay: delay, Readyz: api.ReadyzPath,
		Held: func(base string) *http.Request {
			req, _ := http.NewRequest("GET", base+api.Prefix+"pt", nil)
			return req
		},
		Entered: svc.entered,
		Release: func() { close(svc.gate) },
	})
}
