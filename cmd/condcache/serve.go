package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/condcache/condcache/internal/admission"
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

// serveFlags are the load-shedding and lifecycle settings both servers
// take.
type serveFlags struct {
	maxInFlight    *int
	wait           *time.Duration
	poolWait       *time.Duration
	retryAfterMin  *time.Duration
	retryAfterMax  *time.Duration
	clientRate     *float64
	clientBurst    *int
	trustForwarded *bool
	shutdownDelay  *time.Duration
	drain          *time.Duration
}

// Defaults of serveFlags that differ from the packages' zero-value
// defaults, which suit tests.
const (
	// defaultPoolWait equals the reader's backend check timeout, so a
	// check on a saturated pool fails no sooner than it did without it.
	defaultPoolWait = time.Second
	// defaultShutdownDelay leaves load balancers polling /readyz every
	// second or so time to take this process out before it refuses
	// connections.
	defaultShutdownDelay = 2 * time.Second
)

func addServeFlags(fs *flag.FlagSet, role string) serveFlags {
	env := "CONDCACHE_" + strings.ToUpper(role) + "_MAX_IN_FLIGHT"
	return serveFlags{
		maxInFlight: fs.Int("max-in-flight", envInt(env, 0),
			"requests worked on at once; more wait up to -admission-wait, then are shed; 0 = 4 × the database connections, -1 = no cap (env "+env+")"),
		wait: fs.Duration("admission-wait", envDuration("CONDCACHE_ADMISSION_WAIT", admission.DefaultWait),
			"how long a request waits for an in-flight slot before it is shed (env CONDCACHE_ADMISSION_WAIT)"),
		poolWait: fs.Duration("pool-wait", envDuration("CONDCACHE_POOL_WAIT", defaultPoolWait),
			"how long a request waits for a connection of a full database pool before it is shed; 0 = until its own timeout (env CONDCACHE_POOL_WAIT)"),
		retryAfterMin: fs.Duration("retry-after-min", envDuration("CONDCACHE_RETRY_AFTER_MIN", admission.DefaultRetryAfterMin),
			"shortest Retry-After of a shed request (env CONDCACHE_RETRY_AFTER_MIN)"),
		retryAfterMax: fs.Duration("retry-after-max", envDuration("CONDCACHE_RETRY_AFTER_MAX", admission.DefaultRetryAfterMax),
			"longest Retry-After of a shed request; each gets a random whole number of seconds in between (env CONDCACHE_RETRY_AFTER_MAX)"),
		clientRate: fs.Float64("client-rate", envFloat("CONDCACHE_CLIENT_RATE", 0),
			"requests per second allowed to each client (X-Condcache-Client header, else address); 0 = no limit (env CONDCACHE_CLIENT_RATE)"),
		clientBurst: fs.Int("client-burst", envInt("CONDCACHE_CLIENT_BURST", 0),
			"burst allowed above -client-rate; 0 = the rate rounded up (env CONDCACHE_CLIENT_BURST)"),
		trustForwarded: fs.Bool("trust-forwarded", envOr("CONDCACHE_TRUST_FORWARDED", "false") == "true",
			"attribute requests without a client header to the last X-Forwarded-For address (behind a proxy that sets it) (env CONDCACHE_TRUST_FORWARDED)"),
		shutdownDelay: fs.Duration("shutdown-delay", envDuration("CONDCACHE_SHUTDOWN_DELAY", defaultShutdownDelay),
			"on SIGTERM, how long /readyz fails while requests are still accepted, before the listener closes (env CONDCACHE_SHUTDOWN_DELAY)"),
		drain: fs.Duration("drain", envDuration("CONDCACHE_DRAIN", 10*time.Second),
			"how long shutdown then waits for in-flight requests (env CONDCACHE_DRAIN)"),
	}
}

// admission returns the admission settings of a server with conns
// database connections behind it.
func (f serveFlags) admission(conns int) admission.Config {
	maxInFlight := *f.maxInFlight
	if maxInFlight == 0 {
		maxInFlight = admission.MaxInFlightFor(conns)
	}
	return admission.Config{
		MaxInFlight:    maxInFlight,
		Wait:           *f.wait,
		RetryAfterMin:  *f.retryAfterMin,
		RetryAfterMax:  *f.retryAfterMax,
		ClientRate:     *f.clientRate,
		ClientBurst:    *f.clientBurst,
		TrustForwarded: *f.trustForwarded,
	}
}

func envFloat(name string, def float64) float64 {
	if v, ok := os.LookupEnv(name); ok {
		if x, err := strconv.ParseFloat(v, 64); err == nil {
			return x
		}
		fmt.Fprintf(os.Stderr, "ignoring %s=%q: not a number\n", name, v)
	}
	return def
}
