package e2e

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// condcache verify (docs/operations.md "verify") as a process against the
// real reader and writer, on a temporary directory read as a file://
// repository and the same directory served over HTTP.

func md5hex(s string) string    { b := md5.Sum([]byte(s)); return hex.EncodeToString(b[:]) }
func sha256hex(s string) string { b := sha256.Sum256([]byte(s)); return hex.EncodeToString(b[:]) }

// verifyFile is one payload: the IOV's checksum and size, and what is on
// disk ("" with absent: nothing).
type verifyFile struct {
	path     string
	checksum string
	size     *int64
	disk     string
	absent   bool
	// want is the outcome, and problem a part of the problem recorded;
	// fix is the content that makes it right.
	want, problem, fix string
}

func size(n int64) *int64 { return &n }

func verifyFiles() []verifyFile {
	return []verifyFile{
		{path: "good-md5.bin", checksum: md5hex("alpha"), size: size(5), disk: "alpha", want: "ok"},
		{path: "good-sha256.bin", checksum: "sha256:" + sha256hex("beta"), size: size(4), disk: "beta", want: "ok"},
		{path: "sub dir/good-sha256-plain.bin", checksum: strings.ToUpper(sha256hex("gamma")), disk: "gamma", want: "ok"},
		{path: "good-unknown-checksum.bin", checksum: "e99a18c4", size: size(5), disk: "delta", want: "ok"},
		{path: "missing.bin", checksum: md5hex("x"), size: size(1), absent: true, want: "missing", problem: "no file at", fix: "x"},
		{path: "wrong-size.bin", checksum: md5hex("epsilon!"), size: size(8), disk: "epsilon", want: "differs",
			problem: "size 7 bytes, the IOV says 8", fix: "epsilon!"},
		{path: "wrong-md5.bin", checksum: md5hex("zeta?"), size: size(5), disk: "zeta!", want: "differs",
			problem: "md5 " + md5hex("zeta!") + ", the IOV says " + md5hex("zeta?"), fix: "zeta?"},
		{path: "sub dir/wrong-sha256.bin", checksum: sha256hex("eta?"), size: size(4), disk: "eta!", want: "differs",
			problem: "sha256 " + sha256hex("eta!") + ", the IOV says " + sha256hex("eta?"), fix: "eta?"},
		{path: "wrong-sha256-prefixed.bin", checksum: "sha256:" + sha256hex("theta?"), size: size(6), disk: "theta!", want: "differs",
			problem: "sha256 " + sha256hex("theta!") + ", the IOV says " + sha256hex("theta?"), fix: "theta?"},
	}
}

// runVerify runs condcache verify with args and returns its exit status
// and output.
func runVerify(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, append([]string{"verify", "-reader", servers.ReaderURL}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	}
	t.Fatalf("condcache verify: %v", err)
	return 0, ""
}

