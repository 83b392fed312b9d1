package sql_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// Concurrency against an oracle (issue "Reliability and security", item 3).
// Many goroutines write to one GT at once through the Store; afterwards the
// database must hold exactly what the pure attach algorithm
// (condcache.PlanAttach) gives when the acknowledged writes are applied one
// by one in the order they committed, every refused write must be one that
// the algorithm refuses at some point that order allows, and every clone
// must equal the source GT at one point of that order: never half a write.
//
// The commit order is made observable by deferred constraint triggers, test
// instrumentation added to the test's own database: at commit, every write
// that attaches an IOV, changes a GT's status or attaches a list takes one
// transaction-scoped advisory lock and logs itself with a sequence number.
// The lock is released only once the commit is visible, so the sequence is
// the commit order and every snapshot sees a prefix of the log. It orders
// commits only: the reads each write makes before committing, which the
// Store's row locks must serialise, run as concurrently as without it. The
// log also gives the ids of split copies, which the model needs: ties
// between equal starts (possible once the locked online special case has
// let IOVs overlap) are broken by id.

const oracleInstrumentation = `
CREATE SEQUENCE oracle_seq;
CREATE TABLE oracle_log (seq bigint PRIMARY KEY, xid bigint NOT NULL, kind text NOT NULL, row_id bigint NOT NULL, ref bigint);
CREATE TABLE oracle_lists (id bigint PRIMARY KEY);
CREATE FUNCTION oracle_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_ARGV[0] = 'split' THEN
		IF NOT EXISTS (SELECT 1 FROM oracle_lists WHERE id = NEW.payload_list_id) THEN
			RETURN NULL; -- a clone's copy
		END IF;
	END IF;
	PERFORM pg_advisory_xact_lock(7031);
	INSERT INTO oracle_log VALUES (nextval('oracle_seq'), pg_current_xact_id()::text::bigint,
		TG_ARGV[0], NEW.id, (to_jsonb(NEW)->>TG_ARGV[1])::bigint);
	RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER oracle_attach AFTER UPDATE OF payload_list_id ON "PayloadIOV"
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (NEW.payload_list_id IS NOT NULL AND NEW.payload_list_id IS DISTINCT FROM OLD.payload_list_id)
	EXECUTE FUNCTION oracle_note('attach', 'payload_list_id');
CREATE CONSTRAINT TRIGGER oracle_status AFTER UPDATE OF status_id ON "GlobalTag"
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oracle_note('status', 'status_id');
CREATE CONSTRAINT TRIGGER oracle_pl_attach AFTER UPDATE OF global_tag_id ON "PayloadList"
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.global_tag_id IS NOT NULL)
	EXECUTE FUNCTION oracle_note('pl_attach', 'global_tag_id');
CREATE CONSTRAINT TRIGGER oracle_split AFTER INSERT ON "PayloadIOV"
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.payload_list_id IS NOT NULL)
	EXECUTE FUNCTION oracle_note('split', 'payload_list_id');
`

// oracleEnv is a storeEnv whose Store has a pool large enough for every
// goroutine to hold a connection, with the commit log installed.
type oracleEnv struct {
	*storeEnv
	mode condcache.IOVMode
	gt   string
	gtID int64
	// lists by id: name, type; and the lists attached to the GT at the start.
	listName map[int64]string
	listType map[int64]string
	attached map[string]int64 // type -> list
	status   string

	mu   sync.Mutex
	reqs []*oracleReq
}

