package reader

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strconv"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// The lookup is the hot path: thousands of batch jobs call it at once. It
// parses the query in one pass without allocating and encodes the rows by
// hand straight into the response's pooled body buffer.

var (
	jsonContentType = []byte("application/json")
	emptyArray      = []byte("[]")
	emptyDigest     = condcache.DigestRows(nil)
)

// lookupParams are the parsed parameters of GET payloadiovs/.
type lookupParams struct {
	globalTag []byte          // valid only during the request
	at        condcache.Point // (majorIOV, minorIOV)
	dict      bool            // shape=dict: rows as objects
	// complete is false when gtName, majorIOV or minorIOV is missing: the
	// reference then answers [] (a NULL comparison matches nothing).
	complete bool
}

// parseLookup reads gtName, majorIOV, minorIOV and shape, the last value
// winning when repeated (docs/compatibility.md "Conventions"). majorIOV and minorIOV, when present,
// must be decimal integers within int64 (optional sign, surrounding white
// space tolerated), else a 400 error naming the parameter and the value:
// docs/compatibility.md "Lookup parameters" replaces the reference's HTML 500
// and its fraction rounding. That check comes first, so a bad integer is
// refused even when gtName is missing. shape must be exactly "dict" to
// select objects; anything else gives positional rows.
func parseLookup(args *fasthttp.Args) (p lookupParams, err error) {
	var major, minor []byte
	var hasGT, hasMajor, hasMinor bool
	for k, v := range args.All() {
		switch string(k) {
		case "gtName":
			p.globalTag, hasGT = v, true
		case "majorIOV":
			major, hasMajor = v, true
		case "minorIOV":
			minor, hasMinor = v, true
		case "shape":
			p.dict = string(v) == "dict"
		}
	}
	if hasMajor {
		if p.at.Major, err = lookupInt("majorIOV", major); err != nil {
			return p, err
		}
	}
	if hasMinor {
		if p.at.Minor, err = lookupInt("minorIOV", minor); err != nil {
			return p, err
		}
	}
	p.complete = hasGT && hasMajor && hasMinor
	return p, nil
}

// maxQuotedValue bounds how much of a bad value an error message quotes.
const maxQuotedValue = 64

func lookupInt(name string, v []byte) (int64, error) {
	n, err := drf.ParseInt(v)
	if err == nil {
		return n, nil
	}
	shown := string(v)
	if len(shown) > maxQuotedValue {
		shown = shown[:maxQuotedValue] + "…"
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, condcache.Errorf(condcache.EInvalid, "%s must be an integer between %d and %d, got %q",
			name, int64(math.MinInt64), int64(math.MaxInt64), shown)
	}
	return 0, condcache.Errorf(condcache.EInvalid, "%s must be an integer, got %q", name, shown)
}

