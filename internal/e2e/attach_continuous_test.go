package e2e

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// docs/compatibility.md "Attach an IOV" (route 25), §3.4 (U1–U9) and §3.5 (L0–L4c), continuous mode,
// reference-intended rules + DESIGN decision 1 (an emptied IOV is detached).

// attachCase: existing IOVs E0, E1, … are inserted in order into a fresh GT
// (unlocked), the GT is optionally locked, then N is attached. Expected rows
// name their url by token ("E0", "N"); reject >= 0 names the existing IOV
// quoted in the refusal.
type attachCase struct {
	name     string
	existing []IOV
	n        IOV
	locked   bool
	want     []IOV
	reject   int
	detached []int // existing IOVs (by index) expected to end detached
}

func accept(name string, existing []IOV, n IOV, want []IOV, detached ...int) attachCase {
	return attachCase{name: name, existing: existing, n: n, want: want, reject: -1, detached: detached}
}

func lockedAccept(name string, existing []IOV, n IOV) attachCase {
	want := append(append([]IOV{}, existing...), n)
	for i := range want[:len(existing)] {
		want[i].URL = fmt.Sprintf("E%d", i)
	}
	want[len(existing)].URL = "N"
	return attachCase{name: name, existing: existing, n: n, locked: true, want: want, reject: -1}
}

func lockedReject(name string, existing []IOV, n IOV, conflict int) attachCase {
	return attachCase{name: name, existing: existing, n: n, locked: true, reject: conflict}
}

// iv is an anonymous IOV (url filled in by the runner).
func iv(s, e P) IOV { return IOV{S: s, E: e} }

// tok is an expected row whose url is the token's url.
func tok(token string, s, e P) IOV { return IOV{URL: token, S: s, E: e} }

func lockedDetail(n IOV, conflict IOV) string {
	return fmt.Sprintf("GT is LOCKED. You are attempting to insert IOV (major_iov,minor_iov,major_iov_end, minor_iov_end) (%d,%d,%d,%d). Conflicts with existing IOV %s (%d,%d,%d,%d)",
		n.S.M, n.S.m, n.E.M, n.E.m, conflict.URL, conflict.S.M, conflict.S.m, conflict.E.M, conflict.E.m)
}

// runAttachCase runs one case against c, attaching N through attachPath.
func runAttachCase(t *testing.T, c *client, attachPath string, tc attachCase) {
	t.Helper()
	gt, pt := c.mkGT("unlocked"), c.mkPT()
	pl := c.listOf(gt, pt)
	prefix := uniqz(strings.ReplaceAll(tc.name, " ", ""))
	urls := map[string]string{"N": prefix + "_N"}
	var ids []int64
	var existing []IOV
	for i, e := range tc.existing {
		e.URL = fmt.Sprintf("%s_E%d", prefix, i)
		urls[fmt.Sprintf("E%d", i)] = e.URL
		ids = append(ids, c.mustInsert(gt, pt, e.URL, e.S, e.E))
		existing = append(existing, e)
	}
	// Setup sanity: the existing IOVs are exactly what we inserted.
	wantIOVs(t, "setup", c.iovsOf(gt, pt), existing)
	if tc.locked {
		c.setStatus(gt, "locked")
	}
	n := tc.n
	n.URL = urls["N"]
	nID := c.mkPIOV(n.URL, n.S, n.E)
	r := c.do("PUT", attachPath, map[string]any{"payload_list": pl, "piov_id": nID})

	if tc.reject >= 0 {
		wantErr(t, r, "locked", lockedDetail(n, existing[tc.reject]), 409)
		wantIOVs(t, "after refusal", c.iovsOf(gt, pt), existing)
		if l := c.listOfIOV(nID); l != "" {
			t.Errorf("refused IOV is attached to %s", l)
		}
		return
	}
	if r.Status != 200 {
		t.Fatalf("%s: want 200", r)
	}
	checkPIOV(t, obj(t, r.JSON), n, pl)
	var want []IOV
	for _, w := range tc.want {
		u, ok := urls[w.URL]
		if !ok {
			t.Fatalf("bad token %q", w.URL)
		}
		want = append(want, IOV{u, w.S, w.E})
	}
	got := c.iovsOf(gt, pt)
	wantIOVs(t, fmt.Sprintf("%s: attached rows", tc.name), got, want)
	for _, i := range tc.detached {
		if l := c.listOfIOV(ids[i]); l != "" {
			t.Errorf("E%d should be detached, is in %s", i, l)
		} else if c.piovByID(ids[i]) == nil {
			t.Errorf("E%d was deleted; detaching keeps the row", i)
		}
	}
	// Every attached row is what a lookup at its start returns, and every
	// row's comb_iov matches its start.
	for _, w := range want {
		if u := c.lookupURLs(gt, w.S.M, w.S.m)[pt]; u != w.URL {
			t.Errorf("lookup at %v: %q, want %q", w.S, u, w.URL)
		}
	}
	full := c.ok("GET", "globalTag/"+gt, nil)
	for _, l := range arr(t, obj(t, full.JSON)["payload_lists"]) {
		for _, v := range arr(t, obj(t, l)["payload_iov"]) {
			vm := obj(t, v)
			if vm["comb_iov"] != comb(i64(t, vm["major_iov"]), i64(t, vm["minor_iov"])) {
				t.Errorf("comb_iov %v does not match start of %v", vm["comb_iov"], vm)
			}
		}
	}
}

