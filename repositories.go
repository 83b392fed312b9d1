package condcache

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Payload repositories (docs/design.md "Payload repositories"): where
// copies of payload files live, after Alyx's DataRepositoryType,
// DataRepository and FileRecord. A repository type names a kind of
// storage and the URL schemes its repositories use; a repository is one
// storage place at a site, with a base URL; a file record says that the
// payload of one IOV is at a relative path in one repository, and whether
// it was found there.

// Limits of repository fields.
const (
	MaxRepositoryNameLen = MaxNameLen // names of types and repositories, site labels
	MaxBaseURLLen        = 2048
	MaxHostnameLen       = 255
	MaxRelativePathLen   = 4096
	MaxProblemLen        = 1000
)

// RepositoryType is a kind of storage (cvmfs, posix, http, xrootd, s3):
// the URL schemes its repositories' base URLs may use (none: any).
type RepositoryType struct {
	ID           int64
	Name         string
	Schemes      []string
	Description  string
	Repositories int64 // how many repositories are of this type
	Created      time.Time
}

// Repository is one storage place holding copies of payload files.
type Repository struct {
	ID       int64
	Name     string
	Type     string
	BaseURL  string // ends with "/"
	Hostname string
	Site     string
	// Preference orders the repositories of a site: higher first (after
	// the non-personal ones, see ChooseCopy).
	Preference int64
	// Personal repositories (someone's laptop or scratch space, Alyx's
	// globus_is_personal) come after every other one of their site.
	Personal    bool
	FileRecords int64 // how many file records it holds
	Created     time.Time
	Updated     time.Time
}

// NewRepository is the input of a repository's creation.
type NewRepository struct {
	Name, Type, BaseURL, Hostname, Site string
	Preference                          int64
	Personal                            bool
}

// RepositoryPatch changes the fields of a repository that are not nil.
type RepositoryPatch struct {
	Name, Type, BaseURL, Hostname, Site *string
	Preference                          *int64
	Personal                            *bool
}

// FileRecord is a copy of an IOV's payload in a repository.
type FileRecord struct {
	ID         int64
	IOV        int64
	Repository string
	Site       string
	Path       string // relative to the repository's base URL
	URL        string // FileURL(base URL, Path)
	Exists     bool
	Verified   *time.Time // last verification, nil: never
	Problem    *string    // what the last verification found wrong, nil: nothing
	// The IOV's payload, which the copy must match (nil fields: the IOV
	// is gone).
	PayloadURL *string
	Checksum   *string
	Size       *int64
	Created    time.Time
	Updated    time.Time
}

// NewFileRecord is the input of a file record's creation: the payload of
// IOV is at Path in Repository; Exists defaults to true.
type NewFileRecord struct {
	IOV        int64
	Repository string
	Path       string
	Exists     *bool
}

// FileRecordPatch changes one file record: the fields that are set.
type FileRecordPatch struct {
	ID     int64
	Path   *string
	Exists *bool
	// SetVerified and SetProblem say whether Verified and Problem are
	// changed (to nil: cleared).
	SetVerified bool
	Verified    *time.Time
	SetProblem  bool
	Problem     *string
}

// RepositoryQuery selects repositories, by name, one page at a time.
type RepositoryQuery struct {
	Site     string // "" = any
	Type     string // "" = any
	Personal *bool  // nil = either
	Page     int
	PageSize int
}

// FileQuery selects file records, by id, one page at a time.
type FileQuery struct {
	Repository string // "" = any
	Site       string // "" = any
	IOV        int64  // 0 = any
	Exists     *bool  // nil = either
	Page       int
	PageSize   int
}

// SiteQuery asks for the copies at a site of the payloads a GT answers:
// of the IOVs IOVs (a range read), or, when At is set, of the IOVs the
// compatible lookup selects at At (a lookup).
type SiteQuery struct {
	GlobalTag string
	Site      string
	IOVs      []int64
	At        *Point
}

// SelectedIOV is an IOV the lookup selects at a point, as SiteCopies gives
// it in lookup mode, to be matched to the rows of the answer.
type SelectedIOV struct {
	ID  int64
	Row LookupRow
}

// FileCopy is a file record as site resolution sees it.
type FileCopy struct {
	Repository string
	BaseURL    string
	Path       string
	Personal   bool
	Preference int64
	Exists     bool
}

// URL is the copy's absolute URL.
func (c FileCopy) URL() string { return FileURL(c.BaseURL, c.Path) }

// SiteCopies is what SiteCopies read, in one snapshot: whether any
// repository has the site label, the GT's generation, the IOVs selected
// (lookup mode), and each IOV's copies at the site.
type SiteCopies struct {
	Known      bool
	Generation int64
	Selected   []SelectedIOV
	Copies     map[int64][]FileCopy
	Source     string
}

