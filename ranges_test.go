package condcache

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// withComb gives rows their exact comb_iov, as condcache stores them.
func withComb(rows []PayloadIOV) []PayloadIOV {
	out := make([]PayloadIOV, len(rows))
	for i, x := range rows {
		c := x.Start.CombIOV()
		x.CombIOV = &c
		out[i] = x
	}
	return out
}

// randomLists draws a GT of up to four types shaped like real lists.
func randomLists(rng *rand.Rand, mode IOVMode) map[string][]PayloadIOV {
	lists := map[string][]PayloadIOV{}
	for i := range 1 + rng.IntN(4) {
		l := newRealList(rng, mode)
		l.grow()
		lists[fmt.Sprintf("T%d", i)] = withComb(l.rows)
	}
	return lists
}

func allRows(lists map[string][]PayloadIOV) [][]PayloadIOV {
	var out [][]PayloadIOV
	for _, rows := range lists {
		out = append(out, rows)
	}
	return out
}

// pieceAt returns the piece of ivs holding p, or nil.
func pieceAt(ivs []RangeInterval, p Point) *RangeInterval {
	for i := range ivs {
		if comparePositions(ivs[i].From, p) <= 0 && (ivs[i].Until == nil || comparePositions(p, *ivs[i].Until) < 0) {
			return &ivs[i]
		}
	}
	return nil
}

// TestResolveRange: the pieces tile [from, to] in order, and at every point
// where an answer can change the piece holding it answers what the
// compatible (or strict) lookup answers there.
func TestResolveRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 7))
	for i := range 3000 {
		mode := []IOVMode{ModeContinuous, ModeDiscrete}[i%2]
		strict := i%4 >= 2
		lists := randomLists(rng, mode)
		probes := probePoints(allRows(lists)...)
		if len(probes) == 0 {
			continue
		}
		from, to := probes[rng.IntN(len(probes))], probes[rng.IntN(len(probes))]
		if to.Less(from) {
			from, to = to, from
		}
		got, _ := ResolveRange(lists, from, to, ResolveOptions{Strict: strict, Mode: mode})
		if len(got) != len(lists) {
			t.Fatalf("%d types answered, want %d", len(got), len(lists))
		}
		end, bounded := to.After()
		for _, ti := range got {
			ivs := ti.Intervals
			// Tiling: contiguous from `from` to the end of the range.
			if len(ivs) == 0 || ivs[0].From != from {
				t.Fatalf("%s %s: pieces %+v do not start at %v", mode, ti.PayloadType, ivs, from)
			}
			for j := 1; j < len(ivs); j++ {
				if ivs[j-1].Until == nil || *ivs[j-1].Until != ivs[j].From {
					t.Fatalf("%s %s: pieces %d and %d are not contiguous: %+v", mode, ti.PayloadType, j-1, j, ivs)
				}
			}
			last := ivs[len(ivs)-1].Until
			if bounded != (last != nil) || (bounded && *last != end) {
				t.Fatalf("%s %s: pieces end at %v, want %v (bounded %v)", mode, ti.PayloadType, last, end, bounded)
			}
			for _, p := range probes {
				if p.Less(from) || to.Less(p) {
					continue
				}
				want := lookupAt(lists[ti.PayloadType], p)
				if strict {
					want = strictAt(mode, lists[ti.PayloadType], p)
				}
				piece := pieceAt(ivs, p)
				switch {
				case piece == nil:
					t.Fatalf("%s %s: no piece holds %v: %+v", mode, ti.PayloadType, p, ivs)
				case (piece.Row == nil) != (want == nil) || (want != nil && piece.Row.ID != want.ID):
					t.Fatalf("%s strict %v %s at %v: piece %+v, the lookup answers %+v\nlist:%s", mode, strict, ti.PayloadType, p,
						piece, want, ivList(lists[ti.PayloadType]))
				}
			}
		}
	}
}

// TestLookupIn: the rows are the compatible lookup's at the point, and
// the same rows hold at every probe point of the window.
func TestLookupIn(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 3))
	for range 3000 {
		lists := randomLists(rng, ModeContinuous)
		probes := probePoints(allRows(lists)...)
		if len(probes) == 0 {
			continue
		}
		at := probes[rng.IntN(len(probes))]
		rows, w := LookupIn(lists, at)
		answer := func(p Point) string {
			var b []byte
			for _, typ := range sortedTypes(lists) {
				b = fmt.Appendf(b, "%s=%s;", typ, payloadOf(lookupAt(lists[typ], p)))
			}
			return string(b)
		}
		var got []byte
		byType := map[string]LookupRow{}
		for _, r := range rows {
			byType[r.PayloadType] = r
		}
		for _, typ := range sortedTypes(lists) {
			if r, ok := byType[typ]; ok {
				got = fmt.Appendf(got, "%s=%s#%s;", typ, r.PayloadURL, r.Checksum)
			} else {
				got = fmt.Appendf(got, "%s=(none);", typ)
			}
		}
		if want := answer(at); string(got) != want {
			t.Fatalf("LookupIn at %v: %s, want %s", at, got, want)
		}
		for _, p := range probes {
			k := p.CombKey()
			if string(k[:]) < string(w.From[:]) || string(k[:]) >= string(w.Until[:]) {
				continue
			}
			if answer(p) != answer(at) {
				t.Fatalf("window [%v, %v) of %v holds another answer at %v", w.FromPoint, w.UntilPoint, at, p)
			}
		}
	}
}

func sortedTypes(lists map[string][]PayloadIOV) []string {
	var out []string
	for t := range lists {
		out = append(out, t)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
