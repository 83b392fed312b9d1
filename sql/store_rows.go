package sql

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// The write side returns rows with the shared column lists and scanners of
// scan.go; what is here only the store needs.

// storeJoinList joins a payload IOV row set aliased i (a CTE over INSERT,
// UPDATE or DELETE … RETURNING *) to its list, as iovCols expects.
const storeJoinList = ` LEFT JOIN "PayloadList" l ON l.id = i.payload_list_id`

// storeIOVBoundsCols is what the attach algorithm needs of an existing IOV:
// id, bounds, and the url its locked-conflict message quotes.
const storeIOVBoundsCols = `id, payload_url, major_iov, minor_iov, major_iov_end, minor_iov_end`

// scanStoreIOVBounds scans storeIOVBoundsCols, then any further columns
// into more.
func scanStoreIOVBounds(row pgx.Row, more ...any) (condcache.PayloadIOV, error) {
	var v condcache.PayloadIOV
	dst := append([]any{&v.ID, &v.PayloadURL, &v.Start.Major, &v.Start.Minor, &v.End.Major, &v.End.Minor}, more...)
	err := row.Scan(dst...)
	return v, err
}

// lockedGT is a GT row read under a lock, with its status name.
type lockedGT struct {
	id     int64
	name   string
	status string
}

// lockGTsShare locks GTs ids FOR SHARE, in id order, so that their status
// cannot change before commit, and returns them by id. Unknown ids are absent.
func lockGTsShare(ctx context.Context, tx pgx.Tx, ids ...int64) (map[int64]lockedGT, error) {
	return lockGTs(ctx, tx, "FOR SHARE OF g", ids)
}

// lockGTsUpdate locks GTs ids FOR NO KEY UPDATE (they are about to change,
// or to stop changing under a concurrent attach), in id order.
func lockGTsUpdate(ctx context.Context, tx pgx.Tx, ids ...int64) (map[int64]lockedGT, error) {
	return lockGTs(ctx, tx, "FOR NO KEY UPDATE OF g", ids)
}

// lockGTs locks GTs ids in id order, then reads them with their status, in
// two statements on purpose: in READ COMMITTED, a locking read that had to
// wait for a concurrent status change rechecks only the new GT row
// (EvalPlanQual), against the status row of its own older snapshot; the
// join no longer holds and the GT is left out, so callers saw no GT (the
// zero status "") and applied unlocked rules to a GT that had just been
// locked or frozen. The second statement has a new snapshot, which holds
// every committed change, and under the lock nothing can change it again.
func lockGTs(ctx context.Context, tx pgx.Tx, lock string, ids []int64) (map[int64]lockedGT, error) {
	if len(ids) == 0 {
		return map[int64]lockedGT{}, nil
	}
	if _, err := tx.Exec(ctx, `SELECT g.id FROM "GlobalTag" g WHERE g.id = ANY($1) ORDER BY g.id `+lock, ids); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT g.id, g.name, s.name FROM `+gtFrom+`
		WHERE g.id = ANY($1) ORDER BY g.id`, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]lockedGT, len(ids))
	var g lockedGT
	_, err = pgx.ForEachRow(rows, []any{&g.id, &g.name, &g.status}, func() error {
		out[g.id] = g
		return nil
	})
	return out, err
}
