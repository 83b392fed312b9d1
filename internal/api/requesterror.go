package api

import (
	"errors"
	"net"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/wire"
)

// RequestErrorHandler is a fasthttp.Server ErrorHandler that answers requests
// fasthttp could not read or parse with a JSON body, since clients parse
// every body as JSON (docs/compatibility.md "C++ client checklist" item 3). fasthttp's default answers are
// plain text.
func RequestErrorHandler(ctx *fasthttp.RequestCtx, err error) {
	status, code, detail := fasthttp.StatusBadRequest, condcache.EInvalid, "Malformed HTTP request."
	var (
		netErr   net.Error
		smallBuf *fasthttp.ErrSmallBuffer
	)
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, code, detail = fasthttp.StatusRequestEntityTooLarge, "too_large", "Request body too large."
	case errors.As(err, &smallBuf):
		status, code, detail = fasthttp.StatusRequestHeaderFieldsTooLarge, "too_large", "Request header too large."
	case errors.As(err, &netErr) && netErr.Timeout():
		status, code, detail = fasthttp.StatusRequestTimeout, "timeout", "Request not received in time."
	}
	WriteJSON(ctx, status, wire.ErrorBody(&condcache.Error{Code: code, Detail: detail}))
}
