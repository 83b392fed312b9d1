package e2e

import (
	"bytes"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/testkit"
)

// Access accounting (docs/design.md "Access accounting") through the real
// reader: reads per GT and client, counted off the hot path and flushed to
// the primary.

type v2Usage struct {
	GlobalTag string `json:"global_tag"`
	Client    string `json:"client"`
	Reads     int64  `json:"reads"`
	FirstRead string `json:"first_read"`
	LastRead  string `json:"last_read"`
}

type v2UsagePage struct {
	Count      int64     `json:"count"`
	Page       int       `json:"page"`
	PageSize   int       `json:"page_size"`
	TotalPages int64     `json:"total_pages"`
	Results    []v2Usage `json:"results"`
}

type v2UnusedAnswer struct {
	Since      string `json:"since"`
	Count      int    `json:"count"`
	GlobalTags []struct {
		GlobalTag string  `json:"global_tag"`
		Status    string  `json:"status"`
		Created   string  `json:"created"`
		LastRead  *string `json:"last_read"`
		Reads     int64   `json:"reads"`
	} `json:"global_tags"`
}

// usageOf is GET /api/v2/usage?gt= as a map client → row.
func usageOf(t *testing.T, c *client, gt string) map[string]v2Usage {
	t.Helper()
	page := strict[v2UsagePage](t, c.ok("GET", "/api/v2/usage?page_size=1000&gt="+url.QueryEscape(gt), nil))
	out := map[string]v2Usage{}
	for _, u := range page.Results {
		out[u.Client] = u
	}
	return out
}