func newOracleEnv(t *testing.T, mode condcache.IOVMode, conns int32) *oracleEnv {
	t.Helper()
	db := testDB(t)
	cfg, err := pgxpool.ParseConfig(stack.Primary.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = conns
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	e := &oracleEnv{
		storeEnv: &storeEnv{t: t, ctx: context.Background(), db: p, store: cdbsql.NewStore(p, mode)},
		mode:     mode, listName: map[int64]string{}, listType: map[int64]string{}, attached: map[string]int64{},
	}
	e.statuses()
	if _, err := e.store.CreateGlobalTagStatus(e.ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(e.ctx, oracleInstrumentation); err != nil {
		t.Fatalf("installing the commit log: %v", err)
	}
	return e
}

// setup creates the GT (unlocked) and its lists: attached[i] says whether
// list i (of types[i]) starts attached to it.
func (e *oracleEnv) setup(types []string, attached []bool) []condcache.PayloadList {
	e.t.Helper()
	e.gt, e.status = "G", condcache.StatusUnlocked
	e.gtID = e.storeEnv.gt(e.gt, condcache.StatusUnlocked).ID
	var out []condcache.PayloadList
	for i, ty := range types {
		if e.count(`SELECT count(*) FROM "PayloadType" WHERE name = $1`, ty) == 0 {
			e.pt(ty)
		}
		l := e.pl(ty)
		if attached[i] {
			var err error
			if l, err = e.store.AttachPayloadList(e.ctx, e.gt, l.Name); err != nil {
				e.t.Fatal(err)
			}
			e.attached[ty] = l.ID
		}
		e.listName[l.ID], e.listType[l.ID] = l.Name, ty
		if _, err := e.db.Exec(e.ctx, `INSERT INTO oracle_lists VALUES ($1)`, l.ID); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, l)
	}
	// The setup itself is not part of the history.
	if _, err := e.db.Exec(e.ctx, `TRUNCATE oracle_log`); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// oracleReq is one request of the history.
type oracleReq struct {
	kind        string // attach, status, pl_attach, clone
	iov         condcache.PayloadIOV
	list        int64  // attach, pl_attach: the target list
	status      string // status: the new status
	clone       string // clone: the new GT
	sent, acked time.Time
	err         error
	worker      int
	splitID     int64 // attach: the id of the split copy it committed, if any
}

// do runs a request and records it with its real-time interval.
func (e *oracleEnv) do(r *oracleReq, f func() error) {
	r.sent = time.Now()
	r.err = f()
	r.acked = time.Now()
	e.mu.Lock()
	e.reqs = append(e.reqs, r)
	e.mu.Unlock()
}

func (e *oracleEnv) attach(ctx context.Context, worker int, iov condcache.PayloadIOV, list int64) error {
	r := &oracleReq{kind: "attach", iov: iov, list: list, worker: worker}
	e.do(r, func() error {
		_, err := e.store.AttachPayloadIOV(ctx, e.listName[list], iov.ID, nil)
		return err
	})
	return r.err
}

// randomOracleIOV: overlapping IOVs in majors 0-2, some open-ended, some
// ending at the online-open (0, MAX).
func randomOracleIOV(rng *rand.Rand) (start, end condcache.Point) {
	start = condcache.Point{Major: rng.Int64N(3), Minor: rng.Int64N(60)}
	switch rng.IntN(8) {
	case 0:
		end = condcache.OpenEnd
	case 1:
		end = condcache.Point{Major: 0, Minor: condcache.MaxIOV}
		if start.Major > 0 {
			end = condcache.OpenEnd
		}
	case 2:
		end = condcache.Point{Major: start.Major + 1, Minor: rng.Int64N(60)}
	default:
		end = condcache.Point{Major: start.Major, Minor: start.Minor + 1 + rng.Int64N(25)}
	}
	return start, end
}

// ---------------------------------------------------------------------------
// The model: the GT and its lists as the oracle sees them.

type oracleModel struct {
	e        *oracleEnv
	status   string
	attached map[string]int64 // type -> list attached to the GT
	rows     map[int64][]condcache.PayloadIOV
	listOf   map[int64]int64                // IOV -> list (0: detached)
	bounds   map[int64]condcache.PayloadIOV // IOV -> its current bounds, attached or not
}

func (e *oracleEnv) newModel() *oracleModel {
	m := &oracleModel{e: e, status: e.status, attached: map[string]int64{}, rows: map[int64][]condcache.PayloadIOV{},
		listOf: map[int64]int64{}, bounds: map[int64]condcache.PayloadIOV{}}
	for ty, l := range e.attached {
		m.attached[ty] = l
	}
	return m
}

func (m *oracleModel) isAttached(list int64) bool { return m.attached[m.e.listType[list]] == list }

// attach applies (or refuses) an attach of r.iov into r.list; it changes
// nothing when it refuses. The IOV's current list and bounds (a trim or a
// shift may have changed them since it was created) are the model's.
func (m *oracleModel) attach(r *oracleReq, apply bool) error {
	n, known := m.bounds[r.iov.ID]
	if !known {
		n = r.iov
	}
	status := ""
	if m.isAttached(r.list) {
		status = m.status
	}
	if status == condcache.StatusFrozen {
		return condcache.Errorf(condcache.ELocked, "Global Tag is frozen.")
	}
	src := m.listOf[n.ID]
	if src != 0 && src != r.list && m.isAttached(src) && m.status == condcache.StatusFrozen {
		return condcache.Errorf(condcache.ELocked,
			"PayloadIOV %d is attached to a list of Global Tag %s, which is frozen: it cannot be moved.", n.ID, m.e.gt)
	}
	plan, err := condcache.PlanAttach(m.e.mode, status, m.rows[r.list], n)
	if err != nil || !apply {
		return err
	}
	if src != 0 {
		m.rows[src] = slices.DeleteFunc(m.rows[src], func(x condcache.PayloadIOV) bool { return x.ID == n.ID })
	}
	var kept []condcache.PayloadIOV
	var from condcache.PayloadIOV
	for _, x := range m.rows[r.list] {
		if plan.Split != nil && x.ID == plan.Split.FromID {
			from = x
		}
		if slices.Contains(plan.Detach, x.ID) {
			m.listOf[x.ID] = 0
			continue
		}
		for _, rs := range plan.Resize {
			if rs.ID == x.ID {
				x.Start, x.End = rs.Start, rs.End
				m.bounds[x.ID] = x
			}
		}
		kept = append(kept, x)
	}
	switch sp := plan.Split; {
	case sp == nil && r.splitID != 0:
		return fmt.Errorf("the commit inserted a copy (IOV %d) where the oracle splits nothing", r.splitID)
	case sp != nil && r.splitID == 0:
		return fmt.Errorf("the oracle splits IOV %d at %v→%v, the commit inserted no copy", sp.FromID, sp.Start, sp.End)
	case sp != nil:
		c := condcache.PayloadIOV{ID: r.splitID, PayloadURL: from.PayloadURL, Start: sp.Start, End: sp.End}
		kept = append(kept, c)
		m.listOf[c.ID], m.bounds[c.ID] = r.list, c
	}
	m.rows[r.list] = append(kept, n)
	m.listOf[n.ID] = r.list
	m.bounds[n.ID] = n
	return nil
}

// plAttach applies (or refuses) attaching list r.list to the GT.
func (m *oracleModel) plAttach(r *oracleReq, apply bool) error {
	ty := m.e.listType[r.list]
	switch {
	case m.status == condcache.StatusFrozen:
		return condcache.Errorf(condcache.ELocked, "Global Tag is frozen.")
	case m.status == condcache.StatusLocked && m.attached[ty] != 0:
		return condcache.Errorf(condcache.ELocked, "Payload List of type %s already attached and Global Tag is locked.", ty)
	}
	if apply {
		m.attached[ty] = r.list
	}
	return nil
}

// view is what a clone of the GT holds: per type, the spans of its list.
func (m *oracleModel) view() string {
	var b strings.Builder
	for _, ty := range slices.Sorted(maps.Keys(m.attached)) {
		fmt.Fprintf(&b, "%s: %v\n", ty, spansOf(m.rows[m.attached[ty]]))
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// Checking a history.

type logEntry struct {
	seq, xid   int64
	kind       string
	rowID, ref int64
}

func (e *oracleEnv) commitLog() []logEntry {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT seq, xid, kind, row_id, coalesce(ref, 0) FROM oracle_log ORDER BY seq`)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []logEntry
	var l logEntry
	if _, err := pgx.ForEachRow(rows, []any{&l.seq, &l.xid, &l.kind, &l.rowID, &l.ref}, func() error {
		out = append(out, l)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// check matches the log with the acknowledged requests, replays them in
// commit order through the model and compares: every logged write must be
// accepted by the model, every refused one refused with the same detail at
// some point its real-time interval allows, every clone equal to the GT at
// such a point, and the database at the end equal to the model. It returns
// the number of acknowledged writes.
func (e *oracleEnv) check() int {
	t := e.t
	t.Helper()
	log := e.commitLog()
	var statusIDs = map[int64]string{}
	rows, err := e.db.Query(e.ctx, `SELECT id, name FROM "GlobalTagStatus"`)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	var name string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { statusIDs[id] = name; return nil }); err != nil {
		t.Fatal(err)
	}

	// Match each log entry with its acknowledged request. Attaches are
	// unique by (IOV, list); status changes and list attaches come from
	// one goroutine each, in its order.
	byAttach := map[[2]int64]*oracleReq{}
	var seqOf = map[string][]*oracleReq{}
	var refused, clones []*oracleReq
	sort.Slice(e.reqs, func(i, j int) bool { return e.reqs[i].sent.Before(e.reqs[j].sent) })
	for _, r := range e.reqs {
		switch {
		case r.kind == "clone":
			if r.err != nil {
				t.Errorf("clone %s: %v", r.clone, r.err)
			}
			clones = append(clones, r)
		case r.err != nil:
			refused = append(refused, r)
		case r.kind == "attach":
			k := [2]int64{r.iov.ID, r.list}
			if byAttach[k] != nil {
				t.Fatalf("test bug: IOV %d attached twice to list %d", r.iov.ID, r.list)
			}
			byAttach[k] = r
		default:
			seqOf[r.kind] = append(seqOf[r.kind], r)
		}
	}
	// Split copies belong to the attach of the same transaction.
	splits := map[int64]int64{}
	for _, l := range log {
		if l.kind == "split" {
			if splits[l.xid] != 0 {
				t.Fatalf("transaction %d inserted two copies", l.xid)
			}
			splits[l.xid] = l.rowID
		}
	}
	log = slices.DeleteFunc(log, func(l logEntry) bool { return l.kind == "split" })
	order := make([]*oracleReq, len(log))
	for i, l := range log {
		var r *oracleReq
		switch l.kind {
		case "attach":
			r = byAttach[[2]int64{l.rowID, l.ref}]
			delete(byAttach, [2]int64{l.rowID, l.ref})
			if r != nil {
				r.splitID = splits[l.xid]
				delete(splits, l.xid)
			}
		case "status", "pl_attach":
			if q := seqOf[l.kind]; len(q) > 0 {
				r, seqOf[l.kind] = q[0], q[1:]
				if l.rowID != e.gtID && l.kind == "status" || l.kind == "status" && statusIDs[l.ref] != r.status ||
					l.kind == "pl_attach" && (l.rowID != r.list || l.ref != e.gtID) {
					t.Fatalf("commit %d (%+v) is not the next %s request (%+v)", l.seq, l, l.kind, r)
				}
			}
		}
		if r == nil {
			t.Fatalf("commit %d (%+v) matches no acknowledged request: a refused or unknown write committed", l.seq, l)
		}
		order[i] = r
	}
	for k, r := range byAttach {
		t.Errorf("acknowledged attach of IOV %d to list %d never committed (%v)", k[0], k[1], r.err)
	}
	for xid, id := range splits {
		t.Errorf("transaction %d inserted IOV %d into a list without attaching anything", xid, id)
	}
	for kind, q := range seqOf {
		for _, r := range q {
			t.Errorf("acknowledged %s request never committed: %+v", kind, r)
		}
	}
	if t.Failed() {
		return 0
	}

	// The commit order must agree with real time: a request acknowledged
	// before another was sent committed first.
	for i := range order {
		for j := i + 1; j < len(order); j++ {
			if order[j].acked.Before(order[i].sent) {
				t.Errorf("commit %d (acknowledged at %v) is after commit %d (sent at %v)", j, order[j].acked, i, order[i].sent)
			}
		}
	}
	// window gives the positions (states after a prefix of order) where a
	// request sent at s and acknowledged at a may have taken effect.
	window := func(r *oracleReq) (lo, hi int) {
		hi = len(order)
		for i, o := range order {
			if o.acked.Before(r.sent) {
				lo = i + 1
			}
			if o.sent.After(r.acked) && i < hi {
				hi = i
			}
		}
		return lo, hi
	}
	type pending struct {
		r      *oracleReq
		lo, hi int
		found  bool
		seen   []string
	}
	var waiting []*pending
	for _, r := range append(refused, clones...) {
		lo, hi := window(r)
		waiting = append(waiting, &pending{r: r, lo: lo, hi: hi})
	}

	m := e.newModel()
	for p := 0; p <= len(order); p++ {
		view := ""
		for _, w := range waiting {
			if w.found || p < w.lo || p > w.hi {
				continue
			}
			switch w.r.kind {
			case "clone":
				if view == "" {
					view = m.view()
				}
				w.found = view == e.cloneView(w.r.clone)
				if len(w.seen) < 2 {
					w.seen = append(w.seen, fmt.Sprintf("p=%d next=%s list=%d status=%s attached=%v\n%s", p, func() string {
						if p < len(order) {
							return order[p].kind
						}
						return "-"
					}(), func() int64 {
						if p < len(order) {
							return order[p].list
						}
						return 0
					}(), m.status, m.attached, view))
				}
			case "attach", "pl_attach":
				var err error
				if w.r.kind == "attach" {
					err = m.attach(w.r, false)
				} else {
					err = m.plAttach(w.r, false)
				}
				w.found = err != nil && condcache.ErrorDetail(err) == condcache.ErrorDetail(w.r.err)
				if len(w.seen) < 3 {
					w.seen = append(w.seen, fmt.Sprint(err))
				}
			}
		}
		if p == len(order) {
			break
		}
		r := order[p]
		var err error
		switch r.kind {
		case "attach":
			err = m.attach(r, true)
		case "pl_attach":
			err = m.plAttach(r, true)
		case "status":
			m.status = r.status
		}
		if err != nil {
			t.Fatalf("commit %d (%s of IOV %d %v→%v into list %d, status %s): the oracle refuses it: %v",
				p, r.kind, r.iov.ID, r.iov.Start, r.iov.End, r.list, m.status, err)
		}
	}
	for _, w := range waiting {
		if w.found {
			continue
		}
		switch w.r.kind {
		case "clone":
			t.Errorf("clone %s matches the GT at no point between commits %d and %d:\n%s\nDEBUG %s", w.r.clone, w.lo, w.hi, e.cloneView(w.r.clone), strings.Join(w.seen, "\n"))
		default:
			t.Errorf("%s of IOV %d %v→%v into list %d was refused (%v), but the oracle does not refuse it so at any point between commits %d and %d (it says %v)",
				w.r.kind, w.r.iov.ID, w.r.iov.Start, w.r.iov.End, w.r.list, w.r.err, w.lo, w.hi, w.seen)
		}
	}

	// The database now: each list, and each IOV's list.
	for l := range e.listName {
		got, want := e.attachedRows(l), m.rows[l]
		if !sameIOVs(got, want) {
			t.Errorf("list %s after %d commits:\n got  %v\n want %v", e.listName[l], len(order), spansOf(got), spansOf(want))
		}
	}
	for iov, l := range m.listOf {
		if iov < 0 {
			continue
		}
		var got *int64
		if err := e.db.QueryRow(e.ctx, `SELECT payload_list_id FROM "PayloadIOV" WHERE id = $1`, iov).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if (got == nil) != (l == 0) || got != nil && *got != l {
			t.Errorf("IOV %d: list %v, want %d", iov, got, l)
		}
	}
	var status string
	if err := e.db.QueryRow(e.ctx, `SELECT s.name FROM "GlobalTag" g JOIN "GlobalTagStatus" s ON s.id = g.status_id WHERE g.id = $1`, e.gtID).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != m.status {
		t.Errorf("GT status %s, want %s", status, m.status)
	}
	return len(order)
}

// cloneView is the view of GT name as stored.
func (e *oracleEnv) cloneView(name string) string {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT l.id, t.name FROM "PayloadList" l
		JOIN "PayloadType" t ON t.id = l.payload_type_id JOIN "GlobalTag" g ON g.id = l.global_tag_id
		WHERE g.name = $1 ORDER BY t.name`, name)
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []int64
	var types []string
	var id int64
	var ty string
	if _, err := pgx.ForEachRow(rows, []any{&id, &ty}, func() error {
		ids, types = append(ids, id), append(types, ty)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for i, id := range ids {
		fmt.Fprintf(&b, "%s: %v\n", types[i], spansOf(e.attachedRows(id)))
	}
	return b.String()
}

// run starts workers and waits for them, failing the test if they do not
// finish in time (a deadlock or a livelock).
func (e *oracleEnv) run(timeout time.Duration, workers int, work func(ctx context.Context, w int, rng *rand.Rand)) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, timeout)
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(ctx, w, rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano()))))
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		e.t.Fatalf("the writes did not finish within %v: %v", timeout, ctx.Err())
	}
}

