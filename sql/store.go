package sql

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
)

// Store is the write side of condcache: it implements condcache.WriteService
// on the PostgreSQL primary. Every method runs in one transaction, so on any
// error nothing is written.
//
// Concurrent writers are serialised with row locks taken in one global order,
// which keeps deadlocks out of the common paths:
//
//  1. "PayloadList" rows, ascending id (FOR UPDATE to change a list or what is
//     attached to it, FOR SHARE to add rows to it in bulk);
//  2. "GlobalTag" rows, ascending id (FOR SHARE to rely on a status, FOR NO
//     KEY UPDATE to change the GT, FOR UPDATE to delete it);
//  3. "PayloadIOV" rows.
//
// Every change to the IOVs attached to a list (attach into it, move out of
// it, delete from it) holds that list's row lock, so an attach plan computed
// from the rows read under the lock stays valid until commit. A transaction
// that still loses a race (deadlock, serialisation failure, or a row that
// moved between an unlocked read and its lock) is retried from the start.
type Store struct {
	db   *pgxpool.Pool
	mode condcache.IOVMode
	// inv, when set, is told about every transaction's GT changes: marked
	// before commit (a failure refuses the write), published after.
	inv         condcache.Invalidator
	undelivered func(error)
	stats       *statsRefresher
}

var _ condcache.WriteService = (*Store)(nil)

// NewStore returns a Store writing through primary, applying the attach and
// range rules of mode.
func NewStore(primary *pgxpool.Pool, mode condcache.IOVMode) *Store {
	return &Store{db: primary, mode: mode, stats: &statsRefresher{db: primary}}
}

// SetInvalidator makes every write tell inv about the GTs it changes
// (docs/design.md "Freshness contract"): before commit, Mark (if that fails the
// write is refused and nothing is written); after commit and before the
// method returns, Publish. An invalidation that cannot be published stays in
// the outbox, and undelivered is called so that a relay retries it.
func (s *Store) SetInvalidator(inv condcache.Invalidator, undelivered func(error)) {
	s.inv, s.undelivered = inv, undelivered
}

// maxTxAttempts bounds how often a transaction that lost a race is re-run.
const maxTxAttempts = 5

// errRetry asks inTx to run the transaction again: a row changed between an
// unlocked read and the lock that was meant to protect it.
var errRetry = errors.New("sql: row changed concurrently, retry")

// inTx runs fn in one read-committed transaction, retrying races, and maps
// PostgreSQL errors to *condcache.Error where they are the caller's fault.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.inTxOpts(ctx, pgx.TxOptions{}, fn)
}

// errDryRun rolls back a dry run's transaction once its report is filled.
var errDryRun = errors.New("sql: dry run, rolled back")

// inTxOpts runs fn in one transaction of the given options. The transaction
// first names its writer for the audit trail (docs/design.md "Audit
// trail"). For a dry run (condcache.DryRunFrom), it fills the report after
// fn and rolls back: nothing is marked, committed or published.
func (s *Store) inTxOpts(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	dry := condcache.DryRunFrom(ctx)
	meta, _ := condcache.WriteMetaFrom(ctx)
	var err error
	var invs []condcache.Invalidation
	for attempt := 1; ; attempt++ {
		invs = nil
		err = pgx.BeginTxFunc(ctx, s.db, opts, func(tx pgx.Tx) error {
			if err := nameWriter(ctx, tx, meta); err != nil {
				return err
			}
			if err := fn(tx); err != nil {
				return err
			}
			if dry != nil {
				if err := fillDryRun(ctx, tx, dry); err != nil {
					return err
				}
				return errDryRun
			}
			if s.inv == nil {
				return nil
			}
			var err error
			invs, err = s.markBeforeCommit(ctx, tx)
			return err
		})
		if errors.Is(err, errDryRun) {
			return nil
		}
		if err != nil && s.inv != nil {
			s.unmarkAfterRollback(ctx, invs) // marked, then the commit failed
		}
		if err == nil || attempt == maxTxAttempts || !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	if err == nil && s.inv != nil {
		faultAfterCommit() // a no-op outside the fault suite's build
		s.publishAfterCommit(ctx, invs)
	}
	return storeError(err)
}

// afterLargeWrite starts a statistics refresh after a committed write of
// rows rows; a dry run wrote nothing.
func (s *Store) afterLargeWrite(ctx context.Context, rows int64) {
	if condcache.DryRunFrom(ctx) == nil {
		s.stats.after(rows)
	}
}

// WaitStatistics returns when the statistics refreshes that large clones
// and bulk loads started in the background have ended, so a load test
// measures the state the writer leaves.
func (s *Store) WaitStatistics() { s.stats.wait() }
