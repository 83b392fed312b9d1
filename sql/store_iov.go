package sql

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// checkNewIOV refuses what PostgreSQL would refuse or the reference rejects
// for a new IOV: an invalid range for the mode (docs/compatibility.md "Range validation", with the
// reference's text), and texts longer than their columns.
func (s *Store) checkNewIOV(url, checksum string, start, end condcache.Point) error {
	if err := s.mode.CheckMinors(start, end); err != nil {
		return err
	}
	if !s.mode.ValidRange(start, end) {
		return errInvalidRange(url, start, end)
	}
	if err := checkLen("payload_url", url, condcache.MaxTextLen); err != nil {
		return err
	}
	return checkLen("checksum", checksum, condcache.MaxTextLen)
}

// CreatePayloadIOV creates a detached IOV (docs/compatibility.md "Payload IOVs" POST piov), with
// comb_iov computed exactly from its start.
func (s *Store) CreatePayloadIOV(ctx context.Context, iov condcache.NewPayloadIOV) (condcache.PayloadIOV, error) {
	if err := s.checkNewIOV(iov.PayloadURL, iov.Checksum, iov.Start, iov.End); err != nil {
		return condcache.PayloadIOV{}, err
	}
	var out condcache.PayloadIOV
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanIOV(tx.QueryRow(ctx, `WITH i AS (
				INSERT INTO "PayloadIOV" (payload_url, checksum, size, major_iov, minor_iov,
					major_iov_end, minor_iov_end, created, updated, comb_iov)
				VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now(), $8::numeric)
				RETURNING *)
			SELECT `+iovCols+` FROM i`+storeJoinList,
			iov.PayloadURL, iov.Checksum, iov.Size, iov.Start.Major, iov.Start.Minor,
			iov.End.Major, iov.End.Minor, iov.Start.CombIOV()))
		return err
	})
	return out, err
}

// DeletePayloadIOV deletes the one IOV with exactly this start and end
// attached to the GT's list of the type (docs/compatibility.md "Delete an IOV"); refused in a frozen
// GT. Several matches (possible after bulk loads) are a conflict rather than
// the reference's "doesn't exist", and nothing is deleted.
func (s *Store) DeletePayloadIOV(ctx context.Context, globalTag, payloadType string, start, end condcache.Point) (condcache.PayloadIOV, error) {
	var out condcache.PayloadIOV
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		matches, err := matchIOVs(ctx, tx, globalTag, payloadType, start, end)
		if err != nil {
			return err
		}
		switch {
		case len(matches) == 0:
			return condcache.Errorf(condcache.ENotFound, "PayloadIOV with given parameters doesn't exist")
		case len(matches) > 1:
			return condcache.Errorf(condcache.EConflict,
				"PayloadIOV with given parameters is not unique: %d PayloadIOVs match; none deleted.", len(matches))
		}
		m := matches[0]
		if _, err := tx.Exec(ctx, `SELECT id FROM "PayloadList" WHERE id = $1 FOR UPDATE`, m.listID); err != nil {
			return err
		}
		gts, err := lockGTsShare(ctx, tx, m.gtID)
		if err != nil {
			return err
		}
		// Under the locks nothing can change the match any more; if it
		// changed before, start again.
		again, err := matchIOVs(ctx, tx, globalTag, payloadType, start, end)
		if err != nil {
			return err
		}
		if !slices.Equal(again, matches) {
			return errRetry
		}
		if gts[m.gtID].status == condcache.StatusFrozen {
			return errFrozen()
		}
		if err := guardDelete(ctx, tx, deleteTargets{iovs: []int64{m.iovID}}); err != nil {
			return err
		}
		out, err = scanIOV(tx.QueryRow(ctx, `WITH i AS (
				DELETE FROM "PayloadIOV" WHERE id = $1 RETURNING *)
			SELECT `+iovCols+` FROM i`+storeJoinList, m.iovID))
		return err
	})
	return out, err
}

// iovMatch is an IOV found by GT name, type name, start and end.
type iovMatch struct {
	iovID, listID, gtID int64
}

func matchIOVs(ctx context.Context, tx pgx.Tx, globalTag, payloadType string, start, end condcache.Point) ([]iovMatch, error) {
	rows, err := tx.Query(ctx, `SELECT i.id, l.id, g.id
		FROM "GlobalTag" g
		JOIN "PayloadList" l ON l.global_tag_id = g.id
		JOIN "PayloadType" t ON t.id = l.payload_type_id
		JOIN "PayloadIOV" i ON i.payload_list_id = l.id
		WHERE g.name = $1 AND t.name = $2
			AND i.major_iov = $3 AND i.minor_iov = $4 AND i.major_iov_end = $5 AND i.minor_iov_end = $6
		ORDER BY i.id`, globalTag, payloadType, start.Major, start.Minor, end.Major, end.Minor)
	if err != nil {
		return nil, err
	}
	var out []iovMatch
	var m iovMatch
	_, err = pgx.ForEachRow(rows, []any{&m.iovID, &m.listID, &m.gtID}, func() error {
		out = append(out, m)
		return nil
	})
	return out, err
}
