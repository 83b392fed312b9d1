package wire

import (
	"errors"

	"github.com/condcache/condcache"
)

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