func continuousCases() []attachCase {
	z := func(m int64) P { return P{0, m} }
	return []attachCase{
		accept("U1", nil, iv(z(10), z(20)), []IOV{tok("N", z(10), z(20))}),
		accept("U2", []IOV{iv(z(0), z(100))}, iv(z(50), z(60)),
			[]IOV{tok("E0", z(0), z(50)), tok("N", z(50), z(60)), tok("E0", z(60), z(100))}),
		accept("U3", []IOV{iv(z(100), open)}, iv(z(200), open),
			[]IOV{tok("E0", z(100), z(200)), tok("N", z(200), open)}),
		accept("U3b", []IOV{iv(z(100), open)}, iv(z(50), open),
			[]IOV{tok("N", z(50), open)}, 0),
		accept("U4", []IOV{iv(z(100), open)}, iv(z(50), z(70)),
			[]IOV{tok("E0", z(100), open), tok("N", z(50), z(70))}),
		accept("U5", []IOV{iv(z(100), z(200))}, iv(z(50), z(300)),
			[]IOV{tok("N", z(50), z(300))}, 0),
		// U6 + DESIGN 1: the emptied P is detached, the copy Q remains.
		accept("U6", []IOV{iv(z(0), z(100))}, iv(z(0), z(50)),
			[]IOV{tok("N", z(0), z(50)), tok("E0", z(50), z(100))}, 0),
		accept("U7", []IOV{iv(P{1, 0}, P{3, 0})}, iv(P{2, 0}, P{2, 5}),
			[]IOV{tok("E0", P{1, 0}, P{2, 0}), tok("N", P{2, 0}, P{2, 5}), tok("E0", P{2, 5}, P{3, 0})}),
		accept("U8", []IOV{iv(P{0, 0}, P{1, 0}), iv(P{5, 0}, P{6, 0})}, iv(P{2, 0}, P{3, 0}),
			[]IOV{tok("E0", P{0, 0}, P{1, 0}), tok("E1", P{5, 0}, P{6, 0}), tok("N", P{2, 0}, P{3, 0})}),
		accept("U9", []IOV{iv(P{0, 0}, P{3, 0}), iv(P{5, 0}, P{8, 0})}, iv(P{2, 0}, P{6, 0}),
			[]IOV{tok("E0", P{0, 0}, P{2, 0}), tok("N", P{2, 0}, P{6, 0}), tok("E1", P{6, 0}, P{8, 0})}),
		// Beyond the table: an identical IOV swallows the old one; several
		// swallowed plus a shifted successor; a trim that leaves P exactly
		// adjacent; negative majors.
		accept("same", []IOV{iv(z(10), z(20))}, iv(z(10), z(20)), []IOV{tok("N", z(10), z(20))}, 0),
		accept("multi", []IOV{iv(z(10), z(20)), iv(z(20), z(30)), iv(z(30), open)}, iv(z(5), z(35)),
			[]IOV{tok("N", z(5), z(35)), tok("E2", z(35), open)}, 0, 1),
		accept("adjacent", []IOV{iv(z(0), z(10))}, iv(z(10), z(20)),
			[]IOV{tok("E0", z(0), z(10)), tok("N", z(10), z(20))}),
		accept("negative", []IOV{iv(P{-5, 0}, P{-1, 0})}, iv(P{-3, 7}, P{-2, 0}),
			[]IOV{tok("E0", P{-5, 0}, P{-3, 7}), tok("N", P{-3, 7}, P{-2, 0}), tok("E0", P{-2, 0}, P{-1, 0})}),

		lockedAccept("L0", nil, iv(z(10), z(20))),
		lockedReject("L1", []IOV{iv(z(10), z(20))}, iv(z(10), z(30)), 0),
		lockedAccept("L2", []IOV{iv(z(10), z(20))}, iv(z(20), open)),
		lockedReject("L2b", []IOV{iv(z(10), z(20))}, iv(z(15), z(30)), 0),
		lockedReject("L3", []IOV{iv(P{5, 0}, P{8, 0})}, iv(P{2, 0}, P{6, 0}), 0),
		lockedReject("L3b", []IOV{iv(z(100), z(200))}, iv(z(50), z(150)), 0),
		lockedReject("L3c", []IOV{iv(z(100), z(200))}, iv(z(50), z(250)), 0),
		lockedAccept("L3d", []IOV{iv(P{5, 0}, P{8, 0})}, iv(P{2, 0}, P{3, 0})),
		lockedAccept("L4", []IOV{iv(z(10), open)}, iv(z(20), open)),
		lockedAccept("L4b", []IOV{iv(z(10), z(maxI))}, iv(z(20), z(maxI))),
		lockedReject("L4c", []IOV{iv(z(10), open)}, iv(z(5), open), 0),
		// Beyond the table.
		lockedAccept("L4d", []IOV{iv(z(10), z(maxI))}, iv(z(20), open)),
		lockedAccept("gapfill", []IOV{iv(z(10), z(20)), iv(z(30), z(40))}, iv(z(20), z(30))),
		lockedReject("gapover", []IOV{iv(z(10), z(20)), iv(z(30), z(40))}, iv(z(20), z(31)), 1),
		lockedReject("openNotSpecial", []IOV{iv(z(10), z(20))}, iv(z(15), open), 0),
		lockedReject("openBeforeLast", []IOV{iv(z(0), z(10)), iv(z(10), open)}, iv(z(5), open), 0),
		lockedAccept("beforeFirst", []IOV{iv(z(10), open)}, iv(z(0), z(10))),
	}
}