// TestStoreOracleAttach: 32 goroutines attach overlapping IOVs to one list
// of an unlocked GT, and to a list of a frozen GT (always refused). The
// list must end up as the attach algorithm leaves it after the
// acknowledged attaches in commit order; the frozen GT's list stays empty.
func TestStoreOracleAttach(t *testing.T) {
	e := newOracleEnv(t, condcache.ModeContinuous, 40)
	list := e.setup([]string{"Beam"}, []bool{true})[0]
	e.storeEnv.gt("F", condcache.StatusUnlocked)
	frozen := e.attachedPL("F", "Beam")
	e.setStatus("F", condcache.StatusFrozen)
	e.listName[frozen.ID], e.listType[frozen.ID] = frozen.Name, "other GT"
	if _, err := e.db.Exec(e.ctx, `TRUNCATE oracle_log`); err != nil {
		t.Fatal(err)
	}

	const workers, perWorker = 32, 10
	e.run(time.Minute, workers, func(ctx context.Context, w int, rng *rand.Rand) {
		for i := range perWorker {
			start, end := randomOracleIOV(rng)
			v, err := e.store.CreatePayloadIOV(ctx, condcache.NewPayloadIOV{
				PayloadURL: fmt.Sprintf("w%d.%d", w, i), Checksum: "c", Start: start, End: end})
			if err != nil {
				t.Errorf("create: %v", err)
				return
			}
			target := list.ID
			if i%5 == 4 {
				target = frozen.ID
			}
			err = e.attach(ctx, w, v, target)
			switch {
			case target == frozen.ID && condcache.ErrorDetail(err) != "Global Tag is frozen.":
				t.Errorf("attach into a frozen GT: %v", err)
			case target != frozen.ID && err != nil:
				t.Errorf("attach: %v", err)
			}
		}
	})
	// The model knows G only: the attaches into the frozen GT's list are
	// checked here instead (all refused, nothing committed: check fails on
	// a commit it cannot match).
	delete(e.listName, frozen.ID)
	var refused []*oracleReq
	e.reqs = slices.DeleteFunc(e.reqs, func(r *oracleReq) bool {
		if r.list == frozen.ID {
			refused = append(refused, r)
			return true
		}
		return false
	})
	if n := e.check(); n != workers*perWorker*4/5 {
		t.Errorf("%d attaches committed, want %d", n, workers*perWorker*4/5)
	}
	if got := e.attachedRows(frozen.ID); len(got) != 0 || len(refused) != workers*perWorker/5 {
		t.Errorf("the frozen GT's list holds %v after %d refused attaches", spansOf(got), len(refused))
	}
	if pairs, bad := e.overlaps(list.ID); pairs != 0 || bad != 0 {
		t.Errorf("%d overlapping pairs, %d bad rows", pairs, bad)
	}
}

