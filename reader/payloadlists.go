package reader

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// payloadLists answers GET pl: every list with its attached IOVs, detached
// lists included, or a browse page of PLBrowse when "page" is present
// (docs/compatibility.md "Payload lists").
func (s *Server) payloadLists(ctx *fasthttp.RequestCtx) error {
	return browse(s, ctx, payloadListBrowse, s.svc.BrowsePayloadLists, wire.NewPLBrowse,
		func(c context.Context) (any, error) {
			pls, err := s.svc.PayloadLists(c)
			return wire.NewPLFulls(pls), err
		})
}

// payloadListByID answers GET pl/<int:pk> with numeric foreign keys
// (docs/compatibility.md "JSON shapes" keeps that inconsistency).
func (s *Server) payloadListByID(ctx *fasthttp.RequestCtx) error {
	id, err := idParam(ctx)
	if err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	pl, err := s.svc.PayloadListByID(sctx, id)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, wire.NewPLWriteByID(pl))
	return nil
}

// payloadListByName answers GET payload-lists/by-name/<name> with the
// list's IOV count.
func (s *Server) payloadListByName(ctx *fasthttp.RequestCtx) error {
	name, err := drf.TextParam(ctx, "name")
	if err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	pl, err := s.svc.PayloadListByName(sctx, name)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, wire.NewPLBrowse(pl))
	return nil
}
