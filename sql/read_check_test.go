package sql_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// checkWorld is a database seeded with plain SQL, as Nopayloaddb may have
// left it: every kind of finding in a list (or GT) of its own, clean lists
// beside them, and broken rows outside any GT, which the check must not
// report.
type checkWorld struct {
	dirty, dupType, clean string   // GT names
	want                  []string // the findings of dirty and dupType, as findingLines renders them
	pool                  *pgxpool.Pool
}

func seedCheckWorld(t *testing.T) checkWorld {
	t.Helper()
	p := primaryPool(t, testDB(t))
	r := newSeed(t, p)
	st := r.status("unlocked")
	w := checkWorld{dirty: "Dirty", dupType: "DupType", clean: "Clean", pool: p}
	dirty, dupType, clean := r.gt(w.dirty, st, nil), r.gt(w.dupType, st, nil), r.gt(w.clean, st, nil)
	expect := func(gt, typ, list string, kind condcache.FindingKind, ids ...int64) {
		w.want = append(w.want, fmt.Sprintf("%s %s %s %s %v", gt, typ, list, kind, ids))
	}
	// cleanList fills a list of gt with IOVs that touch, leave gaps, use
	// negative minors and end open, and nothing else.
	cleanList := func(gt *int64, typ string) {
		l, _ := r.list(r.ptype(typ), gt)
		r.iov(&l, typ+"_a", pt(0, -5), withEnd(pt(0, 10)))
		r.iov(&l, typ+"_b", pt(0, 10), withEnd(pt(0, 20)))
		r.iov(&l, typ+"_c", pt(0, 30), withEnd(pt(5, -1)))
		r.iov(&l, typ+"_d", pt(5, 0))
	}
	newList := func(gt *int64, typ string) (int64, string) { return r.list(r.ptype(typ), gt) }

	cleanList(&dirty, "CleanD")

	l, n := newList(&dirty, "DupStart")
	a := r.iov(&l, "ds_a", pt(0, 100), withEnd(pt(0, 200)))
	b := r.iov(&l, "ds_b", pt(0, 100), withEnd(pt(0, 200)))
	r.iov(&l, "ds_c", pt(0, 200))
	expect(w.dirty, "DupStart", n, condcache.FindingDuplicateStart, a, b)

	// The later IOV is inserted first: the check orders by start, not id.
	l, n = newList(&dirty, "Overlap")
	later := r.iov(&l, "ov_b", pt(0, 200))
	first := r.iov(&l, "ov_a", pt(0, 0), withEnd(pt(0, 300)))
	expect(w.dirty, "Overlap", n, condcache.FindingOverlap, first, later)

	l, n = newList(&dirty, "Zero")
	a = r.iov(&l, "z_a", pt(0, 5), withEnd(pt(0, 5)))
	r.iov(&l, "z_b", pt(0, 6))
	expect(w.dirty, "Zero", n, condcache.FindingZeroLength, a)

	l, n = newList(&dirty, "Inverted")
	a = r.iov(&l, "in_a", pt(0, 10), withEnd(pt(0, 5)))
	expect(w.dirty, "Inverted", n, condcache.FindingInverted, a)

	l, n = newList(&dirty, "NullComb")
	r.iov(&l, "nc_a", pt(0, 0), withEnd(pt(0, 10)))
	a = r.iov(&l, "nc_b", pt(0, 10), withComb(nil))
	expect(w.dirty, "NullComb", n, condcache.FindingNullCombIOV, a)

	// Nopayloaddb's rounding for |major| >= 10^9, and its successor shift
	// that stored major + major/10^19.
	l, n = newList(&dirty, "Mismatch")
	a = r.iov(&l, "mm_a", pt(1_000_000_000, 1), withEnd(pt(1_000_000_000, 2)), withComb(ptr("1000000000.0000000000000000000")))
	b = r.iov(&l, "mm_b", pt(1_000_000_001, 7), withComb(ptr("1000000001.0000000001000000001")))
	expect(w.dirty, "Mismatch", n, condcache.FindingCombIOVMismatch, a)
	expect(w.dirty, "Mismatch", n, condcache.FindingCombIOVMismatch, b)

	// Two lists of one type attached to DupType, each clean.
	x := r.ptype("Twice")
	l1, _ := r.list(x, &dupType)
	r.iov(&l1, "tw_a", pt(0, 0))
	l2, _ := r.list(x, &dupType)
	r.iov(&l2, "tw_b", pt(0, 0))
	expect(w.dupType, "Twice", "", condcache.FindingDuplicateType, l1, l2)
	cleanList(&dupType, "CleanT")

	cleanList(&clean, "CleanC")
	newList(&clean, "EmptyC") // attached but empty

	// Broken rows outside any GT: a detached list, a detached IOV.
	l, _ = newList(nil, "Detached")
	r.iov(&l, "dl_a", pt(0, 1), withEnd(pt(0, 0)), withComb(nil))
	r.iov(&l, "dl_b", pt(0, 1), withEnd(pt(0, 0)))
	r.iov(nil, "di_a", pt(0, 1), withEnd(pt(0, 0)), withComb(nil))
	return w
}

