package sql_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/condcache/condcache"
)

// attachCase is one worked example of docs/compatibility.md "Attach rules" (or its discrete
// reading, docs/compatibility.md "Discrete mode"): existing IOVs of the list (attached in
// order while the GT is unlocked), then n attached under status.
type attachCase struct {
	name     string
	existing []storeSpan
	n        storeSpan
	want     []storeSpan // the list afterwards, by (start, id)
	detached []string    // urls of existing IOVs detached by the attach
	refused  string      // locked: the conflicting IOV's url; "" = accepted
}

func runAttachCases(t *testing.T, mode condcache.IOVMode, status string, cases []attachCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newStoreEnv(t, mode)
			e.statuses()
			e.gt("GT", condcache.StatusUnlocked)
			list := e.attachedPL("GT", "Beam").Name
			for _, x := range c.existing {
				e.attach(list, x.url, x.start, x.end)
			}
			e.setStatus("GT", status)
			n := e.iov(c.n.url, c.n.start, c.n.end)
			before := e.snapshot()

			got, err := e.store.AttachPayloadIOV(e.ctx, list, n.ID, nil)
			if c.refused != "" {
				var x storeSpan
				for _, s := range c.existing {
					if s.url == c.refused {
						x = s
					}
				}
				wantStoreErr(t, err, condcache.ELocked, fmt.Sprintf(
					"GT is LOCKED. You are attempting to insert IOV (major_iov,minor_iov,major_iov_end, minor_iov_end) (%d,%d,%d,%d). Conflicts with existing IOV %s (%d,%d,%d,%d)",
					c.n.start.Major, c.n.start.Minor, c.n.end.Major, c.n.end.Minor,
					x.url, x.start.Major, x.start.Minor, x.end.Major, x.end.Minor))
				e.unchanged(before)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != n.ID || got.PayloadList == nil || *got.PayloadList != list || got.Start != c.n.start ||
				got.CombIOV == nil || *got.CombIOV != c.n.start.CombIOV() {
				t.Errorf("attached = %+v", got)
			}
			e.wantSpans(list, c.want...)
			for _, url := range c.detached {
				if n := e.count(`SELECT count(*) FROM "PayloadIOV" WHERE payload_url = $1 AND payload_list_id IS NULL`, url); n != 1 {
					t.Errorf("%s: %d detached rows, want 1", url, n)
				}
			}
		})
	}
}

func sp(url string, start, end condcache.Point) storeSpan { return storeSpan{url, start, end} }

