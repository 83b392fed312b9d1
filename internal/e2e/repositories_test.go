package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Payload repositories and file records (docs/design.md "Payload
// repositories") through the real reader and writer: CRUD, refused input,
// and site resolution on v2 lookups and ranges.

type repoJSON struct {
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

type fileJSON struct {
	ID         int64   `json:"id"`
	IOV        int64   `json:"iov"`
	Repository string  `json:"repository"`
	Site       string  `json:"site"`
	Path       string  `json:"path"`
	URL        string  `json:"url"`
	Exists     bool    `json:"exists"`
	Verified   *string `json:"verified"`
	Problem    *string `json:"problem"`
	Payload    *struct {
		URL      string `json:"url"`
		Checksum string `json:"checksum"`
		Size     *int64 `json:"size"`
	} `json:"payload"`
	Created string `json:"created"`
	Updated string `json:"updated"`
}

type pageJSON[T any] struct {
	Count      int64 `json:"count"`
	Page       int   `json:"page"`
	PageSize   int   `json:"page_size"`
	TotalPages int64 `json:"total_pages"`
	Results    []T   `json:"results"`
}

// decode requires a 200 and decodes its body strictly (every key known).
func decode[T any](t testing.TB, r Resp) T {
	t.Helper()
	var out T
	if r.Status != 200 {
		t.Fatalf("%s: want 200", r)
	}
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	return out
}

// mkRepo creates a repository; fields are the body's beyond name.
func (c *client) mkRepo(name string, fields map[string]any) repoJSON {
	c.t.Helper()
	body := map[string]any{"name": name}
	for k, v := range fields {
		body[k] = v
	}
	return decode[repoJSON](c.t, c.do("POST", "/api/v2/repositories", body))
}

// mkFile creates a file record of IOV iov in repository repo at path.
func (c *client) mkFile(iov int64, repo, path string, exists ...bool) fileJSON {
	c.t.Helper()
	body := map[string]any{"iov": iov, "repository": repo, "path": path}
	if len(exists) > 0 {
		body["exists"] = exists[0]
	}
	return decode[fileJSON](c.t, c.do("POST", "/api/v2/files", body))
}

func (c *client) files(query string) pageJSON[fileJSON] {
	c.t.Helper()
	return decode[pageJSON[fileJSON]](c.t, c.get("/api/v2/files?"+query))
}

func TestRepositoriesCRUD(t *testing.T) {
	t.Parallel()
	c := shared(t)
	types := decode[[]struct {
		ID           int64    `json:"id"`
		Name         string   `json:"name"`
		Schemes      []string `json:"schemes"`
		Description  string   `json:"description"`
		Repositories int64    `json:"repositories"`
		Created      string   `json:"created"`
	}](t, c.get("/api/v2/repository-types"))
	var names []string
	for _, ty := range types {
		names = append(names, ty.Name)
		if ty.Name == "http" && !slices.Equal(ty.Schemes, []string{"http", "https"}) {
			t.Errorf("type http schemes %v", ty.Schemes)
		}
	}
	for _, want := range []string{"cvmfs", "posix", "http", "xrootd", "s3"} {
		if !slices.Contains(names, want) {
			t.Errorf("repository types %v lack %s", names, want)
		}
	}
	// A type of our own, used, then refused deletion, then deleted.
	tyName := uniqz("gridftp")
	ty := decode[map[string]any](t, c.do("POST", "/api/v2/repository-types", map[string]any{"name": tyName, "schemes": []string{"gsiftp"}}))
	if ty["name"] != tyName {
		t.Fatalf("created type %v", ty)
	}

	site, name := uniqz("SITE"), uniqz("repo")
	r := c.mkRepo(name, map[string]any{"type": "cvmfs", "base_url": "file:///cvmfs/sphenix.sdcc.bnl.gov/calib",
		"site": site, "hostname": "cvmfs.sdcc.bnl.gov", "preference": 3})
	if r.BaseURL != "file:///cvmfs/sphenix.sdcc.bnl.gov/calib/" || r.Site != site || r.Preference != 3 || r.Personal || r.Type != "cvmfs" {
		t.Errorf("created %+v", r)
	}
	if got := decode[repoJSON](t, c.get("/api/v2/repositories/"+url.PathEscape(name))); got != r {
		t.Errorf("read back %+v, want %+v", got, r)
	}
	grid := c.mkRepo(uniqz("grid"), map[string]any{"type": tyName, "base_url": "gsiftp://gridftp.example/store", "site": site, "personal": true})
	wantErr(t, c.do("DELETE", "/api/v2/repository-types/"+url.PathEscape(tyName), nil), "conflict", "", 409)
	page := decode[pageJSON[repoJSON]](t, c.get("/api/v2/repositories?site="+url.QueryEscape(site)))
	if page.Count != 2 || len(page.Results) != 2 || page.Results[0].Name != grid.Name && page.Results[1].Name != grid.Name {
		t.Errorf("repositories of %s: %+v", site, page)
	}
	if p := decode[pageJSON[repoJSON]](t, c.get("/api/v2/repositories?site="+url.QueryEscape(site)+"&personal=1")); p.Count != 1 || p.Results[0].Name != grid.Name {
		t.Errorf("personal repositories of %s: %+v", site, p)
	}
	if p := decode[pageJSON[repoJSON]](t, c.get("/api/v2/repositories?site="+url.QueryEscape(site)+"&page_size=1&page=2")); p.TotalPages != 2 || len(p.Results) != 1 {
		t.Errorf("page 2 of 1: %+v", p)
	}
	r2 := decode[repoJSON](t, c.do("PATCH", "/api/v2/repositories/"+url.PathEscape(name), map[string]any{"preference": -1, "hostname": ""}))
	if r2.Preference != -1 || r2.Hostname != "" || r2.BaseURL != r.BaseURL || r2.Site != site {
		t.Errorf("patched %+v", r2)
	}

	gt, pt := c.mkGT("unlocked"), c.mkPT()
	iov := c.mustInsert(gt, pt, "beam.root", P{0, 0}, open)
	iov2 := c.mustInsert(gt, pt, "beam2.root", P{10, 0}, open)
	f := c.mkFile(iov, name, "run 1/beam.root")
	if f.IOV != iov || f.Repository != name || f.Site != site || !f.Exists || f.Verified != nil || f.Problem != nil ||
		f.URL != "file:///cvmfs/sphenix.sdcc.bnl.gov/calib/run%201/beam.root" || f.Payload == nil || f.Payload.URL != "beam.root" {
		t.Errorf("created record %+v", f)
	}
	batch := decode[[]fileJSON](t, c.do("POST", "/api/v2/files", []map[string]any{
		{"iov": iov2, "repository": name, "path": "beam2.root", "exists": false},
		{"iov": iov, "repository": grid.Name, "path": "beam.root"},
	}))
	if len(batch) != 2 || batch[0].IOV != iov2 || batch[0].Exists || batch[1].Repository != grid.Name {
		t.Errorf("created batch %+v", batch)
	}
	if p := c.files("repository=" + url.QueryEscape(name)); p.Count != 2 || p.Results[0].ID != f.ID {
		t.Errorf("records of %s: %+v", name, p)
	}
	if p := c.files(fmt.Sprintf("iov=%d&exists=true", iov)); p.Count != 2 {
		t.Errorf("existing records of IOV %d: %+v", iov, p)
	}
	if p := c.files("site=" + url.QueryEscape(site) + "&exists=0"); p.Count != 1 || p.Results[0].IOV != iov2 {
		t.Errorf("missing records at %s: %+v", site, p)
	}
	if got := decode[fileJSON](t, c.get(fmt.Sprintf("/api/v2/files/%d", f.ID))); !reflect.DeepEqual(got, f) {
		t.Errorf("read back %+v, want %+v", got, f)
	}
	if got := decode[repoJSON](t, c.get("/api/v2/repositories/"+url.PathEscape(name))); got.FileRecords != 2 {
		t.Errorf("repository holds %d records, want 2", got.FileRecords)
	}
	verified := "2026-01-02T03:04:05Z"
	f2 := decode[fileJSON](t, c.do("PATCH", fmt.Sprintf("/api/v2/files/%d", f.ID),
		map[string]any{"exists": false, "verified": verified, "problem": "missing", "path": "run1/beam.root"}))
	if f2.Exists || f2.Verified == nil || *f2.Verified != verified || f2.Problem == nil || *f2.Problem != "missing" || f2.Path != "run1/beam.root" {
		t.Errorf("patched record %+v", f2)
	}
	many := decode[[]fileJSON](t, c.do("PATCH", "/api/v2/files", []map[string]any{
		{"id": f.ID, "exists": true, "problem": nil}, {"id": batch[0].ID, "verified": nil}}))
	if len(many) != 2 || !many[0].Exists || many[0].Problem != nil || many[0].Verified == nil || many[1].ID != batch[0].ID {
		t.Errorf("patched records %+v", many)
	}
	for _, id := range []int64{f.ID, batch[0].ID, batch[1].ID} {
		if r := c.do("DELETE", fmt.Sprintf("/api/v2/files/%d", id), nil); r.Status != 200 {
			t.Errorf("%s", r)
		}
	}
	wantErr(t, c.get(fmt.Sprintf("/api/v2/files/%d", f.ID)), "not_found", fmt.Sprintf("FileRecord %d not found.", f.ID), 404)
	for _, n := range []string{name, grid.Name} {
		if r := c.do("DELETE", "/api/v2/repositories/"+url.PathEscape(n), nil); r.Status != 200 {
			t.Errorf("%s", r)
		}
	}
	if r := c.do("DELETE", "/api/v2/repository-types/"+url.PathEscape(tyName), nil); r.Status != 200 {
		t.Errorf("%s", r)
	}
	wantErr(t, c.get("/api/v2/repositories/"+url.PathEscape(name)), "not_found", fmt.Sprintf("Repository %q not found.", name), 404)
	// Reads belong to the readers, writes to the writer.
	wantStatus(t, newClient(t, servers.WriterURL).get("/api/v2/repositories"), 405)
}

func TestRepositoriesBadInput(t *testing.T) {
	t.Parallel()
	c := shared(t)
	site, name := uniqz("SITE"), uniqz("repo")
	c.mkRepo(name, map[string]any{"type": "http", "base_url": "https://data.example/sphenix", "site": site})
	gt, pt := c.mkGT("unlocked"), c.mkPT()
	iov := c.mustInsert(gt, pt, "a.root", P{0, 0}, open)
	iov2 := c.mustInsert(gt, pt, "b.root", P{5, 0}, open)
	f := c.mkFile(iov, name, "a.root")
	other := c.mkRepo(uniqz("other"), map[string]any{"type": "http", "base_url": "https://o.example/", "site": site}).Name
	state := func() string {
		return string(c.get("/api/v2/repositories?site="+url.QueryEscape(site)).Body) + string(c.get("/api/v2/files?site="+url.QueryEscape(site)).Body)
	}
	before := state()
	newRepo := func(fields map[string]any) map[string]any {
		body := map[string]any{"name": uniqz("bad"), "type": "http", "base_url": "https://h.example/x", "site": site}
		for k, v := range fields {
			if v == nil {
				delete(body, k)
			} else {
				body[k] = v
			}
		}
		return body
	}
	for _, tc := range []struct {
		what         string
		method, path string
		body         any
		status       int
		code, field  string
		detail       string
	}{
		{"duplicate repository name", "POST", "/api/v2/repositories", newRepo(map[string]any{"name": name}), 409, "conflict", "name", ""},
		{"unknown type", "POST", "/api/v2/repositories", newRepo(map[string]any{"type": "ftp"}), 404, "not_found", "", `RepositoryType "ftp" not found.`},
		{"no type", "POST", "/api/v2/repositories", newRepo(map[string]any{"type": nil}), 400, "invalid", "type", ""},
		{"not a URL", "POST", "/api/v2/repositories", newRepo(map[string]any{"base_url": "data.example/x"}), 400, "invalid", "base_url", ""},
		{"URL with credentials", "POST", "/api/v2/repositories", newRepo(map[string]any{"base_url": "https://u:pw@h.example/x"}), 400, "invalid", "base_url", ""},
		{"URL with a query", "POST", "/api/v2/repositories", newRepo(map[string]any{"base_url": "https://h.example/x?token=1"}), 400, "invalid", "base_url", ""},
		{"URL without host", "POST", "/api/v2/repositories", newRepo(map[string]any{"base_url": "https:///x"}), 400, "invalid", "base_url", ""},
		{"URL with spaces", "POST", "/api/v2/repositories", newRepo(map[string]any{"base_url": "https://h.example/a b"}), 400, "invalid", "base_url", ""},
		{"file URL with a host", "POST", "/api/v2/repositories", newRepo(map[string]any{"type": "posix", "base_url": "file://nfs/x"}), 400, "invalid", "base_url", ""},
		{"scheme of another type", "POST", "/api/v2/repositories", newRepo(map[string]any{"type": "cvmfs", "base_url": "https://h.example/x"}), 400, "invalid", "base_url", ""},
		{"misspelt field", "POST", "/api/v2/repositories", newRepo(map[string]any{"personnal": true}), 400, "invalid", "personnal", ""},
		{"personal not a boolean", "POST", "/api/v2/repositories", newRepo(map[string]any{"personal": "yes"}), 400, "invalid", "personal", ""},
		{"preference not an integer", "POST", "/api/v2/repositories", newRepo(map[string]any{"preference": 1.5}), 400, "invalid", "preference", ""},
		{"blank site", "POST", "/api/v2/repositories", newRepo(map[string]any{"site": " "}), 400, "invalid", "site", ""},
		{"hostname with a slash", "POST", "/api/v2/repositories", newRepo(map[string]any{"hostname": "h/x"}), 400, "invalid", "hostname", ""},
		{"body not an object", "POST", "/api/v2/repositories", rawJSON("null"), 400, "invalid", "", ""},
		{"body not JSON", "POST", "/api/v2/repositories", Raw{"text/plain", []byte("name=x")}, 415, "unsupported_media_type", "", ""},
		{"patch of an unknown repository", "PATCH", "/api/v2/repositories/" + uniqz("nope"), map[string]any{"preference": 1}, 404, "not_found", "", ""},
		{"patch to a bad URL", "PATCH", "/api/v2/repositories/" + url.PathEscape(name), map[string]any{"base_url": "ftp://h/x"}, 400, "invalid", "base_url", ""},
		{"patch to a duplicate name", "PATCH", "/api/v2/repositories/" + url.PathEscape(other), map[string]any{"name": name}, 409, "conflict", "name", ""},
		{"delete of a repository with records", "DELETE", "/api/v2/repositories/" + url.PathEscape(name), nil, 409, "conflict", "", ""},
		{"unknown IOV", "POST", "/api/v2/files", map[string]any{"iov": 1 << 60, "repository": name, "path": "x.root"}, 404, "not_found", "",
			fmt.Sprintf("PayloadIOV %d not found.", int64(1<<60))},
		{"unknown repository", "POST", "/api/v2/files", map[string]any{"iov": iov2, "repository": uniqz("nope"), "path": "x.root"}, 404, "not_found", "", ""},
		{"path with ..", "POST", "/api/v2/files", map[string]any{"iov": iov2, "repository": name, "path": "calib/../../etc/passwd"}, 400, "invalid", "path", ""},
		{"absolute path", "POST", "/api/v2/files", map[string]any{"iov": iov2, "repository": name, "path": "/etc/passwd"}, 400, "invalid", "path", ""},
		{"path with an empty segment", "POST", "/api/v2/files", map[string]any{"iov": iov2, "repository": name, "path": "a//b.root"}, 400, "invalid", "path", ""},
		{"path with a backslash", "POST", "/api/v2/files", map[string]any{"iov": iov2, "repository": name, "path": `a\b.root`}, 400, "invalid", "path", ""},
		{"path that is a URL", "POST", "/api/v2/files", map[string]any{"iov": iov2, "repository": name, "path": "https://evil.example/x"}, 400, "invalid", "path", ""},
		{"iov as a string", "POST", "/api/v2/files", map[string]any{"iov": fmt.Sprint(iov2), "repository": name, "path": "x.root"}, 400, "invalid", "iov", ""},
		{"iov zero", "POST", "/api/v2/files", map[string]any{"iov": 0, "repository": name, "path": "x.root"}, 400, "invalid", "iov", ""},
		{"duplicate path", "POST", "/api/v2/files", map[string]any{"iov": iov2, "repository": name, "path": "a.root"}, 409, "conflict", "", ""},
		{"second copy in one repository", "POST", "/api/v2/files", map[string]any{"iov": iov, "repository": name, "path": "a2.root"}, 409, "conflict", "", ""},
		{"one bad element of a batch", "POST", "/api/v2/files", []map[string]any{
			{"iov": iov2, "repository": name, "path": "ok.root"}, {"iov": iov2, "repository": name, "path": "../x"}}, 400, "invalid", "path", ""},
		{"one unknown IOV in a batch", "POST", "/api/v2/files", []map[string]any{
			{"iov": iov2, "repository": name, "path": "ok.root"}, {"iov": 1 << 61, "repository": name, "path": "y.root"}}, 404, "not_found", "", ""},
		{"empty batch", "POST", "/api/v2/files", []any{}, 400, "invalid", "", ""},
		{"patch of an unknown record", "PATCH", "/api/v2/files/999999999999", map[string]any{"exists": false}, 404, "not_found", "", ""},
		{"patch to a path with ..", "PATCH", fmt.Sprintf("/api/v2/files/%d", f.ID), map[string]any{"path": ".."}, 400, "invalid", "path", ""},
		{"verified not a time", "PATCH", fmt.Sprintf("/api/v2/files/%d", f.ID), map[string]any{"verified": "yesterday"}, 400, "invalid", "verified", ""},
		{"verified in the future", "PATCH", fmt.Sprintf("/api/v2/files/%d", f.ID), map[string]any{"verified": "2999-01-01T00:00:00Z"}, 400, "invalid", "verified", ""},
		{"batch patch with an unknown record", "PATCH", "/api/v2/files", []map[string]any{{"id": f.ID, "exists": false}, {"id": 999999999999}}, 404, "not_found", "", ""},
		{"batch patch as an object", "PATCH", "/api/v2/files", map[string]any{"id": f.ID, "exists": false}, 400, "invalid", "", ""},
		{"record id not a number", "DELETE", "/api/v2/files/abc", nil, 404, "not_found", "", ""},
		{"NUL in a name", "POST", "/api/v2/repositories", newRepo(map[string]any{"name": "a\x00b"}), 400, "invalid", "name", ""},
		{"NUL in a path", "POST", "/api/v2/files", map[string]any{"iov": iov2, "repository": name, "path": "a\x00b"}, 400, "invalid", "path", ""},
		{"NUL in a path parameter", "DELETE", "/api/v2/repositories/a%00b", nil, 400, "invalid", "", ""},
		{"invalid UTF-8 in a path parameter", "PATCH", "/api/v2/repositories/a%FFb", map[string]any{"preference": 1}, 400, "invalid", "", ""},
	} {
		for _, dry := range []string{"", "?dry_run=1"} {
			r := c.do(tc.method, tc.path+dry, tc.body)
			wantErr(t, r, tc.code, tc.detail, tc.status)
			if tc.field != "" {
				wantField(t, r, tc.field, "")
			}
			if t.Failed() {
				t.Fatalf("%s%s: %s", tc.what, dry, r)
			}
		}
	}
	if after := state(); after != before {
		t.Errorf("refused writes changed something:\nbefore %s\nafter  %s", before, after)
	}
	// A dry run of a good write answers what it would do and does nothing.
	r := c.ok("POST", "/api/v2/files?dry_run=1", map[string]any{"iov": iov2, "repository": name, "path": "b.root"})
	dry := obj(t, r.JSON)
	if dry["dry_run"] != true || len(arr(t, dry["changes"])) != 1 || obj(t, dry["response"])["path"] != "b.root" {
		t.Errorf("dry run answer %s", r.Body)
	}
	if after := state(); after != before {
		t.Errorf("a dry run changed something:\nbefore %s\nafter  %s", before, after)
	}
	// Bad read parameters.
	wantErr(t, c.get("/api/v2/files?repository="+uniqz("nope")), "not_found", "", 404)
	wantErr(t, c.get("/api/v2/files?site="+uniqz("nope")), "not_found", "", 404)
	wantErr(t, c.get("/api/v2/files?exists=maybe"), "invalid", "", 400)
	wantErr(t, c.get("/api/v2/files?iov=-1"), "invalid", "", 400)
	wantErr(t, c.get("/api/v2/repositories?type=ftp"), "not_found", "", 404)
	wantErr(t, c.get("/api/v2/repositories?page_size=1001"), "invalid", "", 400)
	wantErr(t, c.get("/api/v2/repositories/a%00b"), "invalid", "", 400)
	wantErr(t, c.get("/api/v2/files?repository=a%00b"), "invalid", "", 400)
	wantErr(t, c.get("/api/v2/files/1e3"), "not_found", "", 404)
}

// siteWorld: a GT of four types and the repositories of two sites.
type siteWorld struct {
	gt, site, other   string
	t1, t2, t3, t4    string // payload types
	a, b, p, x        string // repositories: site, site, site (personal), other
	iov1, iov1b, iov2 int64
	iov3, iov4        int64
}

func newSiteWorld(t *testing.T, c *client) *siteWorld {
	w := &siteWorld{site: uniqz("SITE"), other: uniqz("OTHER")}
	w.gt = c.mkGT("unlocked")
	w.t1, w.t2, w.t3, w.t4 = c.mkPT(), c.mkPT(), c.mkPT(), c.mkPT()
	w.iov1 = c.mustInsert(w.gt, w.t1, "t1.root", P{0, 0}, open)
	w.iov1b = c.mustInsert(w.gt, w.t1, "t1b.root", P{10, 0}, open)
	w.iov2 = c.mustInsert(w.gt, w.t2, "t2.root", P{0, 0}, open)
	w.iov3 = c.mustInsert(w.gt, w.t3, "t3.root", P{0, 0}, open)
	w.iov4 = c.mustInsert(w.gt, w.t4, "t4.root", P{0, 0}, open)
	w.a = c.mkRepo(uniqz("a"), map[string]any{"type": "posix", "base_url": "file:///data/a", "site": w.site}).Name
	w.b = c.mkRepo(uniqz("b"), map[string]any{"type": "http", "base_url": "https://b.example/x/", "site": w.site, "preference": 10}).Name
	w.p = c.mkRepo(uniqz("p"), map[string]any{"type": "posix", "base_url": "file:///home/p", "site": w.site, "preference": 100, "personal": true}).Name
	w.x = c.mkRepo(uniqz("x"), map[string]any{"type": "http", "base_url": "https://x.example", "site": w.other, "preference": 1000}).Name
	for _, repo := range []string{w.a, w.b, w.p, w.x} {
		c.mkFile(w.iov1, repo, "calib/t1.root")
	}
	c.mkFile(w.iov1b, w.a, "calib/t1b.root")
	c.mkFile(w.iov2, w.p, "t2.root")
	c.mkFile(w.iov3, w.b, "t3.root", false)
	c.mkFile(w.iov3, w.x, "t3.root")
	return w
}

type siteJSON struct {
	Available    bool    `json:"available"`
	URL          *string `json:"url"`
	Repository   *string `json:"repository"`
	Personal     *bool   `json:"personal"`
	Alternatives []struct {
		URL        string `json:"url"`
		Repository string `json:"repository"`
		Personal   bool   `json:"personal"`
	} `json:"alternatives"`
}

// siteText renders a site answer for comparisons: "repo url [alt,alt]",
// or "unavailable".
func siteText(s *siteJSON) string {
	if s == nil {
		return "<none>"
	}
	var alts []string
	for _, a := range s.Alternatives {
		alts = append(alts, a.Repository+"="+a.URL)
	}
	if !s.Available {
		if s.URL != nil || s.Repository != nil || s.Personal != nil || len(alts) > 0 {
			return fmt.Sprintf("unavailable but %v %v %v %v", s.URL, s.Repository, s.Personal, alts)
		}
		return "unavailable"
	}
	return fmt.Sprintf("%s=%s personal=%v %v", *s.Repository, *s.URL, *s.Personal, alts)
}

type siteLookupJSON struct {
	v2LookupAnswer
	Payloads []struct {
		v2Payload
		Site *siteJSON `json:"site"`
	} `json:"payloads"`
}

type siteRangeJSON struct {
	Types []struct {
		Type      string `json:"type"`
		Intervals []struct {
			From    v2Point `json:"from"`
			Payload *struct {
				v2Payload
				Site *siteJSON `json:"site"`
			} `json:"payload"`
		} `json:"intervals"`
	} `json:"types"`
}

func TestSiteResolution(t *testing.T) {
	t.Parallel()
	c := shared(t)
	w := newSiteWorld(t, c)
	g, s := url.QueryEscape(w.gt), url.QueryEscape(w.site)
	want := map[string]string{
		// Non-personal first (p's preference 100 does not count), then
		// preference: b (10) before a (0); x is another site's.
		w.t1: w.b + "=https://b.example/x/calib/t1.root personal=false [" + w.a + "=file:///data/a/calib/t1.root " + w.p + "=file:///home/p/calib/t1.root]",
		// Only a personal copy: that one.
		w.t2: w.p + "=file:///home/p/t2.root personal=true []",
		// The site's one copy is missing (x's is elsewhere): flagged.
		w.t3: "unavailable",
		// No copy at all.
		w.t4: "unavailable",
	}
	plain := c.get("/api/v2/lookup?gt=" + g + "&major=5&minor=0")
	r := c.get("/api/v2/lookup?gt=" + g + "&major=5&minor=0&site=" + s)
	var a siteLookupJSON
	if err := json.Unmarshal(decode[json.RawMessage](t, r), &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Payloads) != 4 {
		t.Fatalf("%s: want 4 payloads", r)
	}
	for _, pl := range a.Payloads {
		if got := siteText(pl.Site); got != want[pl.Type] {
			t.Errorf("lookup, type %s: site %s\n want %s", pl.Type, got, want[pl.Type])
		}
	}
	// Everything but "site" is the answer without site=, which has no
	// "site" at all.
	var p, q map[string]any
	_ = json.Unmarshal(plain.Body, &p)
	_ = json.Unmarshal(r.Body, &q)
	for _, pl := range arr(t, q["payloads"]) {
		delete(obj(t, pl), "site")
	}
	if pb, qb := fmt.Sprint(p), fmt.Sprint(q); pb != qb {
		t.Errorf("site= changed more than the sites:\n without %s\n with    %s", pb, qb)
	}
	if strings.Contains(string(plain.Body), `"site"`) {
		t.Errorf("an answer without site= shows sites: %s", plain.Body)
	}
	for _, h := range []string{"X-Condcache-Digest", "ETag"} {
		if plain.Header.Get(h) != r.Header.Get(h) {
			t.Errorf("%s %q with site=, %q without", h, r.Header.Get(h), plain.Header.Get(h))
		}
	}
	// Later runs: t1's second IOV, whose only copy is a's.
	var later siteLookupJSON
	_ = json.Unmarshal(decode[json.RawMessage](t, c.get("/api/v2/lookup?gt="+g+"&major=12&minor=0&types="+url.QueryEscape(w.t1)+"&site="+s)), &later)
	if len(later.Payloads) != 1 || siteText(later.Payloads[0].Site) != w.a+"=file:///data/a/calib/t1b.root personal=false []" {
		t.Errorf("lookup at 12: %+v", later.Payloads)
	}
	// The other site sees its own copies.
	var o siteLookupJSON
	_ = json.Unmarshal(decode[json.RawMessage](t, c.get("/api/v2/lookup?gt="+g+"&major=5&site="+url.QueryEscape(w.other)+"&types="+url.QueryEscape(w.t3))), &o)
	if len(o.Payloads) != 1 || siteText(o.Payloads[0].Site) != w.x+"=https://x.example/t3.root personal=false []" {
		t.Errorf("lookup at %s: %+v", w.other, o.Payloads)
	}

	// The range: every piece's payload, t1 changing repository at run 10.
	rr := c.get("/api/v2/range?gt=" + g + "&from=0&to=20&site=" + s)
	var ra siteRangeJSON
	_ = json.Unmarshal(decode[json.RawMessage](t, rr), &ra)
	plainRange := c.get("/api/v2/range?gt=" + g + "&from=0&to=20")
	if strings.Contains(string(plainRange.Body), `"site"`) || plainRange.Header.Get("X-Condcache-Digest") != rr.Header.Get("X-Condcache-Digest") {
		t.Errorf("range without site=: %s", plainRange)
	}
	for _, ty := range ra.Types {
		for _, iv := range ty.Intervals {
			if iv.Payload == nil {
				continue
			}
			exp := want[ty.Type]
			if iv.From.P() == (P{10, 0}) {
				exp = siteText(later.Payloads[0].Site)
			}
			if got := siteText(iv.Payload.Site); got != exp {
				t.Errorf("range, type %s from %v: site %s\n want %s", ty.Type, iv.From.P(), got, exp)
			}
		}
	}
	// Site answers revalidate whatever the GT's status: the copies of a
	// frozen GT's payloads still change.
	frozen := uniqz("frozen")
	c.ok("POST", "cloneGlobalTag/"+w.gt+"/"+frozen, rawJSON("null"))
	c.setStatus(frozen, "frozen")
	fz := c.get("/api/v2/lookup?gt=" + url.QueryEscape(frozen) + "&major=5")
	fzSite := c.get("/api/v2/lookup?gt=" + url.QueryEscape(frozen) + "&major=5&site=" + s)
	fzRange := c.get("/api/v2/range?gt=" + url.QueryEscape(frozen) + "&from=0&to=5&site=" + s)
	if !strings.Contains(fz.Header.Get("Cache-Control"), "immutable") || fzSite.Header.Get("Cache-Control") != "no-cache" ||
		fzRange.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("Cache-Control of a frozen GT: %q, with site= %q (range %q)", fz.Header.Get("Cache-Control"),
			fzSite.Header.Get("Cache-Control"), fzRange.Header.Get("Cache-Control"))
	}
	// 304 with the ETag of a site answer.
	if tag := r.Header.Get("ETag"); c.do("GET", "/api/v2/lookup?gt="+g+"&major=5&minor=0&site="+s, nil, "If-None-Match", tag).Status != 304 {
		t.Errorf("the ETag %q of a site answer earns no 304", tag)
	}

	// Refused: unknown site (404), empty site, site with history (400).
	for _, path := range []string{"/api/v2/lookup?gt=" + g + "&major=5", "/api/v2/range?gt=" + g + "&from=0&to=5"} {
		nope := uniqz("NOWHERE")
		wantErr(t, c.get(path+"&site="+nope), "not_found", fmt.Sprintf("Site %q not found: no repository has this site label.", nope), 404)
		wantErr(t, c.get(path+"&site="), "invalid", "", 400)
		wantErr(t, c.get(path+"&site="+s+"&asof=2026-01-01T00:00:00Z"), "invalid", "", 400)
	}
	wantErr(t, c.get("/api/v2/lookup?gt="+uniqz("nogt")+"&major=5&site="+s), "not_found", "", 404)
}

// TestSiteFreshness (docs/design.md "Freshness contract" for site answers):
// on the stack whose replica applies WAL 2 s late, a range and a lookup
// with site= are read until Redis holds them; each change of a file record
// or repository acknowledged by the writer shows in the very next read
// through the reader, never the previous answer.
func TestSiteFreshness(t *testing.T) {
	ls := lateTopology(t)
	r := newClient(t, ls.servers.ReaderURL)
	w := newClient(t, ls.servers.WriterURL)
	gt, pt := w.mkGT("unlocked"), w.mkPT()
	pl := r.listOf(gt, pt)
	iov := w.mkPIOV(uniqz("fresh"), P{0, 0}, open)
	if res := w.piovAttach(pl, iov); res.Status != 200 {
		t.Fatalf("%s", res)
	}
	site, repo := uniqz("SITE"), uniqz("repo")
	w.mkRepo(repo, map[string]any{"type": "http", "base_url": "https://one.example/", "site": site})
	paths := []string{
		"/api/v2/range?gt=" + url.QueryEscape(gt) + "&from=0&to=5&site=" + url.QueryEscape(site),
		"/api/v2/lookup?gt=" + url.QueryEscape(gt) + "&major=3&site=" + url.QueryEscape(site),
	}
	// site is the one payload's site answer at path.
	site1 := func(path string) string {
		t.Helper()
		b := r.ok("GET", path, nil).Body
		if strings.Contains(path, "/range") {
			var a siteRangeJSON
			_ = json.Unmarshal(b, &a)
			return siteText(a.Types[0].Intervals[0].Payload.Site)
		}
		var a siteLookupJSON
		_ = json.Unmarshal(b, &a)
		return siteText(a.Payloads[0].Site)
	}
	var rec fileJSON
	steps := []struct {
		what  string
		write func()
		want  string
	}{
		{"nothing yet", func() {}, "unavailable"},
		{"a record added", func() { rec = w.mkFile(iov, repo, "f.root") }, repo + "=https://one.example/f.root personal=false []"},
		{"found missing", func() {
			w.ok("PATCH", fmt.Sprintf("/api/v2/files/%d", rec.ID), map[string]any{"exists": false})
		}, "unavailable"},
		{"found again", func() {
			w.ok("PATCH", "/api/v2/files", []map[string]any{{"id": rec.ID, "exists": true}})
		}, repo + "=https://one.example/f.root personal=false []"},
		{"moved", func() {
			w.ok("PATCH", fmt.Sprintf("/api/v2/files/%d", rec.ID), map[string]any{"path": "g.root"})
		}, repo + "=https://one.example/g.root personal=false []"},
		{"the repository's base URL changed", func() {
			w.ok("PATCH", "/api/v2/repositories/"+url.PathEscape(repo), map[string]any{"base_url": "https://two.example/p"})
		}, repo + "=https://two.example/p/g.root personal=false []"},
		{"the repository turned personal", func() {
			w.ok("PATCH", "/api/v2/repositories/"+url.PathEscape(repo), map[string]any{"personal": true})
		}, repo + "=https://two.example/p/g.root personal=true []"},
		{"the record removed", func() { w.ok("DELETE", fmt.Sprintf("/api/v2/files/%d", rec.ID), nil) }, "unavailable"},
	}
	const hits = `condcache_cache_responses_total{result="hit"}`
	hitsBefore := metric(t, ls.servers.ReaderURL, hits)
	for _, st := range steps {
		st.write()
		for _, path := range paths {
			if got := site1(path); got != st.want {
				t.Fatalf("%s: right after the write, %s answers %s\n want %s", st.what, path, got, st.want)
			}
			for range 3 { // warm Redis and the replica for the next step
				if got := site1(path); got != st.want {
					t.Fatalf("%s: %s later answers %s\n want %s", st.what, path, got, st.want)
				}
			}
		}
	}
	// The warm reads were answered by Redis, so the fresh ones were not
	// luck: the writes invalidated what it held.
	if n := metric(t, ls.servers.ReaderURL, hits) - hitsBefore; n < float64(len(steps)*len(paths)) {
		t.Errorf("%v cache hits over %d warm rounds: the site answers were not cached", n, len(steps)*len(paths))
	}
	// The last repository of the site removed: site= is unknown at once.
	w.ok("DELETE", "/api/v2/repositories/"+url.PathEscape(repo), nil)
	for _, path := range paths {
		wantErr(t, r.get(path), "not_found", "", 404)
	}
}
