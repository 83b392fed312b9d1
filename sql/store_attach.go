package sql

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// AttachPayloadIOV attaches IOV iovID to a list (docs/compatibility.md "Attach an IOV"), with the
// overlap rules of the list GT's status computed by condcache.PlanAttach:
// unlocked rules for a detached list or an unlocked GT, append-only for a
// locked GT, refusal for a frozen one. Moving an IOV out of a list of a
// frozen GT is refused too (docs/compatibility.md "Frozen and locked protection").
//
// Both lists involved (target, and the IOV's current list when it moves) are
// locked before anything is read that the plan depends on, so concurrent
// attaches to one list run one after the other and never overlap.
func (s *Store) AttachPayloadIOV(ctx context.Context, payloadList string, iovID int64, authorize func(globalTag string) error) (condcache.PayloadIOV, error) {
	var out condcache.PayloadIOV
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = s.attachIOV(ctx, tx, payloadList, iovID, authorize)
		return err
	})
	return out, err
}

func (s *Store) attachIOV(ctx context.Context, tx pgx.Tx, payloadList string, iovID int64, authorize func(string) error) (condcache.PayloadIOV, error) {
	var none condcache.PayloadIOV
	var listID int64
	err := tx.QueryRow(ctx, `SELECT id FROM "PayloadList" WHERE name = $1`, payloadList).Scan(&listID)
	if errors.Is(err, pgx.ErrNoRows) {
		return none, errListNotFound(payloadList)
	} else if err != nil {
		return none, err
	}
	var srcList *int64
	err = tx.QueryRow(ctx, `SELECT payload_list_id FROM "PayloadIOV" WHERE id = $1`, iovID).Scan(&srcList)
	if errors.Is(err, pgx.ErrNoRows) {
		return none, errIOVNotFound(iovID)
	} else if err != nil {
		return none, err
	}

	// 1. Lists, in id order: the target, and the source when the IOV moves.
	listIDs := []int64{listID}
	if srcList != nil && *srcList != listID {
		listIDs = append(listIDs, *srcList)
	}
	listGT, err := lockLists(ctx, tx, listIDs)
	if err != nil {
		return none, err
	}
	if len(listGT) != len(listIDs) {
		return none, errRetry // a list was deleted since it was looked up
	}
	// 2. GTs, for a status that holds until commit.
	var gtIDs []int64
	for _, id := range listIDs {
		if gt := listGT[id]; gt != nil {
			gtIDs = append(gtIDs, *gt)
		}
	}
	gts, err := lockGTsShare(ctx, tx, gtIDs...)
	if err != nil {
		return none, err
	}
	// 3. The IOV itself; it may have moved between the unlocked read and the
	// list locks.
	n, err := scanStoreIOVBounds(tx.QueryRow(ctx, `SELECT `+storeIOVBoundsCols+`, payload_list_id
		FROM "PayloadIOV" WHERE id = $1 FOR UPDATE`, iovID), &srcList)
	if errors.Is(err, pgx.ErrNoRows) {
		return none, errIOVNotFound(iovID)
	} else if err != nil {
		return none, err
	}
	if srcList != nil && !slices.Contains(listIDs, *srcList) {
		return none, errRetry
	}

	var target lockedGT
	if gt := listGT[listID]; gt != nil {
		target = gts[*gt]
	}
	if authorize != nil {
		if err := authorize(target.name); err != nil {
			return none, err
		}
	}
	if target.status == condcache.StatusFrozen {
		return none, errFrozen()
	}
	if srcList != nil && *srcList != listID {
		if gt := listGT[*srcList]; gt != nil && gts[*gt].status == condcache.StatusFrozen {
			return none, condcache.Errorf(condcache.ELocked,
				"PayloadIOV %d is attached to a list of Global Tag %s, which is frozen: it cannot be moved.",
				iovID, gts[*gt].name)
		}
	}

	existing, err := s.neighbourhood(ctx, tx, listID, n)
	if err != nil {
		return none, err
	}
	plan, err := condcache.PlanAttach(s.mode, target.status, existing, n)
	if err != nil {
		return none, err
	}
	return applyAttach(ctx, tx, listID, n, plan)
}

