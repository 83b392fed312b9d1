package replica

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Freshness by WAL position. A read that must reflect every write
// acknowledged before it started, wherever it was made, asks the primary for
// its current WAL position (latestLSN, shared by concurrent reads) and runs
// on a replica that has replayed that far, else on the primary. Every read
// but the lookup does this; the lookup does it only when the cache cannot
// vouch for the GT's generation (docs/design.md "Freshness contract").

// currentLSN returns the primary's current WAL write position as a byte
// offset: at or past every commit that returned before the call.
func currentLSN(ctx context.Context, primary *pgxpool.Pool) (int64, error) {
	var lsn int64
	err := primary.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0')::int8`).Scan(&lsn)
	return lsn, err
}

// lsnResult is one fetch of a WAL position.
type lsnResult struct {
	lsn int64
	err error
}

// LatestLSN returns a primary WAL position at or after every commit that
// preceded the call, for DoAt; 0 when the primary cannot say (it is down:
// then no newer write can have been acknowledged since, and replicas are
// the best source left). Concurrent reads share a fetch that began after
// they arrived (coalesce.Group).
func (rt *Router) LatestLSN(ctx context.Context) int64 {
	if len(rt.replicas) == 0 {
		return 0 // the primary is the only backend: it has every commit
	}
	res, err := rt.latest.Do(ctx, struct{}{}, func() lsnResult {
		ctx, cancel := context.WithTimeout(context.Background(), rt.opts.CheckTimeout)
		defer cancel()
		lsn, err := currentLSN(ctx, rt.primary.pool)
		return lsnResult{lsn, err}
	})
	if err != nil || res.err != nil {
		return 0
	}
	return res.lsn
}
