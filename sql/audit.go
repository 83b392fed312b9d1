package sql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// The audit trail (docs/design.md "Audit trail") is written by triggers
// (migration 006) in each write's own transaction. This file names the
// writer of a transaction, reads what the triggers captured, and undoes it
// on rows held in memory: the dry runs undo their own transaction, and
// reconstructions of past states undo every later entry.

// defaultActor names writes whose caller said nothing (in-process callers
// of the Store such as the load generator); plain SQL is "sql".
const defaultActor = "writer"

// nameWriter tells the audit triggers who writes in tx and how.
func nameWriter(ctx context.Context, tx pgx.Tx, m condcache.WriteMeta) error {
	actor := m.Actor
	if actor == "" {
		actor = defaultActor
	}
	_, err := tx.Exec(ctx, `SELECT set_config('condcache.actor', $1, true),
		set_config('condcache.endpoint', $2, true), set_config('condcache.request', $3, true)`,
		actor, m.Endpoint, string(m.Request))
	return err
}

// Tables of the audit trail's images, as the triggers name them.
const (
	tableStatus = "GlobalTagStatus"
	tableGT     = "GlobalTag"
	tableType   = "PayloadType"
	tableList   = "PayloadList"
	tableIOV    = "PayloadIOV"
)

// auditChange is one row of condcache_audit_change: what one statement did
// to one table (a chunk of it).
type auditChange struct {
	ID    int64 // of the condcache_audit_change row
	Table string
	Op    string
	Old   []json.RawMessage
	New   []json.RawMessage
	// NewIDs are the ids a large IOV insert added, recorded instead of
	// its images (migration 011); materialize turns them into New.
	NewIDs []int64
	Lists  []int64 // the payload lists involved
}

// currentEntry returns the id of tx's audit entry, or 0 when tx has
// changed nothing yet.
func currentEntry(ctx context.Context, tx pgx.Tx) (int64, error) {
	var id *int64
	err := tx.QueryRow(ctx, `SELECT nullif(current_setting('condcache.audit_entry', true), '')::bigint`).Scan(&id)
	if err != nil || id == nil {
		return 0, err
	}
	return *id, nil
}

// querier is what reads need of a pool, a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// entryChanges returns the changes of the entries ids, each entry's in
// statement order, entries in the order of ids. A large IOV insert has its
// ids only (NewIDs): undoing it needs no more, and materialize gives the
// images to those who show them.
func entryChanges(ctx context.Context, q querier, ids []int64) (map[int64][]auditChange, error) {
	rows, err := q.Query(ctx, `SELECT audit_id, id, tbl, op, old, new, new_ids, lists FROM condcache_audit_change
		WHERE audit_id = ANY($1) ORDER BY audit_id, id`, ids)
	if err != nil {
		return nil, err
	}
	out := map[int64][]auditChange{}
	var entry int64
	var c auditChange
	var oldJSON, newJSON []byte
	_, err = pgx.ForEachRow(rows, []any{&entry, &c.ID, &c.Table, &c.Op, &oldJSON, &newJSON, &c.NewIDs, &c.Lists}, func() error {
		x := auditChange{ID: c.ID, Table: c.Table, Op: c.Op, NewIDs: c.NewIDs, Lists: c.Lists}
		if err := unmarshalImages(oldJSON, &x.Old); err != nil {
			return err
		}
		if err := unmarshalImages(newJSON, &x.New); err != nil {
			return err
		}
		out[entry] = append(out[entry], x)
		return nil
	})
	return out, err
}