// lockLists locks lists ids FOR UPDATE in id order and returns each one's GT
// id (nil when detached). Lists that no longer exist are absent.
func lockLists(ctx context.Context, tx pgx.Tx, ids []int64) (map[int64]*int64, error) {
	rows, err := tx.Query(ctx, `SELECT id, global_tag_id FROM "PayloadList"
		WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*int64, len(ids))
	var id int64
	var gt *int64
	_, err = pgx.ForEachRow(rows, []any{&id, &gt}, func() error {
		out[id] = gt
		return nil
	})
	return out, err
}

// neighbourhood fetches the IOVs attached to list that PlanAttach needs for
// n (condcache.NeighbourhoodNote), n itself included when it is already
// there: (a) those starting within [n.start, n.end], (b) the last one
// starting before n.start and (c) the first one starting after n.end: one
// statement of index range scans on (payload_list_id, major_iov, minor_iov,
// id), never the whole list unless n spans it.
//
// (a) is spelt out per major rather than as a row comparison: PostgreSQL
// estimates a row comparison from its first column only, and with one major
// for a whole list (the sPHENIX layout) it would expect every row to match
// and scan the list. For the same reason the statement is planned for its
// actual values each time (QueryExecModeExec) rather than as a cached
// generic plan.
func (s *Store) neighbourhood(ctx context.Context, tx pgx.Tx, list int64, n condcache.PayloadIOV) ([]condcache.PayloadIOV, error) {
	const part = `(SELECT ` + storeIOVBoundsCols + ` FROM "PayloadIOV" WHERE payload_list_id = $1 AND `
	var within string
	if n.Start.Major == n.End.Major {
		within = part + `major_iov = $2 AND minor_iov >= $3 AND minor_iov <= $5)`
	} else {
		within = part + `major_iov = $2 AND minor_iov >= $3)
			UNION ALL ` + part + `major_iov > $2 AND major_iov < $4)
			UNION ALL ` + part + `major_iov = $4 AND minor_iov <= $5)`
	}
	rows, err := tx.Query(ctx, within+`
		UNION ALL `+part+`(major_iov, minor_iov) < ($2, $3)
			ORDER BY major_iov DESC, minor_iov DESC, id DESC LIMIT 1)
		UNION ALL `+part+`(major_iov, minor_iov) > ($4, $5)
			ORDER BY major_iov, minor_iov, id LIMIT 1)`,
		pgx.QueryExecModeExec, list, n.Start.Major, n.Start.Minor, n.End.Major, n.End.Minor)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (condcache.PayloadIOV, error) {
		return scanStoreIOVBounds(row)
	})
}

// applyAttach writes plan, then attaches n to list and touches the list, in
// one round trip. Trimmed and shifted IOVs keep their updated timestamp (the
// reference saves only their bounds); split copies are new rows.
func applyAttach(ctx context.Context, tx pgx.Tx, list int64, n condcache.PayloadIOV, plan condcache.AttachPlan) (condcache.PayloadIOV, error) {
	b := &pgx.Batch{}
	if len(plan.Detach) > 0 {
		b.Queue(`UPDATE "PayloadIOV" SET payload_list_id = NULL WHERE id = ANY($1)`, plan.Detach)
	}
	for _, r := range plan.Resize {
		b.Queue(`UPDATE "PayloadIOV" SET major_iov = $2, minor_iov = $3, major_iov_end = $4, minor_iov_end = $5,
			comb_iov = $6::numeric WHERE id = $1`,
			r.ID, r.Start.Major, r.Start.Minor, r.End.Major, r.End.Minor, r.Start.CombIOV())
	}
	if sp := plan.Split; sp != nil {
		b.Queue(`INSERT INTO "PayloadIOV" (payload_url, checksum, size, extra, payload_list_id,
				major_iov, minor_iov, major_iov_end, minor_iov_end, comb_iov, created, updated)
			SELECT payload_url, checksum, size, extra, $2, $3, $4, $5, $6, $7::numeric, now(), now()
			FROM "PayloadIOV" WHERE id = $1`,
			sp.FromID, list, sp.Start.Major, sp.Start.Minor, sp.End.Major, sp.End.Minor, sp.Start.CombIOV())
	}
	var out condcache.PayloadIOV
	b.Queue(`WITH i AS (
			UPDATE "PayloadIOV" SET payload_list_id = $2, comb_iov = $3::numeric, updated = now()
			WHERE id = $1 RETURNING *)
		SELECT `+iovCols+` FROM i`+storeJoinList, n.ID, list, n.Start.CombIOV()).
		QueryRow(func(row pgx.Row) error {
			var err error
			out, err = scanIOV(row)
			return err
		})
	b.Queue(`UPDATE "PayloadList" SET updated = now() WHERE id = $1`, list)
	return out, tx.SendBatch(ctx, b).Close()
}
