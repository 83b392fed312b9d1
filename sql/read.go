package sql

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/sql/replica"
)

// ReaderOptions tunes a Reader; zero values take the defaults of
// replica.Options.
type ReaderOptions struct {
	// CheckInterval, CheckTimeout, AttemptTimeout, MaxLag and Logger tune
	// the routing of reads among the backends: see replica.Options.
	CheckInterval  time.Duration
	CheckTimeout   time.Duration
	AttemptTimeout time.Duration
	MaxLag         time.Duration
	Logger         *slog.Logger
	// IOVMode is the CDB_IOV_MODE the consistency check judges IOV ends
	// by (Check); "" is continuous.
	IOVMode condcache.IOVMode
	// GTIndexBytes bounds the memory of the GT indexes (docs/design.md
	// "The GT index"); 0 = none, every lookup runs lookupSQL.
	GTIndexBytes int64
}

// Reader answers every read (condcache.ReadService) from PostgreSQL: from
// replicas picked by health, lag and load, failing over to other replicas
// and then to the primary when a backend cannot be reached. Every read is
// one statement or one read-only snapshot, so retrying it elsewhere is safe.
type Reader struct {
	rt   *replica.Router
	mode condcache.IOVMode
	idx  *gtIndexes // nil without GT indexes
}

var _ condcache.ReadService = (*Reader)(nil)

// NewReader returns a Reader over the primary and any number of replicas
// (pools of the same database). Until Start, every read goes to the primary.
// The pools stay the caller's to close, after Close.
func NewReader(primary *pgxpool.Pool, replicas []*pgxpool.Pool, o ReaderOptions) *Reader {
	rt := replica.New(primary, replicas, replica.Options{CheckInterval: o.CheckInterval, CheckTimeout: o.CheckTimeout,
		AttemptTimeout: o.AttemptTimeout, MaxLag: o.MaxLag, Logger: o.Logger})
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Reader{rt: rt, mode: o.IOVMode, idx: newGTIndexes(o.GTIndexBytes, logger.Warn)}
}

// Start checks every backend once, so that reads go to replicas from now
// on, and keeps checking them in the background until Close or until ctx
// is done.
func (r *Reader) Start(ctx context.Context) { r.rt.Start(ctx) }

// Close stops the background checks. Reads still work afterwards, on the
// primary only once the replicas' last checks age beyond MaxLag.
func (r *Reader) Close() { r.rt.Close() }

// Backends reports the state of every backend, the primary first.
func (r *Reader) Backends() []replica.BackendStatus { return r.rt.Backends() }

// Ready reports whether a backend can answer: by the last checks, or, when
// they found none, by asking (one may just have come back).
func (r *Reader) Ready(ctx context.Context) error {
	if r.rt.AnyHealthy() {
		return nil
	}
	return r.rt.Do(ctx, func(ctx context.Context, db *pgxpool.Pool) error {
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
	return r.rt.DoAt(ctx, r.rt.LatestLSN(ctx), func(ctx context.Context, db *pgxpool.Pool) error {
		return pgx.BeginTxFunc(ctx, db, snapshotOptions, fn)
	})
}

// errNotFound is the reference's 404 detail for a detail view.
func errNotFound() error { return condcache.Errorf(condcache.ENotFound, "Not found.") }

// queryAll runs one statement on a routed backend that holds every write
// committed before the call, and scans every row.
func queryAll[T any](ctx context.Context, r *Reader, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	var out []T
	err := r.rt.DoAt(ctx, r.rt.LatestLSN(ctx), func(ctx context.Context, db *pgxpool.Pool) error {
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
	err := r.rt.DoAt(ctx, r.rt.LatestLSN(ctx), func(ctx context.Context, db *pgxpool.Pool) error {
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
