package sql

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
)

// Reads of the audit trail (docs/design.md "Audit trail"), from a backend
// that holds every write committed before the call.

var _ condcache.AuditReader = (*Reader)(nil)

// Audit returns one page of the entries q selects, newest first, each with
// a summary of its changes (table, operation, row count) and the
// generations it produced; AuditEntry has the rows themselves. A GT or type
// filter naming nothing that exists now or ever appeared in the trail is
// ENotFound.
func (r *Reader) Audit(ctx context.Context, q condcache.AuditQuery) (condcache.Page[condcache.AuditEntry], error) {
	page := condcache.Page[condcache.AuditEntry]{Page: q.Page, PageSize: q.PageSize}
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		if err := checkAuditFilters(ctx, tx, q); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT a.id, a.time, a.actor, a.endpoint, a.request, a.forced, count(*) OVER ()
			FROM condcache_audit a
			WHERE ($1 = '' OR EXISTS (SELECT 1 FROM condcache_audit_generation g WHERE g.audit_id = a.id AND g.global_tag = $1))
			  AND ($2 = '' OR EXISTS (SELECT 1 FROM condcache_audit_change c WHERE c.audit_id = a.id AND c.types @> ARRAY[$2]))
			  AND ($3 = '' OR a.actor = $3)
			  AND ($4::timestamptz IS NULL OR a.time >= $4)
			  AND ($5::timestamptz IS NULL OR a.time < $5)
			ORDER BY a.time DESC, a.id DESC
			LIMIT $6 OFFSET $7`,
			q.GlobalTag, q.PayloadType, q.Actor, nullTime(q.Since), nullTime(q.Until),
			q.PageSize, int64(q.Page-1)*int64(q.PageSize))
		if err != nil {
			return err
		}
		var e condcache.AuditEntry
		var request, forced []byte
		var count int64
		_, err = pgx.ForEachRow(rows, []any{&e.ID, &e.Time, &e.Actor, &e.Endpoint, &request, &forced, &count}, func() error {
			e.Request = json.RawMessage(slices.Clone(request))
			var err error
			if e.Forced, err = decodeForced(forced); err != nil {
				return err
			}
			page.Results = append(page.Results, e)
			page.Count = count
			return nil
		})
		if err != nil {
			return err
		}
		if len(page.Results) == 0 && q.Page > 1 {
			// Past the end: count the matches anyway, as browse mode does.
			page.Count, err = countAudit(ctx, tx, q)
			if err != nil {
				return err
			}
		}
		return fillEntrySummaries(ctx, tx, page.Results)
	})
	page.TotalPages = max(1, (page.Count+int64(q.PageSize)-1)/int64(q.PageSize))
	return page, err
}

func countAudit(ctx context.Context, tx pgx.Tx, q condcache.AuditQuery) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT count(*) FROM condcache_audit a
		WHERE ($1 = '' OR EXISTS (SELECT 1 FROM condcache_audit_generation g WHERE g.audit_id = a.id AND g.global_tag = $1))
		  AND ($2 = '' OR EXISTS (SELECT 1 FROM condcache_audit_change c WHERE c.audit_id = a.id AND c.types @> ARRAY[$2]))
		  AND ($3 = '' OR a.actor = $3)
		  AND ($4::timestamptz IS NULL OR a.time >= $4)
		  AND ($5::timestamptz IS NULL OR a.time < $5)`,
		q.GlobalTag, q.PayloadType, q.Actor, nullTime(q.Since), nullTime(q.Until)).Scan(&n)
	return n, err
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// checkAuditFilters refuses a GT or type filter that names nothing known.
func checkAuditFilters(ctx context.Context, tx pgx.Tx, q condcache.AuditQuery) error {
	if q.GlobalTag != "" {
		var known bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM "GlobalTag" WHERE name = $1)
			OR EXISTS (SELECT 1 FROM condcache_generation WHERE global_tag = $1)`, q.GlobalTag).Scan(&known)
		if err != nil {
			return err
		}
		if !known {
			return condcache.Errorf(condcache.ENotFound, "GlobalTag %s does not exist and never did.", q.GlobalTag)
		}
	}
	if q.PayloadType != "" {
		var known bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM "PayloadType" WHERE name = $1)
			OR EXISTS (SELECT 1 FROM condcache_audit_change WHERE types @> ARRAY[$1])`, q.PayloadType).Scan(&known)
		if err != nil {
			return err
		}
		if !known {
			return condcache.Errorf(condcache.ENotFound, "PayloadType %s does not exist and never did.", q.PayloadType)
		}
	}
	return nil
}