// lookup answers GET payloadiovs/ and payload-iovs/query/ (docs/compatibility.md "The lookup"):
// for every list attached to the GT, the IOV holding at the point, as
// 9-column positional rows or, with shape=dict, objects. An unknown GT or
// a missing parameter answers [].
//
// With a cache (docs/design.md "Freshness contract"): a hit is answered from
// Redis; on a miss the database answer must be at least as new as the
// generation Redis knows (older replicas are skipped) and is stored only if
// Redis still holds that generation; when Redis cannot vouch for the GT
// (down, restarted, a write in flight) the answer comes from a backend that
// has every committed write, and nothing is stored.
func (s *Server) lookup(ctx *fasthttp.RequestCtx) error {
	p, err := parseLookup(ctx.QueryArgs())
	if err != nil {
		return err
	}
	if !p.complete {
		ctx.Response.Header.Set(api.HeaderDigest, emptyDigest)
		api.WriteJSON(ctx, fasthttp.StatusOK, emptyArray)
		return nil
	}
	gt := string(p.globalTag)
	if err := drf.CheckText("gtName", gt); err != nil {
		return err
	}
	// A copy served under the reader's lease needs no call, so no
	// service context either (its deadline costs more than the copy).
	if s.leased != nil {
		if hit, ok := s.leased.LeaseHit(gt, p.at, p.dict); ok {
			s.countSource("redis")
			writeCached(ctx, hit)
			return nil
		}
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	o := s.throughRounds(sctx, gt, p.at, p.dict)
	var answer *condcache.LookupResult // the database's, for the round this lookup leads
	if o.lead != nil {
		defer func() { o.lead(answer) }()
	}
	if o.ok {
		writeCached(ctx, o.hit)
		return nil
	}
	// Encode into the response's own pooled buffer: fasthttp hands it back
	// to its pool after writing, so steady-state lookups reuse memory.
	b := ctx.Response.SwapBody(nil)[:0]
	var res condcache.LookupResult
	if o.shared != nil {
		s.countSource("round")
		res, b = s.encodeLookup(gt, p.at, p.dict, *o.shared, b)
	} else {
		var err error
		if res, answer, b, err = s.fromDatabase(sctx, gt, p.at, p.dict, o.need, o.known, b); err != nil {
			return err
		}
	}
	writeLookup(ctx, res.Generation, res.Found, res.Status, res.Window, res.Digest, res.NoticeSummary, b, true)
	return nil
}

// fromCache asks the cache for the lookup of gt at at in one shape: a hit
// (ok), or how fresh a database read must be and the generation the cache
// holds (0 when it cannot vouch for one, and then nothing is stored).
func (s *Server) fromCache(sctx context.Context, gt string, at condcache.Point, dict bool) (hit condcache.CachedLookup, ok bool, need condcache.Freshness, known int64) {
	need = condcache.Freshness{Latest: true}
	if s.cfg.Cache == nil {
		return hit, false, need, 0
	}
	c, err := s.cfg.Cache.GetLookup(sctx, gt, at, dict)
	switch {
	case err != nil:
		// Redis down or slow: answer from PostgreSQL (the breaker keeps
		// a dead Redis from costing every request its timeout).
	case c.State == condcache.CacheHit:
		s.countSource("redis")
		return c, true, need, 0
	case c.State == condcache.CacheMiss:
		need, known = condcache.Freshness{MinGeneration: c.Generation}, c.Generation
	}
	return hit, false, need, known
}

// fromDatabase reads the lookup as fresh as need asks, appends its encoding
// in the shape to b, and stores it in the cache when the cache still holds
// generation known. shared is the database's answer before anything
// specific to the point was applied (notices narrow the window): what
// every point of its window shares.
func (s *Server) fromDatabase(sctx context.Context, gt string, at condcache.Point, dict bool, need condcache.Freshness, known int64, b []byte) (res condcache.LookupResult, shared *condcache.LookupResult, _ []byte, _ error) {
	res, err := s.svc.LookupAt(sctx, gt, at, need)
	if err != nil {
		return res, nil, b, err
	}
	s.countSource(res.Source)
	s.notices.put(gt, res.Generation, res.Notices)
	whole := res
	res, b = s.encodeLookup(gt, at, dict, res, b)
	if known > 0 && res.Found && res.Generation == known {
		_, _ = s.cfg.Cache.FillLookup(sctx, gt, dict, &res, b) // best effort: a failed fill is only a later miss
	}
	return res, &whole, b, nil
}

// encodeLookup appends res's encoding in the shape to b and sets what
// depends on the point: the digest, the window narrowed by the notices'
// run ranges, and the summary of the notices that apply.
func (s *Server) encodeLookup(gt string, at condcache.Point, dict bool, res condcache.LookupResult, b []byte) (condcache.LookupResult, []byte) {
	if dict {
		b = wire.AppendLookupDicts(b, res.Rows)
	} else {
		b = wire.AppendLookupRows(b, res.Rows)
	}
	res.Digest = condcache.DigestRows(res.Rows)
	if len(res.Notices) > 0 {
		rows := answering(res.Rows)
		condcache.NarrowWindow(&res.Window, res.Notices, gt, rows, at)
		res.NoticeSummary = condcache.NoticeSummary(condcache.ApplicableNotices(res.Notices, gt, rows, at, at))
	}
	return res, b
}

// lookupSources are the sources a lookup is counted under
// (condcache_lookups_total), resolved once in New.
var lookupSources = []string{"redis", "replica", "primary", "round"}

func (s *Server) countSource(source string) {
	if s.cfg.LookupSources == nil {
		return
	}
	if c, ok := s.sources[source]; ok {
		c.Inc()
		return
	}
	s.cfg.LookupSources.WithLabelValues(source).Inc()
}

// Cache-Control by GT status (docs/design.md "HTTP caching"): a frozen GT never
// changes; a locked one changes only by non-conflicting additions, rarely;
// anything else must be revalidated (cheap: an ETag match is a 304).
const (
	cacheFrozen   = "public, max-age=31536000, immutable"
	cacheLocked   = "public, max-age=3600"
	cacheUnlocked = "no-cache"
)

// writeCached answers a lookup with a cached answer (shared, never changed).
func writeCached(ctx *fasthttp.RequestCtx, hit condcache.CachedLookup) {
	writeLookup(ctx, hit.Generation, true, hit.Status, hit.Window, hit.Digest, hit.NoticeSummary, hit.Body, false)
}

// writeLookup answers a lookup with its HTTP caching headers: an ETag of
// the GT's generation (the URL fixes GT, point and shape, and a generation
// fixes the answer), a 304 when the client already has it, Cache-Control by
// status, the window of points sharing this answer, and the digest of its
// payloads (docs/design.md "Digests"; the body stays the compatible one),
// and when notices apply, their count and top importance (docs/design.md
// "Notices").
//
// A pooled body (the response's own buffer, encoded into) is swapped back
// into the response; a cached one is shared with the cache and only
// referenced, never changed.
func writeLookup(ctx *fasthttp.RequestCtx, gen int64, found bool, status string, w condcache.Window, digest, notices string, body []byte, pooled bool) {
	setBody := func() {
		if pooled {
			ctx.Response.SwapBody(body)
		} else {
			ctx.Response.SetBodyRaw(body)
		}
	}
	h := &ctx.Response.Header
	h.SetContentTypeBytes(jsonContentType)
	if digest != "" {
		h.SetCanonical(headerDigest, s2b(digest))
	}
	if notices != "" {
		h.SetCanonical(headerNotices, s2b(notices))
	}
	var point [42]byte
	if w.HasFrom {
		h.SetCanonical(headerValidFrom, appendPointHeader(point[:0], w.FromPoint))
	}
	if w.HasUntil {
		h.SetCanonical(headerValidUntil, appendPointHeader(point[:0], w.UntilPoint))
	}
	if setCaching(ctx, gen, found, status) {
		return // 304
	}
	setBody()
}

// setCaching sets the HTTP caching headers of an answer about a GT at
// generation gen: an ETag of the generation, Cache-Control by status, and
// a 304 (true) when the client already has that generation. An unknown GT
// (or one the database has no generation for) is no-cache, without ETag.
func setCaching(ctx *fasthttp.RequestCtx, gen int64, found bool, status string) (notModified bool) {
	h := &ctx.Response.Header
	if !found || gen <= 0 {
		h.SetCanonical(headerCacheControl, cacheUnlockedBytes)
		return false
	}
	var etag [24]byte
	tag := strconv.AppendInt(append(etag[:0], '"', 'g'), gen, 10)
	tag = append(tag, '"')
	h.SetCanonical(headerETag, tag)
	switch status {
	case condcache.StatusFrozen:
		h.SetCanonical(headerCacheControl, cacheFrozenBytes)
	case condcache.StatusLocked:
		h.SetCanonical(headerCacheControl, cacheLockedBytes)
	default:
		h.SetCanonical(headerCacheControl, cacheUnlockedBytes)
	}
	if etagMatches(ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch), tag) {
		ctx.Response.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.SkipBody = true
		return true
	}
	return false
}

