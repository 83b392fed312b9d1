package reader

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/drf"
)

// Query parameters of the v2 endpoints. Unlike the compatible browse mode,
// which falls back to defaults as the reference does, v2 refuses a value it
// cannot use with 400, naming the parameter.

// v2Text returns the text parameter name ("" when absent), refusing one no
// stored name can equal (drf.CheckText).
func v2Text(ctx *fasthttp.RequestCtx, name string) (string, error) {
	v, _ := drf.LastQueryArg(ctx.QueryArgs(), name)
	return string(v), drf.CheckText(name, string(v))
}

// Bounds of int64 parameters.
const (
	minInt64 = math.MinInt64
	maxInt64 = math.MaxInt64
)

// contextT is the context of a service call.
type contextT = context.Context

// v2RequiredText is v2Text refusing an absent or empty value.
func v2RequiredText(ctx *fasthttp.RequestCtx, name string) (string, error) {
	v, err := v2Text(ctx, name)
	if err == nil && v == "" {
		err = condcache.FieldError(condcache.EInvalid, name, drf.MsgRequired)
	}
	return v, err
}

// v2Bool reads a flag: 1 or true, 0 or false; absent is false.
func v2Bool(ctx *fasthttp.RequestCtx, name string) (bool, error) {
	v, ok := drf.LastQueryArg(ctx.QueryArgs(), name)
	if !ok {
		return false, nil
	}
	switch string(v) {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, condcache.FieldError(condcache.EInvalid, name, "Must be 1 (or true), or 0 (or false).")
}

// v2Int returns the integer parameter name, def when absent, refusing
// anything but a decimal integer in [lo, hi].
func v2Int(ctx *fasthttp.RequestCtx, name string, def, lo, hi int64) (int64, error) {
	v, ok := drf.LastQueryArg(ctx.QueryArgs(), name)
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, condcache.FieldError(condcache.EInvalid, name, "A valid integer is required.")
	}
	if n < lo || n > hi {
		return 0, condcache.FieldError(condcache.EInvalid, name,
			"Ensure this value is between "+strconv.FormatInt(lo, 10)+" and "+strconv.FormatInt(hi, 10)+".")
	}
	return n, nil
}

// v2Time returns the RFC 3339 time parameter name, zero when absent.
func v2Time(ctx *fasthttp.RequestCtx, name string) (time.Time, error) {
	v, ok := drf.LastQueryArg(ctx.QueryArgs(), name)
	if !ok {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(v))
	if err != nil {
		return time.Time{}, condcache.FieldError(condcache.EInvalid, name,
			"Not an RFC 3339 time, e.g. 2026-12-01T12:00:00Z.")
	}
	return t, nil
}

// v2Page returns the page and page_size parameters (default 1 and 25,
// page_size at most 1000, as browse mode).
func v2Page(ctx *fasthttp.RequestCtx) (page, size int, err error) {
	p, err := v2Int(ctx, "page", 1, 1, 1<<31-1)
	if err != nil {
		return 0, 0, err
	}
	s, err := v2Int(ctx, "page_size", 25, 1, 1000)
	return int(p), int(s), err
}