func TestVerify(t *testing.T) {
	t.Parallel()
	c := shared(t)
	dir := t.TempDir()
	files := verifyFiles()
	for _, f := range files {
		if f.absent {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.disk), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	web := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(web.Close)
	site := uniqz("SITE")
	repos := map[string]string{ // scheme → repository
		"file": c.mkRepo(uniqz("disk"), map[string]any{"type": "posix", "base_url": "file://" + dir, "site": site}).Name,
		"http": c.mkRepo(uniqz("web"), map[string]any{"type": "http", "base_url": web.URL + "/", "site": site}).Name,
	}
	ids := map[string]int64{} // path → IOV
	for _, f := range files {
		body := map[string]any{"payload_url": f.path, "checksum": f.checksum, "major_iov": 0, "minor_iov": 0}
		if f.size != nil {
			body["size"] = *f.size
		}
		ids[f.path] = i64(t, obj(t, c.ok("POST", "piov", body).JSON)["id"])
		for _, repo := range repos {
			c.mkFile(ids[f.path], repo, f.path)
		}
	}

	for _, scheme := range []string{"file", "http"} {
		repo := repos[scheme]
		records := func() map[string]fileJSON {
			out := map[string]fileJSON{}
			for _, r := range c.files("repository=" + url.QueryEscape(repo)).Results {
				out[r.Path] = r
			}
			return out
		}
		// A dry run finds the same and records nothing.
		before := records()
		code, out := runVerify(t, "-repo", repo, "-dry-run")
		if code != 1 || !strings.Contains(out, "4 ok, 1 missing, 4 differ, 0 could not be checked") || !strings.Contains(out, "0 records updated") {
			t.Errorf("%s: verify -dry-run exit %d:\n%s", scheme, code, out)
		}
		for p, r := range records() {
			if r.Verified != nil || r.Exists != before[p].Exists {
				t.Errorf("%s: the dry run changed %s: %+v", scheme, p, r)
			}
		}

		code, out = runVerify(t, "-repo", repo, "-workers", "3", "-batch", "2")
		if code != 1 {
			t.Errorf("%s: verify exit %d, want 1 (missing and different files):\n%s", scheme, code, out)
		}
		if !strings.Contains(out, "9 of 9 records checked: 4 ok, 1 missing, 4 differ, 0 could not be checked; "+
			"1 checksums in no form verify knows (existence and size only); 9 records updated; ") || !strings.Contains(out, " records/s).") {
			t.Errorf("%s: summary:\n%s", scheme, out)
		}
		got := records()
		for _, f := range files {
			r := got[f.path]
			line := fmt.Sprintf("%-8s %-6d %s  ", f.want, r.ID, f.path)
			switch {
			case r.Verified == nil:
				t.Errorf("%s %s: not verified: %+v", scheme, f.path, r)
			case f.want == "ok" && (!r.Exists || r.Problem != nil):
				t.Errorf("%s %s: %+v, want existing without problem", scheme, f.path, r)
			case f.want != "ok" && (r.Exists || r.Problem == nil || !strings.Contains(*r.Problem, f.problem)):
				t.Errorf("%s %s: %+v, want not existing, problem %q", scheme, f.path, r, f.problem)
			case f.want != "ok" && !strings.Contains(out, line+*r.Problem):
				t.Errorf("%s %s: output lacks %q:\n%s", scheme, f.path, line+*r.Problem, out)
			}
		}
	}
	// The site answers follow: the missing file has no copy at the site.
	a := decode[pageJSON[fileJSON]](t, c.get("/api/v2/files?site="+url.QueryEscape(site)+"&exists=false"))
	if a.Count != 10 {
		t.Errorf("%d records found missing or different at %s, want 10", a.Count, site)
	}

	// Fixed: every file right, verify finds nothing and says so.
	for _, f := range files {
		if f.fix != "" {
			if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(f.path)), []byte(f.fix), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, scheme := range []string{"file", "http"} {
		repo := repos[scheme]
		code, out := runVerify(t, "-repo", repo)
		if code != 0 || !strings.Contains(out, "9 of 9 records checked: 9 ok, 0 missing, 0 differ") {
			t.Errorf("%s: verify after the fixes, exit %d:\n%s", scheme, code, out)
		}
		for _, r := range c.files("repository=" + url.QueryEscape(repo)).Results {
			if !r.Exists || r.Problem != nil || r.Verified == nil {
				t.Errorf("%s: after the fixes %+v", scheme, r)
			}
		}
	}

	// Failures: exit 2 (usage), 3 (the server refused), the reason said.
	s3 := c.mkRepo(uniqz("s3"), map[string]any{"type": "s3", "base_url": "s3://bucket/calib", "site": site}).Name
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"-repo", uniqz("nope")}, 3, "not found"},
		{[]string{"-repo", s3}, 2, "verify reads file:// and http(s):// repositories, not s3://"},
		{[]string{}, 2, "-repo is required"},
		{[]string{"-repo", repos["file"], "-reader", "ftp://x"}, 2, "not an http(s) URL"},
	} {
		if code, out := runVerify(t, tc.args...); code != tc.code || !strings.Contains(out, tc.says) {
			t.Errorf("verify %q: exit %d, want %d saying %q:\n%s", tc.args, code, tc.code, tc.says, out)
		}
	}
	// A server that fails is no verdict on the file: exit 2, the record
	// left as it is.
	web.Close()
	before := c.files("repository=" + url.QueryEscape(repos["http"])).Results
	if code, out := runVerify(t, "-repo", repos["http"]); code != 2 || !strings.Contains(out, "9 could not be checked") {
		t.Errorf("verify with the web server down: exit %d:\n%s", code, out)
	}
	if after := c.files("repository=" + url.QueryEscape(repos["http"])).Results; !reflect.DeepEqual(after, before) {
		t.Errorf("records changed by a run that could check nothing:\n%v\n%v", before, after)
	}
}