func TestAttachContinuous(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"piov_attach", "payload-iovs/attach"} {
		for _, tc := range continuousCases() {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				runAttachCase(t, shared(t), path, tc)
			})
		}
	}
}

// TestAttachDetachedListAndMove: a detached list follows the unlocked rules;
// attaching an attached IOV to another list moves it.
func TestAttachDetachedListAndMove(t *testing.T) {
	t.Parallel()
	c := shared(t)
	pt := c.mkPT()
	pl, _ := c.mkPL(pt) // never attached
	a := c.mkPIOV(uniqz("a"), P{0, 0}, P{0, 100})
	b := c.mkPIOV(uniqz("b"), P{0, 50}, P{0, 60})
	c.ok("PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": a})
	m := obj(t, c.ok("PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": b}).JSON)
	if m["payload_list"] != pl {
		t.Errorf("attach answered %v", m)
	}
	r := c.ok("GET", "payload-lists/by-name/"+pl, nil)
	if n := i64(t, obj(t, r.JSON)["iov_count"]); n != 3 {
		t.Errorf("detached list after split has %d IOVs, want 3 (trimmed, new, copy)", n)
	}
	if got := obj(t, c.piovByID(a))["minor_iov_end"]; i64(t, got) != 50 {
		t.Errorf("trim in a detached list: end minor %v, want 50", got)
	}

	// Move b to a list of an unlocked GT.
	gt := c.mkGT("unlocked")
	pl2 := c.listOf(gt, pt)
	c.ok("PUT", "piov_attach", map[string]any{"payload_list": pl2, "piov_id": b})
	if l := c.listOfIOV(b); l != pl2 {
		t.Errorf("moved IOV is in %q, want %s", l, pl2)
	}
	if n := i64(t, obj(t, c.ok("GET", "payload-lists/by-name/"+pl, nil).JSON)["iov_count"]); n != 2 {
		t.Errorf("source list has %d IOVs after the move, want 2", n)
	}
	// A numeric-string piov_id works (as in the reference).
	d := c.mkPIOV(uniqz("d"), P{1, 0}, open)
	c.ok("PUT", "piov_attach", map[string]any{"payload_list": pl2, "piov_id": fmt.Sprint(d)})
	if l := c.listOfIOV(d); l != pl2 {
		t.Errorf("string piov_id: IOV in %q", l)
	}
}

