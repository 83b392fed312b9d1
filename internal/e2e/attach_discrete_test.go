package e2e

import (
	"fmt"
	"testing"
)

// DESIGN decision 2: discrete mode (CDB_IOV_MODE=discrete). IOVs are
// inclusive [start, end]; before(M,m) = (M,m-1) or (M-1,MAX) when m = 0;
// after(M,m) = (M,m+1) or (M+1,0) when m = MAX. The worked examples of docs/compatibility.md "Attach rules" re-derived for inclusive ends (expected rows written out below).

func discreteCases() []attachCase {
	z := func(m int64) P { return P{0, m} }
	return []attachCase{
		accept("U1", nil, iv(z(10), z(20)), []IOV{tok("N", z(10), z(20))}),
		// P trimmed to before(50) = (0,49); copy starts at after(60) = (0,61).
		accept("U2", []IOV{iv(z(0), z(100))}, iv(z(50), z(60)),
			[]IOV{tok("E0", z(0), z(49)), tok("N", z(50), z(60)), tok("E0", z(61), z(100))}),
		// Open after open: P ends at (0,199); no split, no overflow.
		accept("U3", []IOV{iv(z(100), open)}, iv(z(200), open),
			[]IOV{tok("E0", z(100), z(199)), tok("N", z(200), open)}),
		accept("U3b", []IOV{iv(z(100), open)}, iv(z(50), open),
			[]IOV{tok("N", z(50), open)}, 0),
		accept("U4", []IOV{iv(z(100), open)}, iv(z(50), z(70)),
			[]IOV{tok("E0", z(100), open), tok("N", z(50), z(70))}),
		// N's inclusive end touches S's start: S moves to after(100).
		accept("U4touch", []IOV{iv(z(100), open)}, iv(z(50), z(100)),
			[]IOV{tok("E0", z(101), open), tok("N", z(50), z(100))}),
		accept("U5", []IOV{iv(z(100), z(200))}, iv(z(50), z(300)),
			[]IOV{tok("N", z(50), z(300))}, 0),
		// Same start: P would end at before(0,0) = (-1,MAX) < its start: empty, detached.
		accept("U6", []IOV{iv(z(0), z(100))}, iv(z(0), z(50)),
			[]IOV{tok("N", z(0), z(50)), tok("E0", z(51), z(100))}, 0),
		// before(2,0) = (1,MAX); after(2,5) = (2,6).
		accept("U7", []IOV{iv(P{1, 0}, P{3, 0})}, iv(P{2, 0}, P{2, 5}),
			[]IOV{tok("E0", P{1, 0}, P{1, maxI}), tok("N", P{2, 0}, P{2, 5}), tok("E0", P{2, 6}, P{3, 0})}),
		accept("U8", []IOV{iv(P{0, 0}, P{1, 0}), iv(P{5, 0}, P{6, 0})}, iv(P{2, 0}, P{3, 0}),
			[]IOV{tok("E0", P{0, 0}, P{1, 0}), tok("E1", P{5, 0}, P{6, 0}), tok("N", P{2, 0}, P{3, 0})}),
		accept("U9", []IOV{iv(P{0, 0}, P{3, 0}), iv(P{5, 0}, P{8, 0})}, iv(P{2, 0}, P{6, 0}),
			[]IOV{tok("E0", P{0, 0}, P{1, maxI}), tok("N", P{2, 0}, P{6, 0}), tok("E1", P{6, 1}, P{8, 0})}),
		// Adjacent inclusive IOVs do not overlap (HEAD "trims" them).
		accept("adjacent", []IOV{iv(z(0), z(99))}, iv(z(100), z(199)),
			[]IOV{tok("E0", z(0), z(99)), tok("N", z(100), z(199))}),
		// Sharing one point is an overlap.
		accept("touch", []IOV{iv(z(0), z(100))}, iv(z(100), z(199)),
			[]IOV{tok("E0", z(0), z(99)), tok("N", z(100), z(199))}),
		accept("point", []IOV{iv(z(0), z(100))}, iv(z(50), z(50)),
			[]IOV{tok("E0", z(0), z(49)), tok("N", z(50), z(50)), tok("E0", z(51), z(100))}),
		// after(1,MAX) = (2,0): the copy is the single point (2,0).
		accept("maxMinor", []IOV{iv(P{0, 0}, P{2, 0})}, iv(P{1, 0}, P{1, maxI}),
			[]IOV{tok("E0", P{0, 0}, P{0, maxI}), tok("N", P{1, 0}, P{1, maxI}), tok("E0", P{2, 0}, P{2, 0})}),
		accept("same", []IOV{iv(z(10), z(20))}, iv(z(10), z(20)), []IOV{tok("N", z(10), z(20))}, 0),
		accept("multi", []IOV{iv(z(10), z(19)), iv(z(20), z(29)), iv(z(30), open)}, iv(z(5), z(35)),
			[]IOV{tok("N", z(5), z(35)), tok("E2", z(36), open)}, 0, 1),
		// A closed IOV inside an open one (HEAD overflows bigint here).
		accept("openSplit", []IOV{iv(z(0), open)}, iv(z(10), z(20)),
			[]IOV{tok("E0", z(0), z(9)), tok("N", z(10), z(20)), tok("E0", z(21), open)}),

		lockedAccept("L0", nil, iv(z(10), z(20))),
		lockedReject("L1", []IOV{iv(z(10), z(20))}, iv(z(10), z(30)), 0),
		// Continuous L2 is adjacent; inclusive, (0,20) is shared: refused.
		lockedReject("L2", []IOV{iv(z(10), z(20))}, iv(z(20), open), 0),
		lockedAccept("L2adjacent", []IOV{iv(z(10), z(20))}, iv(z(21), open)),
		lockedReject("L2b", []IOV{iv(z(10), z(20))}, iv(z(15), z(30)), 0),
		lockedReject("L3", []IOV{iv(P{5, 0}, P{8, 0})}, iv(P{2, 0}, P{6, 0}), 0),
		lockedReject("L3touch", []IOV{iv(P{5, 0}, P{8, 0})}, iv(P{2, 0}, P{5, 0}), 0),
		lockedReject("L3b", []IOV{iv(z(100), z(200))}, iv(z(50), z(150)), 0),
		lockedReject("L3c", []IOV{iv(z(100), z(200))}, iv(z(50), z(250)), 0),
		lockedAccept("L3d", []IOV{iv(P{5, 0}, P{8, 0})}, iv(P{2, 0}, P{3, 0})),
		lockedAccept("L3dAdjacent", []IOV{iv(P{5, 0}, P{8, 0})}, iv(P{2, 0}, P{4, maxI})),
		lockedAccept("L4", []IOV{iv(z(10), open)}, iv(z(20), open)),
		lockedAccept("L4b", []IOV{iv(z(10), z(maxI))}, iv(z(20), z(maxI))),
		lockedReject("L4c", []IOV{iv(z(10), open)}, iv(z(5), open), 0),
		lockedAccept("gapfill", []IOV{iv(z(10), z(19)), iv(z(30), z(40))}, iv(z(20), z(29))),
		lockedReject("gapover", []IOV{iv(z(10), z(19)), iv(z(30), z(40))}, iv(z(20), z(30)), 1),
	}
}

