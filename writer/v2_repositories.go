package writer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/auth"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// The v2 writes of payload repositories and file records (docs/design.md
// "Payload repositories"). Every one asks the permission plugin for role
// admin on object GlobalTag with the name "": repositories serve every GT.
// Bodies are JSON objects whose unknown keys are refused (a misspelt
// "personal" must not be ignored); every bad field is reported at once.

// MaxFileRecordsPerRequest bounds the arrays of POST and PATCH files.
const MaxFileRecordsPerRequest = 10_000

// maxVerifiedAhead is how far in the future a verification time may lie
// (clock skew between the verifying host and the writer).
const maxVerifiedAhead = 5 * time.Minute

// repositoryEndpoints are the v2 writes of payload repositories and file records (docs/design.md "Payload repositories").
func (s *Server) repositoryEndpoints() []v2Route {
	return []v2Route{
		{"v2.CreateRepositoryType", fasthttp.MethodPost, "repository-types", s.createRepositoryType},
		{"v2.DeleteRepositoryType", fasthttp.MethodDelete, "repository-types/{name}", s.deleteRepositoryType},
		{"v2.CreateRepository", fasthttp.MethodPost, "repositories", s.createRepository},
		{"v2.UpdateRepository", fasthttp.MethodPatch, "repositories/{name}", s.updateRepository},
		{"v2.DeleteRepository", fasthttp.MethodDelete, "repositories/{name}", s.deleteRepository},
		{"v2.CreateFileRecords", fasthttp.MethodPost, "files", s.createFileRecords},
		{"v2.UpdateFileRecords", fasthttp.MethodPatch, "files", s.updateFileRecords},
		{"v2.UpdateFileRecord", fasthttp.MethodPatch, "files/{id}", s.updateFileRecord},
		{"v2.DeleteFileRecord", fasthttp.MethodDelete, "files/{id}", s.deleteFileRecord},
	}
}

// repositories returns the service, or 404 when this writer has none.
func (s *Server) repositories(c *call) (condcache.RepositoryWriter, error) {
	if err := s.permit(c, auth.RoleAdmin, ""); err != nil {
		return nil, err
	}
	if s.cfg.Repositories == nil {
		return nil, condcache.Errorf(condcache.ENotFound, "Payload repositories are not available on this server.")
	}
	return s.cfg.Repositories, nil
}

// v2Object is a JSON object body being validated: drf.Object's accessors,
// plus booleans, lists of strings, times and the difference between an
// absent and a null key, which PATCH needs.
type v2Object struct {
	*drf.Object
	raw map[string]json.RawMessage
}

// parseV2Object parses one JSON object (already checked by drf.CheckJSON;
// nil: no body) and records an error for every key not in known.
func parseV2Object(body []byte, known ...string) (*v2Object, error) {
	o, err := drf.ParseObject(body)
	if err != nil {
		return nil, err
	}
	b := &v2Object{Object: o, raw: map[string]json.RawMessage{}}
	if body != nil {
		if err := json.Unmarshal(body, &b.raw); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(b.raw))
	for k := range b.raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			b.AddError(k, "Unknown field; the fields are: "+strings.Join(known, ", ")+".")
		}
	}
	return b, nil
}

// null reports whether key is present and null.
func (b *v2Object) null(key string) bool {
	raw, ok := b.raw[key]
	return ok && drf.PythonType(raw) == "NoneType"
}

// bool returns the JSON boolean key; nil when absent (or invalid, which
// is recorded).
func (b *v2Object) bool(key string) *bool {
	raw, ok := b.raw[key]
	if !ok {
		return nil
	}
	var v bool
	if drf.PythonType(raw) != "bool" || json.Unmarshal(raw, &v) != nil {
		b.AddError(key, "Must be true or false.")
		return nil
	}
	return &v
}

// urlSchemeRE is a URL scheme (RFC 3986), lower case.
var urlSchemeRE = regexp.MustCompile(`^[a-z][a-z0-9+.-]{0,31}$`)

