package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
)

// The stack of this package: a primary with a replica, Redis, and a
// writer and reader on database "ui", with JWT authentication and the
// Belle II permission plugin, so that writes from the UI need its token.
var (
	stack     *localstack.Stack
	servers   *localstack.Servers
	secret    = "ui-test-secret-" + fmt.Sprint(time.Now().UnixNano())
	chromium  string // the browser, "" when there is none
	noBrowser string // why the tests cannot run
	alloc     context.Context
)

const database = "ui"

func TestMain(m *testing.M) {
	chromium, noBrowser = findChromium()
	if noBrowser != "" && os.Getenv("CI") == "true" {
		fmt.Fprintf(os.Stderr, "ui/browser: %s; CI needs it (.ci/install-deps --test installs chromium)\n", noBrowser)
		os.Exit(1)
	}
	if noBrowser != "" {
		os.Exit(m.Run()) // every test skips: no stack to start
	}
	testkit.Main(m, testkit.Options{Name: "ui", Build: true, Stack: &localstack.Options{Replicas: 1, Redis: true}},
		func(ctx context.Context, env *testkit.Env) error {
			stack = env.Stack
			if err := stack.CreateDatabase(ctx, database); err != nil {
				return err
			}
			var err error
			servers, err = stack.StartServers(ctx, localstack.ServerOptions{Binary: env.Binary, Database: database, Env: []string{
				"CDB_AUTH_CLASS=cdb_rest.authentication.CustomJWTAuthentication",
				"JWT_SECRET=" + secret,
				"CDB_PERMISSION_PLUGIN_CLASS=cdb_rest.permissions_plugins.belle2.Belle2PermissionPlugin",
			}})
			if err != nil {
				return fmt.Errorf("starting condcache: %w", err)
			}
			env.Cleanup(func() { _ = servers.Stop() })
			var cancel context.CancelFunc
			alloc, cancel = chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
				chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
				chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))...)
			env.Cleanup(cancel)
			return nil
		})
}

// findChromium returns the browser to drive: $CHROMIUM, else chromium on
// the PATH; or why there is none.
func findChromium() (path, missing string) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, ""
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, ""
		}
	}
	return "", "no chromium on the PATH (apt-get install chromium, or set CHROMIUM)"
}

func needBrowser(t *testing.T) {
	t.Helper()
	if noBrowser != "" {
		t.Skip(noBrowser)
	}
}

// ------------------------------------------------------------ the API

// token signs a JWT with claims for the stack's secret.
func token(t testing.TB, subject string, claims jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"sub": subject, "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func adminToken(t testing.TB) string {
	return token(t, "ui-admin", jwt.MapClaims{"b2cdb:admin": []any{".*"}})
}

var httpClient = &http.Client{Timeout: 60 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// call sends a request to the reader and decodes its JSON answer into
// out (when not nil), failing the test unless the status is want.
func call(t testing.TB, tok, method, path string, body any, want int, out any) []byte {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, servers.ReaderURL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return b
}

func seg(s string) string { return url.PathEscape(s) }

var statusesOnce sync.Once

// ensureStatuses creates the three statuses with a meaning, once.
func ensureStatuses(t testing.TB) {
	statusesOnce.Do(func() {
		tok := adminToken(t)
		var have []struct{ Name string }
		call(t, "", "GET", "/api/cdb_rest/gtstatus", nil, 200, &have)
		for _, s := range []string{"unlocked", "locked", "frozen"} {
			found := false
			for _, h := range have {
				found = found || h.Name == s
			}
			if !found {
				call(t, tok, "POST", "/api/cdb_rest/gtstatus", map[string]string{"name": s}, 200, nil)
			}
		}
	})
}

// ------------------------------------------------------------ the tab

// tab is one browser tab on the reader, recording what went wrong in it:
// console errors, exceptions (a Content-Security-Policy violation is a
// console error), JavaScript dialogs, and every request it made.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu        sync.Mutex
	problems  []string
	requests  []*network.Request
	documents map[string]int // status of each document loaded, by URL
	// allow tells expected network errors apart (a 409 the page shows).
	allow func(text string) bool
}

