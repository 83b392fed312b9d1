// Package api holds what the reader and writer HTTP servers share on top of
// fasthttp: the route table of the Nopayloaddb-compatible API
// (docs/compatibility.md "Routes") and the exact router; answers (JSON
// bodies, and errors with the status of their code, AnswerError); and
// server setup: NewServer, the health and readiness probes, the metrics
// handler, shutdown, and the API's admission control (NewAdmission over
// internal/admission). Request decoding is internal/drf.
package api

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/wire"
)

// Prefix is the path prefix of every route of the compatible API.
const Prefix = "/api/cdb_rest/"

// V2Prefix is the path prefix of condcache's own API (docs/design.md
// "Beyond the compatible API"): reads on the readers, writes on the writer.
const V2Prefix = "/api/v2/"

// IsAPIPath reports whether path is under either API prefix: the paths whose
// writes readers proxy to the writer and the writer authenticates.
func IsAPIPath(path []byte) bool {
	return bytes.HasPrefix(path, []byte(Prefix)) || bytes.HasPrefix(path, []byte(V2Prefix))
}

// WriteJSON answers status with a JSON body.
func WriteJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// WriteOK answers 200 with v encoded as JSON.
func WriteOK(ctx *fasthttp.RequestCtx, v any) {
	WriteJSON(ctx, fasthttp.StatusOK, wire.Marshal(v))
}

// WriteError answers err with the status of its code and the JSON error body.
// Errors that are not *condcache.Error are internal: their text is logged by
// the caller's logger, never sent.
func WriteError(ctx *fasthttp.RequestCtx, err error) {
	WriteJSON(ctx, condcache.ErrorCodeOf(err).HTTPStatus(), wire.ErrorBody(err))
}

// IsAppError reports whether err is an application error (as opposed to an
// internal failure worth logging).
func IsAppError(err error) bool {
	var e *condcache.Error
	return errors.As(err, &e) && e.Code != condcache.EInternal
}

// NotFound answers an unknown path with a JSON 404.
func NotFound(ctx *fasthttp.RequestCtx) {
	WriteError(ctx, condcache.Errorf(condcache.ENotFound, "Not found."))
}

// MethodNotAllowed answers a known path with another method: JSON 405 as DRF.
func MethodNotAllowed(ctx *fasthttp.RequestCtx) {
	WriteError(ctx, &condcache.Error{Code: condcache.EMethodNotAllowed, Detail: fmt.Sprintf("Method %q not allowed.", ctx.Method())})
}

// IsWrite reports whether method changes state (and so belongs to the writer).
func IsWrite(method []byte) bool {
	switch string(method) {
	case fasthttp.MethodPost, fasthttp.MethodPut, fasthttp.MethodPatch, fasthttp.MethodDelete:
		return true
	}
	return false
}

// HeaderDigest carries the digest of the payloads an answer resolves
// (docs/design.md "Digests") on every lookup, compatible or v2.
const HeaderDigest = "X-Condcache-Digest"

// HeaderNotices says, on a compatible lookup, how many notices apply to
// its answer and the most important one's level: "2; max-importance=MAJOR"
// (docs/design.md "Notices"). Absent when none applies.
const HeaderNotices = "X-Condcache-Notices"

// HeaderValidFrom and HeaderValidUntil bound, as "major.minor", the window
// of points that get the same lookup answer: from the greatest start among
// the selected IOVs (inclusive) to the next IOV start of any attached list
// (exclusive). A header is absent when that side is unbounded.
const (
	HeaderValidFrom  = "X-Valid-From"
	HeaderValidUntil = "X-Valid-Until"
)
