package sql

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// fillDryRun fills d with what tx has done so far (docs/design.md "Dry
// runs"): the rows it changed, from its audit entry, and the answer
// changes of every GT it changed, by comparing the state in tx with that
// state with the entry undone. The caller then rolls tx back.
func fillDryRun(ctx context.Context, tx pgx.Tx, d *condcache.DryRun) error {
	*d = condcache.DryRun{}
	entry, err := currentEntry(ctx, tx)
	if err != nil || entry == 0 {
		return err
	}
	byEntry, err := entryChanges(ctx, tx, []int64{entry})
	if err != nil {
		return err
	}
	changes := byEntry[entry]
	if err := materialize(ctx, tx, entry, changes); err != nil {
		return err
	}
	var forced []byte
	if err := tx.QueryRow(ctx, `SELECT forced FROM condcache_audit WHERE id = $1`, entry).Scan(&forced); err != nil {
		return err
	}
	if d.Forced, err = decodeForced(forced); err != nil {
		return err
	}

	var gts []string
	rows, err := tx.Query(ctx, `SELECT global_tag FROM condcache_audit_generation WHERE audit_id = $1 ORDER BY global_tag`, entry)
	if err != nil {
		return err
	}
	if gts, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return err
	}

	after, err := loadAffected(ctx, tx, gts, changes)
	if err != nil {
		return err
	}
	before := after.clone()
	if err := before.undoAll(changes); err != nil {
		return err
	}
	if d.Changes, err = rowChanges(changes, before, after); err != nil {
		return err
	}
	for _, gt := range gts {
		b, _, err := before.gtLists(gt)
		if err != nil {
			return err
		}
		a, _, err := after.gtLists(gt)
		if err != nil {
			return err
		}
		d.AnswerChanges = append(d.AnswerChanges, condcache.DiffAnswers(gt, b, a)...)
	}
	return nil
}

