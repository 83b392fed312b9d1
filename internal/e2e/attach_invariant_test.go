package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// The attach invariant (docs/design.md "The attach invariant") through the
// real writer and reader: random lists shaped like real data are built with
// the API (bulk loads of open-ended IOVs, closed IOVs attached one by one,
// IOVs at an existing start) and with plain SQL (zero-length and overlapping
// rows, as a Nopayloaddb database may hold them). Then one IOV is attached
// to each list, and the compatible lookup through the reader, before and
// after, must show at every point where an answer can change: the new IOV
// inside its range; outside it, the payload every covered point had, and no
// answer where none held (the strict reading of the same rows).

// invariantCase is one list of a GT and the IOV attached to it.
type invariantCase struct {
	pt, pl string
	n      IOV
	nID    int64
}

// invariantWorld builds random lists in one IOV mode against one server pair.
type invariantWorld struct {
	t        *testing.T
	mode     condcache.IOVMode
	c        *client // the reader: writes go through its proxy
	db       *pgx.Conn
	rng      *rand.Rand
	majors   []int64
	minors   []int64
	rowCount int
}

func (w *invariantWorld) point() P {
	return P{w.majors[w.rng.IntN(len(w.majors))], w.minors[w.rng.IntN(len(w.minors))]}
}

func (w *invariantWorld) valid(s, e P) bool {
	return w.mode.ValidRange(condcache.Point{Major: s.M, Minor: s.m}, condcache.Point{Major: e.M, Minor: e.m})
}

// end draws an end for s: open, online-open or a later point.
func (w *invariantWorld) end(s P) P {
	switch w.rng.IntN(4) {
	case 0:
		return open
	case 1:
		if s.M == 0 {
			return P{0, maxI}
		}
		return open
	}
	for range 20 {
		if e := w.point(); w.valid(s, e) {
			return e
		}
	}
	return open
}

func (w *invariantWorld) url(gt string) string {
	w.rowCount++
	return fmt.Sprintf("%s_r%d", gt, w.rowCount)
}

// build fills pl (a list of gt) with a random history.
func (w *invariantWorld) build(gt, pl string) {
	t := w.t
	var starts []P
	for ops := 1 + w.rng.IntN(5); ops > 0; ops-- {
		switch w.rng.IntN(6) {
		case 0, 1: // a bulk load of open-ended IOVs
			var elems []map[string]any
			for k := 1 + w.rng.IntN(4); k > 0; k-- {
				s := w.point()
				if !w.valid(s, open) {
					continue
				}
				starts = append(starts, s)
				elems = append(elems, map[string]any{"payload_url": w.url(gt), "checksum": "bulk", "major_iov": s.M, "minor_iov": s.m, "payload_list": pl})
			}
			if len(elems) > 0 {
				w.c.ok("POST", "bulk_piov", elems)
			}
		case 2: // a closed (or open) IOV attached under the unlocked rules
			s := w.point()
			if e := w.end(s); w.valid(s, e) {
				starts = append(starts, s)
				if r := w.c.piovAttach(pl, w.c.mkPIOV(w.url(gt), s, e)); r.Status != 200 {
					t.Fatalf("%s", r)
				}
			}
		case 3: // an IOV at an existing start, loaded in bulk
			if len(starts) > 0 {
				s := starts[w.rng.IntN(len(starts))]
				e := w.end(s)
				if w.valid(s, e) {
					w.c.ok("POST", "bulk_piov", []map[string]any{{"payload_url": w.url(gt), "checksum": "dup", "major_iov": s.M, "minor_iov": s.m,
						"major_iov_end": e.M, "minor_iov_end": e.m, "payload_list": pl}})
				}
			}
		default: // legacy rows written behind the writer's back
			s := w.point()
			e := s
			if w.rng.IntN(2) == 0 {
				e = w.end(s)
			}
			starts = append(starts, s)
			_, err := w.db.Exec(t.Context(), `INSERT INTO "PayloadIOV" (payload_url, checksum, major_iov, minor_iov,
					major_iov_end, minor_iov_end, comb_iov, created, updated, payload_list_id)
				SELECT $1, 'legacy', $2, $3, $4, $5, $6::numeric, now(), now(), id FROM "PayloadList" WHERE name = $7`,
				w.url(gt), s.M, s.m, e.M, e.m, condcache.Point{Major: s.M, Minor: s.m}.CombIOV(), pl)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// covers reports whether a row [S, E) (continuous) or [S, E] (discrete)
// holds at p.
func (w *invariantWorld) covers(s, e, p P) bool {
	if p.less(s) {
		return false
	}
	if w.mode == condcache.ModeDiscrete {
		return !e.less(p)
	}
	return p.less(e)
}

// probes are the points where a lookup of these IOVs can change: every
// bound, and the points just before and after it.
func invariantProbes(iovs []IOV) []P {
	seen := map[P]bool{open: true} // the last IOV answers there
	for _, v := range iovs {
		for _, b := range []P{v.S, v.E} {
			pt := condcache.Point{Major: b.M, Minor: b.m}
			seen[b] = true
			if q, ok := pt.Before(); ok {
				seen[P{q.Major, q.Minor}] = true
			}
			if q, ok := pt.After(); ok {
				seen[P{q.Major, q.Minor}] = true
			}
		}
	}
	var out []P
	for p := range seen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].less(out[j]) })
	return out
}

