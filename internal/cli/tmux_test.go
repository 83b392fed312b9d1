package cli_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/testkit"
)

// tmux runs the binary on a real terminal: a tmux session of its own
// (its own server socket), read with capture-pane and typed into with
// send-keys. Without tmux the test is skipped, but not in CI (CI=true),
// where .ci/install-deps --test installs it: there it fails.
type tmux struct {
	t      *testing.T
	socket string
	n      int
	target string // the window of the last start
}

func newTmux(t *testing.T) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed (.ci/install-deps --test installs it)")
		}
		t.Skip("tmux is not installed (apt-get install tmux)")
	}
	x := &tmux{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock")}
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", x.socket, "kill-server").Run() })
	// A session that holds the server; panes stay once their command ends.
	x.cmd("-f", "/dev/null", "new-session", "-d", "-s", "keep", "-x", "200", "-y", "50", "sleep", "3600")
	x.cmd("set-option", "-g", "remain-on-exit", "on")
	return x
}

func (x *tmux) cmd(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", x.socket}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// start runs condcache args in a new window 200 columns wide; the shell
// prints EXIT=<status> when it ends, and the pane stays. The shell traps
// SIGINT (a trapped signal is default again in its child), so a Ctrl-C
// stops condcache but not the shell that reports its status.
func (x *tmux) start(env []string, args ...string) {
	x.t.Helper()
	var b strings.Builder
	b.WriteString("trap : INT; env -i")
	for _, kv := range env {
		b.WriteString(" " + strconv.Quote(kv))
	}
	b.WriteString(" " + strconv.Quote(binary))
	for _, a := range args {
		b.WriteString(" " + strconv.Quote(a))
	}
	b.WriteString("; echo EXIT=$?")
	x.n++
	x.target = fmt.Sprintf("keep:w%d", x.n)
	x.cmd("new-window", "-t", "keep", "-n", fmt.Sprintf("w%d", x.n), "sh", "-c", b.String())
}

// screen is what the pane shows now, with the lines scrolled off it.
func (x *tmux) screen() string { return x.cmd("capture-pane", "-p", "-J", "-S", "-", "-t", x.target) }

// waitFor polls the screen until re matches, and returns the match.
func (x *tmux) waitFor(within time.Duration, what string, re *regexp.Regexp) []string {
	x.t.Helper()
	var m []string
	testkit.EventuallyNil(x.t, within, what, func() error {
		s := x.screen()
		if m = re.FindStringSubmatch(s); m == nil {
			return fmt.Errorf("the screen shows:\n%s\n(%q)", s, s)
		}
		return nil
	})
	return m
}

func (x *tmux) keys(keys ...string) {
	x.t.Helper()
	x.cmd(append([]string{"send-keys", "-t", x.target}, keys...)...)
}

// tmuxEnv is the environment of a command run in tmux.
func tmuxEnv(t *testing.T) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(), "TERM=xterm-256color",
		"CONDCACHE_URL=" + servers.ReaderURL}
}

