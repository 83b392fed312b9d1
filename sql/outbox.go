package sql

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
)

// The invalidation outbox (migration 004): triggers add one row per GT and
// bump; whoever publishes a row to the cache deletes it. Both the writer
// (for its own transactions, before answering) and the relay (for anything
// else, and for what the writer could not deliver) drain it.

// InvalidateChannel is the NOTIFY channel the triggers signal on.
const InvalidateChannel = "condcache_invalidate"

// maxOutboxBatch bounds one read of the outbox.
const maxOutboxBatch = 10_000

// pendingSQL reads the newest queued generation per GT, and every queued
// row of the all scope (migration 005) one by one: those come from
// transactions that take no common lock, so they may commit out of
// generation order, and each must be delivered itself (a later one does not
// stand for an earlier one).
const pendingSQL = `SELECT global_tag, max(generation) FROM (
	SELECT global_tag, generation FROM condcache_outbox ORDER BY id LIMIT $1) o
GROUP BY global_tag, CASE WHEN global_tag = '' THEN generation END
ORDER BY global_tag, 2`

// ownPendingSQL is pendingSQL as a writing transaction sees it before
// commit: its own rows first (so a backlog cannot push them out of the
// batch), and of the all scope's rows only its own (the others belong to
// transactions that marked and publish them themselves, or to the relay).
const ownPendingSQL = `SELECT global_tag, max(generation) FROM (
	SELECT global_tag, generation FROM condcache_outbox
	WHERE global_tag <> '' OR xmin = pg_current_xact_id()::xid
	ORDER BY (xmin = pg_current_xact_id()::xid) DESC, id LIMIT $1) o
GROUP BY global_tag, CASE WHEN global_tag = '' THEN generation END
ORDER BY global_tag, 2`

func scanInvalidations(rows pgx.Rows) ([]condcache.Invalidation, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (condcache.Invalidation, error) {
		var inv condcache.Invalidation
		err := r.Scan(&inv.GlobalTag, &inv.Generation)
		return inv, err
	})
}

// Outbox reads and clears the invalidation outbox on the primary.
type Outbox struct{ db *pgxpool.Pool }

// NewOutbox returns an Outbox on the primary.
func NewOutbox(primary *pgxpool.Pool) *Outbox { return &Outbox{db: primary} }

// Pending returns the newest queued generation of each GT with queued
// invalidations (up to a batch).
func (o *Outbox) Pending(ctx context.Context) ([]condcache.Invalidation, error) {
	faultHoldRelay(ctx) // a no-op outside the fault suite's build
	rows, err := o.db.Query(ctx, pendingSQL, maxOutboxBatch)
	if err != nil {
		return nil, err
	}
	return scanInvalidations(rows)
}

// Generations returns the current generation of every GT name the database
// has one for, deleted GTs included (a cache that lost its state is
// rebuilt from these).
func (o *Outbox) Generations(ctx context.Context) ([]condcache.Invalidation, error) {
	faultHoldRelay(ctx) // a no-op outside the fault suite's build
	rows, err := o.db.Query(ctx, `SELECT global_tag, generation FROM condcache_generation ORDER BY global_tag`)
	if err != nil {
		return nil, err
	}
	return scanInvalidations(rows)
}

// Delivered deletes the queued rows up to each published generation.
func (o *Outbox) Delivered(ctx context.Context, invs []condcache.Invalidation) error {
	return delivered(ctx, o.db, invs)
}

func delivered(ctx context.Context, db *pgxpool.Pool, invs []condcache.Invalidation) error {
	if len(invs) == 0 {
		return nil
	}
	names := make([]string, len(invs))
	gens := make([]int64, len(invs))
	for i, inv := range invs {
		names[i], gens[i] = inv.GlobalTag, inv.Generation
	}
	// A GT's generations commit in order (its generation row is locked),
	// so publishing one covers the GT's lower ones; an all-scope row covers
	// only itself.
	_, err := db.Exec(ctx, `DELETE FROM condcache_outbox o
USING unnest($1::text[], $2::int8[]) AS p(global_tag, generation)
WHERE o.global_tag = p.global_tag
  AND (o.generation = p.generation OR (p.global_tag <> '' AND o.generation < p.generation))`, names, gens)
	return err
}

// Listen calls wake whenever a transaction that queued invalidations
// commits, until ctx is done or the connection fails (the error says which).
func (o *Outbox) Listen(ctx context.Context, wake func()) error {
	conn, err := o.db.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection will be in LISTEN mode: take it out of the pool.
	pgc := conn.Hijack()
	defer pgc.Close(context.Background())
	if _, err := pgc.Exec(ctx, "LISTEN "+InvalidateChannel); err != nil {
		return err
	}
	wake() // anything queued before LISTEN
	for {
		if _, err := pgc.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}

// errCacheUnavailable refuses a write whose GTs the cache could not be told
// about before commit (freshness point 3).
func errCacheUnavailable(err error) error {
	return condcache.Errorf(condcache.EUnavailable,
		"the write was refused before commit because the cache (Redis) could not be told about it: %v; nothing was written, retry later", err)
}

// markBeforeCommit tells the invalidator, just before commit, about the GTs
// in the outbox as this transaction sees it (its own changes, plus any
// committed ones not delivered yet: marking those too is harmless), and
// returns them for publishing after.
func (s *Store) markBeforeCommit(ctx context.Context, tx pgx.Tx) ([]condcache.Invalidation, error) {
	rows, err := tx.Query(ctx, ownPendingSQL, maxOutboxBatch)
	if err != nil {
		return nil, err
	}
	invs, err := scanInvalidations(rows)
	if err != nil || len(invs) == 0 {
		return nil, err
	}
	if err := s.inv.Mark(ctx, invs); err != nil {
		return nil, errCacheUnavailable(err)
	}
	return invs, nil
}

// unmarkAfterRollback takes back what markBeforeCommit marked for a
// transaction that did not commit, where that is safe (see
// condcache.Invalidator.Unmark), so that its marks do not keep answers
// uncacheable until they expire.
func (s *Store) unmarkAfterRollback(ctx context.Context, invs []condcache.Invalidation) {
	if len(invs) == 0 {
		return
	}
	if err := s.inv.Unmark(ctx, invs); err != nil {
		s.undelivered(fmt.Errorf("unmark after a failed commit: %w", err))
	}
}

// publishAfterCommit publishes a committed transaction's invalidations and
// clears them from the outbox. When the cache cannot take them now they stay
// queued for the relay, and the GTs stay marked (uncacheable) meanwhile.
func (s *Store) publishAfterCommit(ctx context.Context, invs []condcache.Invalidation) {
	if len(invs) == 0 {
		return
	}
	if err := s.inv.Publish(ctx, invs); err != nil {
		s.undelivered(fmt.Errorf("publish after commit: %w", err))
		return
	}
	if err := delivered(ctx, s.db, invs); err != nil && !errors.Is(err, context.Canceled) {
		s.undelivered(fmt.Errorf("clear outbox: %w", err))
	}
}
