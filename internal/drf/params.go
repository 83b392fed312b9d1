package drf

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
)

// LastQueryArg returns the last value of the query parameter key and whether
// it is present at all. The reference answers repeated parameters with the
// last value (Django QueryDict.get, docs/compatibility.md "Conventions"), whereas fasthttp's
// Args.Peek returns the first. A parameter without "=" is present with an
// empty value. The returned slice is only valid during the request.
func LastQueryArg(args *fasthttp.Args, key string) (value []byte, present bool) {
	for k, v := range args.All() {
		if string(k) == key {
			value, present = v, true
		}
	}
	return value, present
}

// PathParam returns the path parameter name of the matched route,
// percent-decoded. fasthttp/router matches the raw request path and stores
// raw segments, while Django decodes the path before routing (docs/compatibility.md "Conventions":
// "<str> = any non-empty segment, percent-decoded"). An invalid escape is
// kept literally, as Python's unquote does.
func PathParam(ctx *fasthttp.RequestCtx, name string) string {
	v, _ := ctx.UserValue(name).(string)
	if strings.IndexByte(v, '%') < 0 {
		return v
	}
	if d, err := url.PathUnescape(v); err == nil {
		return d
	}
	return v
}

// CheckText refuses, with a 400 naming param, a decoded path or query
// parameter that is compared with stored text but holds a NUL character or
// is not valid UTF-8 ("%00", "%ff"). PostgreSQL text can hold neither, so no
// stored name equals such a value, and the database would fail the query
// (an internal error) instead of finding nothing.
func CheckText(param, v string) error {
	switch {
	case strings.IndexByte(v, 0) >= 0:
		return condcache.Errorf(condcache.EInvalid, "%s: %s", param, MsgNullCharacter)
	case !utf8.ValidString(v):
		return condcache.Errorf(condcache.EInvalid, "%s: Not valid UTF-8 once percent-decoded.", param)
	}
	return nil
}

// TextParam is PathParam for a parameter compared with stored names,
// refused by CheckText when it cannot be one.
func TextParam(ctx *fasthttp.RequestCtx, name string) (string, error) {
	v := PathParam(ctx, name)
	return v, CheckText(name, v)
}

// ParseInt parses a decimal integer with an optional sign and surrounding
// ASCII white space (PostgreSQL's numeric input tolerates it, and so do the
// reference's clients) into an int64. Anything else — fractions, exponents,
// hex, underscores, an empty string — fails with strconv.ErrSyntax. An
// integer outside int64 fails with strconv.ErrRange and v clamped to
// MinInt64 or MaxInt64, as strconv does, so callers can clamp instead of
// refusing. It works on bytes without allocating: it runs on every lookup.
func ParseInt(b []byte) (v int64, err error) {
	b = trimASCIISpace(b)
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, strconv.ErrSyntax
	}
	// Accumulate the magnitude as uint64; MinInt64's magnitude is one more
	// than MaxInt64's.
	const cutoff = uint64(1) << 63
	var u uint64
	overflow := false
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		if overflow {
			continue
		}
		if u > (cutoff-uint64(c-'0'))/10 {
			overflow = true
			continue
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && (overflow || u > cutoff):
		return -1 << 63, strconv.ErrRange
	case neg && u == cutoff:
		return -1 << 63, nil
	case neg:
		return -int64(u), nil
	case overflow || u > cutoff-1:
		return 1<<63 - 1, strconv.ErrRange
	}
	return int64(u), nil
}

func trimASCIISpace(b []byte) []byte {
	for len(b) > 0 && isASCIISpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isASCIISpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isASCIISpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}
