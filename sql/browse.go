package sql

import (
	"context"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// Browse mode of the list endpoints (docs/compatibility.md "Browse mode"): exact-match filters,
// a case-insensitive substring search, one whitelisted sort key, pages.
//
// Only SQL text written in this package reaches the statement: filter,
// search and sort keys select fragments from a browseSpec, and every value
// the client sent is a bind parameter.

// browseSpec describes one endpoint's browse query.
type browseSpec struct {
	cols string // select list, scanned by the endpoint's scanner
	from string // FROM clause
	id   string // the row's id, the tie-breaker of every order
	// filters maps a filter key to the expression it must equal.
	filters []browseField
	// search lists the expressions the search text is looked for in.
	search []string
	// sorts maps a sort key to its expression; the first is the default.
	sorts []browseField
	// count, when set, gives the statement that counts the rows of a
	// query without search, with where's conditions and arguments, from
	// something cheaper than the rows themselves; nil: count(*).
	count func(where string) string
}

type browseField struct{ key, expr string }

// maxPageSize mirrors the HTTP layer's clamp; browse re-clamps so that a
// caller that skipped normalisation cannot divide by zero or page wildly.
const maxPageSize = 1000

// browse answers q for spec: the total count, and the requested page of
// rows ordered by (sort [DESC], id ASC). Count and page come from one
// snapshot, so they agree. A page past the end is empty and echoes the
// requested page number.
func browse[T any](ctx context.Context, r *Reader, spec *browseSpec, q condcache.BrowseQuery, scan func(pgx.Row) (T, error)) (condcache.Page[T], error) {
	page := max(q.Page, 1)
	size := min(max(q.PageSize, 1), maxPageSize)
	where, args := spec.where(q)
	countSQL := `SELECT count(*) FROM ` + spec.from + where
	if spec.count != nil && q.Search == "" {
		countSQL = spec.count(where)
	}
	offset := int64(math.MaxInt64) // beyond any table: an empty page
	if int64(page-1) <= math.MaxInt64/int64(size) {
		offset = int64(page-1) * int64(size)
	}
	n := len(args)
	pageSQL := `SELECT ` + spec.cols + ` FROM ` + spec.from + where +
		` ORDER BY ` + spec.order(q) +
		` LIMIT $` + strconv.Itoa(n+1) + ` OFFSET $` + strconv.Itoa(n+2)
	pageArgs := append(args[:n:n], size, offset)

	var out condcache.Page[T]
	err := r.inSnapshot(ctx, func(tx pgx.Tx) error {
		var count int64
		if err := tx.QueryRow(ctx, countSQL, args...).Scan(&count); err != nil {
			return err
		}
		results := []T{}
		if offset < count {
			rows, err := tx.Query(ctx, pageSQL, pageArgs...)
			if err != nil {
				return err
			}
			if results, err = collect(rows, scan); err != nil {
				return err
			}
		}
		out = condcache.Page[T]{
			Count:      count,
			Page:       page,
			PageSize:   size,
			TotalPages: max(1, (count+int64(size)-1)/int64(size)),
			Results:    results,
		}
		return nil
	})
	return out, err
}

// where returns the WHERE clause (with a leading space, or "") for q's
// filters and search, and its arguments. Filters are applied in spec order
// so that equal queries give equal statements (and share a prepared one).
func (s *browseSpec) where(q condcache.BrowseQuery) (string, []any) {
	var conds []string
	var args []any
	for _, f := range s.filters {
		v, ok := q.Filters[f.key]
		if !ok || v == "" {
			continue
		}
		args = append(args, v)
		conds = append(conds, f.expr+` = $`+strconv.Itoa(len(args)))
	}
	if q.Search != "" && len(s.search) > 0 {
		args = append(args, "%"+escapeLike(q.Search)+"%")
		p := `$` + strconv.Itoa(len(args))
		alts := make([]string, len(s.search))
		for i, e := range s.search {
			alts[i] = e + ` ILIKE ` + p
		}
		conds = append(conds, `(`+strings.Join(alts, ` OR `)+`)`)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return ` WHERE ` + strings.Join(conds, ` AND `), args
}

// order returns the ORDER BY list for q: its sort key's expression (the
// default for "" or an unknown key), descending if asked, then the id
// ascending. NULLs take PostgreSQL's default places (last ascending, first
// descending), as in the reference.
func (s *browseSpec) order(q condcache.BrowseQuery) string {
	expr := s.sorts[0].expr
	for _, f := range s.sorts {
		if f.key == q.Sort {
			expr = f.expr
			break
		}
	}
	if q.Desc {
		expr += ` DESC`
	}
	return expr + `, ` + s.id + ` ASC`
}

// likeEscaper makes a search text match literally under ILIKE, whose
// default escape character is the backslash.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func escapeLike(s string) string { return likeEscaper.Replace(s) }