// fillEntrySummaries adds to each entry its change summaries and
// generations.
func fillEntrySummaries(ctx context.Context, tx pgx.Tx, entries []condcache.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	ids := make([]int64, len(entries))
	index := map[int64]int{}
	for i, e := range entries {
		ids[i], index[e.ID] = e.ID, i
	}
	rows, err := tx.Query(ctx, `SELECT audit_id, tbl, op, sum(rows)::bigint FROM condcache_audit_change
		WHERE audit_id = ANY($1) GROUP BY audit_id, tbl, op ORDER BY audit_id, min(id)`, ids)
	if err != nil {
		return err
	}
	var id, n int64
	var c condcache.AuditChange
	_, err = pgx.ForEachRow(rows, []any{&id, &c.Table, &c.Op, &n}, func() error {
		c.Rows = n
		entries[index[id]].Changes = append(entries[index[id]].Changes, c)
		return nil
	})
	if err != nil {
		return err
	}
	return fillGenerations(ctx, tx, entries, index, ids)
}

func fillGenerations(ctx context.Context, tx pgx.Tx, entries []condcache.AuditEntry, index map[int64]int, ids []int64) error {
	rows, err := tx.Query(ctx, `SELECT audit_id, global_tag, generation FROM condcache_audit_generation
		WHERE audit_id = ANY($1) ORDER BY audit_id, global_tag`, ids)
	if err != nil {
		return err
	}
	var id int64
	var inv condcache.Invalidation
	_, err = pgx.ForEachRow(rows, []any{&id, &inv.GlobalTag, &inv.Generation}, func() error {
		entries[index[id]].Generations = append(entries[index[id]].Generations, inv)
		return nil
	})
	return err
}

// AuditEntry returns entry id with every row it changed; ENotFound if none.
func (r *Reader) AuditEntry(ctx context.Context, id int64) (condcache.AuditEntry, error) {
	var e condcache.AuditEntry
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		var request, forced []byte
		err := tx.QueryRow(ctx, `SELECT id, time, actor, endpoint, request, forced FROM condcache_audit WHERE id = $1`, id).
			Scan(&e.ID, &e.Time, &e.Actor, &e.Endpoint, &request, &forced)
		if errors.Is(err, pgx.ErrNoRows) {
			return condcache.Errorf(condcache.ENotFound, "Audit entry %d does not exist.", id)
		} else if err != nil {
			return err
		}
		e.Request = json.RawMessage(request)
		if e.Forced, err = decodeForced(forced); err != nil {
			return err
		}
		byEntry, err := entryChanges(ctx, tx, []int64{id})
		if err != nil {
			return err
		}
		if err := materialize(ctx, tx, id, byEntry[id]); err != nil {
			return err
		}
		for _, c := range byEntry[id] {
			e.Changes = append(e.Changes, condcache.AuditChange{Table: c.Table, Op: c.Op,
				Rows: int64(max(len(c.Old), len(c.New), len(c.NewIDs))), Old: c.Old, New: c.New})
		}
		entries := []condcache.AuditEntry{e}
		if err := fillGenerations(ctx, tx, entries, map[int64]int{id: 0}, []int64{id}); err != nil {
			return err
		}
		e = entries[0]
		return nil
	})
	return e, err
}

