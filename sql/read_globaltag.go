package sql

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// Counts of a GT summary (docs/compatibility.md "JSON shapes" GTSummary): lists attached to GT g and
// IOVs attached to those lists. The reference counts DISTINCT over a join;
// a correlated count of lists gives the same number without the join
// fan-out, and the IOVs are the sum of the lists' maintained counts
// (docs/design.md "Maintained counts"): a few hundred rows per GT instead
// of every IOV.
const (
	gtListCountExpr = `(SELECT count(*) FROM "PayloadList" cl WHERE cl.global_tag_id = g.id)`
	gtIOVCountExpr  = `(SELECT coalesce(sum(cc.iovs), 0)::bigint FROM "PayloadList" cl
		JOIN condcache_list_count cc ON cc.payload_list_id = cl.id WHERE cl.global_tag_id = g.id)`
	gtSummaryCols = gtCols + `, ` + gtListCountExpr + `, ` + gtIOVCountExpr
)

func scanGTSummary(row pgx.Row) (condcache.GlobalTagSummary, error) {
	var s condcache.GlobalTagSummary
	g, err := scanGT(row, &s.PayloadListCount, &s.PayloadIOVCount)
	s.GlobalTag = g
	return s, err
}

// GlobalTagStatuses returns every status, by id.
func (r *Reader) GlobalTagStatuses(ctx context.Context) ([]condcache.GlobalTagStatus, error) {
	return queryAll(ctx, r, scanStatus, `SELECT `+statusCols+` FROM "GlobalTagStatus" s ORDER BY s.id`)
}

// GlobalTags returns every GT with its attached lists and their attached
// IOVs, all by id.
func (r *Reader) GlobalTags(ctx context.Context) ([]condcache.GlobalTagFull, error) {
	return r.fullGlobalTags(ctx, `TRUE`)
}

// GlobalTagByID returns GT id with its lists and IOVs; ENotFound if none.
func (r *Reader) GlobalTagByID(ctx context.Context, id int64) (condcache.GlobalTagFull, error) {
	return oneFull(r.fullGlobalTags(ctx, `g.id = $1`, id))
}

// GlobalTagByName returns GT name with its lists and IOVs; ENotFound if none.
func (r *Reader) GlobalTagByName(ctx context.Context, name string) (condcache.GlobalTagFull, error) {
	return oneFull(r.fullGlobalTags(ctx, `g.name = $1`, name))
}

func oneFull(gts []condcache.GlobalTagFull, err error) (condcache.GlobalTagFull, error) {
	if err != nil {
		return condcache.GlobalTagFull{}, err
	}
	if len(gts) == 0 {
		return condcache.GlobalTagFull{}, errNotFound()
	}
	return gts[0], nil
}

// fullGlobalTags returns the GTs matching cond (an expression over g with
// args) nested with their attached lists and those lists' attached IOVs.
// The three levels are read in one snapshot, each ordered by (GT id, list
// id, IOV id), and zipped together.
func (r *Reader) fullGlobalTags(ctx context.Context, cond string, args ...any) ([]condcache.GlobalTagFull, error) {
	gtSQL := `SELECT ` + gtCols + ` FROM ` + gtFrom + ` WHERE ` + cond + ` ORDER BY g.id`
	listSQL := `SELECT ` + listCols + ` FROM "PayloadList" l
		JOIN "GlobalTag" g ON g.id = l.global_tag_id
		JOIN "PayloadType" t ON t.id = l.payload_type_id
		WHERE ` + cond + ` ORDER BY g.id, l.id`
	iovSQL := `SELECT ` + iovCols + ` FROM "PayloadIOV" i
		JOIN "PayloadList" l ON l.id = i.payload_list_id
		JOIN "GlobalTag" g ON g.id = l.global_tag_id
		WHERE ` + cond + ` ORDER BY g.id, l.id, i.id`
	var out []condcache.GlobalTagFull
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		var (
			gts   []condcache.GlobalTag
			lists []condcache.PayloadList
			iovs  []condcache.PayloadIOV
		)
		b := &pgx.Batch{}
		b.Queue(gtSQL, args...).Query(func(rows pgx.Rows) (err error) {
			gts, err = collect(rows, func(r pgx.Row) (condcache.GlobalTag, error) { return scanGT(r) })
			return err
		})
		b.Queue(listSQL, args...).Query(func(rows pgx.Rows) (err error) {
			lists, err = collect(rows, func(r pgx.Row) (condcache.PayloadList, error) { return scanList(r) })
			return err
		})
		b.Queue(iovSQL, args...).Query(func(rows pgx.Rows) (err error) {
			iovs, err = collect(rows, func(r pgx.Row) (condcache.PayloadIOV, error) { return scanIOV(r) })
			return err
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		out = nestGlobalTags(gts, lists, iovs)
		return nil
	})
	return out, err
}

