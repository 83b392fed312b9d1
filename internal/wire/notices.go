package wire

import (
	"time"

	"github.com/condcache/condcache"
)

// V2Notice is a notice as every v2 answer shows it (docs/design.md
// "Notices"): the importance by name and by level, the markdown and its
// sanitised HTML, and what it is attached to.
type V2Notice struct {
	ID              int64         `json:"id"`
	Importance      string        `json:"importance"`
	ImportanceLevel int           `json:"importance_level"`
	Description     string        `json:"description"`
	DescriptionHTML string        `json:"description_html"`
	Author          string        `json:"author"`
	Created         string        `json:"created"`
	Updated         string        `json:"updated"`
	VersionAffected *string       `json:"version_affected"`
	Runs            *V2PointRange `json:"runs"`
	Dates           *V2TimeRange  `json:"dates"`
	GlobalTags      []string      `json:"global_tags"`
	PayloadTypes    []string      `json:"payload_types"`
	PayloadLists    []string      `json:"payload_lists"`
	IOVs            []int64       `json:"iovs"`
}

// V2PointRange is [from, to], both inclusive.
type V2PointRange struct {
	From V2Point `json:"from"`
	To   V2Point `json:"to"`
}

// V2TimeRange is [from, to]; null: unbounded on that side.
type V2TimeRange struct {
	From *string `json:"from"`
	To   *string `json:"to"`
}

// NewV2Notice renders n.
func NewV2Notice(n condcache.Notice) V2Notice {
	out := V2Notice{ID: n.ID, Importance: n.Importance.String(), ImportanceLevel: int(n.Importance),
		Description: n.Description, DescriptionHTML: n.DescriptionHTML, Author: n.Author,
		Created: n.Created.UTC().Format(time.RFC3339Nano), Updated: n.Updated.UTC().Format(time.RFC3339Nano),
		VersionAffected: n.VersionAffected, GlobalTags: nonNil(n.GlobalTags), PayloadTypes: nonNil(n.PayloadTypes),
		PayloadLists: nonNil(n.PayloadLists), IOVs: n.IOVs}
	if out.IOVs == nil {
		out.IOVs = []int64{}
	}
	if r := n.Runs; r != nil {
		out.Runs = &V2PointRange{From: NewV2Point(r.From), To: NewV2Point(r.To)}
	}
	if d := n.Dates; d != nil {
		out.Dates = &V2TimeRange{From: timeOrNil(d.From), To: timeOrNil(d.To)}
	}
	return out
}

// NewV2Notices renders ns; never nil.
func NewV2Notices(ns []condcache.Notice) []V2Notice {
	out := make([]V2Notice, len(ns))
	for i, n := range ns {
		out[i] = NewV2Notice(n)
	}
	return out
}

func timeOrNil(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// NewV2NoticePage renders a page of notices.
func NewV2NoticePage(p condcache.Page[condcache.Notice]) V2Page[V2Notice] {
	return V2Page[V2Notice]{Count: p.Count, Page: p.Page, PageSize: p.PageSize, TotalPages: p.TotalPages, Results: NewV2Notices(p.Results)}
}
