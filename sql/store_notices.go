package sql

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// Notices (docs/design.md "Notices"): each write is one transaction; the
// triggers of migration 007 bump the generations of the GTs concerned, so
// cached answers carrying notices are invalidated.

var _ condcache.NoticeService = (*Store)(nil)

// CreateNotice implements condcache.NoticeService.
func (s *Store) CreateNotice(ctx context.Context, n condcache.NewNotice) (condcache.Notice, error) {
	var out condcache.Notice
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := checkNoticeLinks(ctx, tx, n); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO condcache_notice (description, description_html, importance, author,
				version_affected, runs_from_major, runs_from_minor, runs_to_major, runs_to_minor, dates_from, dates_to)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`, noticeArgs(n)...).Scan(&id)
		if err != nil {
			return err
		}
		if err := insertNoticeLinks(ctx, tx, id, n); err != nil {
			return err
		}
		out, err = readNotice(ctx, tx, id)
		return err
	})
	return out, err
}

// ReplaceNotice implements condcache.NoticeService: every field and link
// of notice id is replaced; the author and creation time stay.
func (s *Store) ReplaceNotice(ctx context.Context, id int64, n condcache.NewNotice) (condcache.Notice, error) {
	var out condcache.Notice
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := checkNoticeLinks(ctx, tx, n); err != nil {
			return err
		}
		args := noticeArgs(n)
		args = append([]any{id}, append(args[:3], args[4:]...)...) // the author stays
		tag, err := tx.Exec(ctx, `UPDATE condcache_notice SET description = $2, description_html = $3, importance = $4,
				version_affected = $5, runs_from_major = $6, runs_from_minor = $7, runs_to_major = $8, runs_to_minor = $9,
				dates_from = $10, dates_to = $11, updated = now()
			WHERE id = $1`, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errNoticeNotFound(id)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM condcache_notice_link WHERE notice_id = $1`, id); err != nil {
			return err
		}
		if err := insertNoticeLinks(ctx, tx, id, n); err != nil {
			return err
		}
		out, err = readNotice(ctx, tx, id)
		return err
	})
	return out, err
}

// DeleteNotice implements condcache.NoticeService and returns the notice
// as it was.
func (s *Store) DeleteNotice(ctx context.Context, id int64) (condcache.Notice, error) {
	var out condcache.Notice
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if out, err = readNotice(ctx, tx, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM condcache_notice WHERE id = $1`, id)
		return err
	})
	return out, err
}

func errNoticeNotFound(id int64) error {
	return condcache.Errorf(condcache.ENotFound, "Notice %d not found.", id)
}

func noticeArgs(n condcache.NewNotice) []any {
	var fromMaj, fromMin, toMaj, toMin *int64
	if r := n.Runs; r != nil {
		fromMaj, fromMin, toMaj, toMin = &r.From.Major, &r.From.Minor, &r.To.Major, &r.To.Minor
	}
	var since, until any
	if d := n.Dates; d != nil {
		since, until = nullTime(d.From), nullTime(d.To)
	}
	return []any{n.Description, n.DescriptionHTML, int(n.Importance), n.Author, n.VersionAffected,
		fromMaj, fromMin, toMaj, toMin, since, until}
}

// checkNoticeLinks refuses links to objects that do not exist, naming
// the first.
func checkNoticeLinks(ctx context.Context, tx pgx.Tx, n condcache.NewNotice) error {
	for _, c := range []struct {
		what, query string
		names       []string
	}{
		{"GlobalTag", `SELECT x FROM unnest($1::text[]) x WHERE x NOT IN (SELECT name FROM "GlobalTag") LIMIT 1`, n.GlobalTags},
		{"PayloadType", `SELECT x FROM unnest($1::text[]) x WHERE x NOT IN (SELECT name FROM "PayloadType") LIMIT 1`, n.PayloadTypes},
		{"PayloadList", `SELECT x FROM unnest($1::text[]) x WHERE x NOT IN (SELECT name FROM "PayloadList") LIMIT 1`, n.PayloadLists},
	} {
		if len(c.names) == 0 {
			continue
		}
		var missing string
		err := tx.QueryRow(ctx, c.query, c.names).Scan(&missing)
		if err == nil {
			return condcache.Errorf(condcache.ENotFound, "%s %s not found.", c.what, missing)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	if len(n.IOVs) > 0 {
		var missing int64
		err := tx.QueryRow(ctx, `SELECT x FROM unnest($1::bigint[]) x WHERE x NOT IN (SELECT id FROM "PayloadIOV") LIMIT 1`, n.IOVs).Scan(&missing)
		if err == nil {
			return condcache.Errorf(condcache.ENotFound, "PayloadIOV %d not found.", missing)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	return nil
}

func insertNoticeLinks(ctx context.Context, tx pgx.Tx, id int64, n condcache.NewNotice) error {
	_, err := tx.Exec(ctx, `INSERT INTO condcache_notice_link (notice_id, global_tag, payload_type, payload_list, iov_id)
		SELECT $1::bigint, x, NULL::text, NULL::text, NULL::bigint FROM unnest($2::text[]) x
		UNION ALL SELECT $1, NULL, x, NULL, NULL FROM unnest($3::text[]) x
		UNION ALL SELECT $1, NULL, NULL, x, NULL FROM unnest($4::text[]) x
		UNION ALL SELECT $1, NULL, NULL, NULL, x FROM unnest($5::bigint[]) x`,
		id, nonNilStrings(n.GlobalTags), nonNilStrings(n.PayloadTypes), nonNilStrings(n.PayloadLists), nonNilInts(n.IOVs))
	return err
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilInts(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

// NoticeScope implements condcache.NoticeService, in a read-only snapshot
// of the primary.
func (s *Store) NoticeScope(ctx context.Context, id int64, n *condcache.NewNotice) (gts []string, anyType bool, err error) {
	err = pgx.BeginTxFunc(ctx, s.db, snapshotOptions, func(tx pgx.Tx) error {
		seen := map[string]bool{}
		add := func(names []string) {
			for _, g := range names {
				if !seen[g] {
					seen[g] = true
					gts = append(gts, g)
				}
			}
		}
		if id > 0 {
			old, err := readNotice(ctx, tx, id)
			if err != nil {
				return err
			}
			var names []string
			if err := tx.QueryRow(ctx, `SELECT condcache_notice_gts(ARRAY[$1::bigint])`, id).Scan(&names); err != nil {
				return err
			}
			add(old.GlobalTags)
			add(names)
			anyType = anyType || len(old.PayloadTypes) > 0
		}
		if n != nil {
			if err := checkNoticeLinks(ctx, tx, *n); err != nil {
				return err
			}
			var names []string
			err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT g.name), '{}') FROM "GlobalTag" g
				JOIN "PayloadList" l ON l.global_tag_id = g.id
				WHERE l.name = ANY ($1::text[])
				   OR l.id IN (SELECT i.payload_list_id FROM "PayloadIOV" i WHERE i.id = ANY ($2::bigint[]))`,
				nonNilStrings(n.PayloadLists), nonNilInts(n.IOVs)).Scan(&names)
			if err != nil {
				return err
			}
			add(n.GlobalTags)
			add(names)
			anyType = anyType || len(n.PayloadTypes) > 0
		}
		return nil
	})
	return gts, anyType, storeError(err)
}
