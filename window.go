package condcache

import (
	"encoding/hex"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// CombKey is a position in comb_iov order (major + minor/10^19) as 16 bytes
// that sort bytewise like the positions: the exact value major·10^19 + minor
// as a 128-bit integer in offset binary. Caches compare keys as strings, so
// a window lookup is a plain lexicographic range query.
type CombKey [16]byte

const combScale = 10_000_000_000_000_000_000 // 10^19

// MinCombKey sorts before every point: "no lower bound".
var MinCombKey = CombKey{}

// MaxCombKey sorts after every point: "no upper bound".
var MaxCombKey = CombKey{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// CombKey returns p's position in comb_iov order.
func (p Point) CombKey() CombKey {
	hi, lo := p.comb128()
	return combKey(hi, lo)
}

// comb128 returns major·10^19 + minor in two's complement (|value| < 2^127).
func (p Point) comb128() (hi, lo uint64) {
	hi, lo = bits.Mul64(abs64(p.Major), combScale)
	if p.Major < 0 {
		hi, lo = neg128(hi, lo)
	}
	var carry uint64
	lo, carry = bits.Add64(lo, uint64(p.Minor), 0)
	hi += carry
	if p.Minor < 0 {
		hi-- // sign extension of the minor into the high word
	}
	return hi, lo
}

func combKey(hi, lo uint64) CombKey {
	var k CombKey
	hi ^= 1 << 63 // offset binary: negative values sort first
	for i := range 8 {
		k[i] = byte(hi >> (56 - 8*i))
		k[8+i] = byte(lo >> (56 - 8*i))
	}
	return k
}

// ParseCombKey reads a comb_iov value as PostgreSQL prints numeric(38,19)
// ("-4.9999999999999999999", "12", "0.5").
func ParseCombKey(s string) (CombKey, error) {
	bad := func() (CombKey, error) { return CombKey{}, fmt.Errorf("condcache: bad comb_iov %q", s) }
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(digits, ".")
	if whole == "" || len(frac) > 19 || strings.Trim(frac, "0123456789") != "" {
		return bad()
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || w >= combScale {
		return bad()
	}
	f := uint64(0)
	if frac != "" {
		if f, err = strconv.ParseUint(frac+strings.Repeat("0", 19-len(frac)), 10, 64); err != nil {
			return bad()
		}
	}
	hi, lo := bits.Mul64(w, combScale)
	var carry uint64
	lo, carry = bits.Add64(lo, f, 0)
	hi += carry
	if neg {
		hi, lo = neg128(hi, lo)
	}
	return combKey(hi, lo), nil
}

// AppendHex appends k as 32 lower-case hex digits, which sort like k.
func (k CombKey) AppendHex(b []byte) []byte { return hex.AppendEncode(b, k[:]) }

// ParseCombKeyHex parses the 32 hex digits AppendHex writes.
func ParseCombKeyHex(s string) (CombKey, error) {
	var k CombKey
	if len(s) != 2*len(k) {
		return k, fmt.Errorf("condcache: bad comb key %q", s)
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, fmt.Errorf("condcache: bad comb key %q", s)
	}
	return k, nil
}

// Window is the range [From, Until) of points over which a GT's lookup
// answer stays the same: from the greatest start among the selected IOVs to
// the next IOV start of any attached list. Every point inside it gets the
// same rows, so caches share one answer for all of them.
type Window struct {
	From, Until CombKey
	// FromPoint and UntilPoint are the IOV starts that bound the window, as
	// stored (for headers); valid when HasFrom / HasUntil.
	FromPoint, UntilPoint Point
	HasFrom, HasUntil     bool
}