func TestStoreAttachUnlockedContinuous(t *testing.T) {
	runAttachCases(t, condcache.ModeContinuous, condcache.StatusUnlocked, []attachCase{
		{name: "U1", n: sp("N", iovPt(0, 10), iovPt(0, 20)),
			want: []storeSpan{sp("N", iovPt(0, 10), iovPt(0, 20))}},
		{name: "U2", existing: []storeSpan{sp("P", iovPt(0, 0), iovPt(0, 100))}, n: sp("N", iovPt(0, 50), iovPt(0, 60)),
			want: []storeSpan{sp("P", iovPt(0, 0), iovPt(0, 50)), sp("N", iovPt(0, 50), iovPt(0, 60)), sp("P", iovPt(0, 60), iovPt(0, 100))}},
		{name: "U3", existing: []storeSpan{sp("P", iovPt(0, 100), storeOpen)}, n: sp("N", iovPt(0, 200), storeOpen),
			want: []storeSpan{sp("P", iovPt(0, 100), iovPt(0, 200)), sp("N", iovPt(0, 200), storeOpen)}},
		{name: "U3b", existing: []storeSpan{sp("P", iovPt(0, 100), storeOpen)}, n: sp("N", iovPt(0, 50), storeOpen),
			want: []storeSpan{sp("N", iovPt(0, 50), storeOpen)}, detached: []string{"P"}},
		{name: "U4", existing: []storeSpan{sp("P", iovPt(0, 100), storeOpen)}, n: sp("N", iovPt(0, 50), iovPt(0, 70)),
			want: []storeSpan{sp("N", iovPt(0, 50), iovPt(0, 70)), sp("P", iovPt(0, 100), storeOpen)}},
		{name: "U5", existing: []storeSpan{sp("P", iovPt(0, 100), iovPt(0, 200))}, n: sp("N", iovPt(0, 50), iovPt(0, 300)),
			want: []storeSpan{sp("N", iovPt(0, 50), iovPt(0, 300))}, detached: []string{"P"}},
		// U6: the trim would leave P empty, so P is detached (docs/compatibility.md "Attach rules").
		{name: "U6", existing: []storeSpan{sp("P", iovPt(0, 0), iovPt(0, 100))}, n: sp("N", iovPt(0, 0), iovPt(0, 50)),
			want: []storeSpan{sp("N", iovPt(0, 0), iovPt(0, 50)), sp("P", iovPt(0, 50), iovPt(0, 100))}, detached: []string{"P"}},
		{name: "U7", existing: []storeSpan{sp("P", iovPt(1, 0), iovPt(3, 0))}, n: sp("N", iovPt(2, 0), iovPt(2, 5)),
			want: []storeSpan{sp("P", iovPt(1, 0), iovPt(2, 0)), sp("N", iovPt(2, 0), iovPt(2, 5)), sp("P", iovPt(2, 5), iovPt(3, 0))}},
		{name: "U8", existing: []storeSpan{sp("P", iovPt(0, 0), iovPt(1, 0)), sp("S", iovPt(5, 0), iovPt(6, 0))}, n: sp("N", iovPt(2, 0), iovPt(3, 0)),
			want: []storeSpan{sp("P", iovPt(0, 0), iovPt(1, 0)), sp("N", iovPt(2, 0), iovPt(3, 0)), sp("S", iovPt(5, 0), iovPt(6, 0))}},
		{name: "U9", existing: []storeSpan{sp("P", iovPt(0, 0), iovPt(3, 0)), sp("S", iovPt(5, 0), iovPt(8, 0))}, n: sp("N", iovPt(2, 0), iovPt(6, 0)),
			want: []storeSpan{sp("P", iovPt(0, 0), iovPt(2, 0)), sp("N", iovPt(2, 0), iovPt(6, 0)), sp("S", iovPt(6, 0), iovPt(8, 0))}},
	})
}

func TestStoreAttachLockedContinuous(t *testing.T) {
	existing := []storeSpan{sp("X", iovPt(0, 10), iovPt(0, 20))}
	runAttachCases(t, condcache.ModeContinuous, condcache.StatusLocked, []attachCase{
		{name: "L0", n: sp("N", iovPt(0, 10), iovPt(0, 20)), want: []storeSpan{sp("N", iovPt(0, 10), iovPt(0, 20))}},
		{name: "L1", existing: existing, n: sp("N", iovPt(0, 10), iovPt(0, 30)), refused: "X"},
		{name: "L2", existing: existing, n: sp("N", iovPt(0, 20), storeOpen),
			want: []storeSpan{sp("X", iovPt(0, 10), iovPt(0, 20)), sp("N", iovPt(0, 20), storeOpen)}},
		{name: "L2b", existing: existing, n: sp("N", iovPt(0, 15), iovPt(0, 30)), refused: "X"},
		{name: "L3", existing: []storeSpan{sp("S", iovPt(5, 0), iovPt(8, 0))}, n: sp("N", iovPt(2, 0), iovPt(6, 0)), refused: "S"},
		{name: "L3b", existing: []storeSpan{sp("S", iovPt(0, 100), iovPt(0, 200))}, n: sp("N", iovPt(0, 50), iovPt(0, 150)), refused: "S"},
		{name: "L3d", existing: []storeSpan{sp("S", iovPt(5, 0), iovPt(8, 0))}, n: sp("N", iovPt(2, 0), iovPt(3, 0)),
			want: []storeSpan{sp("N", iovPt(2, 0), iovPt(3, 0)), sp("S", iovPt(5, 0), iovPt(8, 0))}},
		// L4: both stay open-ended (the online special case). The list is
		// built unlocked first, so it holds one open IOV.
		{name: "L4", existing: []storeSpan{sp("T", iovPt(0, 10), storeOpen)}, n: sp("N", iovPt(0, 20), storeOpen),
			want: []storeSpan{sp("T", iovPt(0, 10), storeOpen), sp("N", iovPt(0, 20), storeOpen)}},
		{name: "L4c", existing: []storeSpan{sp("T", iovPt(0, 10), storeOpen)}, n: sp("N", iovPt(0, 5), storeOpen), refused: "T"},
	})
}

