package reader

import (
	"errors"
	"math"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/wire"
)

// The lookup is the hot path: thousands of batch jobs call it at once. It
// parses the query in one pass without allocating and encodes the rows by
// hand straight into the response's pooled body buffer.

var (
	jsonContentType = []byte("application/json")
	emptyArray      = []byte("[]")
)

// lookupParams are the parsed parameters of GET payloadiovs/.
type lookupParams struct {
	globalTag []byte          // valid only during the request
	at        condcache.Point // (majorIOV, minorIOV)
	dict      bool            // shape=dict: rows as objects
	// complete is false when gtName, majorIOV or minorIOV is missing: the
	// reference then answers [] (a NULL comparison matches nothing).
	complete bool
}

// parseLookup reads gtName, majorIOV, minorIOV and shape, the last value
// winning when repeated (API.md §2.0). majorIOV and minorIOV, when present,
// must be decimal integers within int64 (optional sign, surrounding white
// space tolerated), else a 400 error naming the parameter and the value:
// DESIGN.md "Compatibility decisions" 5 replaces the reference's HTML 500
// and its fraction rounding. That check comes first, so a bad integer is
// refused even when gtName is missing. shape must be exactly "dict" to
// select objects; anything else gives positional rows.
func parseLookup(args *fasthttp.Args) (p lookupParams, err error) {
	var major, minor []byte
	var hasGT, hasMajor, hasMinor bool
	for k, v := range args.All() {
		switch string(k) {
		case "gtName":
			p.globalTag, hasGT = v, true
		case "majorIOV":
			major, hasMajor = v, true
		case "minorIOV":
			minor, hasMinor = v, true
		case "shape":
			p.dict = string(v) == "dict"
		}
	}
	if hasMajor {
		if p.at.Major, err = lookupInt("majorIOV", major); err != nil {
			return p, err
		}
	}
	if hasMinor {
		if p.at.Minor, err = lookupInt("minorIOV", minor); err != nil {
			return p, err
		}
	}
	p.complete = hasGT && hasMajor && hasMinor
	return p, nil
}

// maxQuotedValue bounds how much of a bad value an error message quotes.
const maxQuotedValue = 64

func lookupInt(name string, v []byte) (int64, error) {
	n, err := api.ParseInt(v)
	if err == nil {
		return n, nil
	}
	shown := string(v)
	if len(shown) > maxQuotedValue {
		shown = shown[:maxQuotedValue] + "…"
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, condcache.Errorf(condcache.EInvalid, "%s must be an integer between %d and %d, got %q",
			name, int64(math.MinInt64), int64(math.MaxInt64), shown)
	}
	return 0, condcache.Errorf(condcache.EInvalid, "%s must be an integer, got %q", name, shown)
}

// lookup answers GET payloadiovs/ and payload-iovs/query/ (API.md §2.16):
// for every list attached to the GT, the IOV holding at the point, as
// 9-column positional rows or, with shape=dict, objects. An unknown GT or
// a missing parameter answers [].
func (s *Server) lookup(ctx *fasthttp.RequestCtx) error {
	p, err := parseLookup(ctx.QueryArgs())
	if err != nil {
		return err
	}
	if !p.complete {
		api.WriteJSON(ctx, fasthttp.StatusOK, emptyArray)
		return nil
	}
	sctx, cancel := s.serviceContext()
	rows, err := s.svc.Lookup(sctx, string(p.globalTag), p.at)
	cancel()
	if err != nil {
		return err
	}
	// Encode into the response's own pooled buffer: fasthttp hands it back
	// to its pool after writing, so steady-state lookups reuse memory.
	b := ctx.Response.SwapBody(nil)[:0]
	if p.dict {
		b = wire.AppendLookupDicts(b, rows)
	} else {
		b = wire.AppendLookupRows(b, rows)
	}
	ctx.Response.SwapBody(b)
	ctx.Response.Header.SetContentTypeBytes(jsonContentType)
	return nil
}
