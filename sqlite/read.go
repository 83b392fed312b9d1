package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/condcache/condcache"
)

// The compatible reads, as the sql package writes them (its read_*.go):
// the same selections, orders and nesting, over the file's rows. The file
// never changes, so a read made of several statements needs no snapshot.

// Column lists, as sql's scan.go.
const (
	gtCols = `g.id, g.name, g.author, g.description, g.created, g.updated,
		s.id, s.name, s.description, s.created`
	gtFrom   = `"GlobalTag" g JOIN "GlobalTagStatus" s ON s.id = g.status_id`
	listCols = `l.id, l.name, l.description, l.global_tag_id, g.name,
		l.payload_type_id, t.name, l.created, l.updated`
	listFrom = `"PayloadList" l
		JOIN "PayloadType" t ON t.id = l.payload_type_id
		LEFT JOIN "GlobalTag" g ON g.id = l.global_tag_id`
	iovCols = `i.id, i.payload_url, i.checksum, i.size,
		i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end, i.comb_iov,
		i.extra, i.payload_list_id, l.name, i.created, i.updated`
	iovFrom    = `"PayloadIOV" i LEFT JOIN "PayloadList" l ON l.id = i.payload_list_id`
	statusCols = `s.id, s.name, s.description, s.created`
	typeCols   = `t.id, t.name, t.description, t.created`

	gtListCountExpr = `(SELECT count(*) FROM "PayloadList" cl WHERE cl.global_tag_id = g.id)`
	gtIOVCountExpr  = `(SELECT count(*) FROM "PayloadList" cl
		JOIN "PayloadIOV" ci ON ci.payload_list_id = cl.id WHERE cl.global_tag_id = g.id)`
	gtSummaryCols    = gtCols + `, ` + gtListCountExpr + `, ` + gtIOVCountExpr
	listIOVCountExpr = `(SELECT count(*) FROM "PayloadIOV" ci WHERE ci.payload_list_id = l.id)`
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// ts scans a stored timestamp (timeLayout) into a time.
type ts struct{ t *time.Time }

func (d ts) Scan(v any) error {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("sqlite: timestamp of type %T", v)
	}
	t, err := parseTime(s)
	*d.t = t
	return err
}

func scanGT(row scanner, more ...any) (condcache.GlobalTag, error) {
	var g condcache.GlobalTag
	err := row.Scan(append([]any{&g.ID, &g.Name, &g.Author, &g.Description, ts{&g.Created}, ts{&g.Updated},
		&g.Status.ID, &g.Status.Name, &g.Status.Description, ts{&g.Status.Created}}, more...)...)
	return g, err
}

func scanGTSummary(row scanner) (condcache.GlobalTagSummary, error) {
	var s condcache.GlobalTagSummary
	g, err := scanGT(row, &s.PayloadListCount, &s.PayloadIOVCount)
	s.GlobalTag = g
	return s, err
}

func scanList(row scanner, more ...any) (condcache.PayloadList, error) {
	var l condcache.PayloadList
	err := row.Scan(append([]any{&l.ID, &l.Name, &l.Description, &l.GlobalTagID, &l.GlobalTag,
		&l.PayloadTypeID, &l.PayloadType, ts{&l.Created}, ts{&l.Updated}}, more...)...)
	return l, err
}

func scanListOnly(row scanner) (condcache.PayloadList, error) { return scanList(row) }

func scanListSummary(row scanner) (condcache.PayloadListSummary, error) {
	var s condcache.PayloadListSummary
	l, err := scanList(row, &s.IOVCount)
	s.PayloadList = l
	return s, err
}

func scanIOVWith(row scanner, more ...any) (condcache.PayloadIOV, error) {
	var v condcache.PayloadIOV
	err := row.Scan(append([]any{&v.ID, &v.PayloadURL, &v.Checksum, &v.Size,
		&v.Start.Major, &v.Start.Minor, &v.End.Major, &v.End.Minor, &v.CombIOV,
		&v.Extra, &v.PayloadListID, &v.PayloadList, ts{&v.Created}, ts{&v.Updated}}, more...)...)
	return v, err
}

