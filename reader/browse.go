package reader

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// Browse defaults and bounds (docs/compatibility.md "Browse mode").
const (
	defaultPageSize = 25
	maxPageSize     = 1000
	// maxPage keeps (page-1)*page_size within int64 for the storage layer's
	// OFFSET; the reference has no upper clamp, and no real page is near it.
	maxPage = math.MaxInt64 / maxPageSize
)

// browseSpec is what an endpoint accepts in browse mode.
type browseSpec struct {
	sorts   []string // whitelisted sort keys; the first is the default
	filters []string // exact-match filter parameters
}

// The browse endpoints of docs/compatibility.md "Browse mode".
var (
	globalTagBrowse = browseSpec{
		sorts:   []string{"name", "id", "author", "status", "payload_lists_count", "payload_iov_count", "created", "updated"},
		filters: []string{"status"},
	}
	payloadTypeBrowse = browseSpec{
		sorts: []string{"name", "id", "created"},
	}
	payloadListBrowse = browseSpec{
		sorts:   []string{"name", "id", "global_tag", "payload_type", "iov_count", "created"},
		filters: []string{"global_tag", "payload_type"},
	}
	payloadIOVBrowse = browseSpec{
		sorts: []string{"id", "payload_url", "checksum", "major_iov", "minor_iov", "major_iov_end",
			"minor_iov_end", "payload_list", "global_tag", "payload_type", "inserted"},
		filters: []string{"payload_list", "global_tag", "payload_type"},
	}
)

// parseBrowse reads the browse parameters of spec from the query. ok is
// false when "page" is absent: browse mode is triggered by its presence,
// whatever its value. Every value is normalised, never refused, as the
// reference does: page defaults to 1 (unparsable or < 1 → 1); page_size
// defaults to 25 (unparsable → 25) and is clamped to [1, 1000]; search is
// trimmed; an unknown sort key selects the default (""); only "desc"
// exactly orders descending; empty filters are dropped. Repeated
// parameters: the last wins.
func parseBrowse(args *fasthttp.Args, spec browseSpec) (q condcache.BrowseQuery, ok bool) {
	page, ok := drf.LastQueryArg(args, "page")
	if !ok {
		return q, false
	}
	q.Page = int(clampedInt(page, 1, 1, maxPage))
	q.PageSize = defaultPageSize
	if v, present := drf.LastQueryArg(args, "page_size"); present {
		q.PageSize = int(clampedInt(v, defaultPageSize, 1, maxPageSize))
	}
	if v, _ := drf.LastQueryArg(args, "search"); len(v) > 0 {
		q.Search = strings.TrimSpace(string(v))
	}
	if v, _ := drf.LastQueryArg(args, "sort"); len(v) > 0 && slices.Contains(spec.sorts, string(v)) {
		q.Sort = string(v)
	}
	v, _ := drf.LastQueryArg(args, "order")
	q.Desc = string(v) == "desc"
	for _, f := range spec.filters {
		if v, _ := drf.LastQueryArg(args, f); len(v) > 0 {
			if q.Filters == nil {
				q.Filters = make(map[string]string, len(spec.filters))
			}
			q.Filters[f] = string(v)
		}
	}
	return q, true
}

// checkBrowseText refuses search and filter values that no stored text can
// match (drf.CheckText).
func checkBrowseText(q condcache.BrowseQuery, spec browseSpec) error {
	if err := drf.CheckText("search", q.Search); err != nil {
		return err
	}
	for _, f := range spec.filters {
		if err := drf.CheckText(f, q.Filters[f]); err != nil {
			return err
		}
	}
	return nil
}

// clampedInt parses b as an integer clamped to [lo, hi]; unparsable gives
// def. An integer beyond int64 is clamped by its sign, as Python's
// arbitrary-precision int() followed by the clamp would.
func clampedInt(b []byte, def, lo, hi int64) int64 {
	v, err := drf.ParseInt(b)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return def
	}
	return min(max(v, lo), hi)
}

// browse answers a list endpoint: the browse page when "page" is present,
// else the plain array.
func browse[D, T any](
	s *Server, ctx *fasthttp.RequestCtx, spec browseSpec,
	page func(context.Context, condcache.BrowseQuery) (condcache.Page[D], error), render func(D) T,
	all func(context.Context) (any, error),
) error {
	sctx, cancel := s.serviceContext()
	defer cancel()
	if q, ok := parseBrowse(ctx.QueryArgs(), spec); ok {
		if err := checkBrowseText(q, spec); err != nil {
			return err
		}
		p, err := page(sctx, q)
		if err != nil {
			return err
		}
		api.WriteOK(ctx, wire.NewBrowsePage(p, render))
		return nil
	}
	v, err := all(sctx)
	if err != nil {
		return err
	}
	api.WriteOK(ctx, v)
	return nil
}
