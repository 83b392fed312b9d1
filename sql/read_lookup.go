package sql

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
)

// lookupSQL is the run lookup (API.md §2.16, §3.8) as one statement: for
// each list attached to GT $1, the IOV with the greatest comb_iov ≤ $2 (ties:
// highest id), as one descent of condcache_lookup_idx that reads nothing
// but the index (plan_test.go checks the plan). The point is the exact
// decimal text of major + minor/10^19 (Point.CombIOV), compared in numeric
// like the reference. NULL comb_iov never satisfies ≤, so such rows are
// invisible; ends are not looked at. Rows come ordered by type name, then
// list id, so answers are byte-for-byte repeatable.
//
// The statement text is constant, so pgx prepares it once per connection
// and every later lookup is a single Bind/Execute round trip.
const lookupSQL = `SELECT t.name, i.payload_url, i.checksum, i.size,
	i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end, i.extra
FROM "GlobalTag" g
JOIN "PayloadList" l ON l.global_tag_id = g.id
JOIN "PayloadType" t ON t.id = l.payload_type_id
CROSS JOIN LATERAL (
	SELECT i.payload_url, i.checksum, i.size,
		i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end, i.extra
	FROM "PayloadIOV" i
	WHERE i.payload_list_id = l.id AND i.comb_iov <= $2::text::numeric
	ORDER BY i.comb_iov DESC NULLS LAST, i.id DESC
	LIMIT 1
) i
WHERE g.name = $1
ORDER BY t.name, l.id`

// Lookup returns, for every list attached to GT globalTag, the IOV holding
// at point at. An unknown GT gives no rows and no error.
func (r *Reader) Lookup(ctx context.Context, globalTag string, at condcache.Point) ([]condcache.LookupRow, error) {
	var buf [40]byte
	point := string(at.AppendCombIOV(buf[:0]))
	var out []condcache.LookupRow
	err := r.rt.do(ctx, func(ctx context.Context, db *pgxpool.Pool) error {
		rows, err := db.Query(ctx, lookupSQL, globalTag, point)
		if err != nil {
			return err
		}
		defer rows.Close()
		res := make([]condcache.LookupRow, 0, 8)
		for rows.Next() {
			res = append(res, condcache.LookupRow{})
			v := &res[len(res)-1]
			if err := rows.Scan(&v.PayloadType, &v.PayloadURL, &v.Checksum, &v.Size,
				&v.Start.Major, &v.Start.Minor, &v.End.Major, &v.End.Minor, &v.Revision); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		out = res
		return nil
	})
	return out, err
}
