package testkit

import (
	"context"
	"net"
	"testing"
	"time"
)

// Server is an in-process server a test runs (reader.Server,
// writer.Server).
type Server interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// Serve serves srv on ln in the background. When the test ends srv is shut
// down, given 5 s to drain, and the test fails if Shutdown or Serve
// reported an error.
func Serve(t testing.TB, srv Server, ln net.Listener) {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}
