package sql

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// Protection (docs/design.md "Protection"): the marks of migration 008,
// the guard every delete runs before it removes anything, and the writes
// beyond the compatible API that exercise it (marking, the bulk IOV
// delete, the clone that replaces its target).

var _ condcache.ProtectionService = (*Store)(nil)

// marksCTE resolves every mark whose object exists: its object's name, the
// GT it concerns (Protection.GlobalTag), an IOV's list (name and id).
const marksCTE = `mk AS (
	SELECT m.kind, m.object_id, coalesce(g.name, l.name, '') AS name,
		coalesce(g.name, lg.name, ig.name, '') AS global_tag, coalesce(il.name, '') AS payload_list,
		i.payload_list_id AS list_id, m.note, m.actor, m.created
	FROM condcache_protection m
	LEFT JOIN "GlobalTag" g ON m.kind = 'GlobalTag' AND g.id = m.object_id
	LEFT JOIN "PayloadList" l ON m.kind = 'PayloadList' AND l.id = m.object_id
	LEFT JOIN "GlobalTag" lg ON lg.id = l.global_tag_id
	LEFT JOIN "PayloadIOV" i ON m.kind = 'PayloadIOV' AND i.id = m.object_id
	LEFT JOIN "PayloadList" il ON il.id = i.payload_list_id
	LEFT JOIN "GlobalTag" ig ON ig.id = il.global_tag_id
	WHERE coalesce(g.id, l.id, i.id) IS NOT NULL)`

// markCols are the columns of mk that scanMark reads.
const markCols = `kind, object_id, name, global_tag, payload_list, note, actor, created`

// markDest returns the scan destinations of markCols into p.
func markDest(p *condcache.Protection) []any {
	return []any{&p.Kind, &p.ID, &p.Name, &p.GlobalTag, &p.PayloadList, &p.Note, &p.Actor, &p.Time}
}

// kindOrder sorts kinds as answers list them: GTs, lists, IOVs.
func kindOrder(kind string) int {
	switch kind {
	case condcache.KindGlobalTag:
		return 0
	case condcache.KindPayloadList:
		return 1
	}
	return 2
}

// deleteTargets are what a delete names: GTs (removed with their attached
// lists and those lists' attached IOVs), lists and IOVs. Every one is
// locked by the caller (its list or itself FOR UPDATE, a GT FOR UPDATE), so
// no mark on what it removes can be added before commit.
type deleteTargets struct {
	gts, lists, iovs []int64
}

// protectedTargets returns the protected objects a delete of t would
// remove, in answer order: every removed object with a mark of its own,
// and every IOV and list t names that is protected through its list or GT
// (the nearest mark). An object inside a removed container is protected
// through it only when the container is listed itself.
func protectedTargets(ctx context.Context, tx pgx.Tx, t deleteTargets) ([]condcache.ProtectedObject, error) {
	rows, err := tx.Query(ctx, `WITH rl AS (
			SELECT id FROM "PayloadList" WHERE id = ANY($2) OR global_tag_id = ANY($1)),
		`+marksCTE+`,
		hits AS (
			SELECT mk.kind AS o_kind, mk.object_id AS o_id, mk.name AS o_name, 0 AS rank, mk.* FROM mk
			WHERE (mk.kind = 'GlobalTag' AND mk.object_id = ANY($1))
				OR (mk.kind = 'PayloadList' AND mk.object_id IN (SELECT id FROM rl))
				OR (mk.kind = 'PayloadIOV' AND (mk.object_id = ANY($3) OR mk.list_id IN (SELECT id FROM rl)))
			UNION ALL
			SELECT 'PayloadIOV', i.id, '', 1, mk.* FROM "PayloadIOV" i
			JOIN mk ON mk.kind = 'PayloadList' AND mk.object_id = i.payload_list_id
			WHERE i.id = ANY($3)
			UNION ALL
			SELECT 'PayloadIOV', i.id, '', 2, mk.* FROM "PayloadIOV" i
			JOIN "PayloadList" l ON l.id = i.payload_list_id
			JOIN mk ON mk.kind = 'GlobalTag' AND mk.object_id = l.global_tag_id
			WHERE i.id = ANY($3)
			UNION ALL
			SELECT 'PayloadList', l.id, l.name, 2, mk.* FROM "PayloadList" l
			JOIN mk ON mk.kind = 'GlobalTag' AND mk.object_id = l.global_tag_id
			WHERE l.id = ANY($2))
		SELECT DISTINCT ON (o_kind, o_id) o_kind, o_id, o_name, `+markCols+`
		FROM hits ORDER BY o_kind, o_id, rank`, t.gts, t.lists, t.iovs)
	if err != nil {
		return nil, err
	}
	var out []condcache.ProtectedObject
	var o condcache.ProtectedObject
	o.By.Protected = true
	_, err = pgx.ForEachRow(rows, append([]any{&o.Kind, &o.ID, &o.Name}, markDest(&o.By)...), func() error {
		out = append(out, o)
		return nil
	})
	slices.SortFunc(out, func(a, b condcache.ProtectedObject) int {
		return cmp.Or(cmp.Compare(kindOrder(a.Kind), kindOrder(b.Kind)), cmp.Compare(a.ID, b.ID))
	})
	return out, err
}

