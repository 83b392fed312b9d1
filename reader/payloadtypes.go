package reader

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache/internal/wire"
)

// payloadTypes answers GET pt: every payload type, or a browse page when
// "page" is present (docs/compatibility.md "Payload types").
func (s *Server) payloadTypes(ctx *fasthttp.RequestCtx) error {
	return browse(s, ctx, payloadTypeBrowse, s.svc.BrowsePayloadTypes, wire.NewPT,
		func(c context.Context) (any, error) {
			pts, err := s.svc.PayloadTypes(c)
			return wire.NewPTs(pts), err
		})
}
