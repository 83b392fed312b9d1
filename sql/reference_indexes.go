package sql

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Nopayloaddb's two single-purpose indexes on "PayloadIOV" that condcache's
// own indexes make redundant (docs/operations.md "Reference indexes"):
// covering_idx (payload_list_id, comb_iov DESC NULLS LAST) is the leading
// part of condcache_lookup_idx, and the foreign key's index on
// payload_list_id is the leading column of condcache_attach_idx (and of
// the lookup index). Every IOV written updates each of them; dropping them
// is an explicit, opt-in step for sites whose database no longer needs to
// match Django's migration state, undone by RestoreReferenceIndexes.
var referenceIndexes = []struct{ name, create string }{
	{"covering_idx", `CREATE INDEX CONCURRENTLY IF NOT EXISTS covering_idx ON "PayloadIOV" USING btree (payload_list_id, comb_iov DESC NULLS LAST)`},
	{"PayloadIOV_payload_list_id_37321d74", `CREATE INDEX CONCURRENTLY IF NOT EXISTS "PayloadIOV_payload_list_id_37321d74" ON "PayloadIOV" USING btree (payload_list_id)`},
}

// replacements are the condcache indexes that serve what the reference
// indexes served; they must be valid before those are dropped.
var replacements = []string{"condcache_lookup_idx", "condcache_attach_idx"}

// DropReferenceIndexes drops covering_idx and the foreign key's index on
// "PayloadIOV"."payload_list_id" (CONCURRENTLY: writers are not blocked),
// after checking that condcache's lookup and attach indexes are valid. It
// is idempotent. Nopayloaddb still runs on such a database (its lookup
// uses condcache_lookup_idx's leading columns), but Django's migrations
// would no longer find the indexes they created.
func DropReferenceIndexes(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("reference indexes: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, name := range replacements {
		var valid bool
		err := conn.QueryRow(ctx, `SELECT coalesce((SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)), false)`, name).Scan(&valid)
		if err != nil {
			return fmt.Errorf("reference indexes: %w", err)
		}
		if !valid {
			return fmt.Errorf("reference indexes: %s is missing or invalid: run condcache migrate first", name)
		}
	}
	for _, ix := range referenceIndexes {
		if _, err := conn.Exec(ctx, `DROP INDEX CONCURRENTLY IF EXISTS `+pgx.Identifier{ix.name}.Sanitize()); err != nil {
			return fmt.Errorf("reference indexes: dropping %s: %w", ix.name, err)
		}
	}
	return nil
}

// RestoreReferenceIndexes builds the indexes DropReferenceIndexes dropped
// again, CONCURRENTLY, replacing one left invalid by an interrupted build.
func RestoreReferenceIndexes(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("reference indexes: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, ix := range referenceIndexes {
		var invalid bool
		if err := conn.QueryRow(ctx, `SELECT coalesce((SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)), false)`,
			pgx.Identifier{ix.name}.Sanitize()).Scan(&invalid); err != nil {
			return fmt.Errorf("reference indexes: %w", err)
		}
		if invalid {
			if _, err := conn.Exec(ctx, `DROP INDEX CONCURRENTLY IF EXISTS `+pgx.Identifier{ix.name}.Sanitize()); err != nil {
				return fmt.Errorf("reference indexes: %w", err)
			}
		}
		if _, err := conn.Exec(ctx, ix.create); err != nil {
			return fmt.Errorf("reference indexes: building %s: %w", ix.name, err)
		}
	}
	return nil
}
