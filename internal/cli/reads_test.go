package cli_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/cli"
)

// TestPing: cli_npc's checkConnection. A condcache reader answers the
// compatible API and is ready; the token is said to be given, never shown.
func TestPing(t *testing.T) {
	t.Parallel()
	var p cli.Ping
	okJSON(t, &p, "ping")
	if !p.OK || p.URL != servers.ReaderURL || p.Ready == nil || !*p.Ready || p.Token {
		t.Errorf("ping: %+v", p)
	}
	const token = "ping-secret-0815"
	if out := ok(t, "ping", "--token", token); !strings.Contains(out, "connection is ok") || !strings.Contains(out, "condcache, ready") ||
		!strings.Contains(out, "token given (not shown)") || strings.Contains(out, token) {
		t.Errorf("ping table:\n%s", out)
	}
	want(t, run(t, "ping", "extra"), cli.ExitUsage, "unknown command")
}

// TestReads: the listing commands find what was written, as tables and
// as JSON, with their filters; status changes; the lookup's strict and
// asof.
func TestReads(t *testing.T) {
	t.Parallel()
	gt, pt, list := newGT(t, 10)

	// gt list: the table and the filters.
	if out := ok(t, "gt", "list", "--search", gt); !strings.Contains(out, "NAME") || !strings.Contains(out, gt) {
		t.Errorf("gt list --search:\n%s", out)
	}
	var gts []cli.GTSummary
	if okJSON(t, &gts, "gt", "list", "--search", gt); len(gts) != 1 || gts[0].Name != gt || gts[0].Lists != 1 || gts[0].IOVs != 1 {
		t.Errorf("gt list --search -o json: %+v", gts)
	}
	okJSON(t, &gts, "gt", "list")
	found := false
	for _, g := range gts {
		found = found || g.Name == gt
	}
	if !found {
		t.Errorf("gt list lacks %s", gt)
	}

	// freeze, unlock: the status follows, and the status filter sees it.
	ok(t, "gt", "freeze", gt)
	if okJSON(t, &gts, "gt", "list", "--search", gt, "--status", "frozen"); len(gts) != 1 {
		t.Errorf("gt list --status frozen: %+v", gts)
	}
	want(t, run(t, "iov", "add", "--list", list, "--url", "x.root", "--checksum", "c", "--from", "50", "--yes"), cli.ExitRefused, "Global Tag is frozen.")
	ok(t, "gt", "unlock", gt)
	var g cli.GTFull
	if okJSON(t, &g, "gt", "show", gt); g.Status.Name != "unlocked" {
		t.Errorf("after unlock: %s", g.Status.Name)
	}
	if out := ok(t, "gt", "show", gt, "--iovs"); !strings.Contains(out, "r10.root") || !strings.Contains(out, "10.0") {
		t.Errorf("gt show --iovs:\n%s", out)
	}

	// pt list, pl list.
	if out := ok(t, "pt", "list"); !strings.Contains(out, pt) {
		t.Errorf("pt list lacks %s", pt)
	}
	var pls []cli.PLBrowse
	if okJSON(t, &pls, "pl", "list", "--gt", gt); len(pls) != 1 || pls[0].Name != list || pls[0].PayloadType != pt || pls[0].IOVs != 1 {
		t.Errorf("pl list --gt: %+v", pls)
	}
	if out := ok(t, "pl", "list", "--type", pt); !strings.Contains(out, list) || !strings.Contains(out, gt) {
		t.Errorf("pl list --type:\n%s", out)
	}

	// lookup --asof: before the IOV at 5 was added, run 7 had no payload.
	before := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(50 * time.Millisecond)
	ok(t, "iov", "add", "--gt", gt, "--type", pt, "--url", "r5.root", "--checksum", "c", "--from", "5", "--to", "10", "--yes")
	var l cli.V2Lookup
	if okJSON(t, &l, "lookup", gt, "7"); len(l.Payloads) != 1 || l.Payloads[0].URL != "r5.root" {
		t.Errorf("lookup at 7: %+v", l)
	}
	if okJSON(t, &l, "lookup", gt, "7", "--asof", before); len(l.Payloads) != 0 || l.AsOf == nil {
		t.Errorf("lookup at 7 --asof before the attach: %+v", l)
	}
	// --strict: an IOV that ended before the point answers nothing.
	gt2, pt2, _ := newGT(t)
	ok(t, "iov", "add", "--gt", gt2, "--type", pt2, "--url", "short.root", "--checksum", "c", "--from", "100", "--to", "110", "--yes")
	if okJSON(t, &l, "lookup", gt2, "120"); len(l.Payloads) != 1 {
		t.Errorf("lookup at 120: %+v", l)
	}
	if okJSON(t, &l, "lookup", gt2, "120", "--strict"); len(l.Payloads) != 0 || len(l.Missing) != 1 || l.Missing[0] != pt2 {
		t.Errorf("lookup at 120 --strict: %+v", l)
	}
	if out := ok(t, "lookup", gt2, "120", "--strict"); !strings.Contains(out, pt2+": no payload") {
		t.Errorf("lookup --strict table:\n%s", out)
	}

	// iov rm --id: by ids, all or none.
	var iovs []cli.PIOVBrowse
	okJSON(t, &iovs, "iov", "list", "--gt", gt2)
	if len(iovs) != 1 {
		t.Fatalf("iov list --gt: %+v", iovs)
	}
	want(t, run(t, "iov", "rm", "--id", "999999999", "--yes"), cli.ExitRefused, "")
	ok(t, "iov", "rm", "--id", itoa(iovs[0].ID), "--yes")
	if n := countIOVs(t, "--gt", gt2); n != 0 {
		t.Errorf("iov rm --id left %d IOVs", n)
	}

	// repo list shows a repository made by repo create.
	repo := uniq("disk")
	ok(t, "repo", "create", repo, "--base-url", "file://"+t.TempDir()+"/", "--site", "SITE")
	if out := ok(t, "repo", "list"); !strings.Contains(out, repo) || !strings.Contains(out, "SITE") {
		t.Errorf("repo list:\n%s", out)
	}
	want(t, run(t, "repo", "create", uniq("r")), cli.ExitUsage, "--base-url and --site are required")

	// audit as a table names the writes.
	if out := ok(t, "audit", "--gt", gt); !strings.Contains(out, "CreateGlobalTag") {
		t.Errorf("audit table:\n%s", out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestHostileNames: names with quotes, markup, RTL text, 255 characters
// or a terminal escape are shown as text: tables quote what a terminal
// would not show as itself, and no escape reaches the terminal raw.
func TestHostileNames(t *testing.T) {
	t.Parallel()
	u := uniq("")
	for _, name := range []string{
		`<script>alert(1)</script>` + u,
		`quo"te'` + u,
		"\u05e9\u05dc\u05d5\u05dd\u202e" + u,
		u + strings.Repeat("x", 255-len(u)),
		"esc\x1b[31mred" + u,
	} {
		r := run(t, "gt", "create", name)
		if r.code == cli.ExitRefused {
			// The server may refuse a name; the refusal is shown as text too.
			if strings.Count(r.err, "no more than 80 characters") > 1 {
				t.Errorf("gt create %q: the refusal repeats itself: %s", name, r.err)
			}
			if strings.Contains(r.out+r.err, "\x1b") {
				t.Errorf("gt create %q: a raw escape in the refusal: %q", name, r.err)
			}
			continue
		}
		if r.code != 0 {
			t.Errorf("gt create %q: exit %d %s", name, r.code, r.err)
			continue
		}
		for _, args := range [][]string{{"gt", "list", "--search", u}, {"gt", "show", name}, {"lookup", name, "1"}} {
			out := ok(t, args...)
			if strings.Contains(out, "\x1b") {
				t.Errorf("%q: a raw escape reaches the terminal:\n%q", args, out)
			}
			if !strings.Contains(out, name) && !strings.Contains(out, strconv.Quote(name)) {
				t.Errorf("%q: the name is not shown as text:\n%s", args, out)
			}
		}
		var g cli.GTFull
		if okJSON(t, &g, "gt", "show", name); g.Name != name {
			t.Errorf("gt show -o json: name %q, want %q", g.Name, name)
		}
	}
}
