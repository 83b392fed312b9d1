package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// docs/compatibility.md "Conventions" (routing, 301, 404, 405), §2.1 (route table details),
// §2.18 (settings), §2.19 (timeout), §8.21/8.22/8.31/8.33; health endpoints.

func TestSettings(t *testing.T) {
	t.Parallel()
	c := shared(t)
	for _, p := range []string{"user_settings/%s/", "settings/%s/"} {
		// The effective mode is answered even when the variable is unset.
		m := obj(t, c.ok("GET", fmt.Sprintf(p, "CDB_IOV_MODE"), nil).JSON)
		if len(m) != 1 || m["CDB_IOV_MODE"] != "continuous" {
			t.Errorf("%s: %v, want {\"CDB_IOV_MODE\":\"continuous\"}", p, m)
		}
		for _, name := range []string{"CDB_NOPE_" + uniqz("x"), "PATH", "HOME", "JWT_SECRET", "POSTGRES_PASSWORD_W", "cdb_iov_mode"} {
			wantErr(t, c.get(fmt.Sprintf(p, name)), "not_found", fmt.Sprintf("Setting '%s' not found.", name), 404)
		}
	}
}

func TestSlashRedirects(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt := c.mkGT("unlocked")
	q := url.Values{"gtName": {gt}, "majorIOV": {"0"}, "minorIOV": {"0"}}.Encode()
	for from, to := range map[string]string{
		"payloadiovs?" + q:               "payloadiovs/?" + q,
		"payload-iovs/query?" + q:        "payload-iovs/query/?" + q,
		"user_settings/CDB_IOV_MODE":     "user_settings/CDB_IOV_MODE/",
		"settings/CDB_IOV_MODE":          "settings/CDB_IOV_MODE/",
		"payloadiovs?gtName=a%20b&x=%2F": "payloadiovs/?gtName=a%20b&x=%2F",
		"payloadiovs":                    "payloadiovs/",
	} {
		r := c.get(from)
		if r.Status != http.StatusMovedPermanently {
			t.Errorf("GET %s: %d, want 301", from, r.Status)
			continue
		}
		loc, err := url.Parse(r.Header.Get("Location"))
		if err != nil {
			t.Errorf("GET %s: Location %q: %v", from, r.Header.Get("Location"), err)
			continue
		}
		want, _ := url.Parse(apiPrefix + to)
		if loc.EscapedPath() != want.EscapedPath() || loc.Query().Encode() != want.Query().Encode() {
			t.Errorf("GET %s: Location %q, want %s", from, r.Header.Get("Location"), apiPrefix+to)
		}
		if loc.Host != "" && !strings.Contains(c.base, loc.Host) {
			t.Errorf("GET %s: Location host %q", from, loc.Host)
		}
	}
	// Following the redirect gives the lookup.
	r := c.ok("GET", "payloadiovs/?"+q, nil)
	if strings.TrimSpace(string(r.Body)) != "[]" {
		t.Errorf("lookup on an empty GT: %s", r.Body)
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	t.Parallel()
	for _, base := range []string{servers.ReaderURL, servers.WriterURL} {
		c := newClient(t, base)
		for _, p := range []string{
			"/api/cdb_rest/nosuch", "/api/cdb_rest/gt/", "/api/cdb_rest/globalTags/", "/api/cdb_rest/pt/",
			"/nosuch", "/api/cdb_rest/payloadiovstest", "/api/cdb_rest/payloadiovsrange/",
			"/api/cdb_rest/global-tags/a/b/c", "/api/cdb_rest/gtPayloadLists/", "/api/cdb_rest/",
		} {
			for _, m := range []string{"GET", "DELETE"} {
				r := c.do(m, p, nil)
				wantErr(t, r, "not_found", "", 404)
			}
		}
	}
	// 405 on known paths (reader and writer; writes sent to the reader are proxied).
	for _, base := range []string{servers.ReaderURL, servers.WriterURL} {
		c := newClient(t, base)
		for _, tc := range []struct{ method, path string }{
			{"GET", "pl_attach"}, {"GET", "piov_attach"}, {"GET", "bulk_piov"}, {"GET", "payload-iovs/bulk"},
			{"GET", "deleteGlobalTag/x"}, {"GET", "gt_change_status/x/y"}, {"GET", "cloneGlobalTag/a/b"},
			{"POST", "globalTags"}, {"POST", "payloadiovs/"}, {"POST", "timeout"}, {"POST", "settings/CDB_IOV_MODE/"},
			{"DELETE", "gt"}, {"PUT", "pt"}, {"DELETE", "piov/1"}, {"PUT", "globalTag/x"},
			{"PATCH", "pl_attach"}, {"PATCH", "piov_attach"}, {"PATCH", "gt_change_status/x/y"},
			{"PATCH", "payload-lists/attach"}, {"PATCH", "global-tags/x/change-status/y"},
		} {
			if base == servers.WriterURL && tc.method == "GET" {
				continue // the writer need not route GETs
			}
			r := c.do(tc.method, tc.path, nil)
			wantErr(t, r, "", fmt.Sprintf("Method %q not allowed.", tc.method), 405)
		}
	}
	// Route order: global-tags/statuses is the status list, not a GT.
	c := shared(t)
	arr(t, c.ok("GET", "global-tags/statuses", nil).JSON)
}

func TestHealth(t *testing.T) {
	t.Parallel()
	for _, base := range []string{servers.ReaderURL, servers.WriterURL} {
		c := newClient(t, base)
		for _, p := range []string{"/healthz", "/readyz"} {
			c.ok("GET", p, nil)
		}
	}
}

func TestTimeoutEndpoint(t *testing.T) {
	t.Parallel()
	c := shared(t)
	cut := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", servers.ReaderURL+apiPrefix+"timeout", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			return fmt.Errorf("timeout answered %d within 1 s", res.StatusCode)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("timeout: %v, want the client's deadline", err)
		}
		return nil
	}
	if err := cut(); err != nil {
		t.Fatal(err)
	}
	// Many abandoned waits must not exhaust the server.
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- cut() }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	start := time.Now()
	c.ok("GET", "/healthz", nil)
	c.ok("GET", "globalTags", nil)
	gt := c.mkGT("unlocked")
	c.lookup(gt, 0, 0)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the server was slow after abandoned timeouts: %v", d)
	}
}

