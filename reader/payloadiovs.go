package reader

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/wire"
)

// payloadIOVs answers GET piov: every IOV, attached or not, or a browse
// page when "page" is present (docs/compatibility.md "Payload IOVs").
func (s *Server) payloadIOVs(ctx *fasthttp.RequestCtx) error {
	return browse(s, ctx, payloadIOVBrowse, s.svc.BrowsePayloadIOVs, wire.NewPIOVBrowse,
		func(c context.Context) (any, error) {
			iovs, err := s.svc.PayloadIOVs(c)
			return wire.NewPIOVs(iovs), err
		})
}

// payloadIOVByID answers GET piov/<int:pk>.
func (s *Server) payloadIOVByID(ctx *fasthttp.RequestCtx) error {
	id, err := idParam(ctx)
	if err != nil {
		return err
	}
	sctx, cancel := s.serviceContext()
	defer cancel()
	iov, err := s.svc.PayloadIOVByID(sctx, id)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, wire.NewPIOV(iov))
	return nil
}
