package wire

import (
	"github.com/condcache/condcache"
)

// Status is a global tag status (docs/compatibility.md "JSON shapes" Status).
type Status struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Created Time   `json:"created"`
}

// NewStatus renders s.
func NewStatus(s condcache.GlobalTagStatus) Status {
	return Status{ID: s.ID, Name: s.Name, Created: Time(s.Created)}
}

// StatusNested is the status inside a full GT.
type StatusNested struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Created     Time    `json:"created"`
}

// PIOV is a payload IOV; comb_iov is a string and payload_list the list name.
type PIOV struct {
	ID          int64   `json:"id"`
	PayloadURL  string  `json:"payload_url"`
	Checksum    string  `json:"checksum"`
	MajorIOV    int64   `json:"major_iov"`
	MinorIOV    int64   `json:"minor_iov"`
	CombIOV     *string `json:"comb_iov"`
	MajorIOVEnd int64   `json:"major_iov_end"`
	MinorIOVEnd int64   `json:"minor_iov_end"`
	PayloadList *string `json:"payload_list"`
	Inserted    Time    `json:"inserted"`
}

// NewPIOV renders p.
func NewPIOV(p condcache.PayloadIOV) PIOV {
	return PIOV{
		ID: p.ID, PayloadURL: p.PayloadURL, Checksum: p.Checksum,
		MajorIOV: p.Start.Major, MinorIOV: p.Start.Minor, CombIOV: p.CombIOV,
		MajorIOVEnd: p.End.Major, MinorIOVEnd: p.End.Minor,
		PayloadList: p.PayloadList, Inserted: Time(p.Created),
	}
}

// NewPIOVs renders ps; never nil, so an empty result is [] not null.
func NewPIOVs(ps []condcache.PayloadIOV) []PIOV {
	out := make([]PIOV, len(ps))
	for i, p := range ps {
		out[i] = NewPIOV(p)
	}
	return out
}

// PLFull is a payload list with its attached IOVs.
type PLFull struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	GlobalTag   *string `json:"global_tag"`
	PayloadType string  `json:"payload_type"`
	PayloadIOV  []PIOV  `json:"payload_iov"`
	Created     Time    `json:"created"`
}

// NewPLFull renders l.
func NewPLFull(l condcache.PayloadListFull) PLFull {
	return PLFull{
		ID: l.ID, Name: l.Name, GlobalTag: l.GlobalTag, PayloadType: l.PayloadType,
		PayloadIOV: NewPIOVs(l.PayloadIOVs), Created: Time(l.Created),
	}
}

// NewPLFulls renders ls; never nil.
func NewPLFulls(ls []condcache.PayloadListFull) []PLFull {
	out := make([]PLFull, len(ls))
	for i, l := range ls {
		out[i] = NewPLFull(l)
	}
	return out
}

// GTFull is a global tag with its lists and their IOVs.
type GTFull struct {
	ID           int64        `json:"id"`
	Name         string       `json:"name"`
	Author       *string      `json:"author"`
	Status       StatusNested `json:"status"`
	PayloadLists []PLFull     `json:"payload_lists"`
	Created      Time         `json:"created"`
	Updated      Time         `json:"updated"`
}

// NewGTFull renders g.
func NewGTFull(g condcache.GlobalTagFull) GTFull {
	s := g.Status
	return GTFull{
		ID: g.ID, Name: g.Name, Author: g.Author,
		Status:       StatusNested{ID: s.ID, Name: s.Name, Description: s.Description, Created: Time(s.Created)},
		PayloadLists: NewPLFulls(g.PayloadLists),
		Created:      Time(g.Created), Updated: Time(g.Updated),
	}
}

// NewGTFulls renders gs; never nil.
func NewGTFulls(gs []condcache.GlobalTagFull) []GTFull {
	out := make([]GTFull, len(gs))
	for i, g := range gs {
		out[i] = NewGTFull(g)
	}
	return out
}

// GTSummary is a global tag with list and IOV counts (no "type" field, as
// the reference silently omits it).
type GTSummary struct {
	ID                int64   `json:"id"`
	Name              string  `json:"name"`
	Author            *string `json:"author"`
	Status            string  `json:"status"`
	PayloadListsCount int64   `json:"payload_lists_count"`
	PayloadIOVCount   int64   `json:"payload_iov_count"`
	Created           Time    `json:"created"`
	Updated           Time    `json:"updated"`
}

// NewGTSummary renders g.
func NewGTSummary(g condcache.GlobalTagSummary) GTSummary {
	return GTSummary{
		ID: g.ID, Name: g.Name, Author: g.Author, Status: g.Status.Name,
		PayloadListsCount: g.PayloadListCount, PayloadIOVCount: g.PayloadIOVCount,
		Created: Time(g.Created), Updated: Time(g.Updated),
	}
}

// NewGTSummaries renders gs; never nil.
func NewGTSummaries(gs []condcache.GlobalTagSummary) []GTSummary {
	out := make([]GTSummary, len(gs))
	for i, g := range gs {
		out[i] = NewGTSummary(g)
	}
	return out
}

