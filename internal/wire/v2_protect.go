package wire

import (
	"time"

	"github.com/condcache/condcache"
)

// Shapes of protection (docs/design.md "Protection").

// V2Protection is an object's protection state: its mark, when it has one
// (protected true, with note, actor and time).
type V2Protection struct {
	Kind        string  `json:"kind"`
	ID          int64   `json:"id"`
	Name        *string `json:"name"`
	GlobalTag   *string `json:"global_tag"`
	PayloadList *string `json:"payload_list"`
	Protected   bool    `json:"protected"`
	Note        *string `json:"note"`
	Actor       *string `json:"actor"`
	Time        *string `json:"time"`
}

// NewV2Protection renders p: empty names (an IOV's, a detached object's GT
// or list) and an absent mark's fields as null.
func NewV2Protection(p condcache.Protection) V2Protection {
	out := V2Protection{Kind: p.Kind, ID: p.ID, Name: nullIfBlank(p.Name), GlobalTag: nullIfBlank(p.GlobalTag),
		PayloadList: nullIfBlank(p.PayloadList), Protected: p.Protected}
	if p.Protected {
		t := p.Time.UTC().Format(time.RFC3339Nano)
		out.Note, out.Actor, out.Time = &p.Note, &p.Actor, &t
	}
	return out
}

// NewV2Protections renders ps; never nil.
func NewV2Protections(ps []condcache.Protection) []V2Protection {
	out := make([]V2Protection, len(ps))
	for i, p := range ps {
		out[i] = NewV2Protection(p)
	}
	return out
}

func nullIfBlank(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// V2ProtectAnswer is the answer of PUT /api/v2/protect: the objects named,
// in the request's order, as they are afterwards.
type V2ProtectAnswer struct {
	Protected bool           `json:"protected"`
	Objects   []V2Protection `json:"objects"`
}

// V2ProtectedObject is a protected object a delete removes (or would):
// protected_by is the nearest mark protecting it, its own or that of the
// list or GT holding it.
type V2ProtectedObject struct {
	Kind        string       `json:"kind"`
	ID          int64        `json:"id"`
	Name        *string      `json:"name"`
	ProtectedBy V2Protection `json:"protected_by"`
}

// NewV2ProtectedObjects renders objs; nil stays nil (the field is then
// left out).
func NewV2ProtectedObjects(objs []condcache.ProtectedObject) []V2ProtectedObject {
	if objs == nil {
		return nil
	}
	out := make([]V2ProtectedObject, len(objs))
	for i, o := range objs {
		out[i] = V2ProtectedObject{Kind: o.Kind, ID: o.ID, Name: nullIfBlank(o.Name), ProtectedBy: NewV2Protection(o.By)}
	}
	return out
}

// V2GTProtection is the answer of GET /api/v2/protect?gt=: the GT's status,
// how much of it is protected, and one page of its marks.
type V2GTProtection struct {
	GlobalTag             string         `json:"global_tag"`
	Status                string         `json:"status"`
	Frozen                bool           `json:"frozen"`
	PayloadLists          int64          `json:"payload_lists"`
	PayloadIOVs           int64          `json:"payload_iovs"`
	ProtectedPayloadLists int64          `json:"protected_payload_lists"`
	ProtectedPayloadIOVs  int64          `json:"protected_payload_iovs"`
	Count                 int64          `json:"count"`
	Page                  int            `json:"page"`
	PageSize              int            `json:"page_size"`
	TotalPages            int64          `json:"total_pages"`
	Results               []V2Protection `json:"results"`
}

// NewV2GTProtection renders a GT's report.
func NewV2GTProtection(r condcache.ProtectionReport) V2GTProtection {
	m := r.Marks
	return V2GTProtection{GlobalTag: r.GlobalTag, Status: r.Status, Frozen: r.Frozen,
		PayloadLists: r.PayloadLists, PayloadIOVs: r.PayloadIOVs,
		ProtectedPayloadLists: r.ProtectedPayloadLists, ProtectedPayloadIOVs: r.ProtectedPayloadIOVs,
		Count: m.Count, Page: m.Page, PageSize: m.PageSize, TotalPages: m.TotalPages, Results: NewV2Protections(m.Results)}
}

// NewV2ProtectionPage renders a page of every mark (GET /api/v2/protect).
func NewV2ProtectionPage(p condcache.Page[condcache.Protection]) V2Page[V2Protection] {
	return V2Page[V2Protection]{Count: p.Count, Page: p.Page, PageSize: p.PageSize, TotalPages: p.TotalPages, Results: NewV2Protections(p.Results)}
}

// V2Deleted is the answer of POST /api/v2/iovs/delete.
type V2Deleted struct {
	Deleted int64 `json:"deleted"`
}