// TestStoreOracleLocked: the same on a locked GT, where the order decides
// which conflicting IOVs are accepted: each refusal must be the one the
// algorithm gives (same conflicting IOV) at a point the order allows.
func TestStoreOracleLocked(t *testing.T) {
	e := newOracleEnv(t, condcache.ModeContinuous, 40)
	list := e.setup([]string{"Beam"}, []bool{true})[0]
	e.setStatus(e.gt, condcache.StatusLocked)
	e.status = condcache.StatusLocked
	if _, err := e.db.Exec(e.ctx, `TRUNCATE oracle_log`); err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 32, 8
	e.run(time.Minute, workers, func(ctx context.Context, w int, rng *rand.Rand) {
		for i := range perWorker {
			// Short IOVs over a wider range, so that about half fit, and
			// open-ended ones after them (the online special case).
			start := condcache.Point{Major: rng.Int64N(40), Minor: rng.Int64N(60)}
			end := condcache.Point{Major: start.Major, Minor: start.Minor + 1 + rng.Int64N(40)}
			if rng.IntN(10) == 0 {
				start.Major, end = 40+rng.Int64N(3), condcache.OpenEnd
			}
			v, err := e.store.CreatePayloadIOV(ctx, condcache.NewPayloadIOV{
				PayloadURL: fmt.Sprintf("w%d.%d", w, i), Checksum: "c", Start: start, End: end})
			if err != nil {
				t.Errorf("create: %v", err)
				return
			}
			if err := e.attach(ctx, w, v, list.ID); err != nil && condcache.ErrorCodeOf(err) != condcache.ELocked {
				t.Errorf("attach: %v", err)
			}
		}
	})
	n := e.check()
	t.Logf("%d of %d attaches accepted into the locked GT", n, workers*perWorker)
	if n == 0 || n == workers*perWorker {
		t.Errorf("%d of %d accepted: the history does not exercise both outcomes", n, workers*perWorker)
	}
}

