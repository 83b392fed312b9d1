package sql

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Read-your-writes without a shared cache: the writer reports, with every
// acknowledged write, the primary's WAL position after its commit
// (CurrentLSN); a reader that proxied the write passes it to ObserveWrite,
// and from then on routes its reads only to replicas that have replayed at
// least that far (else to the primary). This covers every client that reads
// through the reader it wrote through; writes made elsewhere are covered by
// lag routing (MaxLag) until the cache's generations make freshness global.

// CurrentLSN returns the primary's current WAL write position as a byte
// offset. Called after a commit returned, it is at or past that commit.
func CurrentLSN(ctx context.Context, primary *pgxpool.Pool) (int64, error) {
	var lsn int64
	err := primary.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0')::int8`).Scan(&lsn)
	return lsn, err
}

// ObserveWrite tells the reader that a write up to WAL position lsn was
// acknowledged to a client of this reader.
func (r *Reader) ObserveWrite(lsn int64) { r.rt.observeWrite(lsn) }