// materialize gives the compact changes of entry (those with NewIDs) their
// images: an inserted row is, until its next change, what that change
// recorded as its old image, and the row as the table holds it when nothing
// has changed it since (docs/design.md "Audit trail"). Later changes are
// those after it in the same entry, then those of entries committed after
// it (commit time, then id). A row removed without a trace (TRUNCATE) has
// no image.
func materialize(ctx context.Context, q querier, entry int64, changes []auditChange) error {
	for i := range changes {
		c := &changes[i]
		if len(c.NewIDs) == 0 || len(c.New) > 0 {
			continue
		}
		found := make(map[int64]json.RawMessage, len(c.NewIDs))
		rows, err := q.Query(ctx, `SELECT DISTINCT ON (k) k, j FROM (
				SELECT (j->>'id')::bigint AS k, j, a.id <> $1 AS later_entry, a.time, a.id AS aid, ch.id AS cid
				FROM condcache_audit_change ch
				JOIN condcache_audit a ON a.id = ch.audit_id
				CROSS JOIN LATERAL jsonb_array_elements(ch.old) j
				WHERE ch.tbl = $2 AND ch.old IS NOT NULL AND ch.lists && $3
				  AND ((a.id = $1 AND ch.id > $4)
				    OR (a.id <> $1 AND (a.time, a.id) > (SELECT time, id FROM condcache_audit WHERE id = $1)))
			) x WHERE k = ANY($5)
			ORDER BY k, later_entry, time, aid, cid`, entry, c.Table, c.Lists, c.ID, c.NewIDs)
		if err != nil {
			return err
		}
		var id int64
		var img []byte
		if _, err := pgx.ForEachRow(rows, []any{&id, &img}, func() error {
			found[id] = slices.Clone(img)
			return nil
		}); err != nil {
			return err
		}
		var rest []int64
		for _, id := range c.NewIDs {
			if found[id] == nil {
				rest = append(rest, id)
			}
		}
		if len(rest) > 0 {
			rows, err := q.Query(ctx, `SELECT id, to_jsonb(t) FROM "`+c.Table+`" t WHERE id = ANY($1)`, rest)
			if err != nil {
				return err
			}
			if _, err := pgx.ForEachRow(rows, []any{&id, &img}, func() error {
				found[id] = slices.Clone(img)
				return nil
			}); err != nil {
				return err
			}
		}
		c.New = make([]json.RawMessage, 0, len(c.NewIDs))
		for _, id := range c.NewIDs {
			if img := found[id]; img != nil {
				c.New = append(c.New, img)
			}
		}
	}
	return nil
}

func unmarshalImages(b []byte, into *[]json.RawMessage) error {
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, into)
}

// rowSet holds rows of condcache's tables as the audit images show them
// (JSON objects of their columns), by table and id.
type rowSet map[string]map[int64]json.RawMessage

// put adds or replaces row in table.
func (w rowSet) put(table string, row json.RawMessage) error {
	id, err := imageID(row)
	if err != nil {
		return err
	}
	if w[table] == nil {
		w[table] = map[int64]json.RawMessage{}
	}
	w[table][id] = row
	return nil
}

// undo steps back over one change: the rows it produced are removed and
// the rows it replaced put back. A TRUNCATE cannot be undone (its rows
// were not captured).
func (w rowSet) undo(c auditChange) error {
	if c.Op == "TRUNCATE" {
		return condcache.Errorf(condcache.EConflict, "The table %s was truncated: earlier states cannot be reconstructed.", c.Table)
	}
	for _, row := range c.New {
		id, err := imageID(row)
		if err != nil {
			return err
		}
		delete(w[c.Table], id)
	}
	for _, id := range c.NewIDs {
		delete(w[c.Table], id)
	}
	for _, row := range c.Old {
		if err := w.put(c.Table, row); err != nil {
			return err
		}
	}
	return nil
}

// undoAll undoes changes from the last to the first.
func (w rowSet) undoAll(changes []auditChange) error {
	for i := len(changes) - 1; i >= 0; i-- {
		if err := w.undo(changes[i]); err != nil {
			return err
		}
	}
	return nil
}

func (w rowSet) clone() rowSet {
	out := make(rowSet, len(w))
	for t, rows := range w {
		out[t] = make(map[int64]json.RawMessage, len(rows))
		for id, r := range rows {
			out[t][id] = r
		}
	}
	return out
}

func imageID(row json.RawMessage) (int64, error) {
	var v struct {
		ID *int64 `json:"id"`
	}
	if err := json.Unmarshal(row, &v); err != nil || v.ID == nil {
		return 0, fmt.Errorf("sql: audit image without an id: %.100s", row)
	}
	return *v.ID, nil
}

// loadRows adds to w the current rows of table whose ids are ids, read
// through q in the same JSON form as the audit images.
func (w rowSet) loadRows(ctx context.Context, q querier, table string, cond string, args ...any) error {
	rows, err := q.Query(ctx, `SELECT to_jsonb(t) FROM "`+table+`" t WHERE `+cond, args...)
	if err != nil {
		return err
	}
	var row []byte
	_, err = pgx.ForEachRow(rows, []any{&row}, func() error {
		return w.put(table, slices.Clone(row))
	})
	return err
}

