package sql

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// listIOVCountExpr counts the IOVs attached to list l.
// It reads the maintained count (migration 012, docs/design.md "Maintained
// counts"): counting the rows cost a scan of the list's IOVs per list shown.
const listIOVCountExpr = `coalesce((SELECT cc.iovs FROM condcache_list_count cc WHERE cc.payload_list_id = l.id), 0)`

func scanListSummary(row pgx.Row) (condcache.PayloadListSummary, error) {
	var s condcache.PayloadListSummary
	l, err := scanList(row, &s.IOVCount)
	s.PayloadList = l
	return s, err
}

// PayloadLists returns every payload list, detached ones included, each
// with its attached IOVs, all by id; both levels come from one snapshot.
func (r *Reader) PayloadLists(ctx context.Context) ([]condcache.PayloadListFull, error) {
	var out []condcache.PayloadListFull
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		var (
			lists []condcache.PayloadList
			iovs  []condcache.PayloadIOV
		)
		b := &pgx.Batch{}
		b.Queue(`SELECT ` + listCols + ` FROM ` + listFrom + ` ORDER BY l.id`).Query(func(rows pgx.Rows) (err error) {
			lists, err = collect(rows, func(r pgx.Row) (condcache.PayloadList, error) { return scanList(r) })
			return err
		})
		b.Queue(`SELECT ` + iovCols + ` FROM "PayloadIOV" i JOIN "PayloadList" l ON l.id = i.payload_list_id
			ORDER BY l.id, i.id`).Query(func(rows pgx.Rows) (err error) {
			iovs, err = collect(rows, func(r pgx.Row) (condcache.PayloadIOV, error) { return scanIOV(r) })
			return err
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		out, _ = nestLists(lists, iovs)
		return nil
	})
	return out, err
}

// PayloadListByID returns list id with its GT and type ids (and names);
// ENotFound if none.
func (r *Reader) PayloadListByID(ctx context.Context, id int64) (condcache.PayloadList, error) {
	return queryOne(ctx, r, func(row pgx.Row) (condcache.PayloadList, error) { return scanList(row) },
		`SELECT `+listCols+` FROM `+listFrom+` WHERE l.id = $1`, id)
}

// PayloadListByName returns list name with the number of IOVs attached to
// it; ENotFound if none.
func (r *Reader) PayloadListByName(ctx context.Context, name string) (condcache.PayloadListSummary, error) {
	return queryOne(ctx, r, scanListSummary,
		`SELECT `+listCols+`, `+listIOVCountExpr+` FROM `+listFrom+` WHERE l.name = $1`, name)
}
