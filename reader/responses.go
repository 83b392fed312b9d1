package reader

import (
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
