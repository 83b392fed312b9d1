package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/condcache/condcache/internal/cli"
	"github.com/condcache/condcache/sqlite"
)

// TestCalibrationWorkflow is the README's calibration workflow from the
// CLI alone (README "Calibration workflow from the command line"): a GT,
// types, lists, payloads put into a file:// repository, an attach
// previewed and applied, lock, clone, diff, export.
func TestCalibrationWorkflow(t *testing.T) {
	gt, gt2 := uniq("Calib"), uniq("Calib_v2")
	beam, tpc := uniq("Beam"), uniq("Tpc")
	repo := uniq("disk")
	dir := t.TempDir()
	names := []string{gt2, gt, beam, tpc, repo, dir}

	ok(t, "gt", "create", gt, "--author", "alice")
	for _, pt := range []string{beam, tpc} {
		ok(t, "pt", "create", pt)
		var pl cli.PLWrite
		okJSON(t, &pl, "pl", "create", pt)
		ok(t, "pl", "attach", pl.Name, gt)
	}
	ok(t, "repo", "create", repo, "--base-url", "file://"+dir+"/", "--site", "BNL")

	// Payload files, copied in as nopayloadclient's insertPayload does.
	src := t.TempDir()
	put := func(name, content, pt, from string, extra ...string) string {
		f := filepath.Join(src, name)
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return ok(t, append([]string{"payload", "put", f, "--type", pt, "--gt", gt, "--from", from, "--repo", repo}, extra...)...)
	}
	put("beam100.root", "beam at run 100\n", beam, "100", "--yes")
	put("tpc100.root", "tpc at run 100\n", tpc, "100", "--yes")
	// A dry run shows what would change and leaves nothing behind.
	f := filepath.Join(src, "beam200.root")
	if err := os.WriteFile(f, []byte("beam from run 200\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	preview := ok(t, "payload", "put", f, "--type", beam, "--gt", gt, "--from", "200", "--repo", repo, "--dry-run", "-o", "json")
	golden(t, "workflow-put-dry-run", preview, names...)
	sum, _, err := cli.FileMD5(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(cli.PayloadPath(beam, sum, f)))); !os.IsNotExist(err) {
		t.Errorf("a dry run copied the file: %v", err)
	}
	if out := ok(t, "iov", "list", "--gt", gt, "--type", beam); strings.Contains(out, "beam200") {
		t.Errorf("a dry run attached the IOV:\n%s", out)
	}
	ok(t, "payload", "put", f, "--type", beam, "--gt", gt, "--from", "200", "--repo", repo, "--yes")
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(cli.PayloadPath(beam, sum, f)))); err != nil {
		t.Errorf("payload put did not copy the file: %v", err)
	}

	// The lookup answers the new payloads, with their copies at the site.
	var l cli.V2Lookup
	okJSON(t, &l, "lookup", gt, "250", "--site", "BNL")
	if len(l.Payloads) != 2 || l.Payloads[0].URL != cli.PayloadPath(beam, sum, f) || l.Payloads[0].Site == nil || !l.Payloads[0].Site.Available {
		t.Errorf("lookup at 250: %+v", l.Payloads)
	}
	golden(t, "workflow-lookup", ok(t, "lookup", gt, "250", "--site", "BNL", "-o", "json"), names...)

	// Lock, clone, change the clone with a previewed attach, diff.
	ok(t, "gt", "lock", gt)
	ok(t, "gt", "clone", gt, gt2)
	dry := ok(t, "iov", "add", "--gt", gt2, "--type", beam, "--url", "beam150.root", "--checksum", "0123456789abcdef0123456789abcdef", "--from", "150", "--to", "180", "--dry-run", "-o", "json")
	golden(t, "workflow-attach-dry-run", dry, names...)
	ok(t, "iov", "add", "--gt", gt2, "--type", beam, "--url", "beam150.root", "--checksum", "0123456789abcdef0123456789abcdef", "--from", "150", "--to", "180", "--yes")
	r := run(t, "gt", "diff", gt, gt2, "-o", "json")
	if r.code != cli.ExitFound {
		t.Errorf("gt diff of GTs that differ: exit %d, want 1\n%s", r.code, r.err)
	}
	golden(t, "workflow-diff", r.out, names...)
	if r := run(t, "gt", "diff", gt, gt); r.code != 0 || !strings.Contains(r.out, "answer the same") {
		t.Errorf("gt diff of a GT with itself: exit %d\n%s%s", r.code, r.out, r.err)
	}
	golden(t, "workflow-show", ok(t, "gt", "show", gt2, "-o", "json"), names...)

	// The locked GT refuses an attach that would change what it answers.
	r = run(t, "iov", "add", "--gt", gt, "--type", beam, "--url", "late.root", "--checksum", "x", "--from", "150", "--yes")
	want(t, r, cli.ExitRefused, "LOCKED")

	// Export: a file the offline reader serves.
	out := filepath.Join(t.TempDir(), "calib.sqlite")
	ok(t, "export", "-o", out, gt2)
	rd, err := sqlite.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if in := rd.Info(); in.GlobalTag != gt2 || in.IOVs != 5 {
		t.Errorf("export: %+v, want %s with 5 IOVs", in, gt2)
	}
}