// nestGlobalTags zips GTs, their lists and the lists' IOVs, read in one
// snapshot in the same order (GT id, list id, IOV id): each level's rows
// are the next rows of the level below that carry the parent's id.
func nestGlobalTags(gts []condcache.GlobalTag, lists []condcache.PayloadList, iovs []condcache.PayloadIOV) []condcache.GlobalTagFull {
	out := make([]condcache.GlobalTagFull, len(gts))
	for k, g := range gts {
		n := 0
		for n < len(lists) && *lists[n].GlobalTagID == g.ID {
			n++
		}
		out[k] = condcache.GlobalTagFull{GlobalTag: g}
		out[k].PayloadLists, iovs = nestLists(lists[:n], iovs)
		lists = lists[n:]
	}
	return out
}

// nestLists gives each list its IOVs: the next IOVs of iovs that carry its
// id (iovs are ordered like lists, then by id). It returns the IOVs left.
func nestLists(lists []condcache.PayloadList, iovs []condcache.PayloadIOV) ([]condcache.PayloadListFull, []condcache.PayloadIOV) {
	out := make([]condcache.PayloadListFull, len(lists))
	for k, l := range lists {
		n := 0
		for n < len(iovs) && *iovs[n].PayloadListID == l.ID {
			n++
		}
		out[k] = condcache.PayloadListFull{PayloadList: l, PayloadIOVs: iovs[:n:n]}
		iovs = iovs[n:]
	}
	return out, iovs
}

// GlobalTagSummaries returns every GT with its counts, by id.
func (r *Reader) GlobalTagSummaries(ctx context.Context) ([]condcache.GlobalTagSummary, error) {
	return queryAll(ctx, r, scanGTSummary, `SELECT `+gtSummaryCols+` FROM `+gtFrom+` ORDER BY g.id`)
}

// GlobalTagSummaryByName returns GT name with its counts; ENotFound if none.
func (r *Reader) GlobalTagSummaryByName(ctx context.Context, name string) (condcache.GlobalTagSummary, error) {
	return queryOne(ctx, r, scanGTSummary, `SELECT `+gtSummaryCols+` FROM `+gtFrom+` WHERE g.name = $1`, name)
}

// GlobalTagPayloadLists returns the (type, list) pairs attached to GT name,
// by type name; if two lists of one type are attached (only possible
// behind the API's back), the highest list id wins (docs/compatibility.md "Payload lists of a GT"). An
// unknown GT has none.
func (r *Reader) GlobalTagPayloadLists(ctx context.Context, name string) ([]condcache.TypeList, error) {
	return queryAll(ctx, r, func(row pgx.Row) (condcache.TypeList, error) {
		var tl condcache.TypeList
		err := row.Scan(&tl.PayloadType, &tl.PayloadList)
		return tl, err
	}, `SELECT DISTINCT ON (t.name) t.name, l.name
		FROM "GlobalTag" g
		JOIN "PayloadList" l ON l.global_tag_id = g.id
		JOIN "PayloadType" t ON t.id = l.payload_type_id
		WHERE g.name = $1
		ORDER BY t.name, l.id DESC`, name)
}