// schemes returns the list of URL schemes key (absent: none).
func (b *v2Object) schemes(key string) []string {
	raw, ok := b.raw[key]
	if !ok {
		return nil
	}
	var v []string
	if drf.PythonType(raw) != "list" || json.Unmarshal(raw, &v) != nil {
		b.AddError(key, "Must be a list of URL schemes, e.g. [\"https\"].")
		return nil
	}
	out := []string{}
	for _, sc := range v {
		if !urlSchemeRE.MatchString(sc) {
			b.AddError(key, fmt.Sprintf("%q is not a URL scheme in lower case (e.g. https, root, s3).", sc))
			return nil
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// Field rules of repositories and file records.
var (
	repoNameRule = drf.StringRule{Trim: true, MaxLen: condcache.MaxRepositoryNameLen}
	hostnameRule = drf.StringRule{Optional: true, Blank: true, Trim: true, MaxLen: condcache.MaxHostnameLen}
	urlRule      = drf.StringRule{Trim: true, MaxLen: condcache.MaxBaseURLLen}
	pathRule     = drf.StringRule{MaxLen: condcache.MaxRelativePathLen}
	problemRule  = drf.StringRule{Blank: true, MaxLen: condcache.MaxProblemLen}
)

// baseURL validates key as a base URL (the type's schemes are the
// service's to check); "" when invalid.
func (b *v2Object) baseURL(key string, r drf.StringRule) (string, bool) {
	v, ok := b.String(key, r)
	if !ok {
		return "", false
	}
	if _, err := condcache.ParseBaseURL(v, nil); err != nil {
		b.AddError(key, condcache.Sentence(err))
		return "", false
	}
	return v, true
}

// hostname validates key as a host name (or empty).
func (b *v2Object) hostname(key string) (string, bool) {
	v, ok := b.String(key, hostnameRule)
	if ok && strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' }) {
		b.AddError(key, "Must be a host name, without spaces or slashes.")
		return "", false
	}
	return v, ok
}

// path validates key as a relative path (condcache.CheckRelativePath).
func (b *v2Object) path(key string, r drf.StringRule) (string, bool) {
	v, ok := b.String(key, r)
	if !ok {
		return "", false
	}
	if err := condcache.CheckRelativePath(v); err != nil {
		b.AddError(key, condcache.Sentence(err))
		return "", false
	}
	return v, true
}

// readV2Object reads the request's body as one v2Object.
func readV2Object(c *call, known ...string) (*v2Object, error) {
	body, err := drf.ReadJSON(c.req)
	if err != nil {
		return nil, err
	}
	return parseV2Object(body, known...)
}

// createRepositoryType: POST /api/v2/repository-types {"name", "schemes"?, "description"?}.
func (s *Server) createRepositoryType(c *call) error {
	svc, err := s.repositories(c)
	if err != nil {
		return err
	}
	b, err := readV2Object(c, "name", "schemes", "description")
	if err != nil {
		return err
	}
	var t condcache.RepositoryType
	t.Name, _ = b.String("name", repoNameRule)
	t.Schemes = b.schemes("schemes")
	if d := b.NullableString("description", drf.StringRule{Blank: true, Trim: true, MaxLen: condcache.MaxTextLen}); d != nil {
		t.Description = *d
	}
	if err := b.Err(); err != nil {
		return err
	}
	out, err := svc.CreateRepositoryType(c.ctx, t)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewV2RepositoryType(out))
	return nil
}

// deleteRepositoryType: DELETE /api/v2/repository-types/{name}.
func (s *Server) deleteRepositoryType(c *call) error {
	svc, err := s.repositories(c)
	if err != nil {
		return err
	}
	name := c.param("name")
	if err := svc.DeleteRepositoryType(c.ctx, name); err != nil {
		return err
	}
	api.WriteOK(c.req, wire.Detail{Detail: "RepositoryType " + name + " deleted."})
	return nil
}

var repositoryFields = []string{"name", "type", "base_url", "hostname", "site", "preference", "personal"}

// createRepository: POST /api/v2/repositories {"name", "type", "base_url",
// "site", "hostname"?, "preference"?, "personal"?}.
func (s *Server) createRepository(c *call) error {
	svc, err := s.repositories(c)
	if err != nil {
		return err
	}
	b, err := readV2Object(c, repositoryFields...)
	if err != nil {
		return err
	}
	var r condcache.NewRepository
	r.Name, _ = b.String("name", repoNameRule)
	r.Type, _ = b.String("type", refRule)
	r.BaseURL, _ = b.baseURL("base_url", urlRule)
	r.Site, _ = b.String("site", repoNameRule)
	r.Hostname, _ = b.hostname("hostname")
	r.Preference, _ = b.Int("preference", drf.IntRule{Optional: true})
	if p := b.bool("personal"); p != nil {
		r.Personal = *p
	}
	if err := b.Err(); err != nil {
		return err
	}
	out, err := svc.CreateRepository(c.ctx, r)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewV2Repository(out))
	return nil
}

