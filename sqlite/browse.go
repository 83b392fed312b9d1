package sqlite

import (
	"context"
	"math"
	"strings"

	"github.com/condcache/condcache"
)

// Browse mode (docs/compatibility.md "Browse mode"), as sql's browse.go:
// exact-match filters, a substring search that ignores ASCII case (ILIKE
// under the C collation the database is made with; LIKE here), one
// whitelisted sort key, then the id; NULLs where PostgreSQL puts them
// (last ascending, first descending). Only SQL text written here reaches a
// statement; every value the client sent is a bind parameter.

type browseField struct{ key, expr string }

type browseSpec struct {
	cols, from, id string
	filters        []browseField
	search         []string
	sorts          []browseField
}

var globalTagBrowse = browseSpec{
	cols:    gtSummaryCols,
	from:    gtFrom,
	id:      `g.id`,
	filters: []browseField{{"status", `s.name`}},
	search:  []string{`g.name`, `g.author`},
	sorts: []browseField{
		{"name", `g.name`}, {"id", `g.id`}, {"author", `g.author`}, {"status", `s.name`},
		{"payload_lists_count", gtListCountExpr}, {"payload_iov_count", gtIOVCountExpr},
		{"created", `g.created`}, {"updated", `g.updated`},
	},
}

var payloadTypeBrowse = browseSpec{
	cols:   typeCols,
	from:   `"PayloadType" t`,
	id:     `t.id`,
	search: []string{`t.name`},
	sorts:  []browseField{{"name", `t.name`}, {"id", `t.id`}, {"created", `t.created`}},
}

var payloadListBrowse = browseSpec{
	cols:    listCols + `, ` + listIOVCountExpr,
	from:    listFrom,
	id:      `l.id`,
	filters: []browseField{{"global_tag", `g.name`}, {"payload_type", `t.name`}},
	search:  []string{`l.name`, `g.name`, `t.name`},
	sorts: []browseField{
		{"name", `l.name`}, {"id", `l.id`}, {"global_tag", `g.name`}, {"payload_type", `t.name`},
		{"iov_count", listIOVCountExpr}, {"created", `l.created`},
	},
}

var payloadIOVBrowse = browseSpec{
	cols: iovCols + `, g.name, t.name`,
	from: `"PayloadIOV" i
		LEFT JOIN "PayloadList" l ON l.id = i.payload_list_id
		LEFT JOIN "GlobalTag" g ON g.id = l.global_tag_id
		LEFT JOIN "PayloadType" t ON t.id = l.payload_type_id`,
	id:      `i.id`,
	filters: []browseField{{"payload_list", `l.name`}, {"global_tag", `g.name`}, {"payload_type", `t.name`}},
	search:  []string{`i.payload_url`, `l.name`},
	sorts: []browseField{
		{"id", `i.id`}, {"payload_url", `i.payload_url`}, {"checksum", `i.checksum`},
		{"major_iov", `i.major_iov`}, {"minor_iov", `i.minor_iov`}, {"major_iov_end", `i.major_iov_end`},
		{"minor_iov_end", `i.minor_iov_end`}, {"payload_list", `l.name`}, {"global_tag", `g.name`},
		{"payload_type", `t.name`}, {"inserted", `i.created`},
	},
}

const maxPageSize = 1000

func browse[T any](ctx context.Context, r *Reader, spec *browseSpec, q condcache.BrowseQuery, scan func(scanner) (T, error)) (condcache.Page[T], error) {
	page := max(q.Page, 1)
	size := min(max(q.PageSize, 1), maxPageSize)
	where, args := spec.where(q)
	var count int64
	if err := r.db.QueryRowContext(ctx, `SELECT count(*) FROM `+spec.from+where, args...).Scan(&count); err != nil {
		return condcache.Page[T]{}, err
	}
	offset := int64(math.MaxInt64)
	if int64(page-1) <= math.MaxInt64/int64(size) {
		offset = int64(page-1) * int64(size)
	}
	results := []T{}
	if offset < count {
		var err error
		results, err = queryAll(ctx, r, scan, `SELECT `+spec.cols+` FROM `+spec.from+where+
			` ORDER BY `+spec.order(q)+` LIMIT ? OFFSET ?`, append(args, size, offset)...)
		if err != nil {
			return condcache.Page[T]{}, err
		}
	}
	return condcache.Page[T]{Count: count, Page: page, PageSize: size,
		TotalPages: max(1, (count+int64(size)-1)/int64(size)), Results: results}, nil
}

func (s *browseSpec) where(q condcache.BrowseQuery) (string, []any) {
	var conds []string
	var args []any
	for _, f := range s.filters {
		v, ok := q.Filters[f.key]
		if !ok || v == "" {
			continue
		}
		args = append(args, v)
		conds = append(conds, f.expr+` = ?`)
	}
	if q.Search != "" && len(s.search) > 0 {
		pattern := "%" + likeEscaper.Replace(q.Search) + "%"
		alts := make([]string, len(s.search))
		for i, e := range s.search {
			alts[i] = e + ` LIKE ? ESCAPE '\'`
			args = append(args, pattern)
		}
		conds = append(conds, `(`+strings.Join(alts, ` OR `)+`)`)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return ` WHERE ` + strings.Join(conds, ` AND `), args
}

func (s *browseSpec) order(q condcache.BrowseQuery) string {
	expr := s.sorts[0].expr
	for _, f := range s.sorts {
		if f.key == q.Sort {
			expr = f.expr
			break
		}
	}
	if q.Desc {
		return expr + ` DESC NULLS FIRST, ` + s.id + ` ASC`
	}
	return expr + ` ASC NULLS LAST, ` + s.id + ` ASC`
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// BrowseGlobalTags returns a page of GT summaries.
func (r *Reader) BrowseGlobalTags(ctx context.Context, q condcache.BrowseQuery) (condcache.Page[condcache.GlobalTagSummary], error) {
	return browse(ctx, r, &globalTagBrowse, q, scanGTSummary)
}

// BrowsePayloadTypes returns a page of payload types.
func (r *Reader) BrowsePayloadTypes(ctx context.Context, q condcache.BrowseQuery) (condcache.Page[condcache.PayloadType], error) {
	return browse(ctx, r, &payloadTypeBrowse, q, scanType)
}

// BrowsePayloadLists returns a page of lists with their IOV counts.
func (r *Reader) BrowsePayloadLists(ctx context.Context, q condcache.BrowseQuery) (condcache.Page[condcache.PayloadListSummary], error) {
	return browse(ctx, r, &payloadListBrowse, q, scanListSummary)
}

// BrowsePayloadIOVs returns a page of IOVs with their GT and type names.
func (r *Reader) BrowsePayloadIOVs(ctx context.Context, q condcache.BrowseQuery) (condcache.Page[condcache.PayloadIOVBrowse], error) {
	return browse(ctx, r, &payloadIOVBrowse, q, scanIOVBrowse)
}
