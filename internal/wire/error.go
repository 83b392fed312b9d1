package wire

import (
	"errors"
	"net/http"

	"github.com/condcache/condcache"
)

// HTTPStatus maps an application error code to its HTTP status (docs/compatibility.md "Status codes"). Authentication failures are 403 as in the
// reference (docs/compatibility.md "JWT authentication"), not 401.
func HTTPStatus(code condcache.ErrorCode) int {
	switch code {
	case condcache.EInvalid:
		return http.StatusBadRequest
	case condcache.ENotFound:
		return http.StatusNotFound
	case condcache.EConflict, condcache.ELocked:
		return http.StatusConflict
	case condcache.EUnauthorized, condcache.EForbidden:
		return http.StatusForbidden
	case condcache.EUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrorBody renders err as {"<field>": [...], ..., "detail": "...", "code":
// "..."}: the DRF field errors clients parse (docs/compatibility.md "C++ client checklist" item 4) when there are
// any, plus a detail string and a machine-readable code always.
func ErrorBody(err error) []byte {
	body := map[string]any{
		"detail": condcache.ErrorDetail(err),
		"code":   string(condcache.ErrorCodeOf(err)),
	}
	var e *condcache.Error
	if errors.As(err, &e) {
		for field, msgs := range e.Fields {
			if field != "detail" && field != "code" {
				body[field] = msgs
			}
		}
	}
	return Marshal(body)
}
