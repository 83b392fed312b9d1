package reader

import (
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// v2Check: GET /api/v2/check?gt=NAME, the consistency check of one GT
// (docs/design.md "Consistency check"): 200 with a wire.CheckReport, also
// when nothing is found. Every GT at once is left to `condcache check`,
// since a whole database takes longer than a request may.
//
// Answers are never stored (Cache-Control: no-store, errors included): the
// check is asked for because the data may have changed, and it is no lookup
// that caches could key.
func (s *Server) v2Check(ctx *fasthttp.RequestCtx) error {
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	if s.cfg.Checker == nil {
		return errNotAvailable("The consistency check")
	}
	gt, err := checkGlobalTag(ctx.QueryArgs())
	if err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	findings, err := s.cfg.Checker.Check(sctx, gt)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, wire.NewCheckReport(&gt, findings))
	return nil
}

// checkGlobalTag returns the required query parameter gt (its last value,
// as the compatible API reads repeated parameters), refused when it is
// missing, empty, or no stored name can equal it (drf.CheckText).
func checkGlobalTag(args *fasthttp.Args) (string, error) {
	v, _ := drf.LastQueryArg(args, "gt")
	if len(v) == 0 {
		return "", condcache.Errorf(condcache.EInvalid, "gt: This query parameter is required: the name of the global tag to check.")
	}
	gt := string(v)
	return gt, drf.CheckText("gt", gt)
}
