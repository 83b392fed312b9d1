package sql

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/sql/replica"
)

// lookupSQL is the run lookup (docs/compatibility.md "The lookup", §3.8) as one statement: for
// each list attached to GT $1, the IOV with the greatest comb_iov ≤ $2 (ties:
// highest id), as one descent of condcache_lookup_idx that reads nothing
// but the index (plan_test.go checks the plan). The point is the exact
// decimal text of major + minor/10^19 (Point.CombIOV), compared in numeric
// like the reference. NULL comb_iov never satisfies ≤, so such rows are
// invisible; ends are not looked at. Rows come ordered by type name, then
// list id, so answers are byte-for-byte repeatable.
//
// In the same snapshot it reads what caches need (docs/design.md "Freshness contract"): the GT's generation and status, and for each list the next IOV
// start after the point (a second descent of the same index), which bounds
// the window of points sharing this answer. The first row always exists;
// its lookup columns are NULL when the GT is unknown or has no lists, and a
// list with no IOV at or before the point comes with NULL lookup columns but
// its next start.
//
// The statement text is constant, so pgx prepares it once per connection
// and every later lookup is a single Bind/Execute round trip.
const lookupSQL = `SELECT
	coalesce((SELECT generation FROM condcache_generation WHERE global_tag = $1), 0),
	gt.status, r.type_name, r.payload_url, r.checksum, r.size,
	r.major_iov, r.minor_iov, r.major_iov_end, r.minor_iov_end, r.extra, r.comb,
	r.next_comb, r.next_major, r.next_minor, r.iov_id, r.list_id
FROM (SELECT s.name AS status, g.id FROM "GlobalTag" g
      JOIN "GlobalTagStatus" s ON s.id = g.status_id WHERE g.name = $1) gt
RIGHT JOIN (SELECT 1) one ON true
LEFT JOIN LATERAL (
	SELECT t.name AS type_name, l.id AS list_id, i.id AS iov_id, i.payload_url, i.checksum, i.size,
		i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end, i.extra, i.comb_iov::text AS comb,
		n.comb_iov::text AS next_comb, n.major_iov AS next_major, n.minor_iov AS next_minor
	FROM "PayloadList" l
	JOIN "PayloadType" t ON t.id = l.payload_type_id
	LEFT JOIN LATERAL (
		SELECT i.id, i.payload_url, i.checksum, i.size, i.major_iov, i.minor_iov,
			i.major_iov_end, i.minor_iov_end, i.extra, i.comb_iov
		FROM "PayloadIOV" i
		WHERE i.payload_list_id = l.id AND i.comb_iov <= $2::text::numeric
		ORDER BY i.comb_iov DESC NULLS LAST, i.id DESC
		LIMIT 1
	) i ON true
	LEFT JOIN LATERAL (
		SELECT n.comb_iov, n.major_iov, n.minor_iov
		FROM "PayloadIOV" n
		WHERE n.payload_list_id = l.id AND n.comb_iov > $2::text::numeric
		ORDER BY n.comb_iov ASC NULLS FIRST, n.id ASC
		LIMIT 1
	) n ON true
	WHERE l.global_tag_id = gt.id
) r ON true
ORDER BY r.type_name, r.list_id`

// LookupSQL is the lookup statement, for load tests that measure it alone
// (pgbench): $1 is the GT name, $2 the point's comb_iov as text.
const LookupSQL = lookupSQL

// LookupAt is Lookup with the GT's generation, status and answer window,
// read from a backend at least as fresh as need asks.
func (r *Reader) LookupAt(ctx context.Context, globalTag string, at condcache.Point, need condcache.Freshness) (condcache.LookupResult, error) {
	var buf [40]byte
	point := string(at.AppendCombIOV(buf[:0]))
	x := r.idx.get(globalTag)
	if x != nil {
		if res, ok, err := r.indexAnswer(ctx, x, globalTag, at, need); ok || err != nil {
			return res, err
		}
	}
	var minLSN int64
	if need.Latest {
		minLSN = r.rt.LatestLSN(ctx)
	}
	var out condcache.LookupResult
	err := r.rt.DoAt(ctx, minLSN, func(ctx context.Context, db *pgxpool.Pool) error {
		res, err := lookup(ctx, db, globalTag, point)
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
	switch {
	case err != nil || r.idx == nil:
	case out.Found && (x == nil || out.Generation > x.generation):
		r.wantIndex(globalTag, out.Generation)
	case !out.Found && x != nil:
		r.idx.drop(globalTag)
	}
	return out, err
}

// lookup runs lookupSQL on db and computes the window.
func lookup(ctx context.Context, db *pgxpool.Pool, globalTag, point string) (condcache.LookupResult, error) {
	res := condcache.LookupResult{Rows: make([]condcache.LookupRow, 0, 8)}
	res.Window.From, res.Window.Until = condcache.MinCombKey, condcache.MaxCombKey
	// The GT's candidate notices come in the same round trip.
	b := &pgx.Batch{}
	b.Queue(lookupSQL, globalTag, point)
	b.Queue(candidateSQL, globalTag)
	br := db.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return res, err
	}
	defer rows.Close()
	var (
		status           *string
		typ, url, cksum  *string
		size             *int64
		start, end       nullPoint
		extra            *string
		comb, next       *string
		nextMaj, nextMin *int64
		iovID, listID    *int64
	)
	for rows.Next() {
		if err := rows.Scan(&res.Generation, &status, &typ, &url, &cksum, &size,
			&start.major, &start.minor, &end.major, &end.minor, &extra, &comb,
			&next, &nextMaj, &nextMin, &iovID, &listID); err != nil {
			return res, err
		}
		if status != nil {
			res.Found, res.Status = true, *status
		}
		if next != nil {
			k, err := condcache.ParseCombKey(*next)
			if err != nil {
				return res, err
			}
			if string(k[:]) < string(res.Window.Until[:]) {
				res.Window.Until, res.Window.HasUntil = k, true
				res.Window.UntilPoint = condcache.Point{Major: deref(nextMaj), Minor: deref(nextMin)}
			}
		}
		if comb == nil {
			continue // unknown GT, no lists, or nothing at or before the point
		}
		k, err := condcache.ParseCombKey(*comb)
		if err != nil {
			return res, err
		}
		row := condcache.LookupRow{PayloadType: deref(typ), PayloadURL: deref(url), Checksum: deref(cksum),
			Size: size, Start: start.point(), End: end.point(), Revision: extra, ID: deref(iovID), ListID: deref(listID)}
		if !res.Window.HasFrom || string(k[:]) > string(res.Window.From[:]) {
			res.Window.From, res.Window.HasFrom, res.Window.FromPoint = k, true, row.Start
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return res, err
	}
	rows.Close()
	notices, err := br.Query()
	if err != nil {
		return res, err
	}
	res.Notices, err = pgx.CollectRows(notices, func(row pgx.CollectableRow) (condcache.Notice, error) { return scanNotice(row) })
	return res, err
}

// nullPoint scans a (major, minor) pair of nullable columns.
type nullPoint struct{ major, minor *int64 }

func (p nullPoint) point() condcache.Point {
	return condcache.Point{Major: deref(p.major), Minor: deref(p.minor)}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
