package reader

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	get := func(path string) (int, string, error) {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}

	type result struct {
		status int
		err    error
	}
	slow := make(chan result, 1)
	go func() {
		status, _, err := get(api.Prefix + "pt")
		slow <- result{status, err}
	}()
	<-svc.entered

	shutdownStart := time.Now()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	<-srv.stopping
	status, body, err := get(api.ReadyzPath)
	if err != nil || status != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("readyz right after Shutdown started: %d %s %v; want 503 while still accepting", status, body, err)
	}

	testkit.WaitRefused(t, addr, 5*time.Second)
	if waited := time.Since(shutdownStart); waited < delay {
		t.Errorf("connections refused %v after Shutdown, before the %v delay", waited, delay)
	}

	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a read was in flight", err)
	default:
	}
	close(svc.gate)
	if r := <-slow; r.err != nil || r.status != 200 {
		t.Errorf("the read in flight: %d %v", r.status, r.err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
