package writer

import (
	"strconv"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/admission"
)

// TestWriterShedsLoad: with every slot taken, writes are shed before they
// reach the service (so retrying them is safe): 504 on legacy paths, which
// the C++ client retries, 503 on the aliases, with Retry-After in range and
// a JSON body; the probes still answer.
func TestWriterShedsLoad(t *testing.T) {
	s := startServer(t, Config{
		Admission: admission.Config{MaxInFlight: 1, Wait: 10 * time.Millisecond,
			RetryAfterMin: 2 * time.Second, RetryAfterMax: 3 * time.Second},
		RequestTimeout: 5 * time.Second, // a write that should be shed at once and is not fails fast
	})
	s.svc.block = make(chan struct{})
	s.svc.entered = make(chan struct{}, 10)
	held := make(chan resp, 1)
	go func() { held <- s.do("POST", "pt", `{"name":"P"}`) }()
	<-s.svc.entered
	s.svc.Calls()

	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"POST", "gtstatus", 504},
		{"POST", "pt", 504},
		{"PUT", "gt_change_status/G/locked", 504},
		{"POST", "global-tags/statuses", 503},
		{"PUT", "global-tags/G/change-status/locked", 503},
	} {
		r := s.do(tc.method, tc.path, `{"name":"S"}`)
		wantError(t, tc.path, r, tc.status, "overloaded", "The server is busy. Try again later.")
		if n, err := strconv.Atoi(string(r.header.Peek("Retry-After"))); err != nil || n < 2 || n > 3 {
			t.Errorf("%s: Retry-After %q, want [2, 3]", tc.path, r.header.Peek("Retry-After"))
		}
	}
	if calls := s.svc.Calls(); len(calls) != 0 {
		t.Errorf("shed writes reached the service: %v", calls)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := s.do("GET", p, noBody); r.status != 200 {
			t.Errorf("%s while saturated: %d %s", p, r.status, r.body)
		}
	}
	close(s.svc.block)
	if r := <-held; r.status != 200 {
		t.Errorf("held write: %d %s", r.status, r.body)
	}
	if r := s.do("POST", "gtstatus", `{"name":"S"}`); r.status != 200 {
		t.Errorf("write after the load dropped: %d %s", r.status, r.body)
	}
}
