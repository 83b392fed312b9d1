package sql

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

var _ condcache.ProtectionReader = (*Reader)(nil)

// Protections answers q (docs/design.md "Protection") in one snapshot of a
// backend that holds every write committed before the call: the marks of a
// GT (its own, its attached lists', their attached IOVs'), GT first, then
// lists and IOVs by id, with how much of the GT is protected; or, for no
// GT, every mark whose object exists.
func (r *Reader) Protections(ctx context.Context, q condcache.ProtectionQuery) (condcache.ProtectionReport, error) {
	rep := condcache.ProtectionReport{GlobalTag: q.GlobalTag, Marks: condcache.Page[condcache.Protection]{Page: q.Page, PageSize: q.PageSize}}
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		var gtID *int64
		if q.GlobalTag != "" {
			var id int64
			err := tx.QueryRow(ctx, `SELECT g.id, s.name FROM `+gtFrom+` WHERE g.name = $1`, q.GlobalTag).Scan(&id, &rep.Status)
			if errors.Is(err, pgx.ErrNoRows) {
				return errGlobalTagNotFound(q.GlobalTag)
			} else if err != nil {
				return err
			}
			gtID = &id
			rep.Frozen = rep.Status == condcache.StatusFrozen
			if err := protectionCounts(ctx, tx, id, &rep); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, `WITH `+marksCTE+`
			SELECT `+markCols+`, count(*) OVER () FROM mk
			WHERE $1::bigint IS NULL
				OR (kind = 'GlobalTag' AND object_id = $1)
				OR (kind = 'PayloadList' AND object_id IN (SELECT id FROM "PayloadList" WHERE global_tag_id = $1))
				OR (kind = 'PayloadIOV' AND list_id IN (SELECT id FROM "PayloadList" WHERE global_tag_id = $1))
			ORDER BY CASE kind WHEN 'GlobalTag' THEN 0 WHEN 'PayloadList' THEN 1 ELSE 2 END, object_id
			LIMIT $2 OFFSET $3`, gtID, q.PageSize, int64(q.Page-1)*int64(q.PageSize))
		if err != nil {
			return err
		}
		var p condcache.Protection
		p.Protected = true
		var count int64
		if _, err := pgx.ForEachRow(rows, append(markDest(&p), &count), func() error {
			rep.Marks.Results = append(rep.Marks.Results, p)
			rep.Marks.Count = count
			return nil
		}); err != nil {
			return err
		}
		if len(rep.Marks.Results) == 0 && q.Page > 1 {
			// Past the end: count the marks anyway, as browse mode does.
			return tx.QueryRow(ctx, `WITH `+marksCTE+` SELECT count(*) FROM mk
				WHERE $1::bigint IS NULL
					OR (kind = 'GlobalTag' AND object_id = $1)
					OR (kind = 'PayloadList' AND object_id IN (SELECT id FROM "PayloadList" WHERE global_tag_id = $1))
					OR (kind = 'PayloadIOV' AND list_id IN (SELECT id FROM "PayloadList" WHERE global_tag_id = $1))`,
				gtID).Scan(&rep.Marks.Count)
		}
		return nil
	})
	rep.Marks.TotalPages = max(1, (rep.Marks.Count+int64(q.PageSize)-1)/int64(q.PageSize))
	return rep, err
}

// protectionCounts fills rep's counts of GT gtID's attached lists and
// their attached IOVs, and of those protected: all of them when the GT is
// frozen or marked, else the marked lists, and the IOVs marked or in a
// marked list.
func protectionCounts(ctx context.Context, tx pgx.Tx, gtID int64, rep *condcache.ProtectionReport) error {
	var gtMarked bool
	err := tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM "PayloadList" WHERE global_tag_id = $1),
			(SELECT count(*) FROM "PayloadIOV" i JOIN "PayloadList" l ON l.id = i.payload_list_id WHERE l.global_tag_id = $1),
			(SELECT count(*) FROM "PayloadList" l JOIN condcache_protection m ON m.kind = 'PayloadList' AND m.object_id = l.id
				WHERE l.global_tag_id = $1),
			(SELECT count(*) FROM "PayloadIOV" i JOIN "PayloadList" l ON l.id = i.payload_list_id
				WHERE l.global_tag_id = $1 AND (
					EXISTS (SELECT 1 FROM condcache_protection m WHERE m.kind = 'PayloadList' AND m.object_id = l.id)
					OR EXISTS (SELECT 1 FROM condcache_protection m WHERE m.kind = 'PayloadIOV' AND m.object_id = i.id))),
			EXISTS (SELECT 1 FROM condcache_protection WHERE kind = 'GlobalTag' AND object_id = $1)`, gtID).
		Scan(&rep.PayloadLists, &rep.PayloadIOVs, &rep.ProtectedPayloadLists, &rep.ProtectedPayloadIOVs, &gtMarked)
	if err != nil {
		return err
	}
	if rep.Frozen || gtMarked {
		rep.ProtectedPayloadLists, rep.ProtectedPayloadIOVs = rep.PayloadLists, rep.PayloadIOVs
	}
	return nil
}
