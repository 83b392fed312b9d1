package sql

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// CreateGlobalTagStatus creates a GT status (docs/compatibility.md "Statuses").
func (s *Store) CreateGlobalTagStatus(ctx context.Context, name string) (condcache.GlobalTagStatus, error) {
	if err := checkLen("name", name, condcache.MaxNameLen); err != nil {
		return condcache.GlobalTagStatus{}, err
	}
	var st condcache.GlobalTagStatus
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		st, err = scanStatus(tx.QueryRow(ctx, `INSERT INTO "GlobalTagStatus" AS s (name, created)
			VALUES ($1, now()) RETURNING `+statusCols, name))
		if isUniqueViolation(err) {
			return condcache.FieldError(condcache.EConflict, "name", "global tag status with this name already exists.")
		}
		return err
	})
	return st, err
}

// CreateGlobalTag creates a GT with an existing status, given by name
// (docs/compatibility.md "Create global tag"; any status, locked and frozen included).
func (s *Store) CreateGlobalTag(ctx context.Context, name, status string, author *string) (condcache.GlobalTag, error) {
	if err := checkLen("name", name, condcache.MaxNameLen); err != nil {
		return condcache.GlobalTag{}, err
	}
	if author != nil {
		if err := checkLen("author", *author, condcache.MaxNameLen); err != nil {
			return condcache.GlobalTag{}, err
		}
	}
	var gt condcache.GlobalTag
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		gt, err = scanGT(tx.QueryRow(ctx, `
			WITH s AS (SELECT id, name, description, created FROM "GlobalTagStatus" WHERE name = $2),
			g AS (
				INSERT INTO "GlobalTag" (name, author, created, updated, status_id)
				SELECT $1, $3, now(), now(), s.id FROM s
				RETURNING *)
			SELECT `+gtCols+` FROM g, s`, name, status, author))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return errStatusNotFound(status)
		case isUniqueViolation(err):
			return condcache.FieldError(condcache.EConflict, "name", "global tag with this name already exists.")
		}
		return err
	})
	return gt, err
}

// ChangeGlobalTagStatus sets a GT's status (any to any, docs/compatibility.md "Change status").
func (s *Store) ChangeGlobalTagStatus(ctx context.Context, name, status string) (condcache.GlobalTag, error) {
	var gt condcache.GlobalTag
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var gtID int64
		err := tx.QueryRow(ctx, `SELECT id FROM "GlobalTag" WHERE name = $1 FOR NO KEY UPDATE`, name).Scan(&gtID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errGlobalTagNotFound(name)
		} else if err != nil {
			return err
		}
		var statusID int64
		err = tx.QueryRow(ctx, `SELECT id FROM "GlobalTagStatus" WHERE name = $1`, status).Scan(&statusID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errStatusNotFound(status)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE "GlobalTag" SET status_id = $2, updated = now() WHERE id = $1`, gtID, statusID); err != nil {
			return err
		}
		gt, err = scanGT(tx.QueryRow(ctx, `SELECT `+gtCols+` FROM `+gtFrom+` WHERE g.id = $1`, gtID))
		return err
	})
	return gt, err
}

// DeleteGlobalTag deletes an unlocked GT, the lists attached to it and the
// IOVs attached to those (docs/compatibility.md "Delete global tag"). The FKs have no ON DELETE, so the
// children go first, all in one transaction.
func (s *Store) DeleteGlobalTag(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return deleteGlobalTag(ctx, tx, name) })
}

// deleteGlobalTag is DeleteGlobalTag in tx; a clone that replaces its
// target runs it too (CloneGlobalTagReplacing).
func deleteGlobalTag(ctx context.Context, tx pgx.Tx, name string) error {
	var gtID int64
	err := tx.QueryRow(ctx, `SELECT id FROM "GlobalTag" WHERE name = $1`, name).Scan(&gtID)
	if errors.Is(err, pgx.ErrNoRows) {
		return condcache.Errorf(condcache.ENotFound, "GlobalTag %s doesn't exist", name)
	} else if err != nil {
		return err
	}
	// Lists before the GT (the store's lock order): this waits for
	// attaches in progress into the GT's lists.
	if _, err := tx.Exec(ctx, `SELECT id FROM "PayloadList" WHERE global_tag_id = $1 ORDER BY id FOR UPDATE`, gtID); err != nil {
		return err
	}
	var status string
	err = tx.QueryRow(ctx, `SELECT s.name FROM `+gtFrom+` WHERE g.id = $1 FOR UPDATE OF g`, gtID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return errRetry // deleted concurrently: the retry reports it missing
	} else if err != nil {
		return err
	}
	switch status {
	case condcache.StatusLocked:
		return errLocked()
	case condcache.StatusFrozen:
		return errFrozen()
	}
	// The cascade removes the GT's lists and their IOVs: none may be
	// protected (docs/design.md "Protection").
	if err := guardDelete(ctx, tx, deleteTargets{gts: []int64{gtID}}); err != nil {
		return err
	}
	// With the GT locked no list can be attached to it any more; the
	// statements below see (and lock) any attached since the first lock.
	if _, err := tx.Exec(ctx, `DELETE FROM "PayloadIOV" WHERE payload_list_id IN
		(SELECT id FROM "PayloadList" WHERE global_tag_id = $1)`, gtID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM "PayloadList" WHERE global_tag_id = $1`, gtID); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM "GlobalTag" WHERE id = $1`, gtID)
	return err
}
