package sql

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

var _ condcache.Checker = (*Reader)(nil)

// checkIOVsSQL reads what the consistency check needs of the IOVs attached
// to list $1, in the order of condcache_attach_idx.
const checkIOVsSQL = `SELECT i.id, i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end, i.comb_iov::text
	FROM "PayloadIOV" i
	WHERE i.payload_list_id = $1
	ORDER BY i.major_iov, i.minor_iov, i.id`

// Check implements condcache.Checker (docs/design.md "Consistency check")
// over the lists attached to GT globalTag, or to every GT when it is "",
// in the IOV mode of ReaderOptions.
//
// It reads one snapshot of an up-to-date backend, like every read but the
// lookup. The lists are few and read whole; their IOVs, up to tens of
// millions, are streamed in (list, major_iov, minor_iov, id) order with one
// statement per list, so that only one list's rows are held at a time, here
// and in the database: a single statement over a GT's lists may be planned
// with a sort of all their IOVs before the first row comes back.
func (r *Reader) Check(ctx context.Context, globalTag string) ([]condcache.Finding, error) {
	cond, args := `l.global_tag_id IS NOT NULL`, []any(nil)
	if globalTag != "" {
		cond, args = `g.name = $1`, []any{globalTag}
	}
	var out []condcache.Finding
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		out = nil // a failed attempt is repeated from scratch on another backend
		if globalTag != "" {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM "GlobalTag" WHERE name = $1)`, globalTag).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return condcache.Errorf(condcache.ENotFound, "GlobalTag %q not found.", globalTag)
			}
		}
		rows, err := tx.Query(ctx, `SELECT `+listCols+` FROM `+listFrom+` WHERE `+cond+` ORDER BY l.id`, args...)
		if err != nil {
			return err
		}
		lists, err := collect(rows, func(r pgx.Row) (condcache.PayloadList, error) { return scanList(r) })
		if err != nil {
			return err
		}
		out = condcache.CheckTypes(lists)
		mode := r.mode
		var buf []condcache.PayloadIOV
		for _, l := range lists {
			if buf, err = listIOVs(ctx, tx, l.ID, buf[:0]); err != nil {
				return err
			}
			out = append(out, condcache.CheckList(mode, l, buf)...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	condcache.SortFindings(out)
	if out == nil {
		out = []condcache.Finding{} // encodes as [], not null
	}
	return out, nil
}

// listIOVs appends to buf the IOVs attached to list, read by checkIOVsSQL.
func listIOVs(ctx context.Context, tx pgx.Tx, list int64, buf []condcache.PayloadIOV) ([]condcache.PayloadIOV, error) {
	rows, err := tx.Query(ctx, checkIOVsSQL, list)
	if err != nil {
		return buf, err
	}
	defer rows.Close()
	for rows.Next() {
		var v condcache.PayloadIOV
		if err := rows.Scan(&v.ID, &v.Start.Major, &v.Start.Minor, &v.End.Major, &v.End.Minor, &v.CombIOV); err != nil {
			return buf, err
		}
		buf = append(buf, v)
	}
	return buf, rows.Err()
}