func TestStoreAttachDiscrete(t *testing.T) {
	maxMinor := int64(condcache.MaxIOV)
	runAttachCases(t, condcache.ModeDiscrete, condcache.StatusUnlocked, []attachCase{
		{name: "adjacent", existing: []storeSpan{sp("P", iovPt(0, 0), iovPt(0, 99))}, n: sp("N", iovPt(0, 100), iovPt(0, 199)),
			want: []storeSpan{sp("P", iovPt(0, 0), iovPt(0, 99)), sp("N", iovPt(0, 100), iovPt(0, 199))}},
		{name: "append-open", existing: []storeSpan{sp("P", iovPt(0, 100), storeOpen)}, n: sp("N", iovPt(0, 200), storeOpen),
			want: []storeSpan{sp("P", iovPt(0, 100), iovPt(0, 199)), sp("N", iovPt(0, 200), storeOpen)}},
		{name: "split", existing: []storeSpan{sp("P", iovPt(1, 0), iovPt(3, 0))}, n: sp("N", iovPt(2, 0), iovPt(2, 5)),
			want: []storeSpan{sp("P", iovPt(1, 0), iovPt(1, maxMinor)), sp("N", iovPt(2, 0), iovPt(2, 5)), sp("P", iovPt(2, 6), iovPt(3, 0))}},
		{name: "trim-and-shift", existing: []storeSpan{sp("P", iovPt(0, 0), iovPt(3, 0)), sp("S", iovPt(5, 0), iovPt(8, 0))}, n: sp("N", iovPt(2, 0), iovPt(6, 0)),
			want: []storeSpan{sp("P", iovPt(0, 0), iovPt(1, maxMinor)), sp("N", iovPt(2, 0), iovPt(6, 0)), sp("S", iovPt(6, 1), iovPt(8, 0))}},
	})
	runAttachCases(t, condcache.ModeDiscrete, condcache.StatusLocked, []attachCase{
		{name: "locked-adjacent", existing: []storeSpan{sp("P", iovPt(0, 0), iovPt(0, 99))}, n: sp("N", iovPt(0, 100), iovPt(0, 199)),
			want: []storeSpan{sp("P", iovPt(0, 0), iovPt(0, 99)), sp("N", iovPt(0, 100), iovPt(0, 199))}},
		// Inclusive ends: (0,20) is in both.
		{name: "locked-touching", existing: []storeSpan{sp("X", iovPt(0, 10), iovPt(0, 20))}, n: sp("N", iovPt(0, 20), storeOpen), refused: "X"},
	})
}