func scanIOV(row scanner) (condcache.PayloadIOV, error) { return scanIOVWith(row) }

func scanIOVBrowse(row scanner) (condcache.PayloadIOVBrowse, error) {
	var v condcache.PayloadIOVBrowse
	iov, err := scanIOVWith(row, &v.GlobalTag, &v.PayloadType)
	v.PayloadIOV = iov
	return v, err
}

func scanStatus(row scanner) (condcache.GlobalTagStatus, error) {
	var s condcache.GlobalTagStatus
	err := row.Scan(&s.ID, &s.Name, &s.Description, ts{&s.Created})
	return s, err
}

func scanType(row scanner) (condcache.PayloadType, error) {
	var t condcache.PayloadType
	err := row.Scan(&t.ID, &t.Name, &t.Description, ts{&t.Created})
	return t, err
}

// collect returns a function that reads every row of a query with scan
// and closes it; the result is never nil, so it encodes as [].
func collect[T any](scan func(scanner) (T, error)) func(*sql.Rows, error) ([]T, error) {
	return func(rows *sql.Rows, err error) ([]T, error) {
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := []T{}
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
}

func queryAll[T any](ctx context.Context, r *Reader, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	return collect(scan)(r.db.QueryContext(ctx, q, args...))
}

// queryOne scans the one row of q; none is DRF's "Not found.".
func queryOne[T any](ctx context.Context, r *Reader, scan func(scanner) (T, error), q string, args ...any) (T, error) {
	v, err := scan(r.db.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, errNotFound()
	}
	return v, err
}

func errNotFound() error { return condcache.Errorf(condcache.ENotFound, "Not found.") }

// GlobalTagStatuses returns every status, by id.
func (r *Reader) GlobalTagStatuses(ctx context.Context) ([]condcache.GlobalTagStatus, error) {
	return queryAll(ctx, r, scanStatus, `SELECT `+statusCols+` FROM "GlobalTagStatus" s ORDER BY s.id`)
}

// GlobalTags returns the GT with its lists and their IOVs.
func (r *Reader) GlobalTags(ctx context.Context) ([]condcache.GlobalTagFull, error) {
	return r.fullGlobalTags(ctx, `1`)
}

// GlobalTagByID returns GT id with its lists and IOVs; ENotFound if none.
func (r *Reader) GlobalTagByID(ctx context.Context, id int64) (condcache.GlobalTagFull, error) {
	return oneFull(r.fullGlobalTags(ctx, `g.id = ?`, id))
}

// GlobalTagByName returns GT name with its lists and IOVs; ENotFound if none.
func (r *Reader) GlobalTagByName(ctx context.Context, name string) (condcache.GlobalTagFull, error) {
	return oneFull(r.fullGlobalTags(ctx, `g.name = ?`, name))
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

// fullGlobalTags nests the GTs matching cond with their lists and the
// lists' IOVs, each level ordered by (GT id, list id, IOV id).
func (r *Reader) fullGlobalTags(ctx context.Context, cond string, args ...any) ([]condcache.GlobalTagFull, error) {
	gts, err := queryAll(ctx, r, func(row scanner) (condcache.GlobalTag, error) { return scanGT(row) },
		`SELECT `+gtCols+` FROM `+gtFrom+` WHERE `+cond+` ORDER BY g.id`, args...)
	if err != nil {
		return nil, err
	}
	lists, err := queryAll(ctx, r, scanListOnly, `SELECT `+listCols+` FROM "PayloadList" l
		JOIN "GlobalTag" g ON g.id = l.global_tag_id
		JOIN "PayloadType" t ON t.id = l.payload_type_id
		WHERE `+cond+` ORDER BY g.id, l.id`, args...)
	if err != nil {
		return nil, err
	}
	iovs, err := queryAll(ctx, r, scanIOV, `SELECT `+iovCols+` FROM "PayloadIOV" i
		JOIN "PayloadList" l ON l.id = i.payload_list_id
		JOIN "GlobalTag" g ON g.id = l.global_tag_id
		WHERE `+cond+` ORDER BY g.id, l.id, i.id`, args...)
	if err != nil {
		return nil, err
	}
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
	return out, nil
}

// nestLists gives each list the next IOVs that carry its id.
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

// GlobalTagSummaries returns the GT with its counts.
func (r *Reader) GlobalTagSummaries(ctx context.Context) ([]condcache.GlobalTagSummary, error) {
	return queryAll(ctx, r, scanGTSummary, `SELECT `+gtSummaryCols+` FROM `+gtFrom+` ORDER BY g.id`)
}

// GlobalTagSummaryByName returns GT name with its counts; ENotFound if none.
func (r *Reader) GlobalTagSummaryByName(ctx context.Context, name string) (condcache.GlobalTagSummary, error) {
	return queryOne(ctx, r, scanGTSummary, `SELECT `+gtSummaryCols+` FROM `+gtFrom+` WHERE g.name = ?`, name)
}

// GlobalTagPayloadLists returns the (type, list) pairs attached to GT name,
// by type name, the highest list id winning within a type.
func (r *Reader) GlobalTagPayloadLists(ctx context.Context, name string) ([]condcache.TypeList, error) {
	return queryAll(ctx, r, func(row scanner) (condcache.TypeList, error) {
		var tl condcache.TypeList
		err := row.Scan(&tl.PayloadType, &tl.PayloadList)
		return tl, err
	}, `SELECT t.name, l.name
		FROM "GlobalTag" g
		JOIN "PayloadList" l ON l.global_tag_id = g.id
		JOIN "PayloadType" t ON t.id = l.payload_type_id
		WHERE g.name = ? AND l.id = (SELECT max(m.id) FROM "PayloadList" m
			JOIN "PayloadType" mt ON mt.id = m.payload_type_id WHERE m.global_tag_id = g.id AND mt.name = t.name)
		ORDER BY t.name`, name)
}

// PayloadTypes returns the file's payload types, by id.
func (r *Reader) PayloadTypes(ctx context.Context) ([]condcache.PayloadType, error) {
	return queryAll(ctx, r, scanType, `SELECT `+typeCols+` FROM "PayloadType" t ORDER BY t.id`)
}

// PayloadLists returns the file's lists with their IOVs, by id.
func (r *Reader) PayloadLists(ctx context.Context) ([]condcache.PayloadListFull, error) {
	lists, err := queryAll(ctx, r, scanListOnly, `SELECT `+listCols+` FROM `+listFrom+` ORDER BY l.id`)
	if err != nil {
		return nil, err
	}
	iovs, err := queryAll(ctx, r, scanIOV, `SELECT `+iovCols+` FROM "PayloadIOV" i JOIN "PayloadList" l ON l.id = i.payload_list_id
		ORDER BY l.id, i.id`)
	if err != nil {
		return nil, err
	}
	out, _ := nestLists(lists, iovs)
	return out, nil
}

// PayloadListByID returns list id; ENotFound if none.
func (r *Reader) PayloadListByID(ctx context.Context, id int64) (condcache.PayloadList, error) {
	return queryOne(ctx, r, scanListOnly, `SELECT `+listCols+` FROM `+listFrom+` WHERE l.id = ?`, id)
}

// PayloadListByName returns list name with its IOV count; ENotFound if none.
func (r *Reader) PayloadListByName(ctx context.Context, name string) (condcache.PayloadListSummary, error) {
	return queryOne(ctx, r, scanListSummary, `SELECT `+listCols+`, `+listIOVCountExpr+` FROM `+listFrom+` WHERE l.name = ?`, name)
}

// PayloadIOVs returns the file's IOVs, by id.
func (r *Reader) PayloadIOVs(ctx context.Context) ([]condcache.PayloadIOV, error) {
	return queryAll(ctx, r, scanIOV, `SELECT `+iovCols+` FROM `+iovFrom+` ORDER BY i.id`)
}

// PayloadIOVByID returns IOV id; ENotFound if none.
func (r *Reader) PayloadIOVByID(ctx context.Context, id int64) (condcache.PayloadIOV, error) {
	return queryOne(ctx, r, scanIOV, `SELECT `+iovCols+` FROM `+iovFrom+` WHERE i.id = ?`, id)
}