// findingLines renders findings as "GT type list kind ids" and requires a
// detail on each.
func findingLines(t *testing.T, fs []condcache.Finding) []string {
	t.Helper()
	out := make([]string, len(fs))
	for i, f := range fs {
		if f.Detail == "" {
			t.Errorf("finding %+v has no detail", f)
		}
		out[i] = fmt.Sprintf("%s %s %s %s %v", f.GlobalTag, f.PayloadType, f.PayloadList, f.Kind, f.IDs)
	}
	return out
}

func checkReader(t *testing.T, p *pgxpool.Pool, mode condcache.IOVMode) *cdbsql.Reader {
	r := cdbsql.NewReader(p, nil, cdbsql.ReaderOptions{IOVMode: mode})
	t.Cleanup(r.Close)
	return r
}

func TestCheckFindsExactlyTheSeededStates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := seedCheckWorld(t)
	rd := checkReader(t, w.pool, "")
	sorted := func(fs []condcache.Finding) []condcache.Finding {
		s := slices.Clone(fs)
		condcache.SortFindings(s)
		return s
	}
	var all []string
	for _, gt := range []string{w.dirty, w.dupType, w.clean} {
		got, err := rd.Check(ctx, gt)
		if err != nil {
			t.Fatalf("Check(%q): %v", gt, err)
		}
		var want []string
		for _, line := range w.want {
			if strings.HasPrefix(line, gt+" ") {
				want = append(want, line)
			}
		}
		lines := findingLines(t, got)
		slices.Sort(want)
		if !slices.Equal(slices.Sorted(slices.Values(lines)), want) {
			t.Errorf("Check(%q):\n got %q\nwant %q", gt, lines, want)
		}
		if got == nil || !slices.EqualFunc(got, sorted(got), func(a, b condcache.Finding) bool { return a.Detail == b.Detail }) {
			t.Errorf("Check(%q) = %v: want a non-nil slice in SortFindings order", gt, got)
		}
		all = append(all, lines...)
	}
	got, err := rd.Check(ctx, "")
	if err != nil {
		t.Fatalf(`Check(""): %v`, err)
	}
	if lines := findingLines(t, got); !slices.Equal(lines, all) {
		t.Errorf("Check(\"\") (every GT):\n got %q\nwant %q", lines, all)
	}
}

func TestCheckUnknownGlobalTag(t *testing.T) {
	t.Parallel()
	p := primaryPool(t, testDB(t))
	_, err := checkReader(t, p, "").Check(context.Background(), "NoSuchGT")
	wantCode(t, err, condcache.ENotFound, `GlobalTag "NoSuchGT" not found.`)
}

// TestCheckDiscreteMode: ends are inclusive, so end == start is the
// one-point IOV and end == the next start is an overlap; in continuous
// mode the same rows are a zero-length IOV and two IOVs that touch.
func TestCheckDiscreteMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := primaryPool(t, testDB(t))
	r := newSeed(t, p)
	gt := r.gt("GT", r.status("unlocked"), nil)
	l, n := r.list(r.ptype("Beam"), &gt)
	point := r.iov(&l, "point", pt(0, 5), withEnd(pt(0, 5)))
	touching := r.iov(&l, "touching", pt(0, 10), withEnd(pt(0, 20)))
	next := r.iov(&l, "next", pt(0, 20), withEnd(pt(0, 29)))
	r.iov(&l, "gap", pt(0, 30))
	for mode, want := range map[condcache.IOVMode][]string{
		condcache.ModeDiscrete:   {fmt.Sprintf("GT Beam %s overlap [%d %d]", n, touching, next)},
		condcache.ModeContinuous: {fmt.Sprintf("GT Beam %s zero_length [%d]", n, point)},
	} {
		got, err := checkReader(t, p, mode).Check(ctx, "GT")
		if err != nil {
			t.Fatal(err)
		}
		if lines := findingLines(t, got); !slices.Equal(lines, want) {
			t.Errorf("%s: %q, want %q", mode, lines, want)
		}
	}
}
