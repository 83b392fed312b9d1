package sql

import (
	"context"

	"github.com/condcache/condcache"
)

// Internals the external tests (package sql_test) look at.

// Lookup is LookupAt's rows at the default freshness, for tests about
// answers rather than routing.
func (r *Reader) Lookup(ctx context.Context, globalTag string, at condcache.Point) ([]condcache.LookupRow, error) {
	res, err := r.LookupAt(ctx, globalTag, at, condcache.Freshness{})
	return res.Rows, err
}

// LargeWriteRows is the size of a write after which the Store refreshes
// the table's statistics.
const LargeWriteRows = largeWriteRows

// AfterLargeWrite tells the statistics refresher that a write added rows.
func (s *Store) AfterLargeWrite(ctx context.Context, rows int64) { s.afterLargeWrite(ctx, rows) }