// loadAffected reads, through q, every row the answers of the GTs named gts
// can depend on before or after changes: the GTs, their lists and those
// lists' IOVs and types, and every row the changes touch.
func loadAffected(ctx context.Context, q querier, gts []string, changes []auditChange) (rowSet, error) {
	w := rowSet{}
	touched := map[string][]int64{}
	for _, c := range changes {
		for _, img := range slices.Concat(c.Old, c.New) {
			id, err := imageID(img)
			if err != nil {
				return nil, err
			}
			touched[c.Table] = append(touched[c.Table], id)
		}
	}
	if err := w.loadRows(ctx, q, tableGT, `name = ANY($1) OR id = ANY($2)`, gts, touched[tableGT]); err != nil {
		return nil, err
	}
	// Lists and IOVs: those of the GTs as they are, and those the changes
	// name (their images before the changes are in the changes).
	gtIDs := idsOf(w, tableGT)
	for _, c := range changes {
		if c.Table != tableGT {
			continue
		}
		for _, img := range c.Old {
			id, _ := imageID(img)
			gtIDs = append(gtIDs, id)
		}
	}
	if err := w.loadRows(ctx, q, tableList, `global_tag_id = ANY($1) OR id = ANY($2)`, gtIDs, touched[tableList]); err != nil {
		return nil, err
	}
	listIDs := idsOf(w, tableList)
	for _, c := range changes {
		if c.Table != tableList {
			continue
		}
		for _, img := range c.Old {
			id, _ := imageID(img)
			listIDs = append(listIDs, id)
		}
	}
	if err := w.loadRows(ctx, q, tableIOV, `payload_list_id = ANY($1) OR id = ANY($2)`, listIDs, touched[tableIOV]); err != nil {
		return nil, err
	}
	if err := w.loadRows(ctx, q, tableType, `id IN (SELECT payload_type_id FROM "PayloadList" WHERE id = ANY($1)) OR id = ANY($2)`,
		listIDs, touched[tableType]); err != nil {
		return nil, err
	}
	// Types of lists only known from their old images (deleted in tx).
	var typeIDs []int64
	for _, c := range changes {
		if c.Table == tableList {
			for _, img := range c.Old {
				var l listImage
				if json.Unmarshal(img, &l) == nil {
					typeIDs = append(typeIDs, l.PayloadTypeID)
				}
			}
		}
	}
	if len(typeIDs) > 0 {
		if err := w.loadRows(ctx, q, tableType, `id = ANY($1)`, typeIDs); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func idsOf(w rowSet, table string) []int64 {
	ids := make([]int64, 0, len(w[table]))
	for id := range w[table] {
		ids = append(ids, id)
	}
	return ids
}

// rowChanges turns changes into one RowChange per row: its image before
// the first change and after the last, and what happened to it. before
// and after are the affected rows without and with the changes (to tell
// split copies).
func rowChanges(changes []auditChange, before, after rowSet) ([]condcache.RowChange, error) {
	type key struct {
		table string
		id    int64
	}
	type images struct{ first, last json.RawMessage }
	var order []key
	seen := map[key]*images{}
	for _, c := range changes {
		olds := map[int64]json.RawMessage{}
		for _, img := range c.Old {
			id, err := imageID(img)
			if err != nil {
				return nil, err
			}
			olds[id] = img
			k := key{c.Table, id}
			if seen[k] == nil {
				seen[k] = &images{first: img}
				order = append(order, k)
			}
			seen[k].last = nil // deleted, unless the change has it anew
		}
		for _, img := range c.New {
			id, err := imageID(img)
			if err != nil {
				return nil, err
			}
			k := key{c.Table, id}
			if seen[k] == nil {
				seen[k] = &images{first: olds[id]}
				order = append(order, k)
			}
			seen[k].last = img
		}
	}
	attachedTo := newlyAttachedLists(before, after)
	var out []condcache.RowChange
	for _, k := range order {
		b, a := seen[k].first, seen[k].last
		if b == nil && a == nil {
			continue // created and removed again
		}
		action, err := rowAction(k.table, b, a, before, attachedTo)
		if err != nil {
			return nil, err
		}
		if action == "" {
			continue // changed and changed back
		}
		out = append(out, condcache.RowChange{Table: k.table, Action: action, ID: k.id, Before: b, After: a})
	}
	return out, nil
}

// newlyAttachedLists returns the lists that an IOV was attached to in the
// change from before to after.
func newlyAttachedLists(before, after rowSet) map[int64]bool {
	out := map[int64]bool{}
	for id, a := range after[tableIOV] {
		var x, y iovImage
		if json.Unmarshal(a, &y) != nil || y.PayloadListID == nil {
			continue
		}
		if b := before[tableIOV][id]; b != nil && json.Unmarshal(b, &x) == nil && !equalPtr(x.PayloadListID, y.PayloadListID) {
			out[*y.PayloadListID] = true
		}
	}
	return out
}

// rowAction names what happened to a row between images b and a (either
// may be nil), "" when nothing did.
func rowAction(table string, b, a json.RawMessage, before rowSet, attachedTo map[int64]bool) (string, error) {
	switch {
	case b == nil && table == tableIOV:
		var y iovImage
		if err := json.Unmarshal(a, &y); err != nil {
			return "", err
		}
		if y.PayloadListID != nil && attachedTo[*y.PayloadListID] && hasPayload(before, *y.PayloadListID, y) {
			return condcache.ActionSplit, nil
		}
		return condcache.ActionAdded, nil
	case b == nil:
		return condcache.ActionAdded, nil
	case a == nil:
		return condcache.ActionDeleted, nil
	case jsonEqual(a, b):
		return "", nil
	}
	switch table {
	case tableIOV:
		var x, y iovImage
		if err := json.Unmarshal(b, &x); err != nil {
			return "", err
		}
		if err := json.Unmarshal(a, &y); err != nil {
			return "", err
		}
		switch {
		case !equalPtr(x.PayloadListID, y.PayloadListID) && y.PayloadListID == nil:
			return condcache.ActionDetached, nil
		case !equalPtr(x.PayloadListID, y.PayloadListID):
			return condcache.ActionAttached, nil
		case x.Major != y.Major || x.Minor != y.Minor:
			return condcache.ActionMoved, nil
		case x.MajorEnd != y.MajorEnd || x.MinorEnd != y.MinorEnd:
			return condcache.ActionTrimmed, nil
		}
	case tableList:
		var x, y listImage
		if err := json.Unmarshal(b, &x); err != nil {
			return "", err
		}
		if err := json.Unmarshal(a, &y); err != nil {
			return "", err
		}
		switch {
		case !equalPtr(x.GlobalTagID, y.GlobalTagID) && y.GlobalTagID == nil:
			return condcache.ActionDetached, nil
		case !equalPtr(x.GlobalTagID, y.GlobalTagID):
			return condcache.ActionAttached, nil
		}
	}
	return condcache.ActionUpdated, nil
}

// hasPayload reports whether list held, before, an IOV with y's payload:
// a new IOV with the payload of one already in the list is a split copy.
func hasPayload(before rowSet, list int64, y iovImage) bool {
	for _, raw := range before[tableIOV] {
		var x iovImage
		if json.Unmarshal(raw, &x) == nil && x.PayloadListID != nil && *x.PayloadListID == list &&
			x.PayloadURL == y.PayloadURL && x.Checksum == y.Checksum && equalPtr(x.Size, y.Size) && equalPtr(x.Extra, y.Extra) {
			return true
		}
	}
	return false
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// jsonEqual compares two JSON objects by value (numbers by their text, so
// comb_iov keeps all its digits).
func jsonEqual(a, b json.RawMessage) bool {
	x, err1 := canonicalJSON(a)
	y, err2 := canonicalJSON(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// canonicalJSON re-encodes a JSON value with sorted keys.
func canonicalJSON(b json.RawMessage) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}
