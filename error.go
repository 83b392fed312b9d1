package condcache

import (
	"errors"
	"fmt"
)

// ErrorCode is a machine-readable application error code, the `code` of
// every error body. Every code is defined here, and HTTPStatus is the one
// table of their HTTP statuses (docs/compatibility.md "Status codes").
type ErrorCode string

// Codes of the services' errors.
const (
	EInvalid      ErrorCode = "invalid"      // bad input: 400
	ENotFound     ErrorCode = "not_found"    // 404
	EConflict     ErrorCode = "conflict"     // duplicate name, list not empty, overlap: 409
	ELocked       ErrorCode = "locked"       // GT locked or frozen: 409
	EProtected    ErrorCode = "protected"    // a delete would remove protected objects: 409
	EUnauthorized ErrorCode = "unauthorized" // no or bad credentials: 403 (as the reference)
	EForbidden    ErrorCode = "forbidden"    // permission denied: 403
	EUnavailable  ErrorCode = "unavailable"  // a dependency is down: 503
	EInternal     ErrorCode = "internal"     // a bug or unexpected failure: 500
)

// Codes of requests refused before any work was done on them.
const (
	// EOverloaded is shed load, whichever part was saturated: the server
	// (too many requests in flight) or a database pool (sql.ErrSaturated).
	// The request was not worked on, so retrying it is safe, writes
	// included: 503, 504 on the legacy paths.
	EOverloaded ErrorCode = "overloaded"
	// ERateLimited is a request over its client's rate: 429, 504 on the
	// legacy paths.
	ERateLimited          ErrorCode = "rate_limited"
	EMethodNotAllowed     ErrorCode = "method_not_allowed"     // a known path with another method: 405
	EUnsupportedMediaType ErrorCode = "unsupported_media_type" // a body that is not JSON: 415
	ETooLarge             ErrorCode = "too_large"              // request body 413, request header 431
	ETimeout              ErrorCode = "timeout"                // request not received in time: 408
)

// HTTP statuses, as numbers: the domain imports no HTTP library.
const (
	statusBadRequest            = 400
	statusForbidden             = 403
	statusNotFound              = 404
	statusMethodNotAllowed      = 405
	statusRequestTimeout        = 408
	statusConflict              = 409
	statusRequestEntityTooLarge = 413
	statusUnsupportedMediaType  = 415
	statusTooManyRequests       = 429
	statusInternalServerError   = 500
	statusServiceUnavailable    = 503
)

// HTTPStatus is the status an error with code c is answered with
// (docs/compatibility.md "Status codes"); an unknown code is 500.
// Authentication failures are 403 as in the reference
// (docs/compatibility.md "JWT authentication"), not 401. Two answers also
// depend on the request, and the HTTP layer adjusts them: shed load
// (EOverloaded, ERateLimited) on a legacy path is 504, the one status the
// C++ client retries (docs/compatibility.md "504 only for shedding"), and
// a request header too large (ETooLarge) is 431.
func (c ErrorCode) HTTPStatus() int {
	switch c {
	case EInvalid:
		return statusBadRequest
	case ENotFound:
		return statusNotFound
	case EConflict, ELocked, EProtected:
		return statusConflict
	case EUnauthorized, EForbidden:
		return statusForbidden
	case EUnavailable, EOverloaded:
		return statusServiceUnavailable
	case ERateLimited:
		return statusTooManyRequests
	case EMethodNotAllowed:
		return statusMethodNotAllowed
	case EUnsupportedMediaType:
		return statusUnsupportedMediaType
	case ETooLarge:
		return statusRequestEntityTooLarge
	case ETimeout:
		return statusRequestTimeout
	}
	return statusInternalServerError
}

// Error is an application error: a code, a human-readable detail (the
// reference's text where it has one), and optionally DRF-style field errors
// ({"name": ["… already exists."]}) that clients parse.
type Error struct {
	Code   ErrorCode
	Detail string
	Fields map[string][]string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Detail }

// Errorf returns an *Error with a formatted detail.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// FieldError returns an *Error for one invalid field, in the DRF shape the
// clients parse ({"<field>": ["<message>"]}) plus a detail naming the field.
func FieldError(code ErrorCode, field, message string) *Error {
	return &Error{Code: code, Detail: field + ": " + message, Fields: map[string][]string{field: {message}}}
}

// ErrorCodeOf returns the code of err's *Error, EInternal for any other error
// and "" for nil.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorDetail returns the detail of err's *Error, or a generic text for other
// errors (their text may hold internals and is logged, not shown).
func ErrorDetail(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Detail
	}
	return "Internal error."
}
