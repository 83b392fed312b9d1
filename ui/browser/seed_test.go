package browser

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache/internal/testkit"
)

const maxI = math.MaxInt64

// seedIOV is an IOV as seeded: what was sent, and the id it got.
type seedIOV struct {
	ID       int64
	URL      string
	Checksum string
	Size     int64
	Start    int64 // major; minors are 0
	End      int64 // major of a bounded end (minor 0); maxI: open-ended
}

// world is what the tests share: a GT with three types built to have
// gaps, a duplicate start and a bounded IOV, and a GT whose every name is
// hostile.
type world struct {
	GT    string
	Types []string             // A, B, C
	Lists map[string]string    // type → list
	IOVs  map[string][]seedIOV // type → IOVs, in id order

	HostileGT, HostileType, HostileList, HostileURL, HostileChecksum, HostileAuthor string
	HostileIOV                                                                      int64
	HostileNotice, SQLNotice                                                        int64
	AuditEntry                                                                      int64
}

var (
	worldOnce sync.Once
	theWorld  *world
)

// seeded builds the world once, through the API, as a user's scripts do.
func seeded(t *testing.T) *world {
	t.Helper()
	worldOnce.Do(func() { theWorld = build(t) })
	if theWorld == nil {
		t.Fatal("the seed failed in an earlier test")
	}
	return theWorld
}

// newGT creates a GT with one list per type (types created too) and the
// IOVs given per type, loaded with bulk_piov; it returns the lists and the
// IOVs with their ids.
func newGT(t *testing.T, gt, author string, types []string, ivs map[string][]seedIOV) (map[string]string, map[string][]seedIOV) {
	t.Helper()
	ensureStatuses(t)
	tok := adminToken(t)
	body := map[string]any{"name": gt, "status": "unlocked"}
	if author != "" {
		body["author"] = author
	}
	call(t, tok, "POST", "/api/cdb_rest/gt", body, 200, nil)
	lists := map[string]string{}
	out := map[string][]seedIOV{}
	for _, ty := range types {
		var have []struct{ Name string }
		call(t, "", "GET", "/api/cdb_rest/pt", nil, 200, &have)
		exists := false
		for _, h := range have {
			exists = exists || h.Name == ty
		}
		if !exists {
			call(t, tok, "POST", "/api/cdb_rest/pt", map[string]string{"name": ty}, 200, nil)
		}
		var pl struct{ Name string }
		call(t, tok, "POST", "/api/cdb_rest/pl", map[string]string{"payload_type": ty}, 200, &pl)
		call(t, tok, "PUT", "/api/cdb_rest/pl_attach", map[string]string{"global_tag": gt, "payload_list": pl.Name}, 200, nil)
		lists[ty] = pl.Name
		var bulk []map[string]any
		for _, x := range ivs[ty] {
			e := map[string]any{"payload_url": x.URL, "checksum": x.Checksum, "size": x.Size, "major_iov": x.Start, "minor_iov": 0,
				"payload_list": pl.Name}
			if x.End != maxI {
				e["major_iov_end"], e["minor_iov_end"] = x.End, 0
			}
			bulk = append(bulk, e)
		}
		if len(bulk) > 0 {
			call(t, tok, "POST", "/api/cdb_rest/bulk_piov", bulk, 200, nil)
		}
		var page struct {
			Results []struct {
				ID         int64  `json:"id"`
				PayloadURL string `json:"payload_url"`
			} `json:"results"`
		}
		call(t, "", "GET", "/api/cdb_rest/piov?page=1&page_size=1000&sort=id&payload_list="+qe(pl.Name), nil, 200, &page)
		if len(page.Results) != len(ivs[ty]) {
			t.Fatalf("list %s holds %d IOVs, want %d", pl.Name, len(page.Results), len(ivs[ty]))
		}
		for i, r := range page.Results {
			x := ivs[ty][i]
			if r.PayloadURL != x.URL {
				t.Fatalf("IOV %d of %s: %q, want %q (bulk order)", i, pl.Name, r.PayloadURL, x.URL)
			}
			x.ID = r.ID
			out[ty] = append(out[ty], x)
		}
	}
	return lists, out
}

