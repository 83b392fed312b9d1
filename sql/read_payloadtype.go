package sql

import (
	"context"

	"github.com/condcache/condcache"
)

// PayloadTypes returns every payload type, by id.
func (r *Reader) PayloadTypes(ctx context.Context) ([]condcache.PayloadType, error) {
	return queryAll(ctx, r, scanType, `SELECT `+typeCols+` FROM "PayloadType" t ORDER BY t.id`)
}