// etagMatches reports whether an If-None-Match list names tag (or is "*").
func etagMatches(inm, tag []byte) bool {
	for len(inm) > 0 {
		var item []byte
		item, inm, _ = bytes.Cut(inm, []byte(","))
		item = bytes.TrimSpace(item)
		item = bytes.TrimPrefix(item, []byte("W/")) // weak comparison, RFC 9110 §13.1.2
		if bytes.Equal(item, tag) || bytes.Equal(item, []byte("*")) {
			return true
		}
	}
	return false
}

// pointHeader formats a point as "major.minor".
func pointHeader(p condcache.Point) string {
	var b [42]byte
	return string(appendPointHeader(b[:0], p))
}

func appendPointHeader(b []byte, p condcache.Point) []byte {
	b = strconv.AppendInt(b, p.Major, 10)
	b = append(b, '.')
	return strconv.AppendInt(b, p.Minor, 10)
}

// The lookup's header names in the form fasthttp sends them (it
// normalises names: "ETag" goes out as "Etag"), set with SetCanonical,
// which skips normalising a name on every answer; and its Cache-Control
// values as bytes.
var (
	headerDigest       = []byte(api.HeaderDigest)
	headerNotices      = []byte(api.HeaderNotices)
	headerValidFrom    = []byte(api.HeaderValidFrom)
	headerValidUntil   = []byte(api.HeaderValidUntil)
	headerETag         = []byte("Etag")
	headerCacheControl = []byte(fasthttp.HeaderCacheControl)
	cacheFrozenBytes   = []byte(cacheFrozen)
	cacheLockedBytes   = []byte(cacheLocked)
	cacheUnlockedBytes = []byte(cacheUnlocked)
)

// s2b is s's bytes, for a header value fasthttp copies at once.
func s2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