// lookupAll asks the reader for gt at every probe, eight at a time.
func (w *invariantWorld) lookupAll(gt string, probes []P) map[P]map[string]Row {
	out := make(map[P]map[string]Row, len(probes))
	var mu sync.Mutex
	work := make(chan P)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for p := range work {
				rows := w.c.lookup(gt, p.M, p.m)
				mu.Lock()
				out[p] = rows
				mu.Unlock()
			}
		})
	}
	for _, p := range probes {
		work <- p
	}
	close(work)
	wg.Wait()
	return out
}

// runGT builds one GT of several random lists, attaches one IOV to each
// list (the GT locked first for some), and checks every list's answers.
func (w *invariantWorld) runGT(locked bool) (attaches, refused int) {
	t := w.t
	gt := w.c.mkGT("unlocked")
	var cases []*invariantCase
	var all []IOV
	for range 6 {
		pt := w.c.mkPT()
		pl := w.c.listOf(gt, pt)
		w.build(gt, pl)
		tc := &invariantCase{pt: pt, pl: pl}
		for !w.valid(tc.n.S, tc.n.E) || tc.n.E == (P{}) {
			tc.n.S = w.point()
			tc.n.E = w.end(tc.n.S)
		}
		tc.n.URL = w.url(gt) + "_N"
		cases = append(cases, tc)
		all = append(all, w.c.iovsOf(gt, pt)...)
		all = append(all, tc.n)
	}
	// Rows written with plain SQL reach the cache through the relay, about
	// a second later (docs/design.md "Point 1: visible after
	// acknowledgement"); a write through the writer to the GT makes every
	// later lookup see them at once.
	w.c.listOf(gt, w.c.mkPT())
	if locked {
		w.c.setStatus(gt, "locked")
	}
	probes := invariantProbes(all)
	before := w.lookupAll(gt, probes)
	accepted := map[string]bool{}
	for _, tc := range cases {
		tc.nID = w.c.mkPIOV(tc.n.URL, tc.n.S, tc.n.E)
		r := w.c.piovAttach(tc.pl, tc.nID)
		switch {
		case r.Status == 200:
			accepted[tc.pt] = true
		case locked && r.Status == 409:
			refused++
		default:
			t.Fatalf("attach %v to %s: %s", tc.n, tc.pl, r)
		}
	}
	after := w.lookupAll(gt, probes)
	for _, tc := range cases {
		attaches++
		// The online special case of a locked GT (docs/design.md "The attach
		// invariant"): n and the list's last IOV online-open, n after it.
		last, hasLast := before[open][tc.pt]
		online := func(e P) bool { return (e.M == 0 || e.M == maxI) && e.m == maxI }
		special := locked && online(tc.n.E) && hasLast && online(last.E) && last.S.less(tc.n.S)
		for _, p := range probes {
			b, bok := before[p][tc.pt]
			a, aok := after[p][tc.pt]
			strictBefore := bok && w.covers(b.S, b.E, p)
			strictAfter := aok && w.covers(a.S, a.E, p)
			var what string
			switch {
			case !accepted[tc.pt]:
				if bok != aok || b != a {
					what = fmt.Sprintf("a refused attach changed the answer from %v to %v", b, a)
				}
			case w.covers(tc.n.S, tc.n.E, p):
				if !aok || a.URL != tc.n.URL || !strictAfter {
					what = fmt.Sprintf("inside the new IOV the answer is %v (%v)", a, aok)
				}
			case special:
			case strictBefore:
				if !aok || a.URL != b.URL || a.Checksum != b.Checksum || fmt.Sprint(a.Size) != fmt.Sprint(b.Size) || !strictAfter {
					what = fmt.Sprintf("covered point changed from %v to %v (holds %v)", b, a, strictAfter)
				}
			case strictAfter:
				what = fmt.Sprintf("a gap (answer %v) is now covered by %v", b, a)
			}
			if what != "" {
				t.Fatalf("GT %s (locked %v), list %s, attach %v, at %v: %s\nlist before (with n): %v\nlist after: %v",
					gt, locked, tc.pl, tc.n, p, what, all, w.c.iovsOf(gt, tc.pt))
			}
		}
	}
	return attaches, refused
}

func runAttachInvariant(t *testing.T, mode condcache.IOVMode, c *client, database string, seed uint64) {
	db, err := stack.Primary.Connect(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	w := &invariantWorld{t: t, mode: mode, c: c, db: db, rng: rand.New(rand.NewPCG(seed, 3))}
	attaches, refused := 0, 0
	for i := range 24 {
		switch i % 3 {
		case 0: // runs
			w.majors, w.minors = []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, []int64{0}
		case 1: // subruns of run 0
			w.majors, w.minors = []int64{0}, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
		default: // near MAX
			w.majors, w.minors = []int64{0, 1, maxI - 1, maxI}, []int64{0, 1, maxI - 1, maxI}
		}
		a, r := w.runGT(i%4 == 3)
		attaches, refused = attaches+a, refused+r
	}
	t.Logf("%s: %d attaches checked point by point, %d refused by locked GTs", mode, attaches, refused)
	if refused == 0 || refused == attaches {
		t.Errorf("the locked cases are lopsided: %d of %d refused", refused, attaches)
	}
}

func TestAttachInvariantContinuous(t *testing.T) {
	t.Parallel()
	runAttachInvariant(t, condcache.ModeContinuous, shared(t), "e2e", 1)
}

func TestAttachInvariantDiscrete(t *testing.T) {
	t.Parallel()
	sv, db := startServersDB(t, "CDB_IOV_MODE=discrete")
	runAttachInvariant(t, condcache.ModeDiscrete, newClient(t, sv.ReaderURL), db, 2)
}