// TestTerminalBulkProgressAndInterrupt: on a terminal, iov bulk shows a
// progress bar with rows/s; Ctrl-C stops it after the request in flight,
// and the rows it says were committed are exactly those the server holds,
// in whole requests.
func TestTerminalBulkProgressAndInterrupt(t *testing.T) {
	x := newTmux(t)
	_, _, list := newGT(t)
	file := filepath.Join(t.TempDir(), "big.csv")
	var b strings.Builder
	b.WriteString("payload_url,checksum,major_iov,minor_iov\n")
	const rows, chunk = 40000, 100
	for i := range rows {
		fmt.Fprintf(&b, "b%d.root,c,%d,0\n", i, 1000+i)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	x.start(tmuxEnv(t), "iov", "bulk", file, "--list", list, "--chunk", strconv.Itoa(chunk))
	x.waitFor(time.Minute, "the progress bar", regexp.MustCompile(`bulk .*big\.csv.*\d+%.*\(\d+/40000, \d+ rows/s\)`))
	x.keys("C-c")
	m := x.waitFor(time.Minute, "the interruption's report", regexp.MustCompile(`interrupted: (\d+) of 40000 rows committed[^\n]*\n(?s:.*)EXIT=(\d+)`))
	committed, _ := strconv.Atoi(m[1])
	if m[2] != "2" || committed == 0 || committed >= rows || committed%chunk != 0 {
		t.Errorf("after Ctrl-C: %s rows committed, exit %s; want some whole requests of %d, exit 2\n%s", m[1], m[2], chunk, x.screen())
	}
	if n := countIOVs(t, "--list", list); n != committed {
		t.Errorf("the server holds %d IOVs, the report said %d", n, committed)
	}
}

// TestTerminalConfirmation: payload put on a terminal shows what the
// attach would change and asks; "y" applies it, "n" leaves nothing (the
// preview's IOV deleted, no file copied).
func TestTerminalConfirmation(t *testing.T) {
	x := newTmux(t)
	gt, pt, _ := newGT(t, 10)
	repo, dir := uniq("disk"), t.TempDir()
	ok(t, "repo", "create", repo, "--base-url", "file://"+dir+"/", "--site", uniq("site"))
	src := filepath.Join(t.TempDir(), "gain.root")
	if err := os.WriteFile(src, []byte("gain calibration\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"payload", "put", src, "--type", pt, "--gt", gt, "--from", "20", "--repo", repo}

	x.start(tmuxEnv(t), args...)
	x.waitFor(time.Minute, "the preview and the question", regexp.MustCompile(`(?s)NOW ANSWERS\s+WOULD ANSWER.*r10\.root \(c\).*gain\.root.*Attach .*gain\.root \[20\.0, max\) to .*\? \[y/N\]`))
	x.keys("n", "Enter")
	x.waitFor(time.Minute, "the refusal", regexp.MustCompile(`(?s)Nothing attached\..*EXIT=0`))
	if n := countIOVs(t, "--search", "gain.root"); n != 0 {
		t.Errorf("declined: %d IOVs of gain.root remain", n)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Errorf("declined: the repository holds %v", files)
	}
	x.start(tmuxEnv(t), args...)
	x.waitFor(time.Minute, "the question", regexp.MustCompile(`\[y/N\]`))
	x.keys("y", "Enter")
	x.waitFor(time.Minute, "the attach", regexp.MustCompile(`(?s)Attached IOV \d+ \([^)]*gain\.root, \[20\.0, max\)\).*EXIT=0`))
	var l struct {
		Payloads []struct{ URL string } `json:"payloads"`
	}
	okJSON(t, &l, "lookup", gt, "25")
	if len(l.Payloads) != 1 || !strings.HasSuffix(l.Payloads[0].URL, "_gain.root") {
		t.Errorf("lookup after yes: %+v", l.Payloads)
	}

	// A delete shows its dry run and asks: "n" keeps the GT, "y" deletes it.
	x.start(tmuxEnv(t), "gt", "delete", gt)
	x.waitFor(time.Minute, "the delete's preview and question", regexp.MustCompile(`(?s)Dry run: nothing was written\..*GlobalTag .*Delete global tag `+regexp.QuoteMeta(gt)+`\? \[y/N\]`))
	x.keys("n", "Enter")
	x.waitFor(time.Minute, "the refusal", regexp.MustCompile(`(?s)Nothing deleted\..*EXIT=0`))
	ok(t, "gt", "show", gt)
	x.start(tmuxEnv(t), "gt", "delete", gt)
	x.waitFor(time.Minute, "the question", regexp.MustCompile(`\[y/N\]`))
	x.keys("y", "Enter")
	x.waitFor(time.Minute, "the delete", regexp.MustCompile(`(?s)EXIT=0`))
	want(t, run(t, "gt", "show", gt), 3, "Not found")
}

// TestTerminalExportProgressAndInterrupt: on a terminal, export shows a
// progress bar while the file comes in; Ctrl-C stops it, exit 2, and
// leaves no file, whole or partial.
func TestTerminalExportProgressAndInterrupt(t *testing.T) {
	x := newTmux(t)
	// A server that sends the first 64 KiB of 10 MiB, then waits.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.sqlite3")
		w.Header().Set("Content-Length", strconv.Itoa(10<<20))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(make([]byte, 64<<10))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	dir := t.TempDir()
	gt := uniq("Slow")
	x.start(tmuxEnv(t), "export", "--url", slow.URL, "-o", filepath.Join(dir, "slow.sqlite"), gt)
	x.waitFor(time.Minute, "the progress bar", regexp.MustCompile(regexp.QuoteMeta(gt)+`\s+\d+%.*\|`))
	x.keys("C-c")
	x.waitFor(time.Minute, "the interruption", regexp.MustCompile(`(?s)interrupted: nothing written.*EXIT=2`))
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("Ctrl-C left %v", left)
	}
}
