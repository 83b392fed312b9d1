package condcache

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// combValue is the oracle: major·10^19 + minor in arbitrary precision.
func combValue(p Point) *big.Int {
	v := new(big.Int).Mul(big.NewInt(p.Major), new(big.Int).SetUint64(combScale))
	return v.Add(v, big.NewInt(p.Minor))
}

func randomPoint(r *rand.Rand) Point {
	edge := []int64{math.MinInt64, math.MinInt64 + 1, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64}
	pick := func() int64 {
		switch r.IntN(3) {
		case 0:
			return edge[r.IntN(len(edge))]
		case 1:
			return r.Int64N(20) - 10
		}
		return int64(r.Uint64())
	}
	return Point{Major: pick(), Minor: pick()}
}

// TestCombKeyOrder: keys sort bytewise exactly like the comb_iov values,
// including negative minors, where comb order differs from (major, minor)
// order, and the extremes of int64.
func TestCombKeyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		p, q := randomPoint(r), randomPoint(r)
		pk, qk := p.CombKey(), q.CombKey()
		if got, want := bytes.Compare(pk[:], qk[:]), combValue(p).Cmp(combValue(q)); got != want {
			t.Fatalf("%v vs %v: key order %d, comb order %d", p, q, got, want)
		}
		if bytes.Compare(MinCombKey[:], pk[:]) >= 0 || bytes.Compare(pk[:], MaxCombKey[:]) >= 0 {
			t.Fatalf("%v: key %x not strictly between the bounds", p, pk)
		}
	}
}

// TestParseCombKey: the key of a comb_iov as PostgreSQL prints it equals the
// key of the point it was computed from.
func TestParseCombKey(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		p := randomPoint(r)
		got, err := ParseCombKey(p.CombIOV())
		if err != nil {
			t.Fatal(err)
		}
		if got != p.CombKey() {
			t.Fatalf("%v: ParseCombKey(%q) = %x, want %x", p, p.CombIOV(), got, p.CombKey())
		}
	}
	for text, p := range map[string]Point{"12": {12, 0}, "0.5": {0, 5_000_000_000_000_000_000}, "-0.0000000000000000001": {0, -1}} {
		if got, err := ParseCombKey(text); err != nil || got != p.CombKey() {
			t.Errorf("ParseCombKey(%q) = %x, %v; want %x", text, got, err, p.CombKey())
		}
	}
	for _, bad := range []string{"", "-", "1.2.3", "x", "1.00000000000000000001", "99999999999999999999"} {
		if _, err := ParseCombKey(bad); err == nil {
			t.Errorf("ParseCombKey(%q): no error", bad)
		}
	}
}
