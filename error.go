package condcache

import (
	"errors"
	"fmt"
)

// ErrorCode is a machine-readable application error code. HTTP layers map it
// to a status (see docs/compatibility.md "Status codes").
type ErrorCode string

const (
	EInvalid      ErrorCode = "invalid"      // bad input: 400
	ENotFound     ErrorCode = "not_found"    // 404
	EConflict     ErrorCode = "conflict"     // duplicate name, list not empty, overlap: 409
	ELocked       ErrorCode = "locked"       // GT locked or frozen: 409
	EUnauthorized ErrorCode = "unauthorized" // no or bad credentials: 403 (as the reference)
	EForbidden    ErrorCode = "forbidden"    // permission denied: 403
	EUnavailable  ErrorCode = "unavailable"  // a dependency is down: 503
	EInternal     ErrorCode = "internal"     // a bug or unexpected failure: 500
)

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
