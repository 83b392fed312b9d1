package condcache

import (
	"math"
	"math/big"
	"testing"
)

// combIOVBig is the obvious big-number computation, the oracle for CombIOV.
func combIOVBig(p Point) string {
	v := new(big.Int).Mul(big.NewInt(p.Major), new(big.Int).Exp(big.NewInt(10), big.NewInt(19), nil))
	v.Add(v, big.NewInt(p.Minor))
	return new(big.Float).SetPrec(256).SetInt(v).Text('f', 0)
}

func TestCombIOV(t *testing.T) {
	cases := map[Point]string{
		{0, 1000}:                      "0.0000000000000001000",
		{-5, 1}:                        "-4.9999999999999999999",
		{0, 0}:                         "0.0000000000000000000",
		{1_000_000_000, 1}:             "1000000000.0000000000000000001",
		{MaxIOV, MaxIOV}:               "9223372036854775807.9223372036854775807",
		{0, -1}:                        "-0.0000000000000000001",
		{math.MinInt64, math.MinInt64}: "-9223372036854775808.9223372036854775808",
	}
	for p, want := range cases {
		if got := p.CombIOV(); got != want {
			t.Errorf("%v.CombIOV() = %s, want %s", p, got, want)
		}
	}
}

func TestCombIOVMatchesBigArithmetic(t *testing.T) {
	vals := []int64{math.MinInt64, math.MinInt64 + 1, -1e18, -12345, -1, 0, 1, 7, 999999, 1e9, 1e18, math.MaxInt64 - 1, math.MaxInt64}
	for _, ma := range vals {
		for _, mi := range vals {
			p := Point{ma, mi}
			got := p.CombIOV()
			// Remove the decimal point and leading zeros to compare with the
			// scaled integer.
			digits := make([]byte, 0, len(got))
			for i := 0; i < len(got); i++ {
				if got[i] != '.' {
					digits = append(digits, got[i])
				}
			}
			want, ok := new(big.Int).SetString(combIOVBig(p), 10)
			have, ok2 := new(big.Int).SetString(string(digits), 10)
			if !ok || !ok2 || want.Cmp(have) != 0 {
				t.Errorf("%v: CombIOV %s, want scaled value %s", p, got, combIOVBig(p))
			}
		}
	}
}

func TestPointOrderAndNeighbours(t *testing.T) {
	if !(Point{0, MaxIOV}).Less(Point{1, 0}) || (Point{1, 0}).Less(Point{1, 0}) {
		t.Fatal("lexicographic order broken")
	}
	if q, _ := (Point{5, 0}).Before(); q != (Point{4, MaxIOV}) {
		t.Errorf("Before (5,0) = %v", q)
	}
	if q, _ := (Point{5, 3}).Before(); q != (Point{5, 2}) {
		t.Errorf("Before (5,3) = %v", q)
	}
	if q, _ := (Point{4, MaxIOV}).After(); q != (Point{5, 0}) {
		t.Errorf("After (4,MAX) = %v", q)
	}
	if _, ok := OpenEnd.After(); ok {
		t.Error("After(MAX,MAX) must not exist")
	}
	if !ModeContinuous.ValidRange(Point{0, 1}, Point{0, 2}) || ModeContinuous.ValidRange(Point{0, 100}, Point{0, 100}) {
		t.Error("continuous range rule")
	}
	if !ModeDiscrete.ValidRange(Point{0, 100}, Point{0, 100}) || ModeDiscrete.ValidRange(Point{0, 100}, Point{0, 99}) {
		t.Error("discrete range rule")
	}
	if ModeContinuous.ValidRange(Point{5, 100}, Point{4, 200}) || ModeDiscrete.ValidRange(Point{5, 100}, Point{4, 200}) {
		t.Error("(5,100)->(4,200) is invalid in both modes")
	}
}

func TestCheckMinors(t *testing.T) {
	if err := ModeContinuous.CheckMinors(Point{Major: 0, Minor: -1}, Point{Major: 1, Minor: -1}); err != nil {
		t.Errorf("continuous mode must accept negative minors: %v", err)
	}
	if ErrorCodeOf(ModeDiscrete.CheckMinors(Point{Major: 0, Minor: -1}, OpenEnd)) != EInvalid {
		t.Error("discrete mode must refuse a negative start minor")
	}
	if ErrorCodeOf(ModeDiscrete.CheckMinors(Point{Major: 0, Minor: 0}, Point{Major: 1, Minor: -1})) != EInvalid {
		t.Error("discrete mode must refuse a negative end minor")
	}
	if err := ModeDiscrete.CheckMinors(Point{Major: -3, Minor: 0}, Point{Major: -2, Minor: 5}); err != nil {
		t.Errorf("discrete mode accepts negative majors: %v", err)
	}
}

func BenchmarkAppendCombIOV(b *testing.B) {
	var buf [40]byte
	p := Point{Major: 123456, Minor: 789}
	for b.Loop() {
		_ = p.AppendCombIOV(buf[:0])
	}
}

func BenchmarkCombKey(b *testing.B) {
	p := Point{Major: 123456, Minor: 789}
	for b.Loop() {
		_ = p.CombKey()
	}
}