// GTWrite is the answer of POST gt (status = name) and of change-status
// (status = numeric id): docs/compatibility.md "JSON shapes" keeps that inconsistency.
type GTWrite struct {
	ID      int64   `json:"id"`
	Name    string  `json:"name"`
	Author  *string `json:"author"`
	Status  any     `json:"status"`
	Created Time    `json:"created"`
	Updated Time    `json:"updated"`
}

// NewGTWriteByName renders g with its status name (POST gt).
func NewGTWriteByName(g condcache.GlobalTag) GTWrite {
	return GTWrite{ID: g.ID, Name: g.Name, Author: g.Author, Status: g.Status.Name, Created: Time(g.Created), Updated: Time(g.Updated)}
}

// NewGTWriteByID renders g with its numeric status id (change status).
func NewGTWriteByID(g condcache.GlobalTag) GTWrite {
	return GTWrite{ID: g.ID, Name: g.Name, Author: g.Author, Status: g.Status.ID, Created: Time(g.Created), Updated: Time(g.Updated)}
}

// PT is a payload type.
type PT struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Created Time   `json:"created"`
}

// NewPT renders t.
func NewPT(t condcache.PayloadType) PT { return PT{ID: t.ID, Name: t.Name, Created: Time(t.Created)} }

// NewPTs renders ts; never nil.
func NewPTs(ts []condcache.PayloadType) []PT {
	out := make([]PT, len(ts))
	for i, t := range ts {
		out[i] = NewPT(t)
	}
	return out
}

// PLWrite is the answer of POST pl and pl_attach (names) and of GET pl/<id>
// (numeric foreign keys).
type PLWrite struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	GlobalTag   any    `json:"global_tag"`
	PayloadType any    `json:"payload_type"`
	Created     Time   `json:"created"`
}

// NewPLWriteByName renders l with GT and PT names.
func NewPLWriteByName(l condcache.PayloadList) PLWrite {
	return PLWrite{ID: l.ID, Name: l.Name, GlobalTag: l.GlobalTag, PayloadType: l.PayloadType, Created: Time(l.Created)}
}

// NewPLWriteByID renders l with GT and PT ids.
func NewPLWriteByID(l condcache.PayloadList) PLWrite {
	return PLWrite{ID: l.ID, Name: l.Name, GlobalTag: l.GlobalTagID, PayloadType: l.PayloadTypeID, Created: Time(l.Created)}
}

// PLBrowse is a payload list in browse mode and by name, with its IOV count.
type PLBrowse struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	GlobalTag   *string `json:"global_tag"`
	PayloadType string  `json:"payload_type"`
	IOVCount    int64   `json:"iov_count"`
	Created     Time    `json:"created"`
}

// NewPLBrowse renders l.
func NewPLBrowse(l condcache.PayloadListSummary) PLBrowse {
	return PLBrowse{ID: l.ID, Name: l.Name, GlobalTag: l.GlobalTag, PayloadType: l.PayloadType, IOVCount: l.IOVCount, Created: Time(l.Created)}
}

// PIOVBrowse is a payload IOV in browse mode (no comb_iov).
type PIOVBrowse struct {
	ID          int64   `json:"id"`
	PayloadURL  string  `json:"payload_url"`
	Checksum    string  `json:"checksum"`
	MajorIOV    int64   `json:"major_iov"`
	MinorIOV    int64   `json:"minor_iov"`
	MajorIOVEnd int64   `json:"major_iov_end"`
	MinorIOVEnd int64   `json:"minor_iov_end"`
	PayloadList *string `json:"payload_list"`
	GlobalTag   *string `json:"global_tag"`
	PayloadType *string `json:"payload_type"`
	Inserted    Time    `json:"inserted"`
}

// NewPIOVBrowse renders p.
func NewPIOVBrowse(p condcache.PayloadIOVBrowse) PIOVBrowse {
	return PIOVBrowse{
		ID: p.ID, PayloadURL: p.PayloadURL, Checksum: p.Checksum,
		MajorIOV: p.Start.Major, MinorIOV: p.Start.Minor, MajorIOVEnd: p.End.Major, MinorIOVEnd: p.End.Minor,
		PayloadList: p.PayloadList, GlobalTag: p.GlobalTag, PayloadType: p.PayloadType, Inserted: Time(p.Created),
	}
}

// BrowsePage is a page of browse results.
type BrowsePage[T any] struct {
	Count      int64 `json:"count"`
	Page       int   `json:"page"`
	PageSize   int   `json:"page_size"`
	TotalPages int64 `json:"total_pages"`
	Results    []T   `json:"results"`
}

// NewBrowsePage renders p with render applied to each result.
func NewBrowsePage[D, T any](p condcache.Page[D], render func(D) T) BrowsePage[T] {
	out := BrowsePage[T]{Count: p.Count, Page: p.Page, PageSize: p.PageSize, TotalPages: p.TotalPages, Results: make([]T, len(p.Results))}
	for i, d := range p.Results {
		out.Results[i] = render(d)
	}
	return out
}

// Detail is the {"detail": "..."} body of successful deletes.
type Detail struct {
	Detail string `json:"detail"`
}