// updateRepository: PATCH /api/v2/repositories/{name} with any of the
// fields of a creation; the others are kept.
func (s *Server) updateRepository(c *call) error {
	svc, err := s.repositories(c)
	if err != nil {
		return err
	}
	b, err := readV2Object(c, repositoryFields...)
	if err != nil {
		return err
	}
	var p condcache.RepositoryPatch
	optional := func(r drf.StringRule) drf.StringRule { r.Optional = true; return r }
	p.Name = setString(b.String("name", optional(repoNameRule)))
	p.Type = setString(b.String("type", optional(refRule)))
	p.BaseURL = setString(b.baseURL("base_url", optional(urlRule)))
	p.Site = setString(b.String("site", optional(repoNameRule)))
	p.Hostname = setString(b.hostname("hostname"))
	if v, ok := b.Int("preference", drf.IntRule{Optional: true}); ok {
		p.Preference = &v
	}
	p.Personal = b.bool("personal")
	if err := b.Err(); err != nil {
		return err
	}
	out, err := svc.UpdateRepository(c.ctx, c.param("name"), p)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewV2Repository(out))
	return nil
}

// setString is v when ok, else nil (absent or invalid).
func setString(v string, ok bool) *string {
	if !ok {
		return nil
	}
	return &v
}

// deleteRepository: DELETE /api/v2/repositories/{name}, refused (409)
// while it holds file records.
func (s *Server) deleteRepository(c *call) error {
	svc, err := s.repositories(c)
	if err != nil {
		return err
	}
	name := c.param("name")
	if err := svc.DeleteRepository(c.ctx, name); err != nil {
		return err
	}
	api.WriteOK(c.req, wire.Detail{Detail: "Repository " + name + " deleted."})
	return nil
}

// eachObject calls fn with every object of the body: the body itself when
// it is an object, each element (at most MaxFileRecordsPerRequest, with
// errors prefixed by its index) when it is an array. list tells which.
func eachObject(c *call, fn func(elem []byte) error) (list bool, err error) {
	body, err := drf.ReadJSON(c.req)
	if err != nil {
		return false, err
	}
	if body == nil || drf.PythonType(body) != "list" {
		return false, fn(body)
	}
	n := 0
	err = drf.EachElement(body, func(i int, elem []byte) error {
		if n++; n > MaxFileRecordsPerRequest {
			return condcache.Errorf(condcache.EInvalid, "At most %d file records per request.", MaxFileRecordsPerRequest)
		}
		if err := fn(elem); err != nil {
			return elementError(i, err)
		}
		return nil
	})
	if err == nil && n == 0 {
		err = condcache.Errorf(condcache.EInvalid, "The list of file records is empty.")
	}
	return true, err
}

