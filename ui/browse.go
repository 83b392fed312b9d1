package ui

import (
	"strconv"

	"github.com/condcache/condcache"
)

// The browse pages of docs/compatibility.md "Browse mode", on the server:
// search, sort, filters and paging are the API's browse mode, read through
// ReadService.Browse*.
var (
	gtBrowse = browseSpec{
		sorts: []column{{"name", "Name"}, {"status", "Status"}, {"author", "Author"}, {"payload_lists_count", "Lists"},
			{"payload_iov_count", "IOVs"}, {"created", "Created"}, {"updated", "Updated"}, {"id", "Id"}},
		filters: []string{"status"},
	}
	typeBrowse = browseSpec{
		sorts: []column{{"name", "Name"}, {"id", "Id"}, {"created", "Created"}},
	}
	listBrowse = browseSpec{
		sorts: []column{{"name", "Name"}, {"global_tag", "Global tag"}, {"payload_type", "Type"}, {"iov_count", "IOVs"},
			{"created", "Created"}, {"id", "Id"}},
		filters: []string{"global_tag", "payload_type"},
	}
	iovBrowse = browseSpec{
		sorts: []column{{"id", "Id"}, {"payload_url", "Payload URL"}, {"checksum", "Checksum"}, {"major_iov", "Start"},
			{"major_iov_end", "End"}, {"payload_list", "List"}, {"global_tag", "Global tag"}, {"payload_type", "Type"},
			{"inserted", "Inserted"}},
		filters: []string{"payload_list", "global_tag", "payload_type"},
	}
)

// browseView is the paging and sorting of one browse page.
type browseView struct {
	Page       string // the page's name, e.g. "gts"
	Search     string
	Filters    map[string]string
	PageSize   int
	Count      int64
	PageNo     int
	TotalPages int64
	Columns    map[string]sortLink // by key
	Prev, Next string
	Pages      []pageLink
	Extra      []string // pairs kept in every link (e.g. the list of a list page)
}

type sortLink struct {
	Label, Href string
	Active      bool
	Desc        bool
	Sort        string // aria-sort
}

type pageLink struct {
	N       int64
	Href    string
	Current bool
	Gap     bool
}

// newBrowseView builds the links of one browse page.
func newBrowseView[T any](page string, spec browseSpec, q condcache.BrowseQuery, p condcache.Page[T], extra ...string) browseView {
	v := browseView{Page: page, Search: q.Search, Filters: q.Filters, PageSize: q.PageSize, Count: p.Count, PageNo: q.Page,
		TotalPages: p.TotalPages, Columns: map[string]sortLink{}, Extra: extra}
	sortKey := q.Sort
	if sortKey == "" {
		sortKey = spec.sorts[0].Key
	}
	order := ""
	if q.Desc {
		order = "desc"
	}
	at := func(n int64, sort, order string) string {
		kv := append([]string{}, extra...)
		kv = append(kv, "search", q.Search, "sort", sort, "order", order)
		for _, f := range spec.filters {
			kv = append(kv, f, q.Filters[f])
		}
		if q.PageSize != defaultPageSize {
			kv = append(kv, "page_size", strconv.Itoa(q.PageSize))
		}
		if n > 1 {
			kv = append(kv, "page", strconv.FormatInt(n, 10))
		}
		return link(page, kv...)
	}
	for _, c := range spec.sorts {
		s := sortLink{Label: c.Label, Sort: "none"}
		next := ""
		if c.Key == sortKey {
			s.Active, s.Desc = true, q.Desc
			s.Sort = "ascending"
			if q.Desc {
				s.Sort = "descending"
			} else {
				next = "desc"
			}
		}
		s.Href = at(1, c.Key, next)
		v.Columns[c.Key] = s
	}
	cur := int64(q.Page)
	if cur > 1 {
		v.Prev = at(min(cur-1, max(p.TotalPages, 1)), q.Sort, order)
	}
	if cur < p.TotalPages {
		v.Next = at(cur+1, q.Sort, order)
	}
	last := int64(0)
	for n := int64(1); n <= p.TotalPages; n++ {
		if n == 1 || n == p.TotalPages || (n >= cur-2 && n <= cur+2) {
			if last != 0 && n > last+1 {
				v.Pages = append(v.Pages, pageLink{Gap: true})
			}
			v.Pages = append(v.Pages, pageLink{N: n, Href: at(n, q.Sort, order), Current: n == cur})
			last = n
		} else if n < cur-2 {
			n = cur - 3 // skip ahead
		} else {
			n = p.TotalPages - 1
		}
	}
	return v
}