// TestStoreOracleStatusAndClone: writers attach into the GT's two lists and
// into a detached list of the same type as one of them, and move IOVs
// between the three, while one goroutine changes the GT's status (unlocked,
// locked, frozen, other), another swaps which list of that type is
// attached, and a third clones the GT over and over. A status change racing a write
// either refuses it or comes after it; a clone is the GT at one point of
// the commit order.
func TestStoreOracleStatusAndClone(t *testing.T) {
	e := newOracleEnv(t, condcache.ModeContinuous, 40)
	lists := e.setup([]string{"A", "A", "B"}, []bool{true, false, true})
	ids := []int64{lists[0].ID, lists[1].ID, lists[2].ID}

	const writers, perWorker = 24, 12
	// The status changer and the cloner run until the last writer is done.
	done := make(chan struct{})
	var active sync.WaitGroup
	active.Add(writers)
	go func() { active.Wait(); close(done) }()
	e.run(90*time.Second, writers+3, func(ctx context.Context, w int, rng *rand.Rand) {
		switch w {
		case writers: // status changes
			statuses := []string{condcache.StatusUnlocked, condcache.StatusLocked, condcache.StatusFrozen, "other",
				condcache.StatusUnlocked, "other"}
			for {
				select {
				case <-done:
					return
				case <-time.After(time.Duration(3+rng.IntN(8)) * time.Millisecond):
				}
				r := &oracleReq{kind: "status", status: statuses[rng.IntN(len(statuses))], worker: w}
				e.do(r, func() error { _, err := e.store.ChangeGlobalTagStatus(ctx, e.gt, r.status); return err })
				if r.err != nil {
					t.Errorf("status change: %v", r.err)
				}
			}
		case writers + 1: // swaps of the attached list of type A: a clone
			// must see the one or the other with the other lists as they
			// were at the same point
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				case <-time.After(time.Duration(rng.IntN(3)) * time.Millisecond):
				}
				l := ids[i%2]
				r := &oracleReq{kind: "pl_attach", list: l, worker: w}
				e.do(r, func() error { _, err := e.store.AttachPayloadList(ctx, e.gt, e.listName[l]); return err })
				if r.err != nil && condcache.ErrorCodeOf(r.err) != condcache.ELocked {
					t.Errorf("pl_attach: %v", r.err)
				}
			}
		case writers + 2: // clones
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				case <-time.After(time.Duration(rng.IntN(3)) * time.Millisecond):
				}
				r := &oracleReq{kind: "clone", clone: fmt.Sprintf("C%d", i), worker: w}
				e.do(r, func() error { _, err := e.store.CloneGlobalTag(ctx, e.gt, r.clone); return err })
			}
		default:
			defer active.Done()
			var mine []condcache.PayloadIOV
			moved := map[int64]bool{}
			target := map[int64]int64{}
			for i := range perWorker {
				if len(mine) > 0 && rng.IntN(4) == 0 {
					v := mine[rng.IntN(len(mine))]
					if !moved[v.ID] {
						moved[v.ID] = true
						l := ids[rng.IntN(3)]
						for l == target[v.ID] {
							l = ids[rng.IntN(3)]
						}
						if err := e.attach(ctx, w, v, l); err != nil && condcache.ErrorCodeOf(err) != condcache.ELocked {
							t.Errorf("move: %v", err)
						}
						continue
					}
				}
				start, end := randomOracleIOV(rng)
				v, err := e.store.CreatePayloadIOV(ctx, condcache.NewPayloadIOV{
					PayloadURL: fmt.Sprintf("w%d.%d", w, i), Checksum: "c", Start: start, End: end})
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				l := ids[rng.IntN(3)]
				target[v.ID] = l
				if err := e.attach(ctx, w, v, l); err != nil && condcache.ErrorCodeOf(err) != condcache.ELocked {
					t.Errorf("attach: %v", err)
				}
				mine = append(mine, v)
			}
		}
	})
	n := e.check()
	var kinds = map[string][2]int{}
	for _, r := range e.reqs {
		k := kinds[r.kind]
		if r.err == nil {
			k[0]++
		} else {
			k[1]++
		}
		kinds[r.kind] = k
	}
	t.Logf("%d commits; accepted/refused by kind: %v", n, kinds)
	for _, kind := range []string{"attach", "status", "clone"} {
		if kinds[kind][0] == 0 {
			t.Errorf("no %s was accepted: the history is too thin", kind)
		}
	}
	if kinds["attach"][1] == 0 {
		t.Errorf("no attach was refused: the history is too thin (%v)", kinds)
	}
}

