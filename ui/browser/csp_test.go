package browser

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/testkit"
)

// TestCSPHolds: every UI answer carries a Content-Security-Policy without
// unsafe-inline or unsafe-eval, and the browser enforces it: an inline
// script, an inline event handler and a javascript: link put into a page
// do not run, and each violation is a console error the page tests would
// catch. (What DevTools evaluates is exempt from the policy, so eval
// cannot be tried from here.)
func TestCSPHolds(t *testing.T) {
	needBrowser(t)
	for _, p := range []string{"/ui/", "/ui/gts", "/ui/nope", "/ui/static/app.js"} {
		resp, err := httpClient.Get(servers.ReaderURL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-") {
			t.Errorf("%s: Content-Security-Policy %q", p, csp)
		}
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	tb := newTab(t, 1280, 900)
	tb.open("/ui/", 200)
	tb.eval(`(() => {
		window.__ran = [];
		const s = document.createElement("script");
		s.textContent = "window.__ran.push('inline script')";
		document.body.appendChild(s);
		document.body.insertAdjacentHTML("beforeend", '<img id="csp-probe" src="/ui/static/favicon.svg" onload="window.__ran.push(\'handler\')">');
		document.body.insertAdjacentHTML("beforeend", '<a id="csp-link" href="javascript:window.__ran.push(\'link\')">x</a>');
		document.getElementById("csp-link").click();
		return true;
	})()`, nil)
	var ran []string
	var problems []string
	testkit.Poller(100*time.Millisecond).Eventually(t, 10*time.Second, "the three violations reported", func() bool {
		tb.mu.Lock()
		problems = append(problems, tb.problems...)
		tb.problems = nil
		tb.mu.Unlock()
		n := 0
		for _, p := range problems {
			if strings.Contains(p, "Content Security Policy directive") {
				n++
			}
		}
		return n >= 3
	})
	tb.eval(`window.__ran`, &ran)
	if len(ran) != 0 {
		t.Errorf("the policy let run: %v", ran)
	}
	for _, p := range problems {
		if !strings.Contains(p, "Content Security Policy directive") {
			t.Errorf("unexpected: %s", p)
		}
	}
}
