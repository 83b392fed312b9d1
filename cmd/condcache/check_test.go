package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/condcache/condcache"
)

// runCommand runs condcache with args through runMain, its output in
// buffers, and returns the exit status.
func runCommand(args []string, e func(string) (string, bool), out, errOut *bytes.Buffer) int {
	oldOut, oldErr := stdout, stderr
	stdout, stderr = out, errOut
	defer func() { stdout, stderr = oldOut, oldErr; processLogger = nil }()
	return runMain(args, e)
}

func TestCheckUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"-bogus"},
		{"-o", "xml"},
		{"-iov-mode", "sometimes"},
		{"-gt", "x", "extra"},
		{"-primary", "postgres://u:hunter2@127.0.0.1:1/db?bad=%zz"},
	} {
		var stdout, stderr bytes.Buffer
		if code := runCommand(append([]string{"check"}, args...), os.LookupEnv, &stdout, &stderr); code != 2 {
			t.Errorf("check %q: exit %d, want 2", args, code)
		}
		if stderr.Len() == 0 || stdout.Len() != 0 {
			t.Errorf("check %q: want a message on stderr only; stdout %q, stderr %q", args, stdout.String(), stderr.String())
		}
		if strings.Contains(stderr.String(), "hunter2") {
			t.Errorf("check %q: the password reached stderr: %s", args, stderr.String())
		}
	}
	var stderr bytes.Buffer
	if code := runCommand([]string{"check", "-h"}, os.LookupEnv, &bytes.Buffer{}, &stderr); code != 0 || !strings.Contains(stderr.String(), "usage: condcache check") {
		t.Errorf("check -h: exit %d, %s", code, stderr.String())
	}
	// A database that cannot be reached is exit 4, its password hidden.
	for _, dsn := range []string{
		"postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2&sslmode=disable",
		"host=127.0.0.1 port=1 user=u password=hunter2 sslmode=disable connect_timeout=2",
	} {
		var stdout, stderr bytes.Buffer
		if code := runCommand([]string{"check", "-primary", dsn}, os.LookupEnv, &stdout, &stderr); code != 4 {
			t.Errorf("check -primary %s: exit %d, want 4 (unreachable)", dsn, code)
		}
		if stderr.Len() == 0 || stdout.Len() != 0 || strings.Contains(stderr.String(), "hunter2") {
			t.Errorf("check -primary %s: want a message on stderr only, without the password; stdout %q, stderr %q", dsn, stdout.String(), stderr.String())
		}
	}
}

func TestCheckHelpShowsNoPassword(t *testing.T) {
	t.Setenv("CONDCACHE_PRIMARY_DSN", "postgres://u:hunter2@db/x")
	var stderr bytes.Buffer
	runCommand([]string{"check", "-h"}, os.LookupEnv, &bytes.Buffer{}, &stderr)
	if strings.Contains(stderr.String(), "hunter2") {
		t.Errorf("check -h shows the password:\n%s", stderr.String())
	}
}

func TestCheckText(t *testing.T) {
	gt := "GT"
	findings := []condcache.Finding{
		{Kind: condcache.FindingDuplicateType, GlobalTag: "GT", PayloadType: "Beam", IDs: []int64{3, 7}, Detail: "lists Beam_3 (3) and Beam_7 (7) …"},
		{Kind: condcache.FindingDuplicateStart, GlobalTag: "GT", PayloadType: "Beam", PayloadList: "Beam_7", IDs: []int64{12, 15}, Detail: "IOVs 12 and 15 …"},
		{Kind: condcache.FindingOverlap, GlobalTag: "GT", PayloadType: "Beam", PayloadList: "Beam_7", IDs: []int64{16, 17}, Detail: "IOV 16 …"},
		{Kind: condcache.FindingCombIOVMismatch, GlobalTag: "GT", PayloadType: "my type", PayloadList: "L_1", IDs: []int64{1000}, Detail: "IOV 1000 …"},
	}
	var b bytes.Buffer
	writeCheckText(&b, &gt, findings)
	want := `global tag GT, type Beam
  duplicate_type     3 7    lists Beam_3 (3) and Beam_7 (7) …
global tag GT, type Beam, list Beam_7
  duplicate_start    12 15  IOVs 12 and 15 …
  overlap            16 17  IOV 16 …
global tag GT, type "my type", list L_1
  comb_iov_mismatch  1000   IOV 1000 …

4 findings in 1 global tag: 1 comb_iov_mismatch, 1 duplicate_start, 1 duplicate_type, 1 overlap
`
	if b.String() != want {
		t.Errorf("text output:\n%s\nwant:\n%s", b.String(), want)
	}
	for gt, want := range map[string]string{"Clean": "No findings in global tag Clean.\n", "": "No findings in any global tag.\n"} {
		var b bytes.Buffer
		var p *string
		if gt != "" {
			p = &gt
		}
		if writeCheckText(&b, p, nil); b.String() != want {
			t.Errorf("no findings (%q): %q, want %q", gt, b.String(), want)
		}
	}
}
