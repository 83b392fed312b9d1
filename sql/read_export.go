package sql

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

var _ condcache.ExportSource = (*Reader)(nil)

// The reads of an export (docs/design.md "Export and offline serving"),
// all in one snapshot: the GT with its generation, every status, the types
// of its lists, its attached lists, then their IOVs in the lists' order.

const exportGTSQL = `SELECT ` + gtCols + `,
	coalesce((SELECT generation FROM condcache_generation WHERE global_tag = g.name), 0)
FROM ` + gtFrom + ` WHERE g.name = $1`

const exportTypesSQL = `SELECT ` + typeCols + ` FROM "PayloadType" t
WHERE t.id IN (SELECT payload_type_id FROM "PayloadList" WHERE global_tag_id = $1) ORDER BY t.id`

const exportListsSQL = `SELECT ` + listCols + ` FROM ` + listFrom + `
WHERE l.global_tag_id = $1 ORDER BY t.name, l.id`

// exportWholeSQL: every IOV of the GT's lists, in the lists' order.
const exportWholeSQL = `SELECT ` + iovCols + ` FROM "PayloadIOV" i
JOIN "PayloadList" l ON l.id = i.payload_list_id
JOIN "PayloadType" t ON t.id = l.payload_type_id
WHERE l.global_tag_id = $1 ORDER BY t.name, l.id, i.id`

const exportWholeCountSQL = `SELECT count(*) FROM "PayloadIOV" i
JOIN "PayloadList" l ON l.id = i.payload_list_id WHERE l.global_tag_id = $1`

// exportRangeFrom is, per list of GT $1, the IOV answering at $2 and every
// IOV starting in ($2, $3] (points as comb_iov text), as rangeSQL reads
// them.
const exportRangeFrom = `"PayloadList" l
JOIN "PayloadType" t ON t.id = l.payload_type_id
CROSS JOIN LATERAL (
	(SELECT i.id FROM "PayloadIOV" i
	WHERE i.payload_list_id = l.id AND i.comb_iov <= $2::text::numeric
	ORDER BY i.comb_iov DESC NULLS LAST, i.id DESC
	LIMIT 1)
	UNION ALL
	(SELECT i.id FROM "PayloadIOV" i
	WHERE i.payload_list_id = l.id AND i.comb_iov > $2::text::numeric AND i.comb_iov <= $3::text::numeric)
) r`

const exportRangeSQL = `SELECT ` + iovCols + ` FROM ` + exportRangeFrom + `
JOIN "PayloadIOV" i ON i.id = r.id
WHERE l.global_tag_id = $1 ORDER BY t.name, l.id, i.id`

const exportRangeCountSQL = `SELECT count(*) FROM ` + exportRangeFrom + ` WHERE l.global_tag_id = $1`

// exportNextSQL is, per list of GT $1, the first IOV start after $2 (as
// the lookup's window finds it: lowest comb_iov, then lowest id).
const exportNextSQL = `SELECT l.id, n.major_iov, n.minor_iov, n.comb_iov::text
FROM "PayloadList" l
CROSS JOIN LATERAL (
	SELECT n.major_iov, n.minor_iov, n.comb_iov FROM "PayloadIOV" n
	WHERE n.payload_list_id = l.id AND n.comb_iov > $2::text::numeric
	ORDER BY n.comb_iov ASC, n.id ASC
	LIMIT 1
) n
WHERE l.global_tag_id = $1`

// ExportGlobalTag implements condcache.ExportSource: one read-only
// snapshot of a backend that holds every write committed before the call.
// The IOVs of one list are held at a time.
func (r *Reader) ExportGlobalTag(ctx context.Context, name string, rng condcache.ExportRange, limit int64, sink condcache.ExportSink) error {
	return r.inSnapshot(ctx, func(tx pgx.Tx) error {
		var h condcache.ExportHeader
		g, err := scanGT(tx.QueryRow(ctx, exportGTSQL, name), &h.Generation)
		if errors.Is(err, pgx.ErrNoRows) {
			return condcache.Errorf(condcache.ENotFound, "GlobalTag %s not found.", name)
		}
		if err != nil {
			return err
		}
		h.GlobalTag = g
		if h.Statuses, err = collectTx(ctx, tx, scanStatus, `SELECT `+statusCols+` FROM "GlobalTagStatus" s ORDER BY s.id`); err != nil {
			return err
		}
		if h.Types, err = collectTx(ctx, tx, scanType, exportTypesSQL, g.ID); err != nil {
			return err
		}
		if h.Lists, err = collectTx(ctx, tx, func(row pgx.Row) (condcache.PayloadList, error) { return scanList(row) }, exportListsSQL, g.ID); err != nil {
			return err
		}
		iovSQL, countSQL, args := exportWholeSQL, exportWholeCountSQL, []any{g.ID}
		if !rng.Whole {
			iovSQL, countSQL, args = exportRangeSQL, exportRangeCountSQL, []any{g.ID, rng.From.CombIOV(), rng.To.CombIOV()}
		}
		if err := tx.QueryRow(ctx, countSQL, args...).Scan(&h.IOVs); err != nil {
			return err
		}
		if limit > 0 && h.IOVs > limit {
			return condcache.Errorf(condcache.EInvalid,
				"GlobalTag %s holds %d IOVs in the range, more than %d: export a narrower range (from, to).", name, h.IOVs, limit)
		}
		next := map[int64]*condcache.IOVStart{}
		if !rng.Whole {
			rows, err := tx.Query(ctx, exportNextSQL, g.ID, rng.To.CombIOV())
			if err != nil {
				return err
			}
			var id int64
			var s condcache.IOVStart
			if _, err := pgx.ForEachRow(rows, []any{&id, &s.Start.Major, &s.Start.Minor, &s.CombIOV}, func() error {
				v := s
				next[id] = &v
				return nil
			}); err != nil {
				return err
			}
		}
		if err := sink.Begin(h); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, iovSQL, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		// Rows come in the lists' order: each list takes the next rows
		// that carry its id.
		lists := h.Lists
		var cur []condcache.PayloadIOV
		flush := func(upTo int64) error {
			for len(lists) > 0 && lists[0].ID != upTo {
				if err := sink.List(lists[0], cur, next[lists[0].ID]); err != nil {
					return err
				}
				cur, lists = nil, lists[1:]
			}
			return nil
		}
		for rows.Next() {
			v, err := scanIOV(rows)
			if err != nil {
				return err
			}
			if len(lists) == 0 || lists[0].ID != *v.PayloadListID {
				if err := flush(*v.PayloadListID); err != nil {
					return err
				}
				if len(lists) == 0 {
					return errors.New("sql: export: IOVs out of the lists' order")
				}
			}
			cur = append(cur, v)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return flush(-1)
	})
}

// collectTx runs one statement in tx and scans every row.
func collectTx[T any](ctx context.Context, tx pgx.Tx, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scan)
}
