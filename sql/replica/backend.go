package replica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
)

// BackendStatus is what the reader knows about one PostgreSQL backend, for
// metrics and readiness.
type BackendStatus struct {
	Name    string // "primary", "replica1", …
	Addr    string // host:port
	Primary bool
	// Healthy: the last check or read reached it (and, for a replica, found
	// it replaying WAL as a standby).
	Healthy bool
	// Usable: reads are routed to it now. The primary is always usable as
	// the last resort; a replica is usable when healthy and no more than
	// MaxLag behind.
	Usable bool
	// Lag is how long ago a replica was last known to hold every write the
	// primary had committed (0 for the primary; -1 if never).
	Lag time.Duration
	// LagBytes is how far a replica's replayed WAL was behind the primary's
	// at the last check (0 for the primary; -1 if unknown).
	LagBytes int64
	InFlight int64  // reads running on it now
	Reads    uint64 // reads it answered
	Failures uint64 // reads that failed on it and were retried elsewhere
	// Behind counts reads it answered from a snapshot older than the
	// caller needed (a generation check), so they were retried elsewhere.
	Behind uint64
	Error  string // why it is unhealthy, "" when healthy
}

// backend is one pool with the health and lag the router routes by. The
// fields read on every request are atomics; the rest is for reporting.
type backend struct {
	name    string
	addr    string
	primary bool
	pool    *pgxpool.Pool

	healthy atomic.Bool
	// standby: a replica found in recovery. A replica that was promoted no
	// longer follows the primary, so its answers may diverge: not usable.
	standby atomic.Bool
	// caughtUp is the wall-clock time (unix ns) up to which the replica is
	// known to hold every write the primary committed; 0 = never.
	caughtUp atomic.Int64
	lagBytes atomic.Int64
	// replayed is the replica's replayed WAL position (bytes) at its last
	// check; -1 = unknown. Reads that need the latest state compare it
	// with the primary's position (latestLSN).
	replayed atomic.Int64
	inFlight atomic.Int64
	reads    atomic.Uint64
	failures atomic.Uint64
	behind   atomic.Uint64
	// checking: a check of this backend is running.
	checking atomic.Bool

	mu      sync.Mutex
	lastErr string
}

func newBackend(name string, pool *pgxpool.Pool, primary bool) *backend {
	cc := pool.Config().ConnConfig
	b := &backend{name: name, addr: net.JoinHostPort(cc.Host, fmt.Sprint(cc.Port)), primary: primary, pool: pool}
	// The primary is assumed up until proven otherwise, since it is the
	// last resort anyway; a replica is not used before a check has seen it
	// caught up.
	b.healthy.Store(primary)
	b.lagBytes.Store(-1)
	b.replayed.Store(-1)
	return b
}

// usable reports whether reads may go to b at time now (unix ns).
func (b *backend) usable(now int64, maxLag time.Duration) bool {
	if b.primary {
		return true
	}
	if !b.healthy.Load() || !b.standby.Load() {
		return false
	}
	c := b.caughtUp.Load()
	return c != 0 && now-c <= int64(maxLag)
}

// holds reports whether b has every write up to WAL position lsn: always for
// the primary, for a replica when its last check saw it replayed that far.
func (b *backend) holds(lsn int64) bool {
	return b.primary || lsn <= 0 || b.replayed.Load() >= lsn
}

// fetchReplayed asks the replica for its replay position now, waiting at
// most timeout, and raises replayed to it (replay only moves forward; a
// check that started earlier may still store an older value, which only
// makes the router more careful).
func (b *backend) fetchReplayed(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var lsn int64
	if err := b.pool.QueryRow(ctx, `SELECT coalesce((pg_last_wal_replay_lsn() - '0/0')::int8, -1)`).Scan(&lsn); err != nil {
		return
	}
	for {
		old := b.replayed.Load()
		if lsn <= old || b.replayed.CompareAndSwap(old, lsn) {
			return
		}
	}
}

// setHealthy records the outcome of a check or read; it reports whether the
// health changed, for logging.
func (b *backend) setHealthy(ok bool, reason string) (changed bool) {
	b.mu.Lock()
	b.lastErr = reason
	b.mu.Unlock()
	return b.healthy.Swap(ok) != ok
}

// advanceCaughtUp moves caughtUp forward to t (never back).
func (b *backend) advanceCaughtUp(t time.Time) {
	v := t.UnixNano()
	for {
		old := b.caughtUp.Load()
		if v <= old || b.caughtUp.CompareAndSwap(old, v) {
			return
		}
	}
}

func (b *backend) status(now int64, maxLag time.Duration) BackendStatus {
	s := BackendStatus{
		Name:     b.name,
		Addr:     b.addr,
		Primary:  b.primary,
		Healthy:  b.healthy.Load(),
		Usable:   b.usable(now, maxLag),
		InFlight: b.inFlight.Load(),
		Reads:    b.reads.Load(),
		Failures: b.failures.Load(),
		Behind:   b.behind.Load(),
	}
	if !b.primary {
		s.Lag = -1
		if c := b.caughtUp.Load(); c != 0 {
			s.Lag = time.Duration(now - c)
		}
		s.LagBytes = b.lagBytes.Load()
	}
	if !s.Healthy {
		b.mu.Lock()
		s.Error = b.lastErr
		b.mu.Unlock()
	}
	return s
}

// failure classifies an error a read got from a backend.
type failure int

const (
	// failAnswer: the error is the answer (an application error, bad input,
	// a bug, or the caller gave up); another backend would say the same.
	failAnswer failure = iota
	// failQuery: this backend could not answer this time (a recovery
	// conflict on a standby, a statement timeout, resource exhaustion);
	// try another, but the backend stays in rotation.
	failQuery
	// failBackend: the connection to the backend failed or it is shutting
	// down; try another and take it out of rotation until a check passes.
	failBackend
)

// IsBackendFailure reports whether err means the backend itself failed
// rather than answered: the connection could not be made or broke, or the
// server is shutting down, starting up or out of connections. The writer's
// store turns such a failure of the primary into condcache.EUnavailable.
func IsBackendFailure(err error) bool {
	return classify(context.Background(), err) == failBackend
}

// classify tells what a failed read means for routing. Reads are
// idempotent, so anything that is not the answer itself is retried on
// another backend, even when the statement may have reached the server.
func classify(ctx context.Context, err error) failure {
	if ctx.Err() != nil {
		return failAnswer
	}
	var appErr *condcache.Error
	if errors.As(err, &appErr) {
		return failAnswer
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return failBackend // includes a server refusing logins while it starts or stops
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", // admin/crash shutdown, cannot connect now
			"53300": // too many connections
			return failBackend
		case "57014", // statement timeout (the caller's context is still live)
			"40001", "40P01": // recovery conflict on a standby
			return failQuery
		}
		switch pgErr.Code[:2] {
		case "08": // connection exception
			return failBackend
		case "53", "58", "3D": // resources, system error, database missing here
			return failQuery
		}
		return failAnswer
	}
	var netErr net.Error
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, context.DeadlineExceeded) {
		return failBackend
	}
	// Anything else (a scan error, a closed pool) is not the backend's fault.
	return failAnswer
}

// errUnavailable is returned when no backend could answer; it wraps the last
// backend error for the log while the caller sees EUnavailable.
func errUnavailable(last error) error {
	return fmt.Errorf("%w: %w", condcache.Errorf(condcache.EUnavailable, "No database backend is available."), last)
}