func TestStoreAttachPayloadIOV(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("GT", condcache.StatusUnlocked)
	e.gt("Other", condcache.StatusUnlocked)
	list := e.attachedPL("GT", "Beam")
	other := e.attachedPL("Other", "Beam")
	detachedList := e.pl("Beam")

	// The split copy keeps url, checksum, size and extra, with new timestamps.
	p := e.attach(list.Name, "P", iovPt(0, 0), iovPt(0, 100))
	if _, err := e.db.Exec(e.ctx, `UPDATE "PayloadIOV" SET size = 7, extra = 'r1' WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	n := e.iov("N", iovPt(0, 50), iovPt(0, 60))
	var authorized []string
	auth := func(gt string) error { authorized = append(authorized, gt); return nil }
	got, err := e.store.AttachPayloadIOV(e.ctx, list.Name, n.ID, auth)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Updated.After(n.Updated) || !got.Created.Equal(n.Created) {
		t.Errorf("attached IOV timestamps: %+v (was %+v)", got, n)
	}
	var checksum, extra string
	var size int64
	var created time.Time
	if err := e.db.QueryRow(e.ctx, `SELECT checksum, size, extra, created FROM "PayloadIOV"
		WHERE payload_url = 'P' AND major_iov = 0 AND minor_iov = 60`).Scan(&checksum, &size, &extra, &created); err != nil {
		t.Fatal(err)
	}
	if checksum != "ck-P" || size != 7 || extra != "r1" || !created.After(p.Created) {
		t.Errorf("split copy: %q %d %q %v", checksum, size, extra, created)
	}
	var listUpdated time.Time
	_ = e.db.QueryRow(e.ctx, `SELECT updated FROM "PayloadList" WHERE id = $1`, list.ID).Scan(&listUpdated)
	if !listUpdated.After(list.Updated) {
		t.Errorf("list updated not bumped")
	}

	// Moving an IOV to another list takes it out of the first.
	if _, err := e.store.AttachPayloadIOV(e.ctx, other.Name, n.ID, auth); err != nil {
		t.Fatal(err)
	}
	e.wantSpans(other.Name, sp("N", iovPt(0, 50), iovPt(0, 60)))
	e.wantSpans(list.Name, sp("P", iovPt(0, 0), iovPt(0, 50)), sp("P", iovPt(0, 60), iovPt(0, 100)))
	// Into a detached list: unlocked rules, authorize gets "".
	d := e.iov("D", iovPt(0, 0), storeOpen)
	if _, err := e.store.AttachPayloadIOV(e.ctx, detachedList.Name, d.ID, auth); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(authorized) != "[GT Other ]" {
		t.Errorf("authorize calls = %q", authorized)
	}

	free := e.iov("F", iovPt(9, 0), storeOpen)
	before := e.snapshot()
	_, err = e.store.AttachPayloadIOV(e.ctx, "nosuch", free.ID, nil)
	wantStoreErr(t, err, condcache.ENotFound, `PayloadList "nosuch" not found.`)
	_, err = e.store.AttachPayloadIOV(e.ctx, list.Name, 999999, nil)
	wantStoreErr(t, err, condcache.ENotFound, "PayloadIOV 999999 not found.")
	denied := condcache.Errorf(condcache.EForbidden, "Permission denied.")
	_, err = e.store.AttachPayloadIOV(e.ctx, list.Name, free.ID, func(string) error { return denied })
	if !errors.Is(err, denied) {
		t.Errorf("authorize error: got %v", err)
	}
	e.unchanged(before)

	// Frozen: nothing in, nothing out.
	e.setStatus("Other", condcache.StatusFrozen)
	before = e.snapshot()
	_, err = e.store.AttachPayloadIOV(e.ctx, other.Name, free.ID, nil)
	wantStoreErr(t, err, condcache.ELocked, "Global Tag is frozen.")
	_, err = e.store.AttachPayloadIOV(e.ctx, list.Name, n.ID, nil)
	wantStoreErr(t, err, condcache.ELocked, fmt.Sprintf(
		"PayloadIOV %d is attached to a list of Global Tag Other, which is frozen: it cannot be moved.", n.ID))
	e.unchanged(before)

	// Out of a locked GT's list is allowed.
	e.setStatus("Other", condcache.StatusLocked)
	if _, err := e.store.AttachPayloadIOV(e.ctx, detachedList.Name, n.ID, nil); err != nil {
		t.Errorf("move out of locked GT: %v", err)
	}
}
