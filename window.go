package condcache

import (
	"context"
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

// LookupResult is a lookup answer with what caches need to keep it.
type LookupResult struct {
	Rows []LookupRow
	// Found is false for an unknown GT (then Rows is empty).
	Found bool
	// Status is the GT's status name ("locked", "frozen", ...).
	Status string
	// Generation is the GT's generation in the snapshot the rows come from
	// (0 when the database has none for this name).
	Generation int64
	Window     Window
	// Source is the backend that answered: "primary" or "replica".
	Source string
}

// Freshness says how fresh a read must be.
type Freshness struct {
	// MinGeneration: a backend whose generation for the GT is lower is
	// behind a write the caller knows of, and is skipped.
	MinGeneration int64
	// Latest: the read must see every write committed before the call,
	// whatever the caller knows (used when the cache cannot tell).
	Latest bool
}

// Invalidation says that GT GlobalTag has reached Generation: cached
// answers of older generations must not be served any more. GlobalTag
// AllScope stands for reads that are not about one GT; such an
// invalidation says that one more write changed them.
type Invalidation struct {
	GlobalTag  string
	Generation int64
}

// AllScope is the scope of the cached reads that are not about one GT (GT,
// type and IOV listings, lookups by id); see Invalidation.
const AllScope = ""

// CacheState is what the cache knows about one GT.
type CacheState int

const (
	// CacheUnknown: the cache cannot vouch for any generation (it is down,
	// restarting, or resynchronising): read the latest state, store nothing.
	CacheUnknown CacheState = iota
	// CachePending: a write to the GT is being committed or its
	// invalidation is being delivered: read the latest state, store nothing.
	CachePending
	// CacheMiss: the cache knows the GT's generation but holds no answer.
	CacheMiss
	// CacheHit: the answer is in CachedLookup.
	CacheHit
)

// CachedLookup is a cache's answer for (GT, point, shape).
type CachedLookup struct {
	State      CacheState
	Generation int64 // when State is CacheMiss or CacheHit
	Status     string
	Window     Window // From/Until points only (for headers)
	Body       []byte // the encoded rows, when CacheHit
}

// LookupCache keeps encoded lookup answers per GT and generation.
// Implemented by cache.Cache on Redis.
type LookupCache interface {
	// GetLookup returns what the cache holds for GT gt at point at in the
	// given shape. Errors mean the cache is unavailable: treat as
	// CacheUnknown.
	GetLookup(ctx context.Context, gt string, at Point, dict bool) (CachedLookup, error)
	// FillLookup stores body for every point of the result's window, only
	// if the cache still holds generation res.Generation for the GT.
	FillLookup(ctx context.Context, gt string, dict bool, res *LookupResult, body []byte) (stored bool, err error)
}

// CachedResponse is a cache's answer for a read other than the lookup.
type CachedResponse struct {
	State CacheState
	// Generation is the scope's generation in the cache (CacheMiss,
	// CacheHit): a GT's generation, or for AllScope a counter the cache
	// keeps itself. A fill must bring it back unchanged.
	Generation int64
	Body       []byte // when CacheHit
}

// ResponseCache keeps the encoded answers of reads other than the lookup,
// per scope (a GT name, or AllScope) and request. The caller computes a
// missing answer from a backend that has every write committed before the
// get, then fills it. Implemented by cache.Cache on Redis.
type ResponseCache interface {
	GetResponse(ctx context.Context, scope string, key []byte) (CachedResponse, error)
	// FillResponse stores body only if the scope is still at generation
	// and no write to it is pending.
	FillResponse(ctx context.Context, scope string, key []byte, generation int64, body []byte) (stored bool, err error)
}

// Invalidator tells the cache about writes (docs/design.md "Freshness contract").
// Implemented by cache.Cache on Redis.
type Invalidator interface {
	// Mark is called before a write commits: the GTs' cached answers are
	// dropped and the GTs stay uncacheable until Publish catches up.
	Mark(ctx context.Context, invs []Invalidation) error
	// Unmark is called when a transaction Mark was called for did not
	// commit. It takes back the all-scope marks, which are the
	// transaction's own; a GT's mark may stand for other writes in flight
	// too, so it stays until a publish covers it or it expires.
	Unmark(ctx context.Context, invs []Invalidation) error
	// Publish is called after commit: the cache now serves the new
	// generations. Publishing an older generation than the cache holds is a
	// no-op.
	Publish(ctx context.Context, invs []Invalidation) error
}