// guardDelete is the protection of every delete (docs/design.md
// "Protection"), called under the delete's locks before it removes
// anything. Nothing protected: nil. Otherwise the delete is refused with
// EProtected naming every protected object, unless ctx is forced
// (condcache.WithForce): then each mark's GT must pass its authorize (the
// admin permission), the objects are recorded in the transaction's audit
// entry as deleted under force, and the marks of the removed objects go
// with them.
func guardDelete(ctx context.Context, tx pgx.Tx, t deleteTargets) error {
	objs, err := protectedTargets(ctx, tx, t)
	if err != nil || len(objs) == 0 {
		return err
	}
	authorize, force := condcache.ForceFrom(ctx)
	if !force {
		return condcache.ProtectedError(objs)
	}
	gts := map[string]bool{}
	for _, o := range objs {
		gts[o.By.GlobalTag] = true
	}
	for _, gt := range slices.Sorted(maps.Keys(gts)) {
		if err := authorize(gt); err != nil {
			return err
		}
	}
	record, err := json.Marshal(forcedImages(objs))
	if err != nil {
		return err
	}
	// condcache_audit_entry creates the entry, named by nameWriter, when
	// nothing has changed yet (in a statement of its own: an UPDATE would
	// not see the row its own WHERE inserted).
	var entry int64
	if err := tx.QueryRow(ctx, `SELECT condcache_audit_entry()`).Scan(&entry); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE condcache_audit SET forced = coalesce(forced, '[]'::jsonb) || $2::jsonb
		WHERE id = $1`, entry, string(record)); err != nil {
		return err
	}
	var kinds []string
	var ids []int64
	for _, o := range objs {
		if o.By.Kind == o.Kind && o.By.ID == o.ID {
			kinds, ids = append(kinds, o.Kind), append(ids, o.ID)
		}
	}
	_, err = tx.Exec(ctx, `DELETE FROM condcache_protection
		WHERE (kind, object_id) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`, kinds, ids)
	return err
}

// markImage and forcedImage are the stored form of what a write deleted
// under force (condcache_audit.forced): a JSON array of forcedImage.
type markImage struct {
	Kind        string    `json:"kind"`
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	GlobalTag   string    `json:"global_tag"`
	PayloadList string    `json:"payload_list"`
	Note        string    `json:"note"`
	Actor       string    `json:"actor"`
	Time        time.Time `json:"time"`
}

type forcedImage struct {
	Kind string    `json:"kind"`
	ID   int64     `json:"id"`
	Name string    `json:"name"`
	By   markImage `json:"protected_by"`
}

func forcedImages(objs []condcache.ProtectedObject) []forcedImage {
	out := make([]forcedImage, len(objs))
	for i, o := range objs {
		b := o.By
		out[i] = forcedImage{Kind: o.Kind, ID: o.ID, Name: o.Name, By: markImage{Kind: b.Kind, ID: b.ID, Name: b.Name,
			GlobalTag: b.GlobalTag, PayloadList: b.PayloadList, Note: b.Note, Actor: b.Actor, Time: b.Time}}
	}
	return out
}

// decodeForced decodes a stored forced record (nil or empty: none).
func decodeForced(raw []byte) ([]condcache.ProtectedObject, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var imgs []forcedImage
	if err := json.Unmarshal(raw, &imgs); err != nil {
		return nil, fmt.Errorf("sql: forced record: %w", err)
	}
	out := make([]condcache.ProtectedObject, len(imgs))
	for i, x := range imgs {
		b := x.By
		out[i] = condcache.ProtectedObject{Kind: x.Kind, ID: x.ID, Name: x.Name, By: condcache.Protection{Kind: b.Kind, ID: b.ID,
			Name: b.Name, GlobalTag: b.GlobalTag, PayloadList: b.PayloadList, Protected: true, Note: b.Note, Actor: b.Actor, Time: b.Time}}
	}
	return out, nil
}

// Protect marks or unmarks the objects of r, all or nothing
// (docs/design.md "Protection"). Every object is looked up first (unknown
// ones are ENotFound, all named); then, in the store's lock order, the
// lists concerned (those named and the IOVs' lists) FOR SHARE, the GTs
// named FOR SHARE and the IOVs FOR KEY SHARE: a delete of any of them
// holds a conflicting lock, so a mark is never added to an object being
// deleted without its guard seeing it. authorize runs under those locks.
// Marking a marked object again replaces its note, actor and time when the
// note differs, and changes nothing otherwise; a request that changes
// nothing writes nothing.
func (s *Store) Protect(ctx context.Context, r condcache.ProtectRequest, authorize func(globalTag string) error) ([]condcache.Protection, error) {
	if r.Len() == 0 {
		return nil, condcache.Errorf(condcache.EInvalid, "Name at least one global tag, payload list or IOV.")
	}
	if err := checkLen("note", r.Note, condcache.MaxProtectNote); err != nil {
		return nil, err
	}
	meta, _ := condcache.WriteMetaFrom(ctx)
	actor := cmp.Or(meta.Actor, defaultActor)
	var out []condcache.Protection
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		objs, err := resolveObjects(ctx, tx, r)
		if err != nil {
			return err
		}
		if err := lockObjects(ctx, tx, objs); err != nil {
			return err
		}
		again, err := resolveObjects(ctx, tx, r)
		if err != nil {
			return err
		}
		if !slices.EqualFunc(again, objs, protectObject.equal) {
			return errRetry // an IOV or list moved before its lock
		}
		gts := map[string]bool{}
		for _, o := range objs {
			gts[o.GlobalTag] = true
		}
		for _, gt := range slices.Sorted(maps.Keys(gts)) {
			if err := authorize(gt); err != nil {
				return err
			}
		}
		// Only what changes is written: a request that changes nothing
		// leaves no audit entry.
		cur, err := protectionStates(ctx, tx, objs)
		if err != nil {
			return err
		}
		var kinds []string
		var ids []int64
		for _, p := range cur {
			if p.Protected != r.Protected || r.Protected && p.Note != r.Note {
				kinds, ids = append(kinds, p.Kind), append(ids, p.ID)
			}
		}
		switch {
		case len(ids) == 0:
			out = cur
			return nil
		case r.Protected:
			_, err = tx.Exec(ctx, `INSERT INTO condcache_protection AS p (kind, object_id, note, actor)
				SELECT DISTINCT kind, object_id, $3, $4 FROM unnest($1::text[], $2::bigint[]) AS m(kind, object_id)
				ON CONFLICT (kind, object_id) DO UPDATE SET note = excluded.note, actor = excluded.actor, created = now()`,
				kinds, ids, r.Note, actor)
		default:
			_, err = tx.Exec(ctx, `DELETE FROM condcache_protection
				WHERE (kind, object_id) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`, kinds, ids)
		}
		if err != nil {
			return err
		}
		out, err = protectionStates(ctx, tx, objs)
		return err
	})
	return out, err
}

// protectObject is an object a request names, with what locking it needs.
type protectObject struct {
	condcache.Protection
	listID *int64 // a list's own id, an IOV's list
	gtID   *int64 // a GT's own id, a list's or an IOV's list's GT
}

func (a protectObject) equal(b protectObject) bool {
	return a.Kind == b.Kind && a.ID == b.ID && a.Name == b.Name && a.GlobalTag == b.GlobalTag &&
		a.PayloadList == b.PayloadList && equalPtr(a.listID, b.listID) && equalPtr(a.gtID, b.gtID)
}

// resolveObjects looks up every object of r, in r's order; unknown ones
// are ENotFound, all named.
func resolveObjects(ctx context.Context, tx pgx.Tx, r condcache.ProtectRequest) ([]protectObject, error) {
	found := map[string]protectObject{}
	key := func(kind string, id int64, name string) string { return kind + "\x00" + name + "\x00" + fmt.Sprint(id) }
	var rows pgx.Rows
	var err error
	var o protectObject
	scan := func(kind string, byName bool) error {
		_, err := pgx.ForEachRow(rows, []any{&o.ID, &o.Name, &o.GlobalTag, &o.PayloadList, &o.listID, &o.gtID}, func() error {
			o.Kind = kind
			k := key(kind, o.ID, "")
			if byName {
				k = key(kind, 0, o.Name)
			}
			found[k] = o
			return nil
		})
		return err
	}
	if rows, err = tx.Query(ctx, `SELECT g.id, g.name, g.name, '', NULL::bigint, g.id FROM "GlobalTag" g WHERE g.name = ANY($1)`,
		r.GlobalTags); err != nil {
		return nil, err
	}
	if err := scan(condcache.KindGlobalTag, true); err != nil {
		return nil, err
	}
	if rows, err = tx.Query(ctx, `SELECT l.id, l.name, coalesce(g.name, ''), '', l.id, l.global_tag_id
		FROM "PayloadList" l LEFT JOIN "GlobalTag" g ON g.id = l.global_tag_id WHERE l.name = ANY($1)`, r.PayloadLists); err != nil {
		return nil, err
	}
	if err := scan(condcache.KindPayloadList, true); err != nil {
		return nil, err
	}
	if rows, err = tx.Query(ctx, `SELECT i.id, '', coalesce(g.name, ''), coalesce(l.name, ''), i.payload_list_id, l.global_tag_id
		FROM "PayloadIOV" i LEFT JOIN "PayloadList" l ON l.id = i.payload_list_id
		LEFT JOIN "GlobalTag" g ON g.id = l.global_tag_id WHERE i.id = ANY($1)`, r.IOVs); err != nil {
		return nil, err
	}
	if err := scan(condcache.KindPayloadIOV, false); err != nil {
		return nil, err
	}
	var out []protectObject
	var missing []string
	add := func(k string, p condcache.Protection) {
		if o, ok := found[k]; ok {
			out = append(out, o)
		} else {
			missing = append(missing, p.String())
		}
	}
	for _, n := range r.GlobalTags {
		add(key(condcache.KindGlobalTag, 0, n), condcache.Protection{Kind: condcache.KindGlobalTag, Name: n})
	}
	for _, n := range r.PayloadLists {
		add(key(condcache.KindPayloadList, 0, n), condcache.Protection{Kind: condcache.KindPayloadList, Name: n})
	}
	for _, id := range r.IOVs {
		add(key(condcache.KindPayloadIOV, id, ""), condcache.Protection{Kind: condcache.KindPayloadIOV, ID: id})
	}
	if len(missing) > 0 {
		return nil, condcache.Errorf(condcache.ENotFound, "Not found: %s; nothing was changed.", strings.Join(missing, ", "))
	}
	return out, nil
}

// lockObjects takes Protect's locks on objs, in the store's order: lists,
// then GTs, then IOVs, each ascending.
func lockObjects(ctx context.Context, tx pgx.Tx, objs []protectObject) error {
	var lists, gts, iovs []int64
	for _, o := range objs {
		switch o.Kind {
		case condcache.KindGlobalTag:
			gts = append(gts, o.ID)
		case condcache.KindPayloadList:
			lists = append(lists, o.ID)
		case condcache.KindPayloadIOV:
			iovs = append(iovs, o.ID)
			if o.listID != nil {
				lists = append(lists, *o.listID)
			}
		}
	}
	if _, err := tx.Exec(ctx, `SELECT id FROM "PayloadList" WHERE id = ANY($1) ORDER BY id FOR SHARE`, lists); err != nil {
		return err
	}
	if _, err := lockGTsShare(ctx, tx, gts...); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `SELECT id FROM "PayloadIOV" WHERE id = ANY($1) ORDER BY id FOR KEY SHARE`, iovs)
	return err
}

// protectionStates returns objs with their marks.
func protectionStates(ctx context.Context, tx pgx.Tx, objs []protectObject) ([]condcache.Protection, error) {
	rows, err := tx.Query(ctx, `SELECT kind, object_id, note, actor, created FROM condcache_protection
		WHERE (kind, object_id) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`,
		kindsOf(objs), idsOfObjects(objs))
	if err != nil {
		return nil, err
	}
	type key struct {
		kind string
		id   int64
	}
	marks := map[key]condcache.Protection{}
	var p condcache.Protection
	if _, err := pgx.ForEachRow(rows, []any{&p.Kind, &p.ID, &p.Note, &p.Actor, &p.Time}, func() error {
		marks[key{p.Kind, p.ID}] = p
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]condcache.Protection, len(objs))
	for i, o := range objs {
		out[i] = o.Protection
		if m, ok := marks[key{o.Kind, o.ID}]; ok {
			out[i].Protected, out[i].Note, out[i].Actor, out[i].Time = true, m.Note, m.Actor, m.Time
		}
	}
	return out, nil
}

func kindsOf(objs []protectObject) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Kind
	}
	return out
}

func idsOfObjects(objs []protectObject) []int64 {
	out := make([]int64, len(objs))
	for i, o := range objs {
		out[i] = o.ID
	}
	return out
}

// MaxDeleteIOVs bounds one DeletePayloadIOVs call.
const MaxDeleteIOVs = 100_000

// DeletePayloadIOVs deletes the IOVs ids, all or nothing (docs/design.md
// "Protection"): unknown ids are ENotFound, all named; then, in the store's
// lock order, the IOVs' lists FOR UPDATE, their GTs FOR SHARE and the IOVs
// FOR UPDATE; authorize on each IOV's GT ("" when detached); an IOV in a
// frozen GT is ELocked, as deletePayloadIOV refuses it; then the
// protection guard.
func (s *Store) DeletePayloadIOVs(ctx context.Context, ids []int64, authorize func(globalTag string) error) (int64, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	switch {
	case len(ids) == 0:
		return 0, condcache.FieldError(condcache.EInvalid, "ids", "Name at least one IOV.")
	case len(ids) > MaxDeleteIOVs:
		return 0, condcache.FieldError(condcache.EInvalid, "ids", fmt.Sprintf("Ensure this list has no more than %d ids.", MaxDeleteIOVs))
	}
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		where, err := iovLists(ctx, tx, ids, "")
		if err != nil {
			return err
		}
		var missing []string
		for _, id := range ids {
			if _, ok := where[id]; !ok {
				missing = append(missing, condcache.Protection{Kind: condcache.KindPayloadIOV, ID: id}.String())
			}
		}
		if len(missing) > 0 {
			return condcache.Errorf(condcache.ENotFound, "Not found: %s; none deleted.", strings.Join(missing, ", "))
		}
		var listIDs []int64
		for _, l := range where {
			if l != nil {
				listIDs = append(listIDs, *l)
			}
		}
		listIDs = slices.Compact(slices.Sorted(slices.Values(listIDs)))
		rows, err := tx.Query(ctx, `SELECT id, global_tag_id FROM "PayloadList" WHERE id = ANY($1) ORDER BY id FOR UPDATE`, listIDs)
		if err != nil {
			return err
		}
		gtOfList := map[int64]*int64{}
		var id int64
		var gt *int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &gt}, func() error {
			gtOfList[id] = gt
			return nil
		}); err != nil {
			return err
		}
		var gtIDs []int64
		for _, g := range gtOfList {
			if g != nil {
				gtIDs = append(gtIDs, *g)
			}
		}
		gts, err := lockGTsShare(ctx, tx, gtIDs...)
		if err != nil {
			return err
		}
		again, err := iovLists(ctx, tx, ids, "FOR UPDATE")
		if err != nil {
			return err
		}
		if !maps2Equal(again, where) || len(gtOfList) != len(listIDs) {
			return errRetry // moved or deleted before its lock
		}
		names := map[string]bool{}
		frozen := map[string][]string{}
		for _, iov := range ids {
			name := ""
			if l := where[iov]; l != nil {
				if g := gtOfList[*l]; g != nil {
					name = gts[*g].name
					if gts[*g].status == condcache.StatusFrozen {
						frozen[name] = append(frozen[name], fmt.Sprint(iov))
					}
				}
			}
			names[name] = true
		}
		for _, gt := range slices.Sorted(maps.Keys(names)) {
			if err := authorize(gt); err != nil {
				return err
			}
		}
		if len(frozen) > 0 {
			var parts []string
			for _, gt := range slices.Sorted(maps.Keys(frozen)) {
				parts = append(parts, fmt.Sprintf("GlobalTag %q (PayloadIOV %s)", gt, strings.Join(frozen[gt], ", ")))
			}
			return condcache.Errorf(condcache.ELocked, "Global Tag is frozen: %s; none deleted.", strings.Join(parts, "; "))
		}
		if err := guardDelete(ctx, tx, deleteTargets{iovs: ids}); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM "PayloadIOV" WHERE id = ANY($1)`, ids)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// iovLists returns the list of each of the IOVs ids that exist (nil:
// detached), reading them with lock ("" or a locking clause).
func iovLists(ctx context.Context, tx pgx.Tx, ids []int64, lock string) (map[int64]*int64, error) {
	rows, err := tx.Query(ctx, `SELECT id, payload_list_id FROM "PayloadIOV" WHERE id = ANY($1) ORDER BY id `+lock, ids)
	if err != nil {
		return nil, err
	}
	out := map[int64]*int64{}
	var id int64
	var l *int64
	_, err = pgx.ForEachRow(rows, []any{&id, &l}, func() error {
		out[id] = l
		return nil
	})
	return out, err
}

func maps2Equal(a, b map[int64]*int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !equalPtr(v, w) {
			return false
		}
	}
	return true
}

// CloneGlobalTagReplacing clones src into dst, deleting dst first when it
// exists (docs/design.md "Protection"): DeleteGlobalTag's rules (locked and
// frozen refused, the protection guard) and CloneGlobalTag's, in one
// REPEATABLE READ transaction. A mark added to dst after the transaction's
// snapshot bumps dst's generation (migration 008), so the delete's own bump
// fails to serialise and the transaction runs again, seeing the mark.
func (s *Store) CloneGlobalTagReplacing(ctx context.Context, src, dst string) (condcache.GlobalTagSummary, error) {
	if err := checkLen("name", dst, condcache.MaxNameLen); err != nil {
		return condcache.GlobalTagSummary{}, err
	}
	if src == dst {
		return condcache.GlobalTagSummary{}, condcache.Errorf(condcache.EInvalid, "A global tag cannot replace itself: name another target.")
	}
	var sum condcache.GlobalTagSummary
	err := s.inTxOpts(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		var srcID int64
		err := tx.QueryRow(ctx, `SELECT id FROM "GlobalTag" WHERE name = $1`, src).Scan(&srcID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errGlobalTagNotFound(src)
		} else if err != nil {
			return err
		}
		if err := deleteGlobalTag(ctx, tx, dst); err != nil && condcache.ErrorCodeOf(err) != condcache.ENotFound {
			return err
		}
		sum, err = cloneGlobalTag(ctx, tx, src, dst)
		return err
	})
	if err == nil {
		s.afterLargeWrite(ctx, sum.PayloadIOVCount)
	}
	return sum, err
}