func TestAttachDiscrete(t *testing.T) {
	t.Parallel()
	sv := startServers(t, "CDB_IOV_MODE=discrete")

	t.Run("settings", func(t *testing.T) {
		for _, p := range []string{"user_settings/CDB_IOV_MODE/", "settings/CDB_IOV_MODE/"} {
			m := obj(t, newClient(t, sv.ReaderURL).ok("GET", p, nil).JSON)
			if len(m) != 1 || m["CDB_IOV_MODE"] != "discrete" {
				t.Errorf("GET %s: %v", p, m)
			}
		}
	})

	t.Run("validation", func(t *testing.T) {
		c := newClient(t, sv.ReaderURL)
		// end == start is valid; end < start is not (same message as continuous).
		eq := uniqz("eq")
		checkPIOV(t, c.piovByID(c.mkPIOV(eq, P{0, 100}, P{0, 100})), IOV{eq, P{0, 100}, P{0, 100}}, "")
		prefix := uniqz("dbad")
		for i, tc := range []struct{ s, e P }{{P{0, 100}, P{0, 99}}, {P{5, 100}, P{4, 200}}} {
			u := fmt.Sprintf("%s_%d", prefix, i)
			r := c.do("POST", "piov", map[string]any{"payload_url": u, "checksum": "c",
				"major_iov": tc.s.M, "minor_iov": tc.s.m, "major_iov_end": tc.e.M, "minor_iov_end": tc.e.m})
			wantErr(t, r, "invalid", fmt.Sprintf("%s PayloadIOV ending IOVs should be greater or equal than starting. Provided end IOVs: major_iov: %d major_iov_end: %d minor_iov: %d minor_iov_end: %d",
				u, tc.s.M, tc.e.M, tc.s.m, tc.e.m), 400)
		}
		// Minors must be >= 0 in discrete mode; negative majors are fine.
		for i, body := range []map[string]any{
			{"major_iov": 0, "minor_iov": -1},
			{"major_iov": 0, "minor_iov": 0, "major_iov_end": 1, "minor_iov_end": -1},
		} {
			body["payload_url"], body["checksum"] = fmt.Sprintf("%s_neg%d", prefix, i), "c"
			wantErr(t, c.do("POST", "piov", body), "invalid", "", 400)
		}
		if n := c.countPIOVs(prefix); n != 0 {
			t.Errorf("refused creations wrote %d IOVs", n)
		}
		c.mkPIOV(uniqz("negmajor"), P{-3, 0}, P{-2, 5})
	})

	t.Run("attach", func(t *testing.T) {
		for _, tc := range discreteCases() {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				runAttachCase(t, newClient(t, sv.ReaderURL), "piov_attach", tc)
			})
		}
	})

	t.Run("lookup", func(t *testing.T) {
		c := newClient(t, sv.ReaderURL)
		gt, pt := c.mkGT("unlocked"), c.mkPT()
		a := c.mustInsert(gt, pt, uniqz("a"), P{0, 0}, P{0, 99})
		b := c.mustInsert(gt, pt, uniqz("b"), P{0, 100}, open)
		ua, ub := c.piovByID(a)["payload_url"], c.piovByID(b)["payload_url"]
		for _, tc := range []struct {
			p    P
			want any
		}{{P{0, 99}, ua}, {P{0, 100}, ub}, {P{0, 0}, ua}, {P{5, 0}, ub}} {
			got := c.lookupURLs(gt, tc.p.M, tc.p.m)[pt]
			if got != tc.want {
				t.Errorf("discrete lookup at %v: %q, want %v", tc.p, got, tc.want)
			}
		}
	})
}