// TestProxyUnchanged: a write sent to the reader gets the writer's answer.
func TestProxyUnchanged(t *testing.T) {
	t.Parallel()
	r, w := shared(t), newClient(t, servers.WriterURL)
	gt := r.mkGT("unlocked")
	body := map[string]any{"name": gt, "status": "unlocked"}
	a, b := r.do("POST", "gt", body), w.do("POST", "gt", body)
	if a.Status != b.Status || string(a.Body) != string(b.Body) || a.Status != 409 {
		t.Errorf("duplicate via reader %d %s, via writer %d %s", a.Status, a.Body, b.Status, b.Body)
	}
	ghost := uniqz("nosuch")
	a, b = r.do("DELETE", "deleteGlobalTag/"+ghost, nil), w.do("DELETE", "deleteGlobalTag/"+ghost, nil)
	if a.Status != b.Status || string(a.Body) != string(b.Body) {
		t.Errorf("delete via reader %d %s, via writer %d %s", a.Status, a.Body, b.Status, b.Body)
	}
	// Query strings and null bodies pass through.
	a = r.do("PUT", "gt_change_status/"+gt+"/unlocked?x=1", rawJSON("null"))
	wantStatus(t, a, 200)
	// A write through the writer is seen through the reader at once.
	pt := uniqz("PT")
	w.ok("POST", "pt", map[string]any{"name": pt})
	if !r.ptNames()[pt] {
		t.Errorf("type created on the writer not visible through the reader")
	}
}
