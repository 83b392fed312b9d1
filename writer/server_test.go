package writer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/auth"
)

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{IOVMode: "sometimes"},
		{Auth: auth.Config{Plugin: "cdb_rest.permissions_plugins.nope.Plugin"}},
		{Auth: auth.Config{Enabled: true}}, // empty secret
	} {
		if _, err := New(&fakeService{}, cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := s.do("GET", p, noBody); r.status != 200 {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
	ready := errors.New("primary down at postgres://u:hunter2@db")
	s = startServer(t, Config{Ready: func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline")
		}
		return ready
	}})
	r := s.do("GET", "/readyz", noBody)
	if r.status != 503 || strings.Contains(r.body, "hunter2") || !strings.Contains(r.body, "primary down") {
		t.Errorf("readyz while not ready: %d %s", r.status, r.body)
	}
	ready = nil
	if r := s.do("GET", "/readyz", noBody); r.status != 200 {
		t.Errorf("readyz when ready: %d %s", r.status, r.body)
	}
	if r := s.do("GET", "/healthz", noBody); r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
}

// TestShutdownDrains: Shutdown waits for a write in progress, which
// completes normally; /readyz turns 503 as soon as Shutdown starts.
func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	s.svc.block = make(chan struct{})
	s.svc.entered = make(chan struct{}, 1)
	done := make(chan resp, 1)
	go func() { done <- s.do("POST", "pt", `{"name":"P"}`) }()
	<-s.svc.entered

	shut := make(chan error, 1)
	go func() { shut <- s.srv.Shutdown(context.Background()) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned while a write was in progress: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	select {
	case <-s.srv.stopping:
	default:
		t.Error("Shutdown did not mark the server as stopping")
	}
	close(s.svc.block)
	if r := <-done; r.status != 200 {
		t.Errorf("the drained write: %d %s", r.status, r.body)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the write finished")
	}
}

// TestShutdownDeadline: when the drain deadline passes, the service calls
// still running are cancelled (their transactions roll back) and answered
// 503.
func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	s.svc.block = make(chan struct{}) // never closed
	s.svc.entered = make(chan struct{}, 1)
	done := make(chan resp, 1)
	go func() { done <- s.do("POST", "gtstatus", `{"name":"s"}`) }()
	<-s.svc.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want the deadline", err)
	}
	r := <-done
	wantError(t, "cancelled write", r, 503, string(condcache.EUnavailable), "The database did not answer in time.")
}

// TestRequestTimeout: a service call is bounded by RequestTimeout.
func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{RequestTimeout: 20 * time.Millisecond})
	s.svc.block = make(chan struct{})
	wantError(t, "slow write", s.do("POST", "pt", `{"name":"P"}`), 503, "unavailable", "The database did not answer in time.")
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	s.do("POST", "pt", `{"name":"P"}`)
	s.do("PUT", "gt_change_status/G/locked?secret=q", "null")
	s.do("POST", "gt", `{}`)
	s.do("GET", "nosuch", noBody)
	logs := s.logs.String()
	for _, want := range []string{
		`msg=request component=writer method=POST route=CreatePayloadType path=/api/cdb_rest/pt status=200 duration=`,
		`method=PUT route=ChangeGlobalTagStatus path=/api/cdb_rest/gt_change_status/G/locked status=200`,
		`method=POST route=CreateGlobalTag path=/api/cdb_rest/gt status=400 duration=`,
		`method=GET route=not_found path=/api/cdb_rest/nosuch status=404`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("access log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "secret=q") {
		t.Errorf("the access log holds the query string:\n%s", logs)
	}
	if strings.Contains(logs, "level=ERROR") || strings.Contains(logs, "level=WARN") {
		t.Errorf("client errors are logged above info:\n%s", logs)
	}
}
