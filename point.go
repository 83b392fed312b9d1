package condcache

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// MaxIOV is the largest IOV component (Python sys.maxsize in the reference).
const MaxIOV = math.MaxInt64

// Point is an IOV boundary: (major, minor) = (run, subrun). Points are
// ordered lexicographically.
type Point struct {
	Major, Minor int64
}

// OpenEnd is the end of an open-ended IOV.
var OpenEnd = Point{MaxIOV, MaxIOV}

// Compare returns -1, 0 or +1 as p is before, equal to or after q.
func (p Point) Compare(q Point) int {
	switch {
	case p.Major < q.Major:
		return -1
	case p.Major > q.Major:
		return 1
	case p.Minor < q.Minor:
		return -1
	case p.Minor > q.Minor:
		return 1
	}
	return 0
}

// Less reports whether p is strictly before q.
func (p Point) Less(q Point) bool { return p.Compare(q) < 0 }

func (p Point) String() string { return fmt.Sprintf("(%d,%d)", p.Major, p.Minor) }

// IsOnlineOpen reports whether p, taken as an IOV end, is "online-open": end
// major 0 or MAX and end minor MAX (docs/compatibility.md "Locked rules", the locked special case).
func (p Point) IsOnlineOpen() bool {
	return (p.Major == 0 || p.Major == MaxIOV) && p.Minor == MaxIOV
}

// Before returns the point just before p in discrete mode: (M, m-1), or
// (M-1, MAX) when m = 0. ok is false when there is none.
func (p Point) Before() (q Point, ok bool) {
	if p.Minor > 0 {
		return Point{p.Major, p.Minor - 1}, true
	}
	if p.Major == math.MinInt64 {
		return p, false
	}
	return Point{p.Major - 1, MaxIOV}, true
}

// After returns the point just after p in discrete mode: (M, m+1), or
// (M+1, 0) when m = MAX. ok is false when there is none.
func (p Point) After() (q Point, ok bool) {
	if p.Minor < MaxIOV {
		return Point{p.Major, p.Minor + 1}, true
	}
	if p.Major == MaxIOV {
		return p, false
	}
	return Point{p.Major + 1, 0}, true
}

// CombIOV returns the exact decimal text of major + minor/10^19, the value
// Nopayloaddb stores in the numeric(38,19) column comb_iov, with exactly 19
// fractional digits: (0,1000) → "0.0000000000000001000", (-5,1) →
// "-4.9999999999999999999". It is computed exactly (the reference rounds for
// |major| ≥ 10^9, docs/compatibility.md "comb_iov").
func (p Point) CombIOV() string {
	return string(p.AppendCombIOV(nil))
}

// AppendCombIOV appends CombIOV to b.
func (p Point) AppendCombIOV(b []byte) []byte {
	// value = major*10^19 + minor as a two's-complement 128-bit integer
	// (|value| < 2^127), printed with the decimal point 19 digits from the right.
	hi, lo := p.comb128()
	neg := int64(hi) < 0
	if neg {
		hi, lo = neg128(hi, lo)
		b = append(b, '-')
	}
	q, r := bits.Div64(hi, lo, combScale) // hi < scale because |major| < 2^63
	b = strconv.AppendUint(b, q, 10)
	b = append(b, '.')
	var frac [19]byte
	for i := 18; i >= 0; i-- {
		frac[i] = byte('0' + r%10)
		r /= 10
	}
	return append(b, frac[:]...)
}

func abs64(v int64) uint64 {
	if v < 0 {
		return uint64(^v) + 1 // also right for MinInt64
	}
	return uint64(v)
}

func neg128(hi, lo uint64) (uint64, uint64) {
	lo = ^lo + 1
	hi = ^hi
	if lo == 0 {
		hi++
	}
	return hi, lo
}

// IOVMode selects how IOV ends are interpreted (CDB_IOV_MODE).
type IOVMode string

const (
	// ModeContinuous: IOVs are [start, end), end must be after start.
	ModeContinuous IOVMode = "continuous"
	// ModeDiscrete: IOVs are [start, end] inclusive, end may equal start.
	ModeDiscrete IOVMode = "discrete"
)

// ParseIOVMode parses CDB_IOV_MODE; "" means continuous.
func ParseIOVMode(s string) (IOVMode, error) {
	switch s {
	case "", string(ModeContinuous):
		return ModeContinuous, nil
	case string(ModeDiscrete):
		return ModeDiscrete, nil
	}
	return "", fmt.Errorf("CDB_IOV_MODE must be %q or %q, not %q", ModeContinuous, ModeDiscrete, s)
}

// ValidRange reports whether [start, end] is a valid IOV in mode m:
// continuous needs end > start, discrete end ≥ start (docs/compatibility.md "Range validation").
func (m IOVMode) ValidRange(start, end Point) bool {
	c := end.Compare(start)
	if m == ModeDiscrete {
		return c >= 0
	}
	return c > 0
}

// CheckMinors refuses what mode m cannot order: in discrete mode minors must
// be ≥ 0 (docs/compatibility.md "Discrete mode"), because the point before
// (M, 0) is (M-1, MAX) there. Continuous mode accepts any int64.
func (m IOVMode) CheckMinors(start, end Point) error {
	if m != ModeDiscrete {
		return nil
	}
	if start.Minor < 0 {
		return FieldError(EInvalid, "minor_iov", "Ensure this value is greater than or equal to 0 (discrete IOV mode).")
	}
	if end.Minor < 0 {
		return FieldError(EInvalid, "minor_iov_end", "Ensure this value is greater than or equal to 0 (discrete IOV mode).")
	}
	return nil
}
