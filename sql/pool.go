package sql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/redact"
)

// ApplicationName is the application_name of condcache's sessions, so that
// DBAs can tell them apart from Django's in pg_stat_activity.
const ApplicationName = "condcache"

// defaultConnectTimeout bounds a connection attempt when the DSN does not
// set connect_timeout: without it a backend that drops packets would hold
// a read until the caller's deadline instead of letting it fail over.
const defaultConnectTimeout = 5 * time.Second

// PoolOptions configures a pool (ConnectPool).
type PoolOptions struct {
	// MaxConns caps the pool's connections (≤ 0: pgx's default).
	MaxConns int32
	// AcquireWait, when positive, bounds how long a caller waits for a
	// connection of a full pool: past it the call fails with ErrSaturated
	// instead of queueing until its own deadline. Zero: no bound but the
	// caller's context.
	AcquireWait time.Duration
}

// ErrSaturated is returned when a full pool had no connection for a caller
// within PoolOptions.AcquireWait: nothing was sent to the database, so the
// call may be retried. Its code is condcache.EOverloaded, which the HTTP
// layer answers as shed load (504 on the legacy paths, where the C++ client
// retries it). It is an application error, so the reader's router returns
// it at once instead of taking the backend for down.
var ErrSaturated = &condcache.Error{Code: condcache.EOverloaded, Detail: "The database is saturated. Try again later."}

// Connect returns a pool of at most maxConns connections (≤ 0: pgx's
// default) to dsn, without an acquire bound (ConnectPool).
func Connect(ctx context.Context, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	return ConnectPool(ctx, dsn, PoolOptions{MaxConns: maxConns})
}

// ConnectPool returns a pool to dsn. Sessions run in UTC, the time zone
// Nopayloaddb's data is written in (docs/compatibility.md "Timestamps"). Settings given in the
// DSN win over these defaults.
//
// The pool connects lazily: a backend that is down when the process starts
// does not stop it; the reader's monitor finds it and routes around it.
func ConnectPool(ctx context.Context, dsn string, o PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sql: parse DSN: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	cc := cfg.ConnConfig
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = defaultConnectTimeout
	}
	if o.AcquireWait > 0 {
		cc.Tracer = acquireBound{wait: o.AcquireWait}
	}
	setDefault(cc.RuntimeParams, "application_name", ApplicationName)
	setDefault(cc.RuntimeParams, "timezone", "UTC")
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sql: connect: %w", err)
	}
	return p, nil
}

// setDefault sets run-time parameter name unless the DSN set it, in any
// case (PostgreSQL parameter names are case-insensitive).
func setDefault(params map[string]string, name, value string) {
	for k := range params {
		if strings.EqualFold(k, name) {
			return
		}
	}
	params[name] = value
}

// acquireBound bounds the wait for a connection of a full pool. pgxpool has
// no acquire timeout, but it runs Acquire under the context an
// AcquireTracer returns: that context gets the bound, and reports it as
// ErrSaturated. The bound only applies when the pool is full with nothing
// idle, so opening a connection (slow over TLS, or to a remote site) never
// counts as saturation. (It is a QueryTracer too, with no-op methods,
// because that is the type of pgx.ConnConfig.Tracer.)
type acquireBound struct{ wait time.Duration }

func (b acquireBound) TraceAcquireStart(ctx context.Context, pool *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	s := pool.Stat()
	if s.TotalConns() < s.MaxConns() || s.IdleConns() > 0 {
		return ctx
	}
	bctx, cancel := context.WithTimeoutCause(ctx, b.wait, errAcquireWait)
	return &boundedAcquire{Context: bctx, cancel: cancel}
}

func (acquireBound) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	if b, ok := ctx.(*boundedAcquire); ok {
		b.cancel()
	}
}

func (acquireBound) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (acquireBound) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// errAcquireWait is the cancellation cause of a bounded acquire that ran
// out of time (as opposed to its caller's deadline).
var errAcquireWait = errors.New("sql: acquire wait exceeded")

// boundedAcquire is the context of one bounded acquire. Its Err is
// ErrSaturated when the bound, not the caller, ended it: pgxpool and puddle
// return ctx.Err() as the acquire's error, and this way the caller learns
// that the pool, not its own deadline, gave up.
type boundedAcquire struct {
	context.Context
	cancel context.CancelFunc
}

func (b *boundedAcquire) Err() error {
	err := b.Context.Err()
	if err != nil && context.Cause(b.Context) == errAcquireWait {
		return ErrSaturated
	}
	return err
}

// Backoff of Await: capped exponential, with jitter so that many processes
// started together do not reconnect in step.
const (
	awaitFirstDelay = 200 * time.Millisecond
	awaitMaxDelay   = 5 * time.Second
)

// Await runs op until it succeeds, fails for a reason waiting will not fix,
// or ctx ends, sleeping between attempts with capped exponential backoff.
// Each failure that looks temporary (the database is not reachable yet, is
// starting up, or is out of connections) is logged as "waiting for the
// <role> at <host:port>", never with the DSN's password. It is for start-up,
// when a process needs its database before it can do anything useful
// (the writer's migrations).
func Await(ctx context.Context, role, dsn string, log *slog.Logger, op func(context.Context) error) error {
	msg := "waiting for the " + role + " at " + dsnAddr(dsn)
	delay := awaitFirstDelay
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil {
			if attempt > 1 {
				log.Info(role+" reachable", "addr", dsnAddr(dsn), "attempts", attempt)
			}
			return nil
		}
		if !temporary(err) || ctx.Err() != nil {
			return err
		}
		sleep := delay/2 + rand.N(delay/2+1) // [delay/2, delay]
		log.Warn(msg, "attempt", attempt, "retry_in", sleep.Round(time.Millisecond), "err", redactPassword(err.Error(), dsn))
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (last error: %w)", msg, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, awaitMaxDelay)
	}
}

// temporary reports whether err may go away by waiting: the server cannot
// be reached (refused, timed out, unresolvable yet) or says it is starting,
// shutting down or out of connections. Refused credentials, a missing
// database or a failing migration are configuration errors: waiting would
// hide them.
func temporary(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", // shutting down, crash shutdown, cannot connect now (starting up)
			"53300": // too many connections
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08") // connection exception
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// dsnAddr returns the host:port dsn points at, for logs.
func dsnAddr(dsn string) string {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// redactPassword removes dsn's password, and any credential, from s:
// connection errors can quote the configuration they failed with
// (internal/redact, the one redaction of the project).
func redactPassword(s, dsn string) string {
	var password string
	if cfg, err := pgconn.ParseConfig(dsn); err == nil {
		password = cfg.Password
	}
	return redact.Values(password)(s)
}