// TestUsage: every successful read of a GT on each endpoint that reads
// one is counted once for its client (the X-Condcache-Client header, else
// the address); errors, unknown GTs and other endpoints are not; the
// counts reach GET /api/v2/usage within a flush; the filters and
// `condcache usage` agree.
func TestUsage(t *testing.T) {
	t.Parallel()
	sv, db := startServersDB(t, "CONDCACHE_USAGE_FLUSH=200ms")
	c := newClient(t, sv.ReaderURL)
	a, b, never := c.mkGT("unlocked"), c.mkGT("unlocked"), c.mkGT("unlocked")
	pt := c.mkPT()
	c.mustInsert(a, pt, uniqz("u"), P{1, 0}, open)
	c.mustInsert(b, pt, uniqz("u"), P{1, 0}, open)
	start := time.Now().UTC().Add(-time.Second)
	as := func(client, path string) Resp {
		t.Helper()
		return c.do("GET", path, nil, "X-Condcache-Client", client)
	}
	ga, gb := url.QueryEscape(a), url.QueryEscape(b)
	want := map[[2]string]int64{}
	read := func(client, gt, path string, n int) {
		t.Helper()
		for range n {
			if r := as(client, path); r.Status != 200 && r.Status != 304 {
				t.Fatalf("%s", r)
			}
		}
		want[[2]string{gt, client}] += int64(n)
	}
	read("job-1", a, lookupPath("payloadiovs/", a, 1, 0), 7)
	read("job-1", a, "payload-iovs/query/?gtName="+ga+"&majorIOV=5&minorIOV=0", 2)
	read("job-2", a, v2LookupPath(a, P{1, 0}, ""), 3)
	read("job-2", a, "/api/v2/range?gt="+ga+"&from=1&to=3", 2)
	read("job-2", a, "/api/v2/gt/"+url.PathEscape(a)+"/digest", 1)
	read("job-1", b, "globalTag/"+url.PathEscape(b), 4)
	read("job-1", b, "gtPayloadLists/"+url.PathEscape(b), 1)
	// A diff reads both.
	read("job-3", a, "/api/v2/diff?a="+ga+"&b="+gb, 2)
	want[[2]string{b, "job-3"}] += 2
	// Not counted: reads that fail, unknown GTs, other endpoints.
	wantStatus(t, as("job-1", v2LookupPath("no-such-gt", P{1, 0}, "")), 404)
	wantStatus(t, as("job-1", "/api/v2/range?gt="+ga+"&from=5&to=1"), 400)
	as("job-1", lookupPath("payloadiovs/", "no-such-gt", 1, 0))
	as("job-1", "globalTags")
	as("job-1", "/api/v2/check?gt="+ga)
	// Without a client header: the address (the set-up's reads of the
	// test client are counted there too, so only its presence is checked).
	c.ok("GET", lookupPath("payloadiovs/", never, 1, 0), nil)

	check := func() error {
		if u := usageOf(t, c, never)["127.0.0.1"]; u.Reads != 1 {
			return fmt.Errorf("%s by the address: %+v, want 1 read", never, u)
		}
		for _, gt := range []string{a, b, "no-such-gt"} {
			got := usageOf(t, c, gt)
			delete(got, "127.0.0.1")
			n := 0
			for k, w := range want {
				if k[0] != gt {
					continue
				}
				n++
				u, ok := got[k[1]]
				if !ok || u.Reads != w {
					return fmt.Errorf("%s by %s: %+v, want %d reads", gt, k[1], u, w)
				}
			}
			if len(got) != n {
				return fmt.Errorf("%s: %d clients counted, want %d: %+v", gt, len(got), n, got)
			}
		}
		return nil
	}
	testkit.EventuallyNil(t, 10*time.Second, "the counts flushed", check)
	for _, u := range usageOf(t, c, a) {
		first, err1 := time.Parse(time.RFC3339Nano, u.FirstRead)
		last, err2 := time.Parse(time.RFC3339Nano, u.LastRead)
		if err1 != nil || err2 != nil || first.Before(start) || last.Before(first) || last.After(time.Now().Add(time.Second)) {
			t.Errorf("%s: first %s, last %s, test started %s", u.Client, u.FirstRead, u.LastRead, start)
		}
	}
	// More reads add up.
	read("job-1", a, lookupPath("payloadiovs/", a, 1, 0), 5)
	testkit.EventuallyNil(t, 10*time.Second, "the new counts flushed", check)

	// Filters.
	byClient := strict[v2UsagePage](t, c.ok("GET", "/api/v2/usage?client=job-3", nil))
	if byClient.Count != 2 {
		t.Errorf("client=job-3: %+v", byClient)
	}
	future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if p := strict[v2UsagePage](t, c.ok("GET", "/api/v2/usage?since="+future, nil)); p.Count != 0 {
		t.Errorf("since a future time: %+v", p)
	}
	p := strict[v2UsagePage](t, c.ok("GET", "/api/v2/usage?gt="+ga+"&since=1h", nil))
	clients := map[string]bool{}
	for _, u := range p.Results {
		clients[u.Client] = u.GlobalTag == a
	}
	if !clients["job-1"] || !clients["job-2"] || !clients["job-3"] || int(p.Count) != len(clients) {
		t.Errorf("gt and since=1h: %+v", p)
	}
	wantErr(t, c.get("/api/v2/usage?since=yesterday"), "invalid", "", 400)
	wantErr(t, c.get("/api/v2/usage?page=0"), "invalid", "", 400)
	wantErr(t, c.get("/api/v2/usage/unused"), "invalid", "since: This field is required.", 400)
	wantErr(t, c.get("/api/v2/usage/unused?since=-5d"), "invalid", "", 400)

	// Unused: the GT nobody read, not the ones read.
	never = c.mkGT("unlocked")
	unused := strict[v2UnusedAnswer](t, c.ok("GET", "/api/v2/usage/unused?since=1h", nil))
	names := map[string]bool{}
	for _, g := range unused.GlobalTags {
		names[g.GlobalTag] = true
		if g.GlobalTag == never && (g.LastRead != nil || g.Reads != 0 || g.Status != "unlocked") {
			t.Errorf("never read: %+v", g)
		}
	}
	if !names[never] || names[a] || names[b] || unused.Count != len(unused.GlobalTags) {
		t.Errorf("unused since 1h: %+v (a %s, b %s, never %s)", unused, a, b, never)
	}
	// Since a future time every GT is unused, the read ones with their
	// last read.
	unused = strict[v2UnusedAnswer](t, c.ok("GET", "/api/v2/usage/unused?since="+future, nil))
	for _, g := range unused.GlobalTags {
		if g.GlobalTag == a && (g.LastRead == nil || g.Reads < want[[2]string{a, "job-1"}]+want[[2]string{a, "job-2"}]+want[[2]string{a, "job-3"}]) {
			t.Errorf("unused since the future, %s: %+v", a, g)
		}
	}

	// The command reads the same.
	for _, flag := range []string{"-unused-since", "--unused-since"} {
		cmd := exec.CommandContext(t.Context(), binary, "usage", flag, "90d", "-primary", stack.Primary.DSN(db))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("condcache usage %s 90d: %v\n%s", flag, err, errb.String())
		}
		if !strings.Contains(out.String(), never) || strings.Contains(out.String(), a+" ") || !strings.Contains(out.String(), "never") {
			t.Errorf("condcache usage %s 90d:\n%s", flag, out.String())
		}
	}
	cmd := exec.CommandContext(t.Context(), binary, "usage", "-gt", a, "-primary", stack.Primary.DSN(db))
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "job-1") || !strings.Contains(string(out), "job-2") || strings.Contains(string(out), b) {
		t.Errorf("condcache usage -gt %s: %v\n%s", a, err, out)
	}
	if err := exec.CommandContext(t.Context(), binary, "usage", "-unused-since", "soon", "-primary", stack.Primary.DSN(db)).Run(); err == nil {
		t.Error("condcache usage -unused-since soon: no error")
	}
}
