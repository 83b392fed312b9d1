package sql

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// CreatePayloadType creates a payload type (docs/compatibility.md "Payload types").
func (s *Store) CreatePayloadType(ctx context.Context, name string) (condcache.PayloadType, error) {
	if err := checkLen("name", name, condcache.MaxNameLen); err != nil {
		return condcache.PayloadType{}, err
	}
	var pt condcache.PayloadType
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		pt, err = scanType(tx.QueryRow(ctx, `INSERT INTO "PayloadType" AS t (name, created)
			VALUES ($1, now()) RETURNING `+typeCols, name))
		if isUniqueViolation(err) {
			return condcache.FieldError(condcache.EConflict, "name", "payload type with this name already exists.")
		}
		return err
	})
	return pt, err
}

// DeletePayloadType deletes a type that no list (attached or detached)
// refers to (docs/compatibility.md "Payload types").
func (s *Store) DeletePayloadType(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var typeID int64
		// The row lock makes a concurrent CreatePayloadList of this type
		// (which holds FOR KEY SHARE) finish first, so the count sees it.
		err := tx.QueryRow(ctx, `SELECT id FROM "PayloadType" WHERE name = $1 FOR UPDATE`, name).Scan(&typeID)
		if errors.Is(err, pgx.ErrNoRows) {
			return condcache.Errorf(condcache.ENotFound, "PayloadType %s doesn't exist", name)
		} else if err != nil {
			return err
		}
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM "PayloadList" WHERE payload_type_id = $1`, typeID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return condcache.Errorf(condcache.EConflict, "PayloadType is used by %d PayloadLists", n)
		}
		_, err = tx.Exec(ctx, `DELETE FROM "PayloadType" WHERE id = $1`, typeID)
		return err
	})
}
