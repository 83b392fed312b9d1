package sql

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// CloneGlobalTag deep-copies GT src into a new unlocked GT dst (docs/compatibility.md "Clone"):
// every list attached to src, in id order, gets a new sequence id and the
// name <type>_<id>, and every IOV attached to it is copied with one
// INSERT … SELECT, so a clone of a million IOVs is a handful of statements.
//
// It runs in REPEATABLE READ: all statements read src from one snapshot, so an
// attach committing into src meanwhile is either wholly in the clone or not
// at all. The clone only inserts rows, so it cannot hit serialisation errors
// other than on the dst name, which is reported as a duplicate.
func (s *Store) CloneGlobalTag(ctx context.Context, src, dst string) (condcache.GlobalTagSummary, error) {
	if err := checkLen("name", dst, condcache.MaxNameLen); err != nil {
		return condcache.GlobalTagSummary{}, err
	}
	var sum condcache.GlobalTagSummary
	err := s.inTxOpts(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		var err error
		sum, err = cloneGlobalTag(ctx, tx, src, dst)
		return err
	})
	if err == nil {
		s.afterLargeWrite(ctx, sum.PayloadIOVCount)
	}
	return sum, err
}

func cloneGlobalTag(ctx context.Context, tx pgx.Tx, src, dst string) (condcache.GlobalTagSummary, error) {
	var sum condcache.GlobalTagSummary
	var srcID int64
	err := tx.QueryRow(ctx, `SELECT id FROM "GlobalTag" WHERE name = $1`, src).Scan(&srcID)
	if errors.Is(err, pgx.ErrNoRows) {
		return sum, errGlobalTagNotFound(src)
	} else if err != nil {
		return sum, err
	}
	var unlockedID int64
	err = tx.QueryRow(ctx, `SELECT id FROM "GlobalTagStatus" WHERE name = $1`, condcache.StatusUnlocked).Scan(&unlockedID)
	if errors.Is(err, pgx.ErrNoRows) {
		return sum, condcache.Errorf(condcache.ENotFound,
			"GlobalTagStatus %q not found: a clone is created with that status.", condcache.StatusUnlocked)
	} else if err != nil {
		return sum, err
	}
	var dstID int64
	err = tx.QueryRow(ctx, `INSERT INTO "GlobalTag" (name, author, description, created, updated, status_id)
		SELECT $2, author, description, now(), now(), $3 FROM "GlobalTag" WHERE id = $1
		RETURNING id`, srcID, dst, unlockedID).Scan(&dstID)
	if isUniqueViolation(err) {
		return sum, condcache.FieldError(condcache.EConflict, "name", "global tag with this name already exists.")
	} else if err != nil {
		return sum, err
	}

	oldIDs, typeIDs, typeNames, err := attachedLists(ctx, tx, srcID)
	if err != nil {
		return sum, err
	}
	newIDs, err := takeListIDs(ctx, tx, len(oldIDs))
	if err != nil {
		return sum, err
	}
	names := make([]string, len(newIDs))
	for i, id := range newIDs {
		names[i] = listName(typeNames[i], id)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO "PayloadList" (id, name, created, updated, global_tag_id, payload_type_id)
		SELECT id, name, now(), now(), $1, type_id
		FROM unnest($2::bigint[], $3::text[], $4::bigint[]) AS n(id, name, type_id)`,
		dstID, newIDs, names, typeIDs); err != nil {
		return sum, err
	}
	// The copy sorts every row of the GT: with the default work_mem a 1M-row
	// clone sorts 200 MB on disk, and JIT compiles the plan for nothing.
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'; SET LOCAL jit = off`); err != nil {
		return sum, err
	}
	// ORDER BY i.id gives the copies ids in the same relative order as the
	// originals, so ties between equal starts resolve (highest id) to the
	// same payload in the clone as in the source.
	tag, err := tx.Exec(ctx, `INSERT INTO "PayloadIOV" (payload_url, checksum, size,
			major_iov, minor_iov, major_iov_end, minor_iov_end, extra, created, updated, comb_iov, payload_list_id)
		SELECT i.payload_url, i.checksum, i.size, i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end,
			i.extra, now(), now(), i.comb_iov, m.new_id
		FROM unnest($1::bigint[], $2::bigint[]) AS m(old_id, new_id)
		JOIN "PayloadIOV" i ON i.payload_list_id = m.old_id
		ORDER BY i.id`, oldIDs, newIDs)
	if err != nil {
		return sum, err
	}

	sum.GlobalTag, err = scanGT(tx.QueryRow(ctx, `SELECT `+gtCols+` FROM `+gtFrom+` WHERE g.id = $1`, dstID))
	sum.PayloadListCount = int64(len(newIDs))
	sum.PayloadIOVCount = tag.RowsAffected()
	return sum, err
}

// attachedLists returns the lists attached to GT gtID in id order, with their
// type ids and names.
func attachedLists(ctx context.Context, tx pgx.Tx, gtID int64) (ids, typeIDs []int64, typeNames []string, err error) {
	rows, err := tx.Query(ctx, `SELECT l.id, t.id, t.name FROM "PayloadList" l
		JOIN "PayloadType" t ON t.id = l.payload_type_id
		WHERE l.global_tag_id = $1 ORDER BY l.id`, gtID)
	if err != nil {
		return nil, nil, nil, err
	}
	var id, typeID int64
	var typeName string
	_, err = pgx.ForEachRow(rows, []any{&id, &typeID, &typeName}, func() error {
		ids, typeIDs, typeNames = append(ids, id), append(typeIDs, typeID), append(typeNames, typeName)
		return nil
	})
	return ids, typeIDs, typeNames, err
}
