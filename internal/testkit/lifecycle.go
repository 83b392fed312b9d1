package testkit

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Shutdown describes a server's graceful stop for CheckShutdown.
type Shutdown struct {
	Server   Server
	Stopping <-chan struct{} // closed once Shutdown has begun
	Delay    time.Duration   // the server's shutdown delay
	Readyz   string          // the path of its readiness probe
	// Held is a request to base (http://host:port) that the server's
	// service holds: it signals Entered when it has it, and answers (200)
	// once Release is called.
	Held    func(base string) *http.Request
	Entered <-chan struct{}
	Release func()
}

// CheckShutdown serves s.Server on a loopback port, holds a request in
// it, shuts it down and checks the sequence both servers promise: the
// readiness probe answers 503 at once while the listener still accepts;
// new connections are refused once the delay has passed, not before;
// Shutdown waits for the request in flight, which completes normally; and
// Shutdown and Serve then return without error.
func CheckShutdown(t *testing.T, s Shutdown) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- s.Server.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	held := make(chan error, 1)
	go func() {
		resp, err := client.Do(s.Held("http://" + addr))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = fmt.Errorf("%d %s", resp.StatusCode, b)
			}
		}
		held <- err
	}()
	<-s.Entered

	shutdownStart := time.Now()
	shut := make(chan error, 1)
	go func() { shut <- s.Server.Shutdown(context.Background()) }()
	<-s.Stopping
	status, body, err := get(client, "http://"+addr+s.Readyz)
	if err != nil || status != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("readyz right after Shutdown started: %d %s %v; want 503 while still accepting", status, body, err)
	}

	WaitRefused(t, addr, 5*time.Second)
	if waited := time.Since(shutdownStart); waited < s.Delay {
		t.Errorf("connections refused %v after Shutdown, before the %v delay", waited, s.Delay)
	}

	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
	default:
	}
	s.Release()
	if err := <-held; err != nil {
		t.Errorf("the request in flight: %v", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