// TestStoreOracleStatusChangeWhileWaiting is the deterministic form of the
// race TestStoreOracleStatusAndClone found: a write that relies on a GT's
// status waits for the GT row lock of a status change in progress, which
// then commits. The write must see the new status (and refuse), not the
// status from before its wait, nor no status at all.
func TestStoreOracleStatusChangeWhileWaiting(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	// Each case prepares its write (outside the race) and returns it.
	cases := []struct {
		name, status string
		prep         func(gt, list string) func() error
		want         string
	}{
		{"attach into a GT being locked", condcache.StatusLocked, func(gt, list string) func() error {
			v := e.iov("n", iovPt(0, 5), iovPt(0, 10))
			return func() error { _, err := e.store.AttachPayloadIOV(e.ctx, list, v.ID, nil); return err }
		}, "GT is LOCKED. You are attempting to insert IOV (major_iov,minor_iov,major_iov_end, minor_iov_end) (0,5,0,10). Conflicts with existing IOV p (0,0,9223372036854775807,9223372036854775807)"},
		{"attach into a GT being frozen", condcache.StatusFrozen, func(gt, list string) func() error {
			v := e.iov("n", iovPt(0, 5), storeOpen)
			return func() error { _, err := e.store.AttachPayloadIOV(e.ctx, list, v.ID, nil); return err }
		}, "Global Tag is frozen."},
		{"bulk into a GT being locked", condcache.StatusLocked, func(gt, list string) func() error {
			return func() error {
				_, err := e.store.BulkCreatePayloadIOVs(e.ctx, []condcache.BulkPayloadIOV{{PayloadList: list, PayloadURL: "b", Start: iovPt(0, 5), End: storeOpen}})
				return err
			}
		}, "element 0 (payload_url b): Global Tag %s of PayloadList %s is locked: bulk loads into it are refused."},
		{"delete an IOV of a GT being frozen", condcache.StatusFrozen, func(gt, list string) func() error {
			return func() error {
				_, err := e.store.DeletePayloadIOV(e.ctx, gt, "Beam", iovPt(0, 0), storeOpen)
				return err
			}
		}, "Global Tag is frozen."},
		{"delete a list of a GT being frozen", condcache.StatusFrozen, func(gt, list string) func() error {
			empty := e.attachedPL(gt, "Empty").Name
			return func() error { return e.store.DeletePayloadList(e.ctx, empty) }
		}, "Global Tag is frozen."},
		{"attach a list to a GT being frozen", condcache.StatusFrozen, func(gt, list string) func() error {
			other := e.pl("Beam").Name
			return func() error { _, err := e.store.AttachPayloadList(e.ctx, gt, other); return err }
		}, "Global Tag is frozen."},
	}
	e.pt("Beam")
	e.pt("Empty")
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gt := fmt.Sprintf("G%d", i)
			e.gt(gt, condcache.StatusUnlocked)
			list := e.attachedPL(gt, "Beam")
			e.attach(list.Name, "p", iovPt(0, 0), storeOpen)
			want := tc.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, gt, list.Name)
			}
			op := tc.prep(gt, list.Name)
			// The status change holds the GT row lock until it commits.
			change, err := e.db.Begin(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = change.Rollback(e.ctx) }()
			if _, err := change.Exec(e.ctx, `UPDATE "GlobalTag" SET status_id = (SELECT id FROM "GlobalTagStatus" WHERE name = $2),
				updated = now() WHERE name = $1`, gt, tc.status); err != nil {
				t.Fatal(err)
			}
			before := e.spans(list.Name)
			done := make(chan error, 1)
			go func() { done <- op() }()
			// Wait until the write waits for that lock, then commit.
			e.waitForLockWait("the write", done)
			if err := change.Commit(e.ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if condcache.ErrorCodeOf(err) != condcache.ELocked || condcache.ErrorDetail(err) != want {
					t.Errorf("write after the GT became %s: %v, want %q", tc.status, err, want)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the write did not finish after the status change committed")
			}
			if got := e.spans(list.Name); !slices.Equal(got, before) {
				t.Errorf("the refused write changed the list:\n before %v\n after  %v", before, got)
			}
		})
	}
}