// newTab opens a tab of width × height pixels.
func newTab(t *testing.T, width, height int64) *tab {
	t.Helper()
	needBrowser(t)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancelTimeout)
	tb := &tab{t: t, ctx: ctx, documents: map[string]int{}}
	chromedp.ListenTarget(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				tb.problems = append(tb.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			tb.problems = append(tb.problems, "exception: "+msg)
		case *log.EventEntryAdded:
			if os.Getenv("UI_DEBUG_LOG") != "" {
				fmt.Fprintf(os.Stderr, "LOG %s %s %s\n", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text)
			}
			if ev.Entry.Level == log.LevelError {
				text := string(ev.Entry.Source) + ": " + ev.Entry.Text + " " + ev.Entry.URL
				if tb.allow == nil || !tb.allow(text) {
					tb.problems = append(tb.problems, "log: "+text)
				}
			}
		case *page.EventJavascriptDialogOpening:
			tb.problems = append(tb.problems, "dialog: "+string(ev.Type)+" "+ev.Message)
			go func() { _ = chromedp.Run(ctx, page.HandleJavaScriptDialog(false)) }()
		case *network.EventRequestWillBeSent:
			tb.requests = append(tb.requests, ev.Request)
		case *network.EventResponseReceived:
			if ev.Type == network.ResourceTypeDocument {
				tb.documents[ev.Response.URL] = int(ev.Response.Status)
			}
		}
	})
	if err := chromedp.Run(ctx, log.Enable(), network.Enable(), chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
	return tb
}

// run runs actions, failing the test on error.
func (tb *tab) run(actions ...chromedp.Action) {
	tb.t.Helper()
	if err := chromedp.Run(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// open loads a page of the UI (path under the reader, e.g. "/ui/gts")
// and fails the test unless it answered status with no problem.
func (tb *tab) open(path string, status int) {
	tb.t.Helper()
	u := servers.ReaderURL + path
	tb.run(chromedp.Navigate(u), chromedp.WaitReady("body", chromedp.ByQuery))
	tb.mu.Lock()
	got, ok := tb.documents[u]
	tb.mu.Unlock()
	if !ok {
		// Redirected, or the URL was normalised: take the last document.
		var loc string
		tb.run(chromedp.Location(&loc))
		tb.mu.Lock()
		got, ok = tb.documents[loc]
		tb.mu.Unlock()
	}
	if !ok || got != status {
		tb.t.Fatalf("%s: status %d (seen %v), want %d", path, got, ok, status)
	}
	tb.settle()
	tb.noProblems(path)
}

// settle waits for the page's scripts to have run.
func (tb *tab) settle() {
	tb.t.Helper()
	var ready bool
	tb.run(chromedp.Poll(`document.readyState === "complete"`, &ready, chromedp.WithPollingTimeout(30*time.Second)))
}

// noProblems fails the test for any console error, exception or dialog
// seen since the last call.
func (tb *tab) noProblems(where string) {
	tb.t.Helper()
	tb.mu.Lock()
	p := tb.problems
	tb.problems = nil
	tb.mu.Unlock()
	for _, s := range p {
		tb.t.Errorf("%s: %s", where, s)
	}
}

// text is the text content of the first element matching sel.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	var s string
	tb.run(chromedp.TextContent(sel, &s, chromedp.ByQuery))
	return s
}

// eval evaluates a JavaScript expression into out.
func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	tb.run(chromedp.Evaluate(expr, out))
}

// waitText waits until the first element matching sel holds want.
func (tb *tab) waitText(sel, want string) string {
	tb.t.Helper()
	var got string
	testkit.Poller(100*time.Millisecond).EventuallyNil(tb.t, 30*time.Second, fmt.Sprintf("%q in %s", want, sel), func() error {
		var s string
		if err := chromedp.Run(tb.ctx, chromedp.Evaluate(fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||""`, sel), &s)); err != nil {
			return err
		}
		got = s
		if !strings.Contains(s, want) {
			return fmt.Errorf("%s holds %q", sel, s)
		}
		return nil
	})
	return got
}

// setToken pastes tok into the token form, as a user does.
func (tb *tab) setToken(tok string) {
	tb.t.Helper()
	tb.run(
		chromedp.Click("#token-toggle", chromedp.ByQuery),
		chromedp.WaitVisible("#token-input", chromedp.ByQuery),
		chromedp.SendKeys("#token-input", tok, chromedp.ByQuery),
		chromedp.Click(`#token-form button[type="submit"]`, chromedp.ByQuery),
	)
	tb.waitText("#token-state", "token set")
}

// fill sets the value of a form's field as typing would.
func (tb *tab) fill(form, field, value string) {
	tb.t.Helper()
	sel := form + ` [name="` + field + `"]`
	tb.run(chromedp.SetValue(sel, value, chromedp.ByQuery))
	tb.eval(fmt.Sprintf(`document.querySelector(%q).dispatchEvent(new Event("input", {bubbles: true}))`, sel), nil)
}

// requestsSeen returns the requests made so far.
func (tb *tab) requestsSeen() []*network.Request {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]*network.Request(nil), tb.requests...)
}
