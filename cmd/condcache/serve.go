package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// server is what the writer and reader servers have in common for serving.
type server interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// serve runs srv on addr until ctx is cancelled (SIGTERM, Ctrl-C), then
// shuts it down: readiness fails at once, the listener stays open for
// delay, then in-flight requests get drain to finish.
func serve(ctx context.Context, srv server, addr string, delay, drain time.Duration, logger *slog.Logger, what string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", what, addr, err)
	}
	logger.Info(what+" listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info(what+" shutting down", "delay", delay, "drain", drain)
	sctx, cancel := context.WithTimeout(context.Background(), delay+drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		logger.Warn(what+" drain time over: requests still running were cancelled", "drain", drain)
	}
	if err := <-errc; err != nil {
		return err
	}
	logger.Info(what + " stopped")
	return nil
}

// runUntilStopped runs fn in the background until the returned stop is
// called, and stop waits for fn to return.
func runUntilStopped(fn func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); fn(ctx) }()
	return func() { cancel(); <-done }
}
