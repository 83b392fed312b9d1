package sql

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
)

// Access accounting (docs/design.md "Access accounting").

// UsageStore adds readers' counts to condcache_usage on the primary.
type UsageStore struct{ db *pgxpool.Pool }

// NewUsageStore returns a UsageStore writing through db (the primary's
// pool; its user needs INSERT and UPDATE on condcache_usage).
func NewUsageStore(db *pgxpool.Pool) *UsageStore { return &UsageStore{db: db} }

var _ condcache.UsageRecorder = (*UsageStore)(nil)

// RecordUsage implements condcache.UsageRecorder in one statement: counts
// of GTs that do not exist (a lookup of a mistyped name) are dropped, the
// others added to their rows.
func (s *UsageStore) RecordUsage(ctx context.Context, counts []condcache.UsageCount) error {
	if len(counts) == 0 {
		return nil
	}
	gts, clients := make([]string, len(counts)), make([]string, len(counts))
	reads := make([]int64, len(counts))
	first, last := make([]time.Time, len(counts)), make([]time.Time, len(counts))
	for i, c := range counts {
		gts[i], clients[i], reads[i], first[i], last[i] = c.GlobalTag, c.Client, c.Reads, c.First, c.Last
	}
	_, err := s.db.Exec(ctx, `INSERT INTO condcache_usage AS u (global_tag, client, reads, first_read, last_read)
		SELECT c.gt, c.client, c.reads, c.first, c.last
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::timestamptz[]) AS c (gt, client, reads, first, last)
		WHERE EXISTS (SELECT 1 FROM "GlobalTag" g WHERE g.name = c.gt)
		ORDER BY c.gt, c.client -- one lock order for every reader: no deadlocks
		ON CONFLICT (global_tag, client) DO UPDATE SET reads = u.reads + EXCLUDED.reads,
			first_read = least(u.first_read, EXCLUDED.first_read), last_read = greatest(u.last_read, EXCLUDED.last_read)`,
		gts, clients, reads, first, last)
	return err
}

var _ condcache.UsageReader = (*Reader)(nil)

// Usage implements condcache.UsageReader: a page, most recently read
// first.
func (r *Reader) Usage(ctx context.Context, q condcache.UsageQuery) (condcache.Page[condcache.UsageCount], error) {
	page := condcache.Page[condcache.UsageCount]{Page: q.Page, PageSize: q.PageSize}
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		const where = ` FROM condcache_usage u
			WHERE ($1 = '' OR u.global_tag = $1) AND ($2 = '' OR u.client = $2)
			  AND ($3::timestamptz IS NULL OR u.last_read >= $3)`
		args := []any{q.GlobalTag, q.Client, nullTime(q.Since)}
		if err := tx.QueryRow(ctx, `SELECT count(*)`+where, args...).Scan(&page.Count); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT u.global_tag, u.client, u.reads, u.first_read, u.last_read`+where+`
			ORDER BY u.last_read DESC, u.global_tag, u.client LIMIT $4 OFFSET $5`,
			append(args, q.PageSize, int64(q.Page-1)*int64(q.PageSize))...)
		if err != nil {
			return err
		}
		page.Results, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (condcache.UsageCount, error) {
			var c condcache.UsageCount
			err := row.Scan(&c.GlobalTag, &c.Client, &c.Reads, &c.First, &c.Last)
			return c, err
		})
		return err
	})
	page.TotalPages = max(1, (page.Count+int64(q.PageSize)-1)/int64(q.PageSize))
	return page, err
}

// UnusedSince implements condcache.UsageReader.
func (r *Reader) UnusedSince(ctx context.Context, since time.Time) ([]condcache.UnusedGT, error) {
	return queryAll(ctx, r, func(row pgx.Row) (condcache.UnusedGT, error) {
		var u condcache.UnusedGT
		err := row.Scan(&u.GlobalTag, &u.Status, &u.Created, &u.LastRead, &u.Reads)
		return u, err
	}, `SELECT g.name, s.name, g.created, max(u.last_read), coalesce(sum(u.reads), 0)::bigint
		FROM "GlobalTag" g JOIN "GlobalTagStatus" s ON s.id = g.status_id
		LEFT JOIN condcache_usage u ON u.global_tag = g.name
		GROUP BY g.name, s.name, g.created
		HAVING max(u.last_read) IS NULL OR max(u.last_read) < $1
		ORDER BY max(u.last_read) ASC NULLS FIRST, g.name`, since)
}
