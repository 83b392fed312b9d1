package reader

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/drf"
)

// As-of reads (docs/design.md "The v2 read API"): asof=RFC3339 or
// generation=N on lookup and range answers what the GT said then, as the
// audit trail reconstructs it.

// recentHistory: answers about the last minute are not marked immutable,
// in case a transaction stamped before the time commits after the read.
const recentHistory = time.Minute

// historyParam reads asof or generation (not both). ok is false when
// neither is given: the answer is about now.
func (s *Server) historyParam(ctx *fasthttp.RequestCtx, sctx contextT, gt string) (at time.Time, ok bool, err error) {
	_, hasAsOf := drf.LastQueryArg(ctx.QueryArgs(), "asof")
	_, hasGen := drf.LastQueryArg(ctx.QueryArgs(), "generation")
	switch {
	case hasAsOf && hasGen:
		return at, false, condcache.Errorf(condcache.EInvalid, "asof and generation: give one of them, not both.")
	case hasAsOf:
		if at, err = v2Time(ctx, "asof"); err != nil {
			return at, false, err
		}
		if at.After(time.Now()) {
			return at, false, condcache.FieldError(condcache.EInvalid, "asof", "Must not be in the future.")
		}
	case hasGen:
		g, err := v2Int(ctx, "generation", 0, 1, maxInt64)
		if err != nil {
			return at, false, err
		}
		if s.cfg.Audit == nil {
			return at, false, errNotAvailable("The audit trail")
		}
		if at, err = s.cfg.Audit.GenerationTime(sctx, gt, g); err != nil {
			return at, false, err
		}
	default:
		return at, false, nil
	}
	if s.cfg.Audit == nil {
		return at, false, errNotAvailable("The audit trail")
	}
	return at, true, nil
}

// stateAt reconstructs GT gt at time at.
func (s *Server) stateAt(sctx contextT, gt string, at time.Time) (condcache.GTState, error) {
	return s.cfg.Audit.GlobalTagAt(sctx, gt, at)
}

// setHistoryCaching: the past does not change, except the last moments.
func setHistoryCaching(ctx *fasthttp.RequestCtx, at time.Time) {
	if time.Since(at) > recentHistory {
		ctx.Response.Header.Set(fasthttp.HeaderCacheControl, cacheFrozen)
	} else {
		ctx.Response.Header.Set(fasthttp.HeaderCacheControl, cacheUnlocked)
	}
}
