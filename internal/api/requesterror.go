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
	e := &condcache.Error{Code: condcache.EInvalid, Detail: "Malformed HTTP request."}
	var (
		netErr   net.Error
		smallBuf *fasthttp.ErrSmallBuffer
	)
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		e = &condcache.Error{Code: condcache.ETooLarge, Detail: "Request body too large."}
	case errors.As(err, &smallBuf):
		// Too large, but the header: 431 rather than the code's 413.
		e = &condcache.Error{Code: condcache.ETooLarge, Detail: "Request header too large."}
		WriteJSON(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, wire.ErrorBody(e))
		return
	case errors.As(err, &netErr) && netErr.Timeout():
		e = &condcache.Error{Code: condcache.ETimeout, Detail: "Request not received in time."}
	}
	WriteError(ctx, e)
}