func TestAttachErrors(t *testing.T) {
	t.Parallel()
	both(t, "piov_attach", "payload-iovs/attach", func(t *testing.T, path string) {
		c := shared(t)
		gt, pt := c.mkGT("unlocked"), c.mkPT()
		pl := c.listOf(gt, pt)
		c.mustInsert(gt, pt, uniqz("x"), P{0, 0}, open)
		id := c.mkPIOV(uniqz("n"), P{0, 5}, P{0, 6})
		before := c.snap(gt)
		for _, tc := range []struct {
			body     any
			code     string
			statuses []int
		}{
			{map[string]any{"payload_list": uniqz("nosuch"), "piov_id": id}, "not_found", []int{404}},
			{map[string]any{"payload_list": pl, "piov_id": 999999999999}, "not_found", []int{404}},
			{map[string]any{"piov_id": id}, "", []int{400, 404}},
			{map[string]any{"payload_list": pl}, "", []int{400, 404}},
			{map[string]any{"payload_list": pl, "piov_id": 1.5}, "", []int{400, 404}},
			{map[string]any{"payload_list": pl, "piov_id": "abc"}, "", []int{400, 404}},
			{map[string]any{"payload_list": pl, "piov_id": nil}, "", []int{400, 404}},
			{[]any{map[string]any{"payload_list": pl, "piov_id": id}}, "invalid", []int{400}},
			{rawJSON("null"), "invalid", []int{400}},
		} {
			wantErr(t, c.do("PUT", path, tc.body), tc.code, "", tc.statuses...)
		}
		c.wantUnchanged(gt, before)
		if l := c.listOfIOV(id); l != "" {
			t.Errorf("IOV attached by a refused request: %s", l)
		}
	})
}

// TestConcurrentAttach: the writer serialises changes to one list (DESIGN
// "writer"), so concurrent attaches never lose or overlap IOVs.
func TestConcurrentAttach(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt, pt := c.mkGT("unlocked"), c.mkPT()
	pl := c.listOf(gt, pt)
	// Every N splits the big P; whatever the order, the result is the same.
	const n = 24
	prefix := uniqz("conc")
	big := prefix + "_P"
	c.mustInsert(gt, pt, big, P{0, 0}, P{0, 1000})
	ids := make([]int64, n)
	want := []IOV{{big, P{0, 0}, P{0, 1}}, {big, P{0, 10*(n-1) + 5}, P{0, 1000}}}
	for i := range n {
		u := fmt.Sprintf("%s_%02d", prefix, i)
		ids[i] = c.mkPIOV(u, P{0, int64(10*i + 1)}, P{0, int64(10*i + 5)})
		want = append(want, IOV{u, P{0, int64(10*i + 1)}, P{0, int64(10*i + 5)}})
		if i < n-1 {
			want = append(want, IOV{big, P{0, int64(10*i + 5)}, P{0, int64(10*(i+1) + 1)}})
		}
	}
	errs := make(chan string, 4*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &client{t: &nonFatal{T: t, errs: errs}, base: servers.ReaderURL}
			// A shed request (overloaded: nothing was done) is retried,
			// as clients are told to; the machine is shared.
			r := cl.piovAttach(pl, ids[(i*7)%n])
			for try := 0; shed(r) && try < 50; try++ {
				time.Sleep(100 * time.Millisecond)
				r = cl.piovAttach(pl, ids[(i*7)%n])
			}
			if r.Status != 200 {
				errs <- r.String()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	wantIOVs(t, "after concurrent attaches", c.iovsOf(gt, pt), want)

	// Locked: concurrent attaches with the same start: exactly one wins.
	gt2, pt2 := c.mkGT("unlocked"), c.mkPT()
	pl2 := c.listOf(gt2, pt2)
	c.setStatus(gt2, "locked")
	var same []int64
	for i := range 12 {
		same = append(same, c.mkPIOV(fmt.Sprintf("%s_same%02d", prefix, i), P{5, 0}, P{6, 0}))
	}
	codes := make(chan int, len(same))
	for _, id := range same {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &client{t: &nonFatal{T: t, errs: make(chan string, 100)}, base: servers.ReaderURL}
			codes <- cl.piovAttach(pl2, id).Status
		}()
	}
	wg.Wait()
	close(codes)
	ok, refused := 0, 0
	for s := range codes {
		switch s {
		case 200:
			ok++
		case 409:
			refused++
		default:
			t.Errorf("concurrent locked attach: status %d", s)
		}
	}
	if ok != 1 || refused != len(same)-1 {
		t.Errorf("concurrent same-start attaches into a locked GT: %d accepted, %d refused; want 1 and %d", ok, refused, len(same)-1)
	}
	if got := c.iovsOf(gt2, pt2); len(got) != 1 {
		t.Errorf("locked list after the race: %v", got)
	}
}

// nonFatal is a testing.TB usable from other goroutines: failures are
// reported through errs instead of stopping the goroutine's test.
type nonFatal struct {
	*testing.T
	errs chan string
}

func (n *nonFatal) Helper() {}
func (n *nonFatal) Errorf(format string, args ...any) {
	select {
	case n.errs <- fmt.Sprintf(format, args...):
	default:
	}
}
func (n *nonFatal) Fatalf(format string, args ...any) {
	n.Errorf(format, args...)
	runtime.Goexit()
}
