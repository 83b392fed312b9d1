package sql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// The audit trail (docs/design.md "Audit trail") and dry runs ("Dry runs").

type auditRow struct {
	id       int64
	actor    string
	endpoint string
	request  string
	gts      []string
}

func (e *storeEnv) entries() []auditRow {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT a.id, a.actor, a.endpoint, coalesce(a.request::text, ''),
			ARRAY(SELECT global_tag FROM condcache_audit_generation g WHERE g.audit_id = a.id ORDER BY global_tag)
		FROM condcache_audit a ORDER BY a.id`)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []auditRow
	var r auditRow
	if _, err := pgx.ForEachRow(rows, []any{&r.id, &r.actor, &r.endpoint, &r.request, &r.gts}, func() error {
		out = append(out, r)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestAuditOneEntryPerWrite: every committed write adds exactly one entry
// naming its writer and the GTs it changed; a refused write adds none;
// plain SQL is recorded with actor "sql".
func TestAuditOneEntryPerWrite(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	meta := condcache.WriteMeta{Actor: "jwt:alice", Endpoint: "TestEndpoint", Request: json.RawMessage(`{"method":"PUT"}`)}
	ctx := condcache.WithWriteMeta(e.ctx, meta)
	s := e.store
	step := func(what string, wantGTs []string, write func() error) {
		t.Helper()
		before := e.entries()
		if err := write(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		after := e.entries()
		if len(after) != len(before)+1 {
			t.Fatalf("%s: %d entries added, want 1", what, len(after)-len(before))
		}
		got := after[len(after)-1]
		if got.actor != meta.Actor || got.endpoint != meta.Endpoint || got.request != `{"method": "PUT"}` {
			t.Errorf("%s: entry %+v does not name the writer %+v", what, got, meta)
		}
		if !slices.Equal(got.gts, wantGTs) {
			t.Errorf("%s: entry's GTs %q, want %q", what, got.gts, wantGTs)
		}
	}
	step("status", nil, func() error { _, err := s.CreateGlobalTagStatus(ctx, "unlocked"); return err })
	step("GT", []string{"G"}, func() error { _, err := s.CreateGlobalTag(ctx, "G", "unlocked", nil); return err })
	step("type", nil, func() error { _, err := s.CreatePayloadType(ctx, "T"); return err })
	var list condcache.PayloadList
	step("list", nil, func() (err error) { list, err = s.CreatePayloadList(ctx, "T"); return err })
	step("list attach", []string{"G"}, func() error { _, err := s.AttachPayloadList(ctx, "G", list.Name); return err })
	var iov condcache.PayloadIOV
	step("IOV", nil, func() (err error) {
		iov, err = s.CreatePayloadIOV(ctx, condcache.NewPayloadIOV{PayloadURL: "a", Checksum: "c", Start: iovPt(0, 0), End: storeOpen})
		return err
	})
	step("IOV attach", []string{"G"}, func() error { _, err := s.AttachPayloadIOV(ctx, list.Name, iov.ID, nil); return err })
	step("bulk", []string{"G"}, func() error {
		_, err := s.BulkCreatePayloadIOVs(ctx, []condcache.BulkPayloadIOV{{PayloadList: list.Name, PayloadURL: "b", Start: iovPt(5, 0), End: storeOpen}})
		return err
	})
	step("clone", []string{"H"}, func() error { _, err := s.CloneGlobalTag(ctx, "G", "H"); return err })

	// Refused writes leave no entry.
	before := len(e.entries())
	if _, err := s.CreateGlobalTag(ctx, "G", "unlocked", nil); err == nil {
		t.Fatal("duplicate GT accepted")
	}
	if _, err := s.AttachPayloadList(ctx, "nope", list.Name); err == nil {
		t.Fatal("attach to an unknown GT accepted")
	}
	if n := len(e.entries()); n != before {
		t.Errorf("refused writes added %d entries", n-before)
	}

	// Without a WriteMeta the Store still names itself; plain SQL is "sql".
	if _, err := s.CreatePayloadType(e.ctx, "T2"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(e.ctx, `UPDATE "PayloadIOV" SET payload_url = 'renamed' WHERE payload_url = 'a'`); err != nil {
		t.Fatal(err)
	}
	all := e.entries()
	if got := all[len(all)-2].actor; got != "writer" {
		t.Errorf("actor without WriteMeta: %q, want writer", got)
	}
	if got := all[len(all)-1]; got.actor != "sql" || got.endpoint != "" || !slices.Equal(got.gts, []string{"G", "H"}) {
		t.Errorf("plain SQL entry: %+v, want actor sql, GTs G and H (H is G's clone)", got)
	}
}

// stateSnapshot is everything a dry run must leave as it was: the tables
// and condcache's generations, outbox and audit trail.
func (e *storeEnv) stateSnapshot() string {
	e.t.Helper()
	var b strings.Builder
	b.WriteString(e.snapshot())
	for _, q := range []string{
		`SELECT global_tag || '=' || generation FROM condcache_generation ORDER BY global_tag`,
		`SELECT global_tag || '=' || generation FROM condcache_outbox ORDER BY id`,
		`SELECT id::text FROM condcache_audit ORDER BY id`,
	} {
		rows, err := e.db.Query(e.ctx, q)
		if err != nil {
			e.t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			e.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s\n%s\n", q, strings.Join(lines, "\n"))
	}
	return b.String()
}

// TestDryRunWritesNothing: a dry run of every write reports changes and
// leaves the database as it was; a refused write is refused the same way.
func TestDryRunWritesNothing(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("G", condcache.StatusUnlocked)
	list := e.attachedPL("G", "T")
	spare := e.pl("T")
	p := e.attach(list.Name, "p", iovPt(0, 0), iovPt(0, 100))
	n := e.iov("n", iovPt(0, 50), iovPt(0, 60))
	s := e.store
	for _, tc := range []struct {
		name  string
		write func(ctx context.Context) error
	}{
		{"create status", func(ctx context.Context) error { _, err := s.CreateGlobalTagStatus(ctx, "other"); return err }},
		{"create GT", func(ctx context.Context) error { _, err := s.CreateGlobalTag(ctx, "G2", "unlocked", nil); return err }},
		{"clone", func(ctx context.Context) error { _, err := s.CloneGlobalTag(ctx, "G", "G3"); return err }},
		{"lock", func(ctx context.Context) error { _, err := s.ChangeGlobalTagStatus(ctx, "G", "locked"); return err }},
		{"delete GT", func(ctx context.Context) error { return s.DeleteGlobalTag(ctx, "G") }},
		{"create type", func(ctx context.Context) error { _, err := s.CreatePayloadType(ctx, "T9"); return err }},
		{"create list", func(ctx context.Context) error { _, err := s.CreatePayloadList(ctx, "T"); return err }},
		{"attach list", func(ctx context.Context) error { _, err := s.AttachPayloadList(ctx, "G", spare.Name); return err }},
		{"delete list", func(ctx context.Context) error { return s.DeletePayloadList(ctx, spare.Name) }},
		{"create IOV", func(ctx context.Context) error {
			_, err := s.CreatePayloadIOV(ctx, condcache.NewPayloadIOV{PayloadURL: "x", Checksum: "c", Start: iovPt(1, 0), End: storeOpen})
			return err
		}},
		{"bulk", func(ctx context.Context) error {
			_, err := s.BulkCreatePayloadIOVs(ctx, []condcache.BulkPayloadIOV{{PayloadList: list.Name, PayloadURL: "b", Start: iovPt(5, 0), End: storeOpen}})
			return err
		}},
		{"attach IOV", func(ctx context.Context) error { _, err := s.AttachPayloadIOV(ctx, list.Name, n.ID, nil); return err }},
		{"delete IOV", func(ctx context.Context) error {
			_, err := s.DeletePayloadIOV(ctx, "G", "T", p.Start, p.End)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.stateSnapshot()
			var d condcache.DryRun
			if err := tc.write(condcache.WithDryRun(e.ctx, &d)); err != nil {
				t.Fatalf("dry run: %v", err)
			}
			if after := e.stateSnapshot(); after != before {
				t.Errorf("the dry run changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if len(d.Changes) == 0 {
				t.Errorf("the dry run reports no change")
			}
		})
	}

	// The split, trim and attach of an attach, and its answer changes.
	var d condcache.DryRun
	if _, err := s.AttachPayloadIOV(condcache.WithDryRun(e.ctx, &d), list.Name, n.ID, nil); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, c := range d.Changes {
		actions = append(actions, c.Table+" "+c.Action)
	}
	slices.Sort(actions)
	if want := []string{"PayloadIOV attached", "PayloadIOV split", "PayloadIOV trimmed", "PayloadList updated"}; !slices.Equal(actions, want) {
		t.Errorf("attach changes %q, want %q", actions, want)
	}
	if len(d.AnswerChanges) != 1 {
		t.Fatalf("answer changes %+v, want one", d.AnswerChanges)
	}
	c := d.AnswerChanges[0]
	if c.GlobalTag != "G" || c.PayloadType != "T" || c.From != iovPt(0, 50) || c.Until == nil || *c.Until != iovPt(0, 60) ||
		c.Before.PayloadURL != "p" || c.After.PayloadURL != "n" {
		t.Errorf("answer change %+v (until %v), want T [(0,50), (0,60)) from p to n", c, c.Until)
	}

	// Refusals are the real call's.
	e.setStatus("G", condcache.StatusFrozen)
	_, dryErr := s.AttachPayloadIOV(condcache.WithDryRun(e.ctx, &d), list.Name, n.ID, nil)
	_, realErr := s.AttachPayloadIOV(e.ctx, list.Name, n.ID, nil)
	if dryErr == nil || condcache.ErrorDetail(dryErr) != condcache.ErrorDetail(realErr) || condcache.ErrorCodeOf(dryErr) != condcache.ErrorCodeOf(realErr) {
		t.Errorf("dry run refused with %v, the real call with %v", dryErr, realErr)
	}
}

// liveGT reads what GT name holds now: per type, its list's attached IOVs.
func (e *storeEnv) liveGT(name string) (string, bool) {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(e.ctx, `SELECT count(*) FROM "GlobalTag" WHERE name = $1`, name).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	if n == 0 {
		return "", false
	}
	var status string
	if err := e.db.QueryRow(e.ctx, `SELECT s.name FROM "GlobalTag" g JOIN "GlobalTagStatus" s ON s.id = g.status_id WHERE g.name = $1`, name).Scan(&status); err != nil {
		e.t.Fatal(err)
	}
	rows, err := e.db.Query(e.ctx, `SELECT t.name, i.id, i.payload_url, i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end
		FROM "GlobalTag" g JOIN "PayloadList" l ON l.global_tag_id = g.id JOIN "PayloadType" t ON t.id = l.payload_type_id
		JOIN "PayloadIOV" i ON i.payload_list_id = l.id WHERE g.name = $1`, name)
	if err != nil {
		e.t.Fatal(err)
	}
	byType := map[string][]condcache.PayloadIOV{}
	var typ string
	var x condcache.PayloadIOV
	if _, err := pgx.ForEachRow(rows, []any{&typ, &x.ID, &x.PayloadURL, &x.Start.Major, &x.Start.Minor, &x.End.Major, &x.End.Minor}, func() error {
		byType[typ] = append(byType[typ], x)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return "status " + status + "\n" + gtSignature(byType), true
}

// gtSignature renders a GT's lists comparably (empty lists left out: the
// live query cannot see them).
func gtSignature(byType map[string][]condcache.PayloadIOV) string {
	var lines []string
	for typ, iovs := range byType {
		for _, x := range iovs {
			lines = append(lines, fmt.Sprintf("%s %d %s %v %v", typ, x.ID, x.PayloadURL, x.Start, x.End))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestGlobalTagAtReconstructsEveryState: after a random sequence of writes
// of every kind (attaches, bulk loads, list swaps, IOVs moved between lists
// and GTs, deletes, clones onto a deleted GT's name, plain SQL), the GTs
// reconstructed from the trail at each moment recorded during the sequence
// equal what they held then.
func TestGlobalTagAtReconstructsEveryState(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	rng := rand.New(rand.NewPCG(5, 8))
	s, ctx := e.store, e.ctx
	gts := []string{"A", "B"}
	types := []string{"T1", "T2", "T3"}
	for _, g := range gts {
		e.gt(g, condcache.StatusUnlocked)
	}
	for _, typ := range types {
		e.pt(typ)
	}
	type moment struct {
		at    time.Time
		state map[string]string // GT → signature; absent: no GT
	}
	var moments []moment
	record := func() {
		m := moment{state: map[string]string{}}
		for _, g := range gts {
			if sig, ok := e.liveGT(g); ok {
				m.state[g] = sig
			}
		}
		if err := e.db.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&m.at); err != nil {
			t.Fatal(err)
		}
		moments = append(moments, m)
	}
	listOf := func(g, typ string) (string, bool) {
		var name string
		err := e.db.QueryRow(ctx, `SELECT l.name FROM "PayloadList" l JOIN "GlobalTag" g ON g.id = l.global_tag_id
			JOIN "PayloadType" t ON t.id = l.payload_type_id WHERE g.name = $1 AND t.name = $2 ORDER BY l.id DESC LIMIT 1`, g, typ).Scan(&name)
		return name, err == nil
	}
	point := func() condcache.Point { return iovPt(rng.Int64N(6), rng.Int64N(4)) }
	record()
	for step := range 120 {
		g, typ := gts[rng.IntN(len(gts))], types[rng.IntN(len(types))]
		var err error
		switch op := rng.IntN(10); {
		case op < 4: // attach an IOV, creating the list if needed
			l, ok := listOf(g, typ)
			if !ok {
				if l, ok = e.newAttachedList(g, typ); !ok {
					continue
				}
			}
			start := point()
			end := condcache.OpenEnd
			if rng.IntN(2) == 0 {
				end = iovPt(start.Major+1+rng.Int64N(2), 0)
			}
			v := e.iov(fmt.Sprintf("u%d", step), start, end)
			_, err = s.AttachPayloadIOV(ctx, l, v.ID, nil)
		case op == 4: // bulk load
			if l, ok := listOf(g, typ); ok {
				_, err = s.BulkCreatePayloadIOVs(ctx, []condcache.BulkPayloadIOV{
					{PayloadList: l, PayloadURL: fmt.Sprintf("b%d", step), Start: point(), End: condcache.OpenEnd},
					{PayloadList: l, PayloadURL: fmt.Sprintf("c%d", step), Start: point(), End: condcache.OpenEnd}})
			}
		case op == 5: // swap in a new list holding a copy of the old one's first IOV
			if old, ok := listOf(g, typ); ok {
				nl := e.pl(typ)
				var id int64
				if e.db.QueryRow(ctx, `SELECT i.id FROM "PayloadIOV" i JOIN "PayloadList" l ON l.id = i.payload_list_id
					WHERE l.name = $1 ORDER BY i.id LIMIT 1`, old).Scan(&id) == nil {
					if _, err = s.AttachPayloadIOV(ctx, nl.Name, id, nil); err != nil { // moves it out of old
						break
					}
				}
				_, err = s.AttachPayloadList(ctx, g, nl.Name)
			}
		case op == 6: // move a list to the other GT
			if l, ok := listOf(g, typ); ok {
				_, err = s.AttachPayloadList(ctx, gts[1-slices.Index(gts, g)], l)
			}
		case op == 7: // delete an IOV, or rename one with plain SQL
			if rng.IntN(2) == 0 {
				var x condcache.PayloadIOV
				if e.db.QueryRow(ctx, `SELECT i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end FROM "PayloadIOV" i
					JOIN "PayloadList" l ON l.id = i.payload_list_id JOIN "GlobalTag" g ON g.id = l.global_tag_id
					JOIN "PayloadType" t ON t.id = l.payload_type_id WHERE g.name = $1 AND t.name = $2 ORDER BY i.id LIMIT 1`, g, typ).
					Scan(&x.Start.Major, &x.Start.Minor, &x.End.Major, &x.End.Minor) == nil {
					_, err = s.DeletePayloadIOV(ctx, g, typ, x.Start, x.End)
				}
			} else {
				_, err = e.db.Exec(ctx, `UPDATE "PayloadIOV" SET payload_url = payload_url || 's' WHERE id = (SELECT max(id) FROM "PayloadIOV")`)
			}
		case op == 8: // delete the GT and clone the other onto its name
			other := gts[1-slices.Index(gts, g)]
			if err = s.DeleteGlobalTag(ctx, g); err == nil {
				record()
				_, err = s.CloneGlobalTag(ctx, other, g)
			}
		default: // lock and unlock
			e.setStatus(g, condcache.StatusLocked)
			record()
			e.setStatus(g, condcache.StatusUnlocked)
		}
		if err != nil && condcache.ErrorCodeOf(err) == condcache.EInternal {
			t.Fatalf("step %d: %v", step, err)
		}
		record()
	}
	checked := 0
	for i, m := range moments {
		for _, g := range gts {
			got, err := cdbsql.GlobalTagAtOn(ctx, e.db, g, m.at)
			want, existed := m.state[g]
			switch {
			case !existed && condcache.ErrorCodeOf(err) != condcache.ENotFound:
				t.Fatalf("moment %d (%s): GT %s did not exist, reconstruction gives %v, %v", i, m.at, g, got, err)
			case existed && err != nil:
				t.Fatalf("moment %d (%s): GT %s: %v", i, m.at, g, err)
			case existed && "status "+got.Status+"\n"+gtSignature(got.Lists) != want:
				t.Fatalf("moment %d (%s): GT %s reconstructed as\nstatus %s\n%s\nwant\n%s", i, m.at, g, got.Status, gtSignature(got.Lists), want)
			}
			checked++
		}
	}
	t.Logf("%d states reconstructed and compared, %d audit entries", checked, len(e.entries()))
}

// newAttachedList creates a list of typ and attaches it to g.
func (e *storeEnv) newAttachedList(g, typ string) (string, bool) {
	l := e.pl(typ)
	_, err := e.store.AttachPayloadList(e.ctx, g, l.Name)
	return l.Name, err == nil
}
