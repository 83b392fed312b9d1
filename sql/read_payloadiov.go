package sql

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

func scanIOVRow(row pgx.Row) (condcache.PayloadIOV, error) { return scanIOV(row) }

// PayloadIOVs returns every IOV, attached or not, by id.
func (r *Reader) PayloadIOVs(ctx context.Context) ([]condcache.PayloadIOV, error) {
	return queryAll(ctx, r, scanIOVRow, `SELECT `+iovCols+` FROM `+iovFrom+` ORDER BY i.id`)
}

// PayloadIOVByID returns IOV id; ENotFound if none.
func (r *Reader) PayloadIOVByID(ctx context.Context, id int64) (condcache.PayloadIOV, error) {
	return queryOne(ctx, r, scanIOVRow, `SELECT `+iovCols+` FROM `+iovFrom+` WHERE i.id = $1`, id)
}
