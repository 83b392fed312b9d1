package sql

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// listName is the name Nopayloaddb gives a payload list: <type>_<id>.
func listName(payloadType string, id int64) string {
	return payloadType + "_" + strconv.FormatInt(id, 10)
}

// takeListIDs takes n new payload list ids from the hand-rolled sequence
// table, in order, in one round trip (docs/compatibility.md "Payload list ids"). A rollback burns them,
// which only leaves gaps, as in the reference.
func takeListIDs(ctx context.Context, tx pgx.Tx, n int) ([]int64, error) {
	if n == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	ids := make([]int64, n)
	for i := range ids {
		b.Queue(`INSERT INTO "PayloadListIdSequence" DEFAULT VALUES RETURNING id`).
			QueryRow(func(row pgx.Row) error { return row.Scan(&ids[i]) })
	}
	return ids, tx.SendBatch(ctx, b).Close()
}

// CreatePayloadList creates a detached list of the given type, named
// <type>_<id> (docs/compatibility.md "Payload lists" POST pl).
func (s *Store) CreatePayloadList(ctx context.Context, payloadType string) (condcache.PayloadList, error) {
	var pl condcache.PayloadList
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var typeID int64
		// FOR KEY SHARE keeps the type from being deleted before commit
		// (the FK is only checked then).
		err := tx.QueryRow(ctx, `SELECT id FROM "PayloadType" WHERE name = $1 FOR KEY SHARE`, payloadType).Scan(&typeID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errTypeNotFound(payloadType)
		} else if err != nil {
			return err
		}
		ids, err := takeListIDs(ctx, tx, 1)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO "PayloadList" (id, name, created, updated, payload_type_id)
			VALUES ($1, $2, now(), now(), $3)`, ids[0], listName(payloadType, ids[0]), typeID)
		if isUniqueViolation(err) {
			return condcache.FieldError(condcache.EConflict, "name", "payload list with this name already exists.")
		} else if err != nil {
			return err
		}
		pl, err = scanList(tx.QueryRow(ctx, `SELECT `+listCols+` FROM `+listFrom+` WHERE l.id = $1`, ids[0]))
		return err
	})
	return pl, err
}

// AttachPayloadList attaches a list to a GT (docs/compatibility.md "Payload lists" pl_attach): lists of
// the same type attached to the GT are detached first; a locked GT refuses if
// it already has a list of that type; a frozen GT refuses, and so does moving
// a list out of a frozen GT (docs/compatibility.md "Frozen and locked protection").
func (s *Store) AttachPayloadList(ctx context.Context, globalTag, payloadList string) (condcache.PayloadList, error) {
	var pl condcache.PayloadList
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var listID, typeID int64
		var typeName string
		err := tx.QueryRow(ctx, `SELECT l.id, t.id, t.name FROM "PayloadList" l
			JOIN "PayloadType" t ON t.id = l.payload_type_id WHERE l.name = $1`, payloadList).
			Scan(&listID, &typeID, &typeName)
		if errors.Is(err, pgx.ErrNoRows) {
			return errListNotFound(payloadList)
		} else if err != nil {
			return err
		}
		var gtID int64
		err = tx.QueryRow(ctx, `SELECT id FROM "GlobalTag" WHERE name = $1`, globalTag).Scan(&gtID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errGlobalTagNotFound(globalTag)
		} else if err != nil {
			return err
		}

		// Lock order: the list and the GT's same-type lists, then the GTs
		// (target and, if the list moves, its current GT).
		var srcGT *int64
		found := false
		rows, err := tx.Query(ctx, `SELECT id, global_tag_id FROM "PayloadList"
			WHERE id = $1 OR (global_tag_id = $2 AND payload_type_id = $3)
			ORDER BY id FOR UPDATE`, listID, gtID, typeID)
		if err != nil {
			return err
		}
		var id int64
		var gt *int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &gt}, func() error {
			if id == listID {
				srcGT, found = gt, true
			}
			return nil
		}); err != nil {
			return err
		}
		if !found {
			return errRetry // deleted since it was looked up
		}
		gtIDs := []int64{gtID}
		if srcGT != nil && *srcGT != gtID {
			gtIDs = append(gtIDs, *srcGT)
		}
		gts, err := lockGTsUpdate(ctx, tx, gtIDs...)
		if err != nil {
			return err
		}
		target, ok := gts[gtID]
		if !ok {
			return errRetry // deleted since it was looked up
		}
		if target.status == condcache.StatusFrozen {
			return errFrozen()
		}
		if target.status == condcache.StatusLocked {
			var n int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM "PayloadList"
				WHERE global_tag_id = $1 AND payload_type_id = $2`, gtID, typeID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return condcache.Errorf(condcache.ELocked,
					"Payload List of type %s already attached and Global Tag is locked.", typeName)
			}
		}
		if srcGT != nil && *srcGT != gtID && gts[*srcGT].status == condcache.StatusFrozen {
			return condcache.Errorf(condcache.ELocked,
				"Payload List %s is attached to Global Tag %s, which is frozen: it cannot be moved.",
				payloadList, gts[*srcGT].name)
		}

		// The detached lists keep their updated (as the reference does).
		if _, err := tx.Exec(ctx, `UPDATE "PayloadList" SET global_tag_id = NULL
			WHERE global_tag_id = $1 AND payload_type_id = $2 AND id <> $3`, gtID, typeID, listID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE "PayloadList" SET global_tag_id = $1, updated = now() WHERE id = $2`, gtID, listID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE "GlobalTag" SET updated = now() WHERE id = $1`, gtID); err != nil {
			return err
		}
		pl, err = scanList(tx.QueryRow(ctx, `SELECT `+listCols+` FROM `+listFrom+` WHERE l.id = $1`, listID))
		return err
	})
	return pl, err
}

// DeletePayloadList deletes an empty list (docs/compatibility.md "Payload lists"); a list attached to
// a frozen GT stays (docs/compatibility.md "Frozen and locked protection").
func (s *Store) DeletePayloadList(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var listID int64
		var gtID *int64
		err := tx.QueryRow(ctx, `SELECT id, global_tag_id FROM "PayloadList" WHERE name = $1 FOR UPDATE`, name).
			Scan(&listID, &gtID)
		if errors.Is(err, pgx.ErrNoRows) {
			return condcache.Errorf(condcache.ENotFound, "PayloadList %s doesn't exist", name)
		} else if err != nil {
			return err
		}
		if gtID != nil {
			gts, err := lockGTsShare(ctx, tx, *gtID)
			if err != nil {
				return err
			}
			if gts[*gtID].status == condcache.StatusFrozen {
				return errFrozen()
			}
		}
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM "PayloadIOV" WHERE payload_list_id = $1`, listID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return condcache.Errorf(condcache.EConflict, "PayloadList contains %d PayloadIOVs", n)
		}
		if err := guardDelete(ctx, tx, deleteTargets{lists: []int64{listID}}); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM "PayloadList" WHERE id = $1`, listID)
		return err
	})
}