// TestRepositoriesPermissions: every repository write asks the permission
// plugin for role admin on GlobalTag "" (docs/design.md "Payload
// repositories"): with the Belle II plugin, a b2cdb:admin pattern must
// match the empty name; reads need no token; verify sends -token.
func TestRepositoriesPermissions(t *testing.T) {
	t.Parallel()
	secret := "repos-" + md5hex(uniq("secret"))
	sv := startServers(t,
		"CDB_AUTH_CLASS=cdb_rest.authentication.CustomJWTAuthentication",
		"JWT_SECRET="+secret,
		"CDB_PERMISSION_PLUGIN_CLASS=cdb_rest.permissions_plugins.belle2.Belle2PermissionPlugin")
	e := &authEnv{t: t, base: sv.ReaderURL, writer: sv.WriterURL, secret: secret, rec: &recorder{}}
	root, gtAdmin, anon := e.as(admin(".*")), e.as(admin("sPHENIX_.+")), e.raw("")
	root.ensureStatus("unlocked")
	gt := root.mkGT("unlocked")
	iov := root.mustInsert(gt, root.mkPT(), "p.root", P{0, 0}, open)
	dir := t.TempDir()
	repoBody := map[string]any{"name": "disk", "type": "posix", "base_url": "file://" + dir, "site": "HERE"}
	for _, c := range []*client{anon, gtAdmin} {
		wantErr(t, c.do("POST", "/api/v2/repositories", repoBody), "", "", 403)
		wantErr(t, c.do("POST", "/api/v2/repository-types", map[string]any{"name": "x"}), "", "", 403)
	}
	root.mkRepo("disk", map[string]any{"type": "posix", "base_url": "file://" + dir, "site": "HERE"})
	f := root.mkFile(iov, "disk", "p.root")
	for _, c := range []*client{anon, gtAdmin} {
		wantErr(t, c.do("PATCH", fmt.Sprintf("/api/v2/files/%d", f.ID), map[string]any{"exists": false}), "", "", 403)
		wantErr(t, c.do("DELETE", "/api/v2/repositories/disk", nil), "", "", 403)
		if r := c.get("/api/v2/files?repository=disk"); r.Status != 200 {
			t.Errorf("a read without the right: %s", r)
		}
	}
	// verify: the check needs no right, recording it does.
	run := func(args ...string) (int, string) {
		cmd := exec.CommandContext(t.Context(), binary, append([]string{"verify", "-reader", sv.ReaderURL, "-repo", "disk"}, args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := run(); code != 3 || !strings.Contains(out, "HTTP 403") {
		t.Errorf("verify without a token: exit %d, want 3 and the writer's 403:\n%s", code, out)
	}
	tok := e.tok(admin(".*"))
	if code, out := run("-token", tok); code != 1 || strings.Contains(out, tok) {
		t.Errorf("verify with a token: exit %d, want 1 (p.root is missing), the token never shown:\n%s", code, out)
	}
	if r := root.files("repository=disk").Results; len(r) != 1 || r[0].Exists {
		t.Errorf("after verify: %+v, want p.root found missing", r)
	}
}
