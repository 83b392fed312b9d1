package cli_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/condcache/condcache/internal/cli"
)

// newGT makes a GT with one list of a new type holding IOVs at the given
// runs (url rR.root), and returns the GT, type and list names.
func newGT(t *testing.T, runs ...int) (gt, pt, list string) {
	t.Helper()
	gt, pt = uniq("G"), uniq("T")
	ok(t, "gt", "create", gt)
	ok(t, "pt", "create", pt)
	var pl cli.PLWrite
	okJSON(t, &pl, "pl", "create", pt)
	ok(t, "pl", "attach", pl.Name, gt)
	for _, r := range runs {
		ok(t, "iov", "add", "--list", pl.Name, "--url", fmt.Sprintf("r%d.root", r), "--checksum", "c", "--from", fmt.Sprint(r), "--yes")
	}
	return gt, pt, pl.Name
}

// TestExitCodes: 0 ok, 1 found, 2 usage, 3 refused, 4 unreachable, each
// with its message on stderr, the server's detail included.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	gt, _, _ := newGT(t, 10)
	want(t, run(t, "gt", "show"), cli.ExitUsage, "accepts 1 arg")
	want(t, run(t, "gt", "list", "--bogus"), cli.ExitUsage, "unknown flag: --bogus")
	want(t, run(t, "gt", "nosuch"), cli.ExitUsage, "")
	want(t, run(t, "nosuchcommand"), cli.ExitUsage, `unknown command "nosuchcommand"`)
	want(t, run(t, "gt", "list", "-o", "xml"), cli.ExitUsage, `-o="xml": must be one of table, json`)
	want(t, run(t, "lookup", gt, "abc"), cli.ExitUsage, "not a run")
	want(t, run(t, "gt", "show", uniq("missing")), cli.ExitRefused, "Not found. (HTTP 404)")
	want(t, run(t, "gt", "create", gt), cli.ExitRefused, "global tag with this name already exists.")
	want(t, run(t, "pl", "attach", uniq("nolist"), gt), cli.ExitRefused, "not found")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	want(t, runWith(t, cmdOpts{url: closed}, "gt", "list"), cli.ExitUnreachable, "cannot reach "+closed)
	want(t, run(t, "gt", "diff", gt, gt, "--at", "10"), 0, "")
	if r := run(t, "gt", "check", gt); r.code != 0 || !strings.Contains(r.out, "0 findings") {
		t.Errorf("gt check of a clean GT: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

// TestTokenNeverShown: a token given by flag, variable or config file is
// sent, and no message shows it.
func TestTokenNeverShown(t *testing.T) {
	t.Parallel()
	const token = "not-a-jwt-but-secret-4711"
	for _, r := range []result{
		run(t, "gt", "show", uniq("missing"), "--token", token),
		runWith(t, cmdOpts{env: []string{"CONDCACHE_TOKEN=" + token}}, "gt", "create", "", "--dry-run"),
		runWith(t, cmdOpts{url: "http://127.0.0.1:1"}, "gt", "create", "x", "--token", token),
		run(t, "gt", "list", "--token", token, "--print-config"),
	} {
		if strings.Contains(r.out+r.err, token) {
			t.Errorf("the token shows:\nstdout: %s\nstderr: %s", r.out, r.err)
		}
	}
	if r := run(t, "gt", "list", "--token", token, "--print-config"); !strings.Contains(r.out, "flag -token") {
		t.Errorf("--print-config: %s", r.out)
	}
}

// TestConnectionSources: --url beats CONDCACHE_URL, which beats the
// config file; the config file alone works; a bad one stops the command.
func TestConnectionSources(t *testing.T) {
	t.Parallel()
	cfgDir := t.TempDir()
	file := filepath.Join(cfgDir, "condcache", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("url: " + servers.ReaderURL + "\n")
	noURL := func(env ...string) cmdOpts {
		return cmdOpts{url: "http://127.0.0.1:1", env: append([]string{"XDG_CONFIG_HOME=" + cfgDir}, env...)}
	}
	// CONDCACHE_URL (a closed port) beats the file.
	want(t, runWith(t, noURL(), "pt", "list"), cli.ExitUnreachable, "127.0.0.1:1")
	// The file alone.
	r := runWith(t, cmdOpts{url: "-", env: []string{"XDG_CONFIG_HOME=" + cfgDir}}, "pt", "list", "--print-config")
	if !strings.Contains(r.out, "file "+file) {
		t.Errorf("--print-config with only the file: %s%s", r.out, r.err)
	}
	if r := runWith(t, cmdOpts{url: "-", env: []string{"XDG_CONFIG_HOME=" + cfgDir}}, "pt", "list"); r.code != 0 {
		t.Errorf("pt list with only the file: exit %d %s", r.code, r.err)
	}
	// The flag beats the variable.
	if r := runWith(t, noURL(), "pt", "list", "--url", servers.ReaderURL); r.code != 0 {
		t.Errorf("--url: exit %d %s", r.code, r.err)
	}
	// Single-dash long flags, as every condcache command took them.
	if r := runWith(t, noURL(), "pt", "list", "-url", servers.ReaderURL, "-output", "json"); r.code != 0 || !strings.HasPrefix(r.out, "[") {
		t.Errorf("-url -output json: exit %d %s%s", r.code, r.out, r.err)
	}
	// CONDCACHE_CONFIG names another file; a bad file stops the command.
	bad := filepath.Join(cfgDir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("url: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want(t, runWith(t, cmdOpts{env: []string{"CONDCACHE_CONFIG=" + bad}}, "pt", "list", "--url", servers.ReaderURL), cli.ExitUsage, "bad.yaml")
	typo := filepath.Join(cfgDir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("urll: http://x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want(t, runWith(t, cmdOpts{env: []string{"CONDCACHE_CONFIG=" + typo}}, "pt", "list", "--url", servers.ReaderURL), cli.ExitUsage, "urll")
	want(t, runWith(t, cmdOpts{env: []string{"CONDCACHE_CONFIG=" + filepath.Join(cfgDir, "none.yaml")}}, "pt", "list"), cli.ExitUsage, "no such file")
}

// TestWritesAndDryRuns: every write's --dry-run writes nothing and
// answers the server's dry run; the real write then does it.
func TestWritesAndDryRuns(t *testing.T) {
	t.Parallel()
	gt, pt, list := newGT(t, 10, 20)
	other := uniq("Other")
	var d cli.DryRun
	okJSON(t, &d, "gt", "create", other, "--dry-run")
	if !d.DryRun || d.ChangesTotal != 1 {
		t.Errorf("gt create --dry-run: %+v", d)
	}
	want(t, run(t, "gt", "show", other), cli.ExitRefused, "Not found")
	okJSON(t, &d, "gt", "clone", gt, other, "--dry-run")
	want(t, run(t, "gt", "show", other), cli.ExitRefused, "Not found")
	ok(t, "gt", "create", uniq("L"), "--status", "locked") // the status exists
	okJSON(t, &d, "gt", "lock", gt, "--dry-run")
	var g cli.GTFull
	if okJSON(t, &g, "gt", "show", gt); g.Status.Name != "unlocked" {
		t.Errorf("lock --dry-run locked it: %s", g.Status.Name)
	}
	okJSON(t, &d, "pt", "create", uniq("T"), "--dry-run")
	okJSON(t, &d, "pl", "create", pt, "--dry-run")
	okJSON(t, &d, "iov", "rm", gt, pt, "20", "--dry-run")
	if d.ChangesTotal != 1 || len(d.AnswerChanges) != 1 {
		t.Errorf("iov rm --dry-run: %+v", d)
	}
	// iov add --dry-run: the preview's detached IOV is deleted again.
	purl := uniq("p") + ".root"
	okJSON(t, &d, "iov", "add", "--list", list, "--url", purl, "--checksum", "c", "--from", "15", "--to", "18", "--dry-run")
	if len(d.AnswerChanges) != 1 || d.AnswerChanges[0].After == nil || d.AnswerChanges[0].After.URL != purl {
		t.Errorf("iov add --dry-run: %+v", d.AnswerChanges)
	}
	if n := countIOVs(t, "--search", purl); n != 0 {
		t.Errorf("iov add --dry-run left %d IOVs behind", n)
	}
	// Without a terminal and without --yes nothing is asked or attached.
	want(t, run(t, "iov", "add", "--list", list, "--url", purl, "--checksum", "c", "--from", "15"), cli.ExitUsage, "give --yes")
	if n := countIOVs(t, "--search", purl); n != 0 {
		t.Errorf("a refused iov add left %d IOVs behind", n)
	}
	want(t, run(t, "gt", "delete", gt), cli.ExitUsage, "give --yes")
	// Deletes: the IOV, then the GT.
	if r := run(t, "iov", "rm", gt, pt, "20", "--yes"); r.code != 0 || !strings.Contains(r.out, "deleted") {
		t.Errorf("iov rm --yes: %d %s%s", r.code, r.out, r.err)
	}
	want(t, run(t, "iov", "rm", gt, pt, "20", "--yes"), cli.ExitRefused, "doesn't exist")
	if r := run(t, "gt", "delete", gt, "--yes"); r.code != 0 || !strings.Contains(r.out, "deleted") {
		t.Errorf("gt delete --yes: %d %s%s", r.code, r.out, r.err)
	}
	want(t, run(t, "gt", "show", gt), cli.ExitRefused, "Not found")
}

// countIOVs counts the IOVs `iov list` shows with these flags.
func countIOVs(t *testing.T, flags ...string) int {
	t.Helper()
	var iovs []cli.PIOVBrowse
	okJSON(t, &iovs, append([]string{"iov", "list"}, flags...)...)
	return len(iovs)
}

// TestBulk: a CSV and a JSON file, chunked; a bad row loads nothing of
// its request; the report says what was committed.
func TestBulk(t *testing.T) {
	t.Parallel()
	gt, _, list := newGT(t)
	dir := t.TempDir()
	csv := filepath.Join(dir, "iovs.csv")
	var b strings.Builder
	b.WriteString("payload_url,checksum,major_iov,minor_iov\n")
	for i := range 250 {
		fmt.Fprintf(&b, "b%d.root,c%d,%d,0\n", i, i, 1000+i)
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var rep cli.BulkReport
	okJSON(t, &rep, "iov", "bulk", csv, "--list", list, "--chunk", "100", "--dry-run")
	if rep.Created != 250 || rep.Requests != 3 || !rep.DryRun || countIOVs(t, "--list", list) != 0 {
		t.Errorf("bulk --dry-run: %+v, %d IOVs", rep, countIOVs(t, "--list", list))
	}
	out := ok(t, "iov", "bulk", csv, "--list", list, "--chunk", "100", "-o", "json")
	golden(t, "bulk-csv", out, gt, list, csv)
	if n := countIOVs(t, "--list", list); n != 250 {
		t.Errorf("bulk: %d IOVs, want 250", n)
	}
	js := filepath.Join(dir, "iovs.json")
	rows, _ := json.Marshal([]map[string]any{{"payload_url": "j1.root", "major_iov": 5000, "minor_iov": 0}, {"payload_url": "j2.root", "major_iov": 5001, "minor_iov": 0, "payload_list": list}})
	if err := os.WriteFile(js, rows, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "iov", "bulk", js, "--list", list); r.code != 0 || !strings.Contains(r.out, "2 of 2 IOVs created in 1 request") || !strings.Contains(r.out, "rows/s") {
		t.Errorf("bulk json: %d %s%s", r.code, r.out, r.err)
	}
	// A bad second chunk: the first is committed and said so, exit 3.
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("payload_url,major_iov,minor_iov,payload_list\na.root,1,0,"+list+"\nb.root,2,0,"+uniq("nolist")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "iov", "bulk", bad, "--chunk", "1")
	want(t, r, cli.ExitRefused, "the first 1 rows are committed")
	if n := countIOVs(t, "--list", list); n != 253 {
		t.Errorf("after the bad load: %d IOVs, want 253", n)
	}
	want(t, run(t, "iov", "bulk", filepath.Join(dir, "none.csv")), cli.ExitUsage, "no such file")
	want(t, run(t, "iov", "bulk", csv), cli.ExitUsage, "give --list")
}

// TestNoticesAuditUsage: notice add, list, rm; the audit trail names the
// CLI's writes; usage through the server.
func TestNoticesAuditUsage(t *testing.T) {
	t.Parallel()
	gt, _, _ := newGT(t, 10)
	var n cli.Notice
	okJSON(t, &n, "notice", "add", "--importance", "critical", "--description", "**Bad** gain", "--gt", gt, "--runs", "5-15")
	if n.Importance != "CRITICAL" || len(n.GlobalTags) != 1 {
		t.Errorf("notice add: %+v", n)
	}
	var l cli.V2Lookup
	if okJSON(t, &l, "lookup", gt, "10"); len(l.Notices) != 1 || l.Notices[0].ID != n.ID {
		t.Errorf("lookup carries %+v, want notice %d", l.Notices, n.ID)
	}
	if out := ok(t, "lookup", gt, "10"); !strings.Contains(out, "NOTICE") || !strings.Contains(out, "r10.root") {
		t.Errorf("lookup table:\n%s", out)
	}
	var ns []cli.Notice
	if okJSON(t, &ns, "notice", "list", "--gt", gt); len(ns) != 1 {
		t.Errorf("notice list: %+v", ns)
	}
	want(t, run(t, "notice", "add", "--importance", "SEVERE", "--description", "x", "--gt", gt), cli.ExitRefused, "importance")
	ok(t, "notice", "rm", fmt.Sprint(n.ID))
	if okJSON(t, &ns, "notice", "list", "--gt", gt); len(ns) != 0 {
		t.Errorf("notice list after rm: %+v", ns)
	}
	var p cli.Page[cli.AuditEntry]
	okJSON(t, &p, "audit", "--gt", gt, "--limit", "100")
	endpoints := map[string]bool{}
	for _, e := range p.Results {
		endpoints[e.Endpoint] = true
		if e.Actor != "condcache-cli" {
			t.Errorf("audit entry %d: actor %q, want the CLI's client name", e.ID, e.Actor)
		}
	}
	for _, e := range []string{"CreateGlobalTag", "AttachPayloadList", "AttachPayloadIOV", "v2.CreateNotice", "v2.DeleteNotice"} {
		if !endpoints[e] {
			t.Errorf("audit of %s lacks %s: %v", gt, e, endpoints)
		}
	}
	if r := run(t, "usage", "-url", servers.ReaderURL, "-gt", gt, "-o", "json"); r.code != 0 || !strings.Contains(r.out, `"results"`) {
		t.Errorf("usage -url: %d %s%s", r.code, r.out, r.err)
	}
	want(t, run(t, "usage", "-url", servers.ReaderURL, "-primary", "postgres://x@y/z"), cli.ExitUsage, "not both")
}

// TestCompletion: the shells' completion scripts, and completing a
// subcommand.
func TestCompletion(t *testing.T) {
	t.Parallel()
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if out := ok(t, "completion", sh); !strings.Contains(out, "condcache") {
			t.Errorf("completion %s: %.200s", sh, out)
		}
	}
	if out := ok(t, "__complete", "gt", "lo"); !strings.Contains(out, "lock") {
		t.Errorf("__complete gt lo: %s", out)
	}
	if out := ok(t, "__complete", "reader", "--ad"); !strings.Contains(out, "--addr") {
		t.Errorf("__complete reader --ad: %s", out)
	}
}
