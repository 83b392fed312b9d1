package sql

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

var _ condcache.NoticeReader = (*Reader)(nil)

// noticeCols are a notice's columns, then its links as arrays, and the ids
// of the lists it names (matched by id in answers).
const noticeCols = `n.id, n.description, n.description_html, n.importance, n.author, n.created, n.updated,
	n.version_affected, n.runs_from_major, n.runs_from_minor, n.runs_to_major, n.runs_to_minor, n.dates_from, n.dates_to,
	ARRAY(SELECT k.global_tag FROM condcache_notice_link k WHERE k.notice_id = n.id AND k.global_tag IS NOT NULL ORDER BY 1),
	ARRAY(SELECT k.payload_type FROM condcache_notice_link k WHERE k.notice_id = n.id AND k.payload_type IS NOT NULL ORDER BY 1),
	ARRAY(SELECT k.payload_list FROM condcache_notice_link k WHERE k.notice_id = n.id AND k.payload_list IS NOT NULL ORDER BY 1),
	ARRAY(SELECT k.iov_id FROM condcache_notice_link k WHERE k.notice_id = n.id AND k.iov_id IS NOT NULL ORDER BY 1),
	ARRAY(SELECT l.id FROM condcache_notice_link k JOIN "PayloadList" l ON l.name = k.payload_list WHERE k.notice_id = n.id ORDER BY 1)`

func scanNotice(row pgx.Row) (condcache.Notice, error) {
	var n condcache.Notice
	var importance int
	var fromMaj, fromMin, toMaj, toMin *int64
	var since, until *time.Time
	err := row.Scan(&n.ID, &n.Description, &n.DescriptionHTML, &importance, &n.Author, &n.Created, &n.Updated,
		&n.VersionAffected, &fromMaj, &fromMin, &toMaj, &toMin, &since, &until,
		&n.GlobalTags, &n.PayloadTypes, &n.PayloadLists, &n.IOVs, &n.ListIDs)
	n.Importance = condcache.Importance(importance)
	if fromMaj != nil && fromMin != nil && toMaj != nil && toMin != nil {
		n.Runs = &condcache.PointRange{From: condcache.Point{Major: *fromMaj, Minor: *fromMin}, To: condcache.Point{Major: *toMaj, Minor: *toMin}}
	}
	if since != nil || until != nil {
		n.Dates = &condcache.TimeRange{From: deref(since), To: deref(until)}
	}
	return n, err
}

func readNotice(ctx context.Context, q querier, id int64) (condcache.Notice, error) {
	n, err := scanNotice(q.QueryRow(ctx, `SELECT `+noticeCols+` FROM condcache_notice n WHERE n.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return n, errNoticeNotFound(id)
	}
	return n, err
}

// Notice implements condcache.NoticeReader.
func (r *Reader) Notice(ctx context.Context, id int64) (condcache.Notice, error) {
	var out condcache.Notice
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = readNotice(ctx, tx, id)
		return err
	})
	return out, err
}

// Notices implements condcache.NoticeReader: a page, most important and
// newest first.
func (r *Reader) Notices(ctx context.Context, q condcache.NoticeQuery) (condcache.Page[condcache.Notice], error) {
	page := condcache.Page[condcache.Notice]{Page: q.Page, PageSize: q.PageSize}
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		const where = ` FROM condcache_notice n
			WHERE ($1 = '' OR EXISTS (SELECT 1 FROM condcache_notice_link k WHERE k.notice_id = n.id AND k.global_tag = $1))
			  AND ($2 = '' OR EXISTS (SELECT 1 FROM condcache_notice_link k WHERE k.notice_id = n.id AND k.payload_type = $2))
			  AND n.importance >= $3
			  AND ($4 = '' OR strpos(lower(n.description), lower($4)) > 0)`
		args := []any{q.GlobalTag, q.PayloadType, int(q.MinImportance), q.Text}
		if err := tx.QueryRow(ctx, `SELECT count(*)`+where, args...).Scan(&page.Count); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+noticeCols+where+` ORDER BY n.importance DESC, n.created DESC, n.id DESC LIMIT $5 OFFSET $6`,
			append(args, q.PageSize, int64(q.Page-1)*int64(q.PageSize))...)
		if err != nil {
			return err
		}
		page.Results, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (condcache.Notice, error) { return scanNotice(row) })
		return err
	})
	page.TotalPages = max(1, (page.Count+int64(q.PageSize)-1)/int64(q.PageSize))
	return page, err
}

// candidateSQL: the notices attached to GT $1, to a type or list it holds,
// or to an IOV of its lists. Nothing when no notice exists at all, at the
// cost of one index probe.
const candidateSQL = `SELECT ` + noticeCols + ` FROM condcache_notice n
	WHERE EXISTS (SELECT 1 FROM condcache_notice) AND n.id IN (
		SELECT k.notice_id FROM condcache_notice_link k WHERE k.global_tag = $1
		UNION SELECT k.notice_id FROM condcache_notice_link k
			JOIN "PayloadType" t ON t.name = k.payload_type
			JOIN "PayloadList" l ON l.payload_type_id = t.id
			JOIN "GlobalTag" g ON g.id = l.global_tag_id WHERE g.name = $1
		UNION SELECT k.notice_id FROM condcache_notice_link k
			JOIN "PayloadList" l ON l.name = k.payload_list
			JOIN "GlobalTag" g ON g.id = l.global_tag_id WHERE g.name = $1
		UNION SELECT k.notice_id FROM condcache_notice_link k
			JOIN "PayloadIOV" i ON i.id = k.iov_id
			JOIN "PayloadList" l ON l.id = i.payload_list_id
			JOIN "GlobalTag" g ON g.id = l.global_tag_id WHERE g.name = $1)`

// CandidateNotices implements condcache.NoticeReader, from a backend that
// holds every write committed before the call.
func (r *Reader) CandidateNotices(ctx context.Context, gt string) ([]condcache.Notice, error) {
	return queryAll(ctx, r, scanNotice, candidateSQL, gt)
}