// GlobalTagAt returns what GT name held at time at, as reconstructed from
// the audit trail (docs/design.md "Audit trail"): its status, its
// generation then, and for each payload type the IOVs attached to its
// list. ENotFound when the GT did not exist then. The trail only reaches
// back to condcache's migration 006; a state before it is reconstructed as
// if nothing had been written since, and across a TRUNCATE it is
// EConflict.
func (r *Reader) GlobalTagAt(ctx context.Context, name string, at time.Time) (condcache.GTState, error) {
	var out condcache.GTState
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = globalTagAt(ctx, tx, name, at)
		return err
	})
	return out, err
}

// GlobalTagAtOn is GlobalTagAt read through db directly (the primary in
// tests and tools).
func GlobalTagAtOn(ctx context.Context, db *pgxpool.Pool, name string, at time.Time) (condcache.GTState, error) {
	var out condcache.GTState
	err := pgx.BeginTxFunc(ctx, db, snapshotOptions, func(tx pgx.Tx) error {
		var err error
		out, err = globalTagAt(ctx, tx, name, at)
		return err
	})
	return out, err
}

// GenerationTime implements condcache.AuditReader: the commit time of the
// entry that gave GT name that generation.
func (r *Reader) GenerationTime(ctx context.Context, name string, generation int64) (time.Time, error) {
	var t time.Time
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT a.time FROM condcache_audit_generation g
			JOIN condcache_audit a ON a.id = g.audit_id
			WHERE g.global_tag = $1 AND g.generation = $2`, name, generation).Scan(&t)
		if errors.Is(err, pgx.ErrNoRows) {
			return condcache.Errorf(condcache.ENotFound, "Generation %d of GlobalTag %s is not in the audit trail.", generation, name)
		}
		return err
	})
	return t, err
}

// globalTagAt loads the GT as it is, and every entry after at that touched
// it or a list it holds or held since, repeating until no new list turns
// up; then undoes those entries newest first.
func globalTagAt(ctx context.Context, tx pgx.Tx, name string, at time.Time) (condcache.GTState, error) {
	var state condcache.GTState
	lists, status, err := reconstruct(ctx, tx, name, at)
	if err != nil {
		return state, err
	}
	state.Lists, state.Status = lists, status
	err = tx.QueryRow(ctx, `SELECT coalesce((SELECT g.generation FROM condcache_audit_generation g
			JOIN condcache_audit a ON a.id = g.audit_id
			WHERE g.global_tag = $1 AND a.time <= $2 ORDER BY a.time DESC, a.id DESC LIMIT 1), 0)`, name, at).Scan(&state.Generation)
	return state, err
}

// reconstruct rebuilds the lists and status of GT name at time at.
func reconstruct(ctx context.Context, tx pgx.Tx, name string, at time.Time) (map[string][]condcache.PayloadIOV, string, error) {
	w := rowSet{}
	if err := w.loadRows(ctx, tx, tableGT, `name = $1`, name); err != nil {
		return nil, "", err
	}
	if err := w.loadRows(ctx, tx, tableList, `global_tag_id = ANY($1)`, idsOf(w, tableGT)); err != nil {
		return nil, "", err
	}
	lists := idsOf(w, tableList)
	if err := w.loadRows(ctx, tx, tableIOV, `payload_list_id = ANY($1)`, lists); err != nil {
		return nil, "", err
	}
	entries := []int64{} // not nil: "<> ALL(NULL)" would select nothing
	changes := map[int64][]auditChange{}
	for {
		var more []int64
		rows, err := tx.Query(ctx, `SELECT a.id FROM condcache_audit a
			WHERE a.time > $1 AND a.id <> ALL($4) AND (
				EXISTS (SELECT 1 FROM condcache_audit_generation g WHERE g.audit_id = a.id AND g.global_tag = $2)
				OR EXISTS (SELECT 1 FROM condcache_audit_change c WHERE c.audit_id = a.id AND c.lists && $3))`,
			at, name, lists, entries)
		if err != nil {
			return nil, "", err
		}
		if more, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return nil, "", err
		}
		if len(more) == 0 {
			break
		}
		byEntry, err := entryChanges(ctx, tx, more)
		if err != nil {
			return nil, "", err
		}
		newLists, err := loadTouched(ctx, tx, w, byEntry, lists)
		if err != nil {
			return nil, "", err
		}
		for id, cs := range byEntry {
			changes[id] = cs
		}
		entries = append(entries, more...)
		lists = append(lists, newLists...)
	}
	// Newest first: by commit time, then id.
	rows, err := tx.Query(ctx, `SELECT id FROM condcache_audit WHERE id = ANY($1) ORDER BY time DESC, id DESC`, entries)
	if err != nil {
		return nil, "", err
	}
	order, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, "", err
	}
	for _, id := range order {
		if err := w.undoAll(changes[id]); err != nil {
			return nil, "", err
		}
	}
	if err := w.loadRows(ctx, tx, tableType, `id IN (SELECT (j->>'payload_type_id')::bigint FROM jsonb_array_elements($1::jsonb) j)`,
		listImages(w)); err != nil {
		return nil, "", err
	}
	out, found, err := w.gtLists(name)
	if err != nil {
		return nil, "", err
	}
	if !found {
		return nil, "", condcache.Errorf(condcache.ENotFound, "GlobalTag %s did not exist at %s.", name, at.UTC().Format(time.RFC3339Nano))
	}
	status, err := w.gtStatus(ctx, tx, name)
	return out, status, err
}

// loadTouched adds to w the current rows that changes touch (those still
// there), and the IOVs of lists the changes name that are not in known;
// it returns those new lists.
func loadTouched(ctx context.Context, tx pgx.Tx, w rowSet, byEntry map[int64][]auditChange, known []int64) ([]int64, error) {
	ids := map[string][]int64{}
	var newLists []int64
	for _, cs := range byEntry {
		for _, c := range cs {
			// A compact insert (NewIDs): its rows are in its lists.
			ids[c.Table] = append(ids[c.Table], c.NewIDs...)
			if c.Table == tableIOV && len(c.NewIDs) > 0 {
				newLists = append(newLists, c.Lists...)
			}
			for _, img := range slices.Concat(c.Old, c.New) {
				id, err := imageID(img)
				if err != nil {
					return nil, err
				}
				ids[c.Table] = append(ids[c.Table], id)
				var ref struct {
					List *int64 `json:"payload_list_id"`
				}
				if c.Table == tableIOV && json.Unmarshal(img, &ref) == nil && ref.List != nil {
					newLists = append(newLists, *ref.List)
				}
				if c.Table == tableList {
					newLists = append(newLists, id)
				}
			}
		}
	}
	for _, t := range []string{tableGT, tableList, tableIOV, tableType} {
		if err := w.loadRows(ctx, tx, t, `id = ANY($1) AND id <> ALL($2)`, ids[t], idsOf(w, t)); err != nil {
			return nil, err
		}
	}
	slices.Sort(newLists)
	newLists = slices.Compact(newLists)
	newLists = slices.DeleteFunc(newLists, func(id int64) bool { return slices.Contains(known, id) })
	if len(newLists) > 0 {
		if err := w.loadRows(ctx, tx, tableList, `id = ANY($1) AND id <> ALL($2)`, newLists, idsOf(w, tableList)); err != nil {
			return nil, err
		}
		if err := w.loadRows(ctx, tx, tableIOV, `payload_list_id = ANY($1) AND id <> ALL($2)`, newLists, idsOf(w, tableIOV)); err != nil {
			return nil, err
		}
	}
	return newLists, nil
}

// listImages returns the list rows of w as one JSON array.
func listImages(w rowSet) string {
	b := []byte{'['}
	for _, row := range w[tableList] {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, row...)
	}
	return string(append(b, ']'))
}