// RepositoryWriter changes repositories and file records. Implemented by
// sql.Store; every method is one transaction.
type RepositoryWriter interface {
	CreateRepositoryType(ctx context.Context, t RepositoryType) (RepositoryType, error)
	DeleteRepositoryType(ctx context.Context, name string) error
	CreateRepository(ctx context.Context, r NewRepository) (Repository, error)
	UpdateRepository(ctx context.Context, name string, p RepositoryPatch) (Repository, error)
	// DeleteRepository deletes a repository that holds no file record.
	DeleteRepository(ctx context.Context, name string) error
	// CreateFileRecords creates every record or none.
	CreateFileRecords(ctx context.Context, recs []NewFileRecord) ([]FileRecord, error)
	// UpdateFileRecords applies every patch or none.
	UpdateFileRecords(ctx context.Context, ps []FileRecordPatch) ([]FileRecord, error)
	DeleteFileRecord(ctx context.Context, id int64) (FileRecord, error)
}

// RepositoryReader reads repositories and file records, from a backend
// that holds every write committed before the call, and the copies that
// site resolution needs. Implemented by sql.Reader.
type RepositoryReader interface {
	RepositoryTypes(ctx context.Context) ([]RepositoryType, error)
	Repositories(ctx context.Context, q RepositoryQuery) (Page[Repository], error)
	Repository(ctx context.Context, name string) (Repository, error)
	FileRecords(ctx context.Context, q FileQuery) (Page[FileRecord], error)
	FileRecord(ctx context.Context, id int64) (FileRecord, error)
	// SiteCopies reads the copies q asks for, from a backend at least as
	// fresh as need asks.
	SiteCopies(ctx context.Context, q SiteQuery, need Freshness) (SiteCopies, error)
}

// CheckRelativePath refuses a file record's path that is not a clean
// relative path: empty, absolute ("/…"), with a backslash, an empty, "."
// or ".." segment, control characters, or longer than MaxRelativePathLen.
// A path that passes cannot leave its repository's base URL.
func CheckRelativePath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("must not be empty")
	case utf8.RuneCountInString(p) > MaxRelativePathLen:
		return fmt.Errorf("must have no more than %d characters", MaxRelativePathLen)
	case !utf8.ValidString(p):
		return fmt.Errorf("must be valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("must be relative to the repository's base URL, not absolute (%q starts with /)", p)
	case strings.ContainsRune(p, '\\'):
		return fmt.Errorf("must separate directories with /, not \\")
	case strings.ContainsFunc(p, unicode.IsControl):
		return fmt.Errorf("must not hold control characters")
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "..":
			return fmt.Errorf("must not hold a .. segment (%q would leave the repository)", p)
		case ".", "":
			return fmt.Errorf("must not hold empty or . segments (%q): write it without them", p)
		}
	}
	return nil
}

// ParseBaseURL checks a repository's base URL and returns it ending with
// "/": an absolute URL with a scheme among schemes (any when empty), a host
// unless the scheme is file (whose host must be empty or localhost), an
// absolute path, no credentials, query or fragment, and no white space or
// control characters.
func ParseBaseURL(s string, schemes []string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("must not be empty")
	}
	if len(s) > MaxBaseURLLen {
		return "", fmt.Errorf("must have no more than %d characters", MaxBaseURLLen)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "", fmt.Errorf("must not hold white space or control characters")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("is not a URL: %v", unwrapURLError(err))
	case u.Scheme == "":
		return "", fmt.Errorf("must be an absolute URL with a scheme, e.g. file:///cvmfs/… or https://host/…")
	case u.Opaque != "":
		return "", fmt.Errorf("must be a hierarchical URL (scheme://host/path), not %q", s)
	case u.User != nil:
		return "", fmt.Errorf("must not hold credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return "", fmt.Errorf("must not have a query or a fragment")
	case len(schemes) > 0 && !slices.Contains(schemes, u.Scheme):
		return "", fmt.Errorf("scheme %q is not one of this repository type's: %s", u.Scheme, strings.Join(schemes, ", "))
	case u.Scheme == "file" && u.Host != "" && u.Host != "localhost":
		return "", fmt.Errorf("a file URL must name no host (file:///path), not %q", u.Host)
	case u.Scheme != "file" && u.Host == "":
		return "", fmt.Errorf("must name a host (%s://host/…)", u.Scheme)
	case u.Scheme == "file" && !strings.HasPrefix(u.Path, "/"):
		return "", fmt.Errorf("a file URL must have an absolute path (file:///path)")
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s, nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// FileURL is the absolute URL of the file at relative path p under base
// (which ends with "/"): each segment of p percent-encoded as a URL path
// segment.
func FileURL(base, p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return base + strings.Join(segs, "/")
}

// ChooseCopy applies the site resolution rule (docs/design.md "Payload
// repositories") to an IOV's copies at one site: only copies that exist
// count; non-personal repositories come first, then higher preference,
// then repository name. It returns the best copy (nil: no readable copy at
// the site) and the others in that order.
func ChooseCopy(copies []FileCopy) (*FileCopy, []FileCopy) {
	var readable []FileCopy
	for _, c := range copies {
		if c.Exists {
			readable = append(readable, c)
		}
	}
	if len(readable) == 0 {
		return nil, nil
	}
	slices.SortFunc(readable, func(a, b FileCopy) int {
		if a.Personal != b.Personal {
			if a.Personal {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(b.Preference, a.Preference); c != 0 {
			return c
		}
		return cmp.Compare(a.Repository, b.Repository)
	})
	return &readable[0], readable[1:]
}

// Sentence turns a validation error of this file ("must not be empty")
// into a field message ("Must not be empty.").
func Sentence(err error) string {
	s := err.Error()
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:] + "."
}
