package reader

import (
	"context"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// errNotFound is DRF's answer for an unknown id or name.
var errNotFound = condcache.Errorf(condcache.ENotFound, "Not found.")

// globalTagStatuses answers GET gtstatus (docs/compatibility.md "Statuses").
func (s *Server) globalTagStatuses(ctx *fasthttp.RequestCtx) error {
	sctx, cancel := s.serviceContext()
	defer cancel()
	statuses, err := s.svc.GlobalTagStatuses(sctx)
	if err != nil {
		return err
	}
	out := make([]wire.Status, len(statuses))
	for i, st := range statuses {
		out[i] = wire.NewStatus(st)
	}
	api.WriteOK(ctx, out)
	return nil
}

// globalTagsFull answers GET gt: every GT, fully nested (docs/compatibility.md "Read global tags").
func (s *Server) globalTagsFull(ctx *fasthttp.RequestCtx) error {
	sctx, cancel := s.serviceContext()
	defer cancel()
	gts, err := s.svc.GlobalTags(sctx)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, wire.NewGTFulls(gts))
	return nil
}

// globalTagByID answers GET gt/<int:pk>.
func (s *Server) globalTagByID(ctx *fasthttp.RequestCtx) error {
	id, err := idParam(ctx)
	if err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	gt, err := s.svc.GlobalTagByID(sctx, id)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, wire.NewGTFull(gt))
	return nil
}

// globalTagByName answers GET globalTag/<name>: the full GT, or its summary
// when "light" is present in any form, even light=0 (docs/compatibility.md "Read global tags").
func (s *Server) globalTagByName(ctx *fasthttp.RequestCtx) error {
	name, err := drf.TextParam(ctx, "name")
	if err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	if wantsLight(ctx.QueryArgs()) {
		gt, err := s.svc.GlobalTagSummaryByName(sctx, name)
		if err != nil {
			return err
		}
		api.WriteOK(ctx, wire.NewGTSummary(gt))
		return nil
	}
	gt, err := s.svc.GlobalTagByName(sctx, name)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, wire.NewGTFull(gt))
	return nil
}

// wantsLight reports whether the light summary is asked for: the
// parameter's presence decides, not its value.
func wantsLight(args *fasthttp.Args) bool { return args.Has("light") }

// globalTags answers GET globalTags: summaries, or a browse page when
// "page" is present (docs/compatibility.md "Read global tags"). sPHENIX probes this URL for liveness.
func (s *Server) globalTags(ctx *fasthttp.RequestCtx) error {
	return browse(s, ctx, globalTagBrowse, s.svc.BrowseGlobalTags, wire.NewGTSummary,
		func(c context.Context) (any, error) {
			gts, err := s.svc.GlobalTagSummaries(c)
			return wire.NewGTSummaries(gts), err
		})
}

// globalTagPayloadLists answers GET gtPayloadLists/<name> with the JSON
// object {type: list name} in the service's order; {} for a GT without
// lists or an unknown GT (docs/compatibility.md "Payload lists of a GT", §8.24). It is written by hand
// because a Go map would lose the order.
func (s *Server) globalTagPayloadLists(ctx *fasthttp.RequestCtx) error {
	name, err := drf.TextParam(ctx, "name")
	if err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	pairs, err := s.svc.GlobalTagPayloadLists(sctx, name)
	if err != nil {
		return err
	}
	b := make([]byte, 0, 2+len(pairs)*48)
	b = append(b, '{')
	for i, p := range pairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendString(b, p.PayloadType)
		b = append(b, ':')
		b = wire.AppendString(b, p.PayloadList)
	}
	b = append(b, '}')
	api.WriteJSON(ctx, fasthttp.StatusOK, b)
	return nil
}

// idParam returns the <int:pk> path parameter. The route only matches
// digits; a value beyond int64 cannot be an id, so it is not found.
func idParam(ctx *fasthttp.RequestCtx) (int64, error) {
	id, err := strconv.ParseInt(drf.PathParam(ctx, "id"), 10, 64)
	if err != nil {
		return 0, errNotFound
	}
	return id, nil
}
