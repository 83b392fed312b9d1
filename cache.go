package condcache

import "context"

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
	Digest     string // of the rows, when CacheHit
	// NoticeSummary is the answer's X-Condcache-Notices ("" for none).
	NoticeSummary string
	// Answering are the IOV and list ids of the rows, in their order.
	Answering []AnsweringIOV
	Body      []byte // the encoded rows, when CacheHit
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

// LeasedLookups lets a reader answer a lookup from a copy it may serve
// without asking anyone (docs/design.md "Leases"), before it sets up
// anything a call to Redis or the database needs. Optional: a LookupCache
// may implement it.
type LeasedLookups interface {
	// LeaseHit returns the copy of gt's answer at at in the shape when it
	// may be served unasked.
	LeaseHit(gt string, at Point, dict bool) (CachedLookup, bool)
}

// FillRounds lets the readers sharing a cache share a burst's first
// database queries of a GT (docs/design.md "Farm bursts"): one reader at a
// time leads a round of a GT at a generation; the others wait for its
// fill, then ask the cache again. Optional: a LookupCache may implement it.
type FillRounds interface {
	// LeadFill reports whether the caller leads the round of gt at
	// generation (then it calls release once its answer is filled); false
	// when another reader leads one. A cache that cannot tell says lead.
	LeadFill(ctx context.Context, gt string, generation int64) (release func(), lead bool)
	// AwaitFill returns when the round another reader leads has ended, or
	// after a bound (a leader that died holds nobody for long).
	AwaitFill(ctx context.Context, gt string, generation int64)
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
