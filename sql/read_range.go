package sql

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/sql/replica"
)

var _ condcache.RangeReader = (*Reader)(nil)

// rangeSQL reads a GT over [$2, $3] (points as comb_iov text): for each
// attached list, the IOV answering at $2 (one descent of
// condcache_lookup_idx, as the lookup) and every IOV starting in ($2, $3]
// (one range scan of it), with the GT's generation and status in the same
// statement. At most $4 rows.
const rangeSQL = `SELECT
	coalesce((SELECT generation FROM condcache_generation WHERE global_tag = $1), 0),
	gt.status, r.type_name, r.list_id, r.id, r.payload_url, r.checksum, r.size,
	r.major_iov, r.minor_iov, r.major_iov_end, r.minor_iov_end, r.extra, r.comb
FROM (SELECT s.name AS status, g.id FROM "GlobalTag" g
      JOIN "GlobalTagStatus" s ON s.id = g.status_id WHERE g.name = $1) gt
RIGHT JOIN (SELECT 1) one ON true
LEFT JOIN LATERAL (
	SELECT t.name AS type_name, l.id AS list_id, i.*
	FROM "PayloadList" l
	JOIN "PayloadType" t ON t.id = l.payload_type_id
	CROSS JOIN LATERAL (
		(SELECT i.id, i.payload_url, i.checksum, i.size, i.major_iov, i.minor_iov,
			i.major_iov_end, i.minor_iov_end, i.extra, i.comb_iov::text AS comb
		FROM "PayloadIOV" i
		WHERE i.payload_list_id = l.id AND i.comb_iov <= $2::text::numeric
		ORDER BY i.comb_iov DESC NULLS LAST, i.id DESC
		LIMIT 1)
		UNION ALL
		(SELECT i.id, i.payload_url, i.checksum, i.size, i.major_iov, i.minor_iov,
			i.major_iov_end, i.minor_iov_end, i.extra, i.comb_iov::text
		FROM "PayloadIOV" i
		WHERE i.payload_list_id = l.id AND i.comb_iov > $2::text::numeric AND i.comb_iov <= $3::text::numeric)
	) i
	WHERE l.global_tag_id = gt.id
) r ON true
LIMIT $4`

// RangeAt implements condcache.RangeReader.
func (r *Reader) RangeAt(ctx context.Context, globalTag string, from, to condcache.Point, limit int, need condcache.Freshness) (condcache.RangeResult, error) {
	var minLSN int64
	if need.Latest {
		minLSN = r.rt.LatestLSN(ctx)
	}
	var out condcache.RangeResult
	err := r.rt.DoAt(ctx, minLSN, func(ctx context.Context, db *pgxpool.Pool) error {
		res, err := readRange(ctx, db, globalTag, from, to, limit)
		if err != nil {
			return err
		}
		onPrimary := r.rt.IsPrimary(db)
		if res.Generation < need.MinGeneration && !onPrimary {
			return replica.ErrBehind
		}
		res.Source = "replica"
		if onPrimary {
			res.Source = "primary"
		}
		out = res
		return nil
	})
	return out, err
}

func readRange(ctx context.Context, db *pgxpool.Pool, globalTag string, from, to condcache.Point, limit int) (condcache.RangeResult, error) {
	res := condcache.RangeResult{Lists: map[string][]condcache.PayloadIOV{}}
	rows, err := db.Query(ctx, rangeSQL, globalTag, from.CombIOV(), to.CombIOV(), limit+1)
	if err != nil {
		return res, err
	}
	listOf := map[string]int64{} // type → the list whose IOVs are kept
	var (
		status, typ, url, cksum, extra, comb *string
		list, id, size                       *int64
		start, end                           nullPoint
		n                                    int
	)
	_, err = pgx.ForEachRow(rows, []any{&res.Generation, &status, &typ, &list, &id, &url, &cksum, &size,
		&start.major, &start.minor, &end.major, &end.minor, &extra, &comb}, func() error {
		if status != nil {
			res.Found, res.Status = true, *status
		}
		if id == nil {
			return nil // unknown GT or no IOV in the range
		}
		if n++; n > limit {
			return condcache.Errorf(condcache.EInvalid,
				"The range holds more than %d IOVs of GlobalTag %s: narrow it (from, to), or export the GT.", limit, globalTag)
		}
		t := deref(typ)
		switch l := deref(list); {
		case listOf[t] == 0 || l > listOf[t]:
			// A type with two lists (only possible behind the API's
			// back): the highest list id wins, as in gtPayloadLists.
			if listOf[t] != 0 {
				res.Lists[t] = nil
			}
			listOf[t] = l
		case l < listOf[t]:
			return nil
		}
		c, l := *comb, listOf[t]
		res.Lists[t] = append(res.Lists[t], condcache.PayloadIOV{ID: *id, PayloadURL: deref(url), Checksum: deref(cksum),
			Size: copyPtr(size), Start: start.point(), End: end.point(), CombIOV: &c, Extra: copyPtr(extra), PayloadListID: &l})
		return nil
	})
	return res, err
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
