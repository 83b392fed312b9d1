package ui

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/drf"
)

// Query parameters of the pages. Names are compared with stored text, so
// one no stored text can equal (NUL, invalid UTF-8) is 400, as in the API.

func text(ctx *fasthttp.RequestCtx, name string) (string, error) {
	v, _ := drf.LastQueryArg(ctx.QueryArgs(), name)
	return string(v), drf.CheckText(name, string(v))
}

func requiredText(ctx *fasthttp.RequestCtx, name string) (string, error) {
	v, err := text(ctx, name)
	if err == nil && v == "" {
		err = condcache.FieldError(condcache.EInvalid, name, drf.MsgRequired)
	}
	return v, err
}

func flag(ctx *fasthttp.RequestCtx, name string) bool {
	v, _ := drf.LastQueryArg(ctx.QueryArgs(), name)
	return string(v) == "1" || string(v) == "true" || string(v) == "on"
}

func intParam(ctx *fasthttp.RequestCtx, name string, def, lo, hi int64) (int64, error) {
	v, ok := drf.LastQueryArg(ctx.QueryArgs(), name)
	if !ok || len(v) == 0 {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, condcache.FieldError(condcache.EInvalid, name,
			"Must be an integer between "+strconv.FormatInt(lo, 10)+" and "+strconv.FormatInt(hi, 10)+".")
	}
	return n, nil
}

// parsePoint reads "R" or "R.m"; a missing subrun is defaultMinor.
func parsePoint(name, v string, defaultMinor int64) (condcache.Point, bool, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return condcache.Point{}, false, nil
	}
	bad := condcache.FieldError(condcache.EInvalid, name, `Must be a run "R" or a run and subrun "R.m", integers.`)
	majorText, minorText, hasMinor := strings.Cut(v, ".")
	major, err := strconv.ParseInt(majorText, 10, 64)
	if err != nil {
		return condcache.Point{}, false, bad
	}
	minor := defaultMinor
	if hasMinor {
		if minor, err = strconv.ParseInt(minorText, 10, 64); err != nil {
			return condcache.Point{}, false, bad
		}
	}
	return condcache.Point{Major: major, Minor: minor}, true, nil
}

func pointParam(ctx *fasthttp.RequestCtx, name string, defaultMinor int64) (condcache.Point, bool, error) {
	v, err := text(ctx, name)
	if err != nil {
		return condcache.Point{}, false, err
	}
	return parsePoint(name, v, defaultMinor)
}

// timeParam reads an RFC 3339 time, or an age ("90d", "12h") before now.
func timeParam(ctx *fasthttp.RequestCtx, name string) (time.Time, error) {
	v, err := text(ctx, name)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := condcache.ParseAge(v); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, condcache.FieldError(condcache.EInvalid, name, `Not an RFC 3339 time (2026-12-01T12:00:00Z) or an age ("90d", "12h").`)
}

// Browse defaults and bounds, as the API's browse mode (docs/compatibility.md "Browse mode").
const (
	defaultPageSize = 25
	maxPageSize     = 1000
	maxPage         = math.MaxInt64 / maxPageSize
)

// browseSpec is what a browse page accepts: sort keys (the first is the
// default) with their column labels, and exact-match filters.
type browseSpec struct {
	sorts   []column
	filters []string
}

type column struct{ Key, Label string }

// parseBrowse reads a browse page's parameters, normalised as the API's
// browse mode does: never refused, except text no name can hold.
func parseBrowse(ctx *fasthttp.RequestCtx, spec browseSpec) (condcache.BrowseQuery, error) {
	q := condcache.BrowseQuery{Page: 1, PageSize: defaultPageSize}
	args := ctx.QueryArgs()
	if v, ok := drf.LastQueryArg(args, "page"); ok {
		q.Page = int(clamped(v, 1, 1, maxPage))
	}
	if v, ok := drf.LastQueryArg(args, "page_size"); ok {
		q.PageSize = int(clamped(v, defaultPageSize, 1, maxPageSize))
	}
	s, err := text(ctx, "search")
	if err != nil {
		return q, err
	}
	q.Search = strings.TrimSpace(s)
	if v, _ := drf.LastQueryArg(args, "sort"); slices.ContainsFunc(spec.sorts, func(c column) bool { return c.Key == string(v) }) {
		q.Sort = string(v)
	}
	v, _ := drf.LastQueryArg(args, "order")
	q.Desc = string(v) == "desc"
	for _, f := range spec.filters {
		v, err := text(ctx, f)
		if err != nil {
			return q, err
		}
		if v != "" {
			if q.Filters == nil {
				q.Filters = map[string]string{}
			}
			q.Filters[f] = v
		}
	}
	return q, nil
}

func clamped(b []byte, def, lo, hi int64) int64 {
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return def
		}
	}
	return min(max(v, lo), hi)
}

// link is a page's URL with its non-empty parameters, given as pairs.
func link(page string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return Prefix + page
	}
	return Prefix + page + "?" + v.Encode()
}