// createFileRecords: POST /api/v2/files {"iov", "repository", "path",
// "exists"?}, or an array of such objects (all created or none).
func (s *Server) createFileRecords(c *call) error {
	svc, err := s.repositories(c)
	if err != nil {
		return err
	}
	var recs []condcache.NewFileRecord
	list, err := eachObject(c, func(elem []byte) error {
		b, err := parseV2Object(elem, "iov", "repository", "path", "exists")
		if err != nil {
			return err
		}
		var r condcache.NewFileRecord
		r.IOV, _ = b.Int("iov", drf.IntRule{})
		if b.Has("iov") && r.IOV <= 0 && b.Err() == nil {
			b.AddError("iov", "Must be the id of a PayloadIOV (a positive integer).")
		}
		r.Repository, _ = b.String("repository", refRule)
		r.Path, _ = b.path("path", pathRule)
		r.Exists = b.bool("exists")
		if err := b.Err(); err != nil {
			return err
		}
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		return err
	}
	out, err := svc.CreateFileRecords(c.ctx, recs)
	if err != nil {
		return err
	}
	writeRecords(c, list, out)
	return nil
}

func writeRecords(c *call, list bool, out []condcache.FileRecord) {
	if list {
		api.WriteOK(c.req, wire.NewV2FileRecords(out))
	} else if len(out) == 1 {
		api.WriteOK(c.req, wire.NewV2FileRecord(out[0]))
	}
}

// decodeFilePatch decodes a patch of one file record: "path", "exists",
// "verified" (RFC 3339 or null) and "problem" (text or null).
func decodeFilePatch(b *v2Object, p *condcache.FileRecordPatch) {
	if v, ok := b.path("path", drf.StringRule{Optional: true, MaxLen: condcache.MaxRelativePathLen}); ok {
		p.Path = &v
	}
	p.Exists = b.bool("exists")
	if b.Has("verified") {
		p.SetVerified = true
		if !b.null("verified") {
			if v, ok := b.String("verified", drf.StringRule{}); ok {
				t, err := time.Parse(time.RFC3339Nano, v)
				switch {
				case err != nil:
					b.AddError("verified", "Not an RFC 3339 time, e.g. 2026-12-01T12:00:00Z.")
				case t.After(time.Now().Add(maxVerifiedAhead)):
					b.AddError("verified", "Must not be in the future.")
				default:
					p.Verified = &t
				}
			}
		}
	}
	if b.Has("problem") {
		p.SetProblem = true
		p.Problem = b.NullableString("problem", problemRule)
	}
}

// updateFileRecord: PATCH /api/v2/files/{id} {"path"?, "exists"?,
// "verified"?, "problem"?}.
func (s *Server) updateFileRecord(c *call) error {
	svc, err := s.repositories(c)
	if err != nil {
		return err
	}
	id, err := fileRecordID(c)
	if err != nil {
		return err
	}
	b, err := readV2Object(c, "path", "exists", "verified", "problem")
	if err != nil {
		return err
	}
	p := condcache.FileRecordPatch{ID: id}
	decodeFilePatch(b, &p)
	if err := b.Err(); err != nil {
		return err
	}
	out, err := svc.UpdateFileRecords(c.ctx, []condcache.FileRecordPatch{p})
	if err != nil {
		return err
	}
	writeRecords(c, false, out)
	return nil
}

// updateFileRecords: PATCH /api/v2/files [{"id", "path"?, "exists"?,
// "verified"?, "problem"?}, …], all applied or none (condcache verify
// reports its findings so).
func (s *Server) updateFileRecords(c *call) error {
	svc, err := s.repositories(c)
	if err != nil {
		return err
	}
	var ps []condcache.FileRecordPatch
	list, err := eachObject(c, func(elem []byte) error {
		b, err := parseV2Object(elem, "id", "path", "exists", "verified", "problem")
		if err != nil {
			return err
		}
		var p condcache.FileRecordPatch
		p.ID, _ = b.Int("id", drf.IntRule{})
		decodeFilePatch(b, &p)
		if err := b.Err(); err != nil {
			return err
		}
		ps = append(ps, p)
		return nil
	})
	if err == nil && !list {
		err = drf.NonFieldError(`Expected a list of items but got type "dict".`)
	}
	if err != nil {
		return err
	}
	out, err := svc.UpdateFileRecords(c.ctx, ps)
	if err != nil {
		return err
	}
	writeRecords(c, true, out)
	return nil
}

// deleteFileRecord: DELETE /api/v2/files/{id}.
func (s *Server) deleteFileRecord(c *call) error {
	svc, err := s.repositories(c)
	if err != nil {
		return err
	}
	id, err := fileRecordID(c)
	if err != nil {
		return err
	}
	out, err := svc.DeleteFileRecord(c.ctx, id)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.Detail{Detail: fmt.Sprintf("FileRecord %d (%s in %s) deleted.", out.ID, out.Path, out.Repository)})
	return nil
}

// fileRecordID is the path's {id}; anything but a positive integer is no
// record (404).
func fileRecordID(c *call) (int64, error) {
	id, err := drf.ParseInt([]byte(c.param("id")))
	if err != nil || id <= 0 {
		return 0, condcache.Errorf(condcache.ENotFound, "FileRecord %q not found.", c.param("id"))
	}
	return id, nil
}
