package wire

import (
	"time"

	"github.com/condcache/condcache"
)

// Shapes of payload repositories and file records (docs/design.md "Payload
// repositories").

// V2RepositoryType is a repository type.
type V2RepositoryType struct {
	ID           int64    `json:"id"`
	Name         string   `json:"name"`
	Schemes      []string `json:"schemes"`
	Description  string   `json:"description"`
	Repositories int64    `json:"repositories"`
	Created      string   `json:"created"`
}

// NewV2RepositoryType renders t.
func NewV2RepositoryType(t condcache.RepositoryType) V2RepositoryType {
	schemes := t.Schemes
	if schemes == nil {
		schemes = []string{}
	}
	return V2RepositoryType{ID: t.ID, Name: t.Name, Schemes: schemes, Description: t.Description,
		Repositories: t.Repositories, Created: repoTime(t.Created)}
}

// NewV2RepositoryTypes renders ts; never nil.
func NewV2RepositoryTypes(ts []condcache.RepositoryType) []V2RepositoryType {
	out := make([]V2RepositoryType, len(ts))
	for i, t := range ts {
		out[i] = NewV2RepositoryType(t)
	}
	return out
}

// V2Repository is a repository.
type V2Repository struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Type        string `json:"type"`
	BaseURL     string `json:"base_url"`
	Hostname    string `json:"hostname"`
	Site        string `json:"site"`
	Preference  int64  `json:"preference"`
	Personal    bool   `json:"personal"`
	FileRecords int64  `json:"file_records"`
	Created     string `json:"created"`
	Updated     string `json:"updated"`
}

// NewV2Repository renders r.
func NewV2Repository(r condcache.Repository) V2Repository {
	return V2Repository{ID: r.ID, Name: r.Name, Type: r.Type, BaseURL: r.BaseURL, Hostname: r.Hostname, Site: r.Site,
		Preference: r.Preference, Personal: r.Personal, FileRecords: r.FileRecords,
		Created: repoTime(r.Created), Updated: repoTime(r.Updated)}
}

// NewV2RepositoryPage renders a page of repositories.
func NewV2RepositoryPage(p condcache.Page[condcache.Repository]) V2Page[V2Repository] {
	out := V2Page[V2Repository]{Count: p.Count, Page: p.Page, PageSize: p.PageSize, TotalPages: p.TotalPages,
		Results: make([]V2Repository, len(p.Results))}
	for i, r := range p.Results {
		out.Results[i] = NewV2Repository(r)
	}
	return out
}

// V2FilePayload is the payload a file record is a copy of: its IOV's URL,
// checksum and size.
type V2FilePayload struct {
	URL      string `json:"url"`
	Checksum string `json:"checksum"`
	Size     *int64 `json:"size"`
}

// V2FileRecord is a file record.
type V2FileRecord struct {
	ID         int64          `json:"id"`
	IOV        int64          `json:"iov"`
	Repository string         `json:"repository"`
	Site       string         `json:"site"`
	Path       string         `json:"path"`
	URL        string         `json:"url"`
	Exists     bool           `json:"exists"`
	Verified   *string        `json:"verified"`
	Problem    *string        `json:"problem"`
	Payload    *V2FilePayload `json:"payload"`
	Created    string         `json:"created"`
	Updated    string         `json:"updated"`
}

// NewV2FileRecord renders f.
func NewV2FileRecord(f condcache.FileRecord) V2FileRecord {
	out := V2FileRecord{ID: f.ID, IOV: f.IOV, Repository: f.Repository, Site: f.Site, Path: f.Path, URL: f.URL,
		Exists: f.Exists, Problem: f.Problem, Created: repoTime(f.Created), Updated: repoTime(f.Updated)}
	if f.Verified != nil {
		v := repoTime(*f.Verified)
		out.Verified = &v
	}
	if f.PayloadURL != nil {
		out.Payload = &V2FilePayload{URL: *f.PayloadURL, Size: f.Size}
		if f.Checksum != nil {
			out.Payload.Checksum = *f.Checksum
		}
	}
	return out
}

// NewV2FileRecords renders fs; never nil.
func NewV2FileRecords(fs []condcache.FileRecord) []V2FileRecord {
	out := make([]V2FileRecord, len(fs))
	for i, f := range fs {
		out[i] = NewV2FileRecord(f)
	}
	return out
}

// NewV2FilePage renders a page of file records.
func NewV2FilePage(p condcache.Page[condcache.FileRecord]) V2Page[V2FileRecord] {
	return V2Page[V2FileRecord]{Count: p.Count, Page: p.Page, PageSize: p.PageSize, TotalPages: p.TotalPages,
		Results: NewV2FileRecords(p.Results)}
}

// V2Site is where a payload is at the site an answer was asked for
// (site=): the best readable copy's URL and repository, the other readable
// copies there in order of preference, and whether any copy is readable
// (url and repository are null when none is).
type V2Site struct {
	Available    bool         `json:"available"`
	URL          *string      `json:"url"`
	Repository   *string      `json:"repository"`
	Personal     *bool        `json:"personal"`
	Alternatives []V2SiteCopy `json:"alternatives"`
}

// V2SiteCopy is one readable copy of a payload at a site.
type V2SiteCopy struct {
	URL        string `json:"url"`
	Repository string `json:"repository"`
	Personal   bool   `json:"personal"`
}

// NewV2Site renders the site resolution of a payload's copies at a site
// (condcache.ChooseCopy).
func NewV2Site(copies []condcache.FileCopy) *V2Site {
	best, others := condcache.ChooseCopy(copies)
	out := &V2Site{Alternatives: make([]V2SiteCopy, len(others))}
	if best != nil {
		u, repo, personal := best.URL(), best.Repository, best.Personal
		out.Available, out.URL, out.Repository, out.Personal = true, &u, &repo, &personal
	}
	for i, c := range others {
		out.Alternatives[i] = V2SiteCopy{URL: c.URL(), Repository: c.Repository, Personal: c.Personal}
	}
	return out
}

// repoTime renders t as RFC 3339 in UTC.
func repoTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