// TestStoreOracleCloneWhileWaiting is the deterministic form of "a clone is
// the GT at one point": the clone is held up after it has read which lists
// the GT has (by a lock on the list id table, which it needs next), and
// meanwhile the GT's list of type A is swapped and an IOV is attached to
// its list of type B. The clone must hold the GT from before both, or
// after both, never the old list A with the new list B.
func TestStoreOracleCloneWhileWaiting(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("G", condcache.StatusUnlocked)
	a1, b := e.attachedPL("G", "A"), e.attachedPL("G", "B")
	a2 := e.pl("A")
	e.attach(a1.Name, "a1", iovPt(0, 0), storeOpen)
	e.attach(a2.Name, "a2", iovPt(0, 0), storeOpen)
	e.attach(b.Name, "b1", iovPt(0, 0), storeOpen)
	view := func(gt string) string {
		var b strings.Builder
		rows, err := e.db.Query(e.ctx, `SELECT t.name, i.payload_url FROM "PayloadIOV" i
			JOIN "PayloadList" l ON l.id = i.payload_list_id JOIN "PayloadType" t ON t.id = l.payload_type_id
			JOIN "GlobalTag" g ON g.id = l.global_tag_id WHERE g.name = $1 ORDER BY t.name, i.payload_url`, gt)
		if err != nil {
			t.Fatal(err)
		}
		var ty, url string
		if _, err := pgx.ForEachRow(rows, []any{&ty, &url}, func() error { fmt.Fprintf(&b, "%s:%s ", ty, url); return nil }); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	before := view("G")

	hold, err := e.db.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hold.Rollback(e.ctx) }()
	if _, err := hold.Exec(e.ctx, `LOCK TABLE "PayloadListIdSequence" IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := e.store.CloneGlobalTag(e.ctx, "G", "C"); done <- err }()
	e.waitForLockWait("the clone", done)
	// While the clone waits: swap list A, then attach to list B.
	if _, err := e.store.AttachPayloadList(e.ctx, "G", a2.Name); err != nil {
		t.Fatal(err)
	}
	e.attach(b.Name, "b2", iovPt(0, 10), storeOpen)
	after := view("G")
	if err := hold.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("clone: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the clone did not finish")
	}
	if got := view("C"); got != before && got != after {
		t.Errorf("the clone holds %q: neither the GT before the changes (%q) nor after them (%q)", got, before, after)
	}
}
