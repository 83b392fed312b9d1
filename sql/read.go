package sql

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/coalesce"
)

// Defaults of ReaderOptions.
const (
	DefaultCheckInterval = 500 * time.Millisecond
	DefaultMaxLag        = time.Second
	DefaultCheckTimeout  = time.Second
	// DefaultAttemptTimeout: a lookup takes milliseconds even at 5M rows
	// (loadtest scaling). Listings with counts of a much larger database
	// may take longer; such a read is then repeated on the next backend,
	// so raise -attempt-timeout there (not measured at production size).
	DefaultAttemptTimeout = 2 * time.Second
)

// ReaderOptions tunes a Reader's routing; zero values take the defaults.
type ReaderOptions struct {
	// CheckInterval is how often the health and lag of every backend are
	// checked (DefaultCheckInterval).
	CheckInterval time.Duration
	// CheckTimeout bounds one check of one backend (DefaultCheckTimeout).
	CheckTimeout time.Duration
	// AttemptTimeout bounds one read on one replica
	// (DefaultAttemptTimeout). A replica that does not answer in time (hung,
	// swapping, its disk stalled) is taken out of rotation until a health
	// check passes, and the read goes on to the next backend, so a stalled
	// replica costs the reads caught on it this long rather than the
	// request's whole deadline. The primary, the last resort, gets the
	// request's own deadline.
	AttemptTimeout time.Duration
	// MaxLag: a replica that has not been caught up with the primary for
	// longer than this is skipped (DefaultMaxLag). Freshness does not rest
	// on it: reads that must see a write check the replica's generation or
	// WAL position (LookupAt, latestLSN).
	MaxLag time.Duration
	// Logger receives backend up/down transitions (slog.Default()).
	Logger *slog.Logger
	// IOVMode is the CDB_IOV_MODE the consistency check judges IOV ends
	// by (Check); "" is continuous.
	IOVMode condcache.IOVMode
}

// Reader answers every read (condcache.ReadService) from PostgreSQL: from
// replicas picked by health, lag and load, failing over to other replicas
// and then to the primary when a backend cannot be reached. Every read is
// one statement or one read-only snapshot, so retrying it elsewhere is safe.
type Reader struct {
	rt *router
	// latest shares fetches of the primary's WAL position (latestLSN).
	latest coalesce.Group[struct{}, lsnResult]
}

var _ condcache.ReadService = (*Reader)(nil)

// NewReader returns a Reader over the primary and any number of replicas
// (pools of the same database). Until Start, every read goes to the primary.
// The pools stay the caller's to close, after Close.
func NewReader(primary *pgxpool.Pool, replicas []*pgxpool.Pool, o ReaderOptions) *Reader {
	return &Reader{rt: newRouter(primary, replicas, o)}
}

// Start checks every backend once, so that reads go to replicas from now
// on, and keeps checking them in the background until Close or until ctx
// is done.
func (r *Reader) Start(ctx context.Context) { r.rt.start(ctx) }

// Close stops the background checks. Reads still work afterwards, on the
// primary only once the replicas' last checks age beyond MaxLag.
func (r *Reader) Close() { r.rt.close() }

// Backends reports the state of every backend, the primary first.
func (r *Reader) Backends() []BackendStatus { return r.rt.statuses() }

// Ready reports whether a backend can answer: by the last checks, or, when
// they found none, by asking (one may just have come back).
func (r *Reader) Ready(ctx context.Context) error {
	if r.rt.anyHealthy() {
		return nil
	}
	return r.rt.do(ctx, func(ctx context.Context, db *pgxpool.Pool) error {
		_, err := db.Exec(ctx, "SELECT 1")
		return err
	})
}

// snapshotOptions: reads made of several statements see one snapshot, so a
// GT and its lists and IOVs are consistent with each other. Read-only
// repeatable read runs on hot standbys too.
var snapshotOptions = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// inSnapshot runs fn in a read-only snapshot on a routed backend that holds
// every write committed before the call (the reference reads all of these
// from the primary, and clients rely on it: docs/compatibility.md "Configuration names", §7 item 15).
func (r *Reader) inSnapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	return r.rt.doAt(ctx, r.latestLSN(ctx), func(ctx context.Context, db *pgxpool.Pool) error {
		return pgx.BeginTxFunc(ctx, db, snapshotOptions, fn)
	})
}

// errNotFound is the reference's 404 detail for a detail view.
func errNotFound() error { return condcache.Errorf(condcache.ENotFound, "Not found.") }

// queryAll runs one statement on a routed backend that holds every write
// committed before the call, and scans every row.
func queryAll[T any](ctx context.Context, r *Reader, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	var out []T
	err := r.rt.doAt(ctx, r.latestLSN(ctx), func(ctx context.Context, db *pgxpool.Pool) error {
		rows, err := db.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		res, err := collect(rows, scan)
		if err != nil {
			return err
		}
		out = res
		return nil
	})
	return out, err
}

// queryOne runs one statement on a routed backend that holds every write
// committed before the call, and scans its one row;
// no row is ENotFound.
func queryOne[T any](ctx context.Context, r *Reader, scan func(pgx.Row) (T, error), sql string, args ...any) (T, error) {
	var out T
	err := r.rt.doAt(ctx, r.latestLSN(ctx), func(ctx context.Context, db *pgxpool.Pool) error {
		v, err := scan(db.QueryRow(ctx, sql, args...))
		if err != nil {
			return err
		}
		out = v
		return nil
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return out, errNotFound()
	}
	return out, err
}
