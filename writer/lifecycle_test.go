package writer

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/testkit"
)

// TestShutdownSequence: on Shutdown, /readyz turns 503 at once while the
// listener still accepts for ShutdownDelay; then new connections are
// refused, and a write in flight all along completes normally.
func TestShutdownSequence(t *testing.T) {
	const delay = time.Second
	svc := &fakeService{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	srv, err := New(svc, Config{ShutdownDelay: delay})
	if err != nil {
		t.Fatal(err)
	}
	testkit.CheckShutdown(t, testkit.Shutdown{
		Server: srv, Stopping: srv.stopping, Delay: delay, Readyz: "/readyz",
		Held: func(base string) *http.Request {
			req, _ := http.NewRequest("POST", base+"/api/cdb_rest/pt", strings.NewReader(`{"name":"P"}`))
			req.Header.Set("Content-Type", "application/json")
			return req
		},
		Entered: svc.entered,
		Release: func() { close(svc.block) },
	})
}
