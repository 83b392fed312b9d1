package reader

import (
	"encoding/binary"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
)

// Reads other than the lookup are cached whole, per request URI, under a
// scope (docs/design.md "Freshness contract"): a GT's name for the routes about
// one GT named in the path, condcache.AllScope for every other listing or
// lookup by id. Their handlers always read a backend that has every write
// committed before the request, so an answer computed after a get that
// found the scope at generation g reflects at least g, and the fill (a
// compare-and-set on g, refused while a write is pending) never stores an
// older one.

// scopeKind says how a GET route's answers are cached.
type scopeKind int

const (
	notCached scopeKind = iota // the lookup caches itself; settings and the timeout endpoint are not data
	gtScope                    // about the GT named by the path parameter "name"
	allScope                   // condcache.AllScope
)

func routeScope(route string) scopeKind {
	switch route {
	case api.Lookup, api.Settings, api.Timeout:
		return notCached
	case api.GlobalTagByName, api.GlobalTagPayloadLists:
		return gtScope
	default:
		return allScope
	}
}

// cachedResponse wraps the handler of a cacheable route: a hit is answered
// from Redis; on a miss the handler's 200 answer is stored. Answers about
// one GT carry an ETag of the GT's generation (the lookup's), honoured
// with 304; the all scope's counter is Redis's own and restarts with it,
// so those answers carry none.
func (s *Server) cachedResponse(route string, h handlerFunc) handlerFunc {
	if s.cfg.Responses == nil {
		return h
	}
	kind := routeScope(route)
	if kind == notCached {
		return h
	}
	return func(ctx *fasthttp.RequestCtx) error {
		scope := condcache.AllScope
		if kind == gtScope {
			scope = drf.PathParam(ctx, "name")
		}
		key := ctx.Request.RequestURI()
		sctx, cancel := s.serviceContext()
		defer cancel()
		c, err := s.cfg.Responses.GetResponse(sctx, scope, key)
		if err != nil {
			c = condcache.CachedResponse{} // Redis down or slow: compute, store nothing
		}
		var etag []byte
		if kind == gtScope && (c.State == condcache.CacheHit || c.State == condcache.CacheMiss) && c.Generation > 0 {
			etag = strconv.AppendInt([]byte(`"g`), c.Generation, 10)
			etag = append(etag, '"')
		}
		if c.State == condcache.CacheHit {
			api.WriteJSON(ctx, fasthttp.StatusOK, c.Body)
		} else {
			if err := h(ctx); err != nil {
				return err
			}
			if c.State == condcache.CacheMiss && ctx.Response.StatusCode() == fasthttp.StatusOK {
				_, _ = s.cfg.Responses.FillResponse(sctx, scope, key, c.Generation, ctx.Response.Body()) // best effort
			}
		}
		if etag != nil && ctx.Response.StatusCode() == fasthttp.StatusOK {
			ctx.Response.Header.SetBytesV(fasthttp.HeaderETag, etag)
			ctx.Response.Header.Set(fasthttp.HeaderCacheControl, cacheUnlocked)
			if etagMatches(ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch), etag) {
				ctx.Response.SetStatusCode(fasthttp.StatusNotModified)
				ctx.Response.SkipBody = true
			}
		}
		return nil
	}
}

// v2 answers are cached whole too (docs/design.md "The v2 read API"),
// under the GT they read, with the headers that describe them: a hit
// answers exactly what the miss answered.

// keptHeaders are the headers a cached v2 answer keeps.
var keptHeaders = []string{fasthttp.HeaderETag, fasthttp.HeaderCacheControl, api.HeaderDigest}

// cachedV2 wraps a v2 handler whose answers depend on one GT only, named by
// scopeOf (false: not cacheable, e.g. an as-of read).
func (s *Server) cachedV2(scopeOf func(*fasthttp.RequestCtx) (string, bool), h handlerFunc) handlerFunc {
	if s.cfg.Responses == nil {
		return h
	}
	return func(ctx *fasthttp.RequestCtx) error {
		scope, ok := scopeOf(ctx)
		if !ok {
			return h(ctx)
		}
		key := ctx.Request.RequestURI()
		sctx, cancel := s.serviceContext()
		defer cancel()
		c, err := s.cfg.Responses.GetResponse(sctx, scope, key)
		if err != nil {
			c = condcache.CachedResponse{} // Redis down or slow: compute, store nothing
		}
		if c.State == condcache.CacheHit && restoreResponse(ctx, c.Body) {
			return nil
		}
		if err := h(ctx); err != nil {
			return err
		}
		if c.State == condcache.CacheMiss && ctx.Response.StatusCode() == fasthttp.StatusOK {
			_, _ = s.cfg.Responses.FillResponse(sctx, scope, key, c.Generation, encodeResponse(ctx)) // best effort
		}
		return nil
	}
}

// responseVersion starts an encoded response; it cannot start a JSON body.
const responseVersion = 0x01

// encodeResponse encodes the kept headers and the body of ctx's answer.
func encodeResponse(ctx *fasthttp.RequestCtx) []byte {
	body := ctx.Response.Body()
	b := make([]byte, 0, len(body)+160)
	b = append(b, responseVersion)
	for _, name := range keptHeaders {
		v := ctx.Response.Header.Peek(name)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return append(b, body...)
}

// restoreResponse answers ctx with an encoded response (a 304 when the
// client has its ETag); false when it is not one.
func restoreResponse(ctx *fasthttp.RequestCtx, b []byte) bool {
	if len(b) == 0 || b[0] != responseVersion {
		return false
	}
	b = b[1:]
	values := make([][]byte, len(keptHeaders))
	for i := range keptHeaders {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return false
		}
		values[i], b = b[k:k+int(n)], b[k+int(n):]
	}
	for i, name := range keptHeaders {
		if len(values[i]) > 0 {
			ctx.Response.Header.SetBytesV(name, values[i])
		}
	}
	if tag := values[0]; len(tag) > 0 && etagMatches(ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch), tag) {
		ctx.Response.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.SkipBody = true
		return true
	}
	api.WriteJSON(ctx, fasthttp.StatusOK, b)
	return true
}

// gtOfQuery is the scope of a v2 read of the GT named by the query's gt,
// unless it reads the past (asof, generation), which is not cached.
func gtOfQuery(ctx *fasthttp.RequestCtx) (string, bool) {
	if historical(ctx) {
		return "", false
	}
	gt, _ := drf.LastQueryArg(ctx.QueryArgs(), "gt")
	return string(gt), len(gt) > 0
}

// gtOfPath is the scope of a v2 read of the GT named by the path.
func gtOfPath(ctx *fasthttp.RequestCtx) (string, bool) {
	if historical(ctx) {
		return "", false
	}
	gt := drf.PathParam(ctx, "name")
	return gt, gt != ""
}

func historical(ctx *fasthttp.RequestCtx) bool {
	_, asof := drf.LastQueryArg(ctx.QueryArgs(), "asof")
	_, gen := drf.LastQueryArg(ctx.QueryArgs(), "generation")
	return asof || gen
}