// Decoded images.

type gtImage struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	StatusID int64  `json:"status_id"`
}

type typeImage struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type listImage struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	GlobalTagID   *int64 `json:"global_tag_id"`
	PayloadTypeID int64  `json:"payload_type_id"`
}

type iovImage struct {
	ID            int64        `json:"id"`
	PayloadURL    string       `json:"payload_url"`
	Checksum      string       `json:"checksum"`
	Size          *int64       `json:"size"`
	Major         int64        `json:"major_iov"`
	Minor         int64        `json:"minor_iov"`
	MajorEnd      int64        `json:"major_iov_end"`
	MinorEnd      int64        `json:"minor_iov_end"`
	CombIOV       *json.Number `json:"comb_iov"`
	Extra         *string      `json:"extra"`
	PayloadListID *int64       `json:"payload_list_id"`
	Created       time.Time    `json:"created"`
	Updated       time.Time    `json:"updated"`
}

func (x iovImage) iov() condcache.PayloadIOV {
	v := condcache.PayloadIOV{
		ID: x.ID, PayloadURL: x.PayloadURL, Checksum: x.Checksum, Size: x.Size,
		Start: condcache.Point{Major: x.Major, Minor: x.Minor}, End: condcache.Point{Major: x.MajorEnd, Minor: x.MinorEnd},
		Extra: x.Extra, PayloadListID: x.PayloadListID, Created: x.Created, Updated: x.Updated,
	}
	if x.CombIOV != nil {
		s := x.CombIOV.String()
		v.CombIOV = &s
	}
	return v
}

// decodeAll decodes every row of table in w.
func decodeAll[T any](w rowSet, table string) ([]T, error) {
	out := make([]T, 0, len(w[table]))
	for _, raw := range w[table] {
		var v T
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return nil, fmt.Errorf("sql: audit image of %s: %w", table, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// gtLists returns, for the GT named name in w, each payload type's
// attached IOVs (the list with the highest id when a type has several, as
// gtPayloadLists answers), and whether the GT exists in w.
func (w rowSet) gtLists(name string) (map[string][]condcache.PayloadIOV, bool, error) {
	gts, err := decodeAll[gtImage](w, tableGT)
	if err != nil {
		return nil, false, err
	}
	gtID, found := int64(0), false
	for _, g := range gts {
		if g.Name == name {
			gtID, found = g.ID, true
		}
	}
	if !found {
		return nil, false, nil
	}
	types, err := decodeAll[typeImage](w, tableType)
	if err != nil {
		return nil, false, err
	}
	typeName := map[int64]string{}
	for _, t := range types {
		typeName[t.ID] = t.Name
	}
	lists, err := decodeAll[listImage](w, tableList)
	if err != nil {
		return nil, false, err
	}
	listOfType := map[string]int64{}
	for _, l := range lists {
		if l.GlobalTagID != nil && *l.GlobalTagID == gtID {
			t := typeName[l.PayloadTypeID]
			listOfType[t] = max(listOfType[t], l.ID)
		}
	}
	typeOfList := map[int64]string{}
	for t, id := range listOfType {
		typeOfList[id] = t
	}
	iovs, err := decodeAll[iovImage](w, tableIOV)
	if err != nil {
		return nil, false, err
	}
	out := map[string][]condcache.PayloadIOV{}
	for t := range listOfType {
		out[t] = nil
	}
	for _, x := range iovs {
		if x.PayloadListID == nil {
			continue
		}
		if t, ok := typeOfList[*x.PayloadListID]; ok {
			out[t] = append(out[t], x.iov())
		}
	}
	return out, true, nil
}

// gtStatus returns the status name of the GT named name in w, reading the
// statuses as they are now (a status is renamed only with plain SQL).
func (w rowSet) gtStatus(ctx context.Context, q querier, name string) (string, error) {
	gts, err := decodeAll[gtImage](w, tableGT)
	if err != nil {
		return "", err
	}
	for _, g := range gts {
		if g.Name == name {
			var status string
			err := q.QueryRow(ctx, `SELECT name FROM "GlobalTagStatus" WHERE id = $1`, g.StatusID).Scan(&status)
			if errors.Is(err, pgx.ErrNoRows) {
				return "", nil // deleted since
			}
			return status, err
		}
	}
	return "", nil
}
