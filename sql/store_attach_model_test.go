package sql_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// TestStoreAttachMatchesWholeListPlan checks the store's attach against a
// model: for random attaches, the list afterwards must be what PlanAttach
// computes from the whole list, although the store fetches only the
// neighbourhood of the new IOV. Several majors, negative minors (continuous)
// and locked steps exercise every part of the neighbourhood query.
func TestStoreAttachMatchesWholeListPlan(t *testing.T) {
	for _, mode := range []condcache.IOVMode{condcache.ModeContinuous, condcache.ModeDiscrete} {
		t.Run(string(mode), func(t *testing.T) {
			e := newStoreEnv(t, mode)
			e.statuses()
			e.gt("GT", condcache.StatusUnlocked)
			list := e.attachedPL("GT", "Beam")
			rng := rand.New(rand.NewPCG(7, uint64(len(mode))))
			status := condcache.StatusUnlocked
			for step := range 150 {
				if rng.IntN(5) == 0 {
					status = []string{condcache.StatusUnlocked, condcache.StatusLocked}[rng.IntN(2)]
					e.setStatus("GT", status)
				}
				start, end := randomIOV(rng, mode)
				n := e.iov(fmt.Sprintf("n%d", step), start, end)
				existing := e.attachedRows(list.ID)
				plan, planErr := condcache.PlanAttach(mode, status, existing, n)
				want := applyModel(existing, plan, n)

				_, err := e.store.AttachPayloadIOV(e.ctx, list.Name, n.ID, nil)
				if planErr != nil {
					if condcache.ErrorDetail(err) != condcache.ErrorDetail(planErr) {
						t.Fatalf("step %d (%s, %v→%v): error %v, want %v", step, status, start, end, err, planErr)
					}
					want = existing
				} else if err != nil {
					t.Fatalf("step %d (%s, %v→%v): %v", step, status, start, end, err)
				}
				if got := e.attachedRows(list.ID); !sameIOVs(got, want) {
					t.Fatalf("step %d (%s, %v→%v):\n got  %v\n want %v", step, status, start, end, spansOf(got), spansOf(want))
				}
			}
		})
	}
}

func randomIOV(rng *rand.Rand, mode condcache.IOVMode) (start, end condcache.Point) {
	minor := func() int64 {
		if mode == condcache.ModeContinuous && rng.IntN(8) == 0 {
			return -rng.Int64N(20)
		}
		return rng.Int64N(40)
	}
	for {
		start = condcache.Point{Major: rng.Int64N(4), Minor: minor()}
		end = condcache.Point{Major: start.Major + rng.Int64N(2), Minor: minor()}
		if rng.IntN(6) == 0 {
			end = condcache.OpenEnd
		}
		if mode.ValidRange(start, end) {
			return start, end
		}
	}
}

// attachedRows reads the IOVs attached to list as PlanAttach takes them.
func (e *storeEnv) attachedRows(list int64) []condcache.PayloadIOV {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT id, payload_url, major_iov, minor_iov, major_iov_end, minor_iov_end
		FROM "PayloadIOV" WHERE payload_list_id = $1 ORDER BY major_iov, minor_iov, id`, list)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (condcache.PayloadIOV, error) {
		var v condcache.PayloadIOV
		err := row.Scan(&v.ID, &v.PayloadURL, &v.Start.Major, &v.Start.Minor, &v.End.Major, &v.End.Minor)
		return v, err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// applyModel is the list after plan and the attach of n, as the reference
// would leave it (the split copy has no id yet).
func applyModel(existing []condcache.PayloadIOV, plan condcache.AttachPlan, n condcache.PayloadIOV) []condcache.PayloadIOV {
	var out []condcache.PayloadIOV
	byID := map[int64]condcache.PayloadIOV{}
	for _, x := range existing {
		byID[x.ID] = x
		if slices.Contains(plan.Detach, x.ID) {
			continue
		}
		for _, r := range plan.Resize {
			if r.ID == x.ID {
				x.Start, x.End = r.Start, r.End
			}
		}
		out = append(out, x)
	}
	if sp := plan.Split; sp != nil {
		out = append(out, condcache.PayloadIOV{PayloadURL: byID[sp.FromID].PayloadURL, Start: sp.Start, End: sp.End})
	}
	return append(out, n)
}

// sameIOVs compares two lists by url and bounds (ids of split copies are
// only known afterwards).
func sameIOVs(a, b []condcache.PayloadIOV) bool {
	return slices.Equal(spansOf(a), spansOf(b))
}

func spansOf(vs []condcache.PayloadIOV) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%s%v→%v", v.PayloadURL, v.Start, v.End)
	}
	slices.Sort(out)
	return out
}
