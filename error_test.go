package condcache

import (
	"net/http"
	"testing"
)

// TestHTTPStatus: the one table of statuses (docs/compatibility.md "Status
// codes"), checked against net/http's names.
func TestHTTPStatus(t *testing.T) {
	for code, want := range map[ErrorCode]int{
		EInvalid:              http.StatusBadRequest,
		ENotFound:             http.StatusNotFound,
		EConflict:             http.StatusConflict,
		ELocked:               http.StatusConflict,
		EProtected:            http.StatusConflict,
		EUnauthorized:         http.StatusForbidden,
		EForbidden:            http.StatusForbidden,
		EUnavailable:          http.StatusServiceUnavailable,
		EInternal:             http.StatusInternalServerError,
		EOverloaded:           http.StatusServiceUnavailable,
		ERateLimited:          http.StatusTooManyRequests,
		EMethodNotAllowed:     http.StatusMethodNotAllowed,
		EUnsupportedMediaType: http.StatusUnsupportedMediaType,
		ETooLarge:             http.StatusRequestEntityTooLarge,
		ETimeout:              http.StatusRequestTimeout,
		"no_such_code":        http.StatusInternalServerError,
	} {
		if got := code.HTTPStatus(); got != want {
			t.Errorf("%q.HTTPStatus() = %d, want %d", code, got, want)
		}
	}
}