func build(t *testing.T) *world {
	w := &world{GT: testkit.Uniq("ui_seed")}
	u := strings.TrimPrefix(w.GT, "ui_seed")
	w.Types = []string{"Alpha" + u, "Beta" + u, "Gamma" + u}
	a, b, c := w.Types[0], w.Types[1], w.Types[2]
	iov := func(url string, start, end int64) seedIOV {
		return seedIOV{URL: url, Checksum: "ck-" + url, Size: 1000 + start, Start: start, End: end}
	}
	w.Lists, w.IOVs = newGT(t, w.GT, "seed", w.Types, map[string][]seedIOV{
		// A duplicate start at 150: the later row answers, and the check
		// reports it.
		a: {iov("a100.root", 100, maxI), iov("a150.root", 150, maxI), iov("a150b.root", 150, maxI), iov("a300.root", 300, maxI)},
		// Nothing before 200: a gap at the start of the range.
		b: {iov("b200.root", 200, maxI)},
		// A bounded IOV: strict answers have a gap after its end.
		c: {iov("c100.root", 100, 130), iov("c180.root", 180, maxI)},
	})

	// Hostile names: markup, quotes, an RTL override and Hebrew, and the
	// longest texts the schema holds.
	w.HostileGT = fit(`<script>alert("gt")</script>'"&amp; `+"\u202e"+`evil שלום `+u, 80)
	w.HostileType = fit(`<img src=x onerror=alert(1)>"' `+"\u202e"+`ט `+u, 80)
	w.HostileURL = fit(`"><script>alert('url')</script><img src=x onerror=alert(2)> `+"\u202e"+`/calib/`+u+"/", 255)
	w.HostileChecksum = fit(`'"><b>ck</b>`+"\u202e"+u, 255)
	w.HostileAuthor = `<i>author</i>"'`
	lists, ivs := newGT(t, w.HostileGT, w.HostileAuthor, []string{w.HostileType}, map[string][]seedIOV{
		w.HostileType: {{URL: w.HostileURL, Checksum: w.HostileChecksum, Size: 7, Start: 100, End: maxI}},
	})
	w.HostileList, w.HostileIOV = lists[w.HostileType], ivs[w.HostileType][0].ID

	tok := adminToken(t)
	var n struct{ ID int64 }
	call(t, tok, "POST", "/api/v2/notices", map[string]any{
		"description": "Hostile `<script>alert(\"notice\")</script>` and **bold** \u202eטקסט `" + w.HostileGT + "`",
		"importance":  "CRITICAL", "global_tags": []string{w.HostileGT}, "iovs": []int64{w.HostileIOV},
	}, 201, &n)
	w.HostileNotice = n.ID
	// A notice whose rendered HTML plain SQL replaced by a script: the UI
	// sanitises what it shows again.
	call(t, tok, "POST", "/api/v2/notices", map[string]any{"description": "sql target", "importance": "MINOR",
		"global_tags": []string{w.HostileGT}}, 201, &n)
	w.SQLNotice = n.ID
	sqlExec(t, `UPDATE condcache_notice SET description_html = $1 WHERE id = $2`,
		`<p id="sqlnotice">stored by SQL</p><script>alert("sql")</script><img src="x" onerror="alert(3)"><a href="javascript:alert(4)">link</a>`, n.ID)
	var audit struct {
		Results []struct {
			ID int64 `json:"id"`
		} `json:"results"`
	}
	call(t, "", "GET", "/api/v2/audit?gt="+qe(w.HostileGT)+"&page_size=1", nil, 200, &audit)
	if len(audit.Results) == 0 {
		t.Fatal("no audit entry for the hostile GT")
	}
	w.AuditEntry = audit.Results[0].ID
	// A read of the hostile GT, for its usage; counts reach the primary
	// within the reader's flush interval (5 s). Readers keep client names
	// to [A-Za-z0-9._:/@+-]; a hostile one, as plain SQL could store it,
	// is added by hand.
	req := "/api/cdb_rest/payloadiovs/?gtName=" + qe(w.HostileGT) + "&majorIOV=150&minorIOV=0"
	callHeader(t, req, "X-Condcache-Client", "ui-job")
	testkit.Poller(200*time.Millisecond).Eventually(t, 30*time.Second, "the hostile GT's usage", func() bool {
		var us struct{ Results []any }
		call(t, "", "GET", "/api/v2/usage?gt="+qe(w.HostileGT), nil, 200, &us)
		return len(us.Results) > 0
	})
	sqlExec(t, `INSERT INTO condcache_usage (global_tag, client, reads, first_read, last_read) VALUES ($1, $2, 3, now(), now())`,
		w.HostileGT, hostileClient)
	testkit.Poller(200*time.Millisecond).Eventually(t, 30*time.Second, "the hostile client on the replica", func() bool {
		var us struct{ Results []struct{ Client string } }
		call(t, "", "GET", "/api/v2/usage?gt="+qe(w.HostileGT), nil, 200, &us)
		for _, r := range us.Results {
			if r.Client == hostileClient {
				return true
			}
		}
		return false
	})
	return w
}

const hostileClient = `<b>job</b>"'` + "\u202e"

// fit pads s with x to exactly n characters (or cuts it there).
func fit(s string, n int) string {
	for utf8.RuneCountInString(s) < n {
		s += "x"
	}
	r := []rune(s)
	return string(r[:n])
}

func qe(s string) string { return url.QueryEscape(s) }

func sqlExec(t *testing.T, q string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, stack.Primary.DSN(database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func callHeader(t *testing.T, path, header, value string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, servers.ReaderURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(header, value)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
}

// seg is one expected piece of a lane.
type expSeg struct {
	Kind, From, Until, URL string
}

func (s expSeg) String() string {
	return fmt.Sprintf("%s [%s, %s) %s", s.Kind, s.From, s.Until, s.URL)
}

// expectSegments is the oracle of the timeline: for every run of
// [from, to], the payload the compatible lookup answers there by brute
// force (the greatest start at or before the run, ties to the highest id;
// strict: none once the IOV has ended), runs with the same answer joined.
// Points are (run, 0): the seed has no subruns.
func expectSegments(ivs []seedIOV, from, to int64, strict bool) []expSeg {
	answer := func(r int64) string {
		best := -1
		for i, x := range ivs {
			if x.Start <= r && (best < 0 || x.Start >= ivs[best].Start) {
				best = i // ivs are in id order: a later equal start wins
			}
		}
		if best < 0 || strict && ivs[best].End != maxI && ivs[best].End <= r {
			return ""
		}
		return ivs[best].URL
	}
	var out []expSeg
	for r := from; r <= to; r++ {
		a := answer(r)
		if n := len(out); n > 0 && out[n-1].URL == a {
			continue
		}
		kind := "answer"
		if a == "" {
			kind = "gap"
		}
		if n := len(out); n > 0 {
			out[n-1].Until = fmt.Sprintf("%d.0", r)
		}
		out = append(out, expSeg{Kind: kind, From: fmt.Sprintf("%d.0", r), URL: a})
	}
	out[len(out)-1].Until = fmt.Sprintf("%d.0", to+1) // to is a whole run
	return out
}
