package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/condcache/condcache/internal/testkit"
)

// pageCase is a page to load and the texts it must show.
type pageCase struct {
	path   string
	status int
	want   []string
}

func q(page string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "/ui/" + page + "?" + v.Encode()
}

// TestEveryPageLoads: each page of the UI loads from the real stack with
// no console error, no exception and no Content-Security-Policy
// violation, and shows the seeded data.
func TestEveryPageLoads(t *testing.T) {
	needBrowser(t)
	w := seeded(t)
	a, b, c := w.Types[0], w.Types[1], w.Types[2]
	var home struct{ Count int64 }
	call(t, "", "GET", "/api/cdb_rest/globalTags?page=1&page_size=1", nil, 200, &home)
	iovA := w.IOVs[a][2]
	cases := []pageCase{
		{"/ui/", 200, []string{"global tags", "payload IOVs", w.GT}},
		{q("gts", "search", w.GT), 200, []string{w.GT, "1 in all"}},
		{q("gt", "name", w.GT), 200, []string{w.Lists[a], w.Lists[b], w.Lists[c], "duplicate_start", "Clone into"}},
		{q("types", "search", a), 200, []string{a}},
		{q("type", "name", a), 200, []string{w.Lists[a], w.GT}},
		{q("lists", "global_tag", w.GT), 200, []string{w.Lists[a], w.Lists[b], w.Lists[c]}},
		{q("list", "name", w.Lists[a]), 200, []string{"a100.root", "a150b.root", "a300.root", "Attach an IOV"}},
		{q("iovs", "global_tag", w.GT, "sort", "major_iov"), 200, []string{"c100.root", "b200.root", "7 in all"}},
		{q("iov", "id", strconv.FormatInt(iovA.ID, 10)), 200, []string{"a150b.root", "ck-a150b.root", "1150", w.Lists[a], w.GT}},
		{q("timeline", "gt", w.GT, "from", "100", "to", "400"), 200, []string{a, b, c, "duplicate_start"}},
		{q("lookup", "gt", w.GT, "at", "160"), 200, []string{"a150b.root", "c100.root"}},
		{q("lookup", "gt", w.GT, "at", "160", "strict", "1"), 200, []string{"a150b.root", "Missing", c}},
		{q("diff", "a", w.GT, "b", w.HostileGT, "from", "100", "to", "400"), 200, []string{"only in A", "only in B"}},
		{q("notices", "gt", w.HostileGT), 200, []string{"CRITICAL", "bold"}},
		{q("notice", "id", strconv.FormatInt(w.HostileNotice, 10)), 200, []string{"CRITICAL", "Markdown source"}},
		{q("audit", "gt", w.GT), 200, []string{"AttachPayloadList", "BulkCreatePayloadIOVs"}},
		{q("audit-entry", "id", strconv.FormatInt(w.AuditEntry, 10)), 200, []string{"Request", "Changes"}},
		{q("usage", "gt", w.HostileGT), 200, []string{hostileClient, "ui-job"}},
		{"/ui/usage", 200, []string{"nobody read"}},
		{q("check", "gt", w.GT), 200, []string{"duplicate_start", w.Lists[a]}},
		{"/ui/lookup", 200, []string{"Look up"}},
		{"/ui/diff", 200, []string{"Compare"}},
		// Browse mode on the server: the unfiltered lists, a status
		// filter, sort and paging.
		{"/ui/gts", 200, []string{"in all", w.GT}},
		{"/ui/types", 200, []string{"in all", a}},
		{"/ui/lists", 200, []string{"in all"}},
		{"/ui/iovs", 200, []string{"in all"}},
		{"/ui/notices", 200, []string{"CRITICAL", "MINOR"}},
		{"/ui/audit", 200, []string{"CreateGlobalTag"}},
		{q("gts", "search", w.GT, "status", "unlocked"), 200, []string{w.GT, "1 in all"}},
		{q("gts", "search", w.GT, "status", "locked"), 200, []string{"0 in all"}},
		{q("iovs", "global_tag", w.GT, "sort", "major_iov", "order", "desc", "page_size", "2", "page", "2"), 200,
			[]string{"7 in all", "page 2 of 4", "c180.root"}},
	}
	// What a page must not show: filtered out, or on another page.
	absent := map[string][]string{
		q("gts", "search", w.GT, "status", "locked"):                                                       {"/ui/gt?name=" + w.GT},
		q("iovs", "global_tag", w.GT, "sort", "major_iov", "order", "desc", "page_size", "2", "page", "2"): {"a300.root", "b200.root", "a100.root"},
	}
	tb := newTab(t, 1280, 900)
	for _, pc := range cases {
		tb.open(pc.path, pc.status)
		body := tb.text("body")
		var html string
		tb.eval(`document.querySelector("main").innerHTML`, &html)
		for _, s := range pc.want {
			if !strings.Contains(body, s) {
				t.Errorf("%s does not show %q", pc.path, s)
			}
		}
		for _, s := range absent[pc.path] {
			if strings.Contains(body, s) || strings.Contains(html, s) {
				t.Errorf("%s shows %q", pc.path, s)
			}
		}
	}
	// The home page's count is the API's.
	tb.open("/ui/", 200)
	if got := tb.text(".counts li:first-child .n"); got != strconv.FormatInt(home.Count, 10) {
		t.Errorf("home shows %s global tags, the API %d", got, home.Count)
	}
	// The lookup page's answer is the API's: digest and window.
	var api struct {
		Digest string `json:"digest"`
		Valid  struct {
			From  *struct{ Major, Minor int64 } `json:"from"`
			Until *struct{ Major, Minor int64 } `json:"until"`
		} `json:"valid"`
	}
	call(t, "", "GET", "/api/v2/lookup?gt="+qe(w.GT)+"&major=160&strict=1", nil, 200, &api)
	tb.open(q("lookup", "gt", w.GT, "at", "160", "strict", "1"), 200)
	if got := tb.text("#digest"); got != api.Digest {
		t.Errorf("lookup page digest %s, the API's %s", got, api.Digest)
	}
	wantValid := fmt.Sprintf("[%d.%d, %d.%d)", api.Valid.From.Major, api.Valid.From.Minor, api.Valid.Until.Major, api.Valid.Until.Minor)
	if got := tb.text("#valid"); got != wantValid {
		t.Errorf("lookup page window %s, the API's %s", got, wantValid)
	}
	// Errors are pages with the server's detail and status.
	tb.allow = func(s string) bool {
		return strings.Contains(s, "status of 404") || strings.Contains(s, "status of 400")
	}
	tb.open(q("gt", "name", "no such GT"), 404)
	if d := tb.text(".error .detail"); d != `GlobalTag "no such GT" not found.` {
		t.Errorf("unknown GT: detail %q", d)
	}
	tb.open(q("timeline", "gt", w.GT, "from", "x"), 400)
	if d := tb.text(".error .detail"); !strings.Contains(d, "from") {
		t.Errorf("bad from: detail %q", d)
	}
	tb.open("/ui/nope", 404)
	tb.allow = nil
	// The reference's address of its web app leads here.
	tb.run(chromedp.Navigate(servers.ReaderURL + "/api/cdb_rest/web/"))
	var loc string
	tb.run(chromedp.Location(&loc))
	if loc != servers.ReaderURL+"/ui/" {
		t.Errorf("/api/cdb_rest/web/ led to %s", loc)
	}
	tb.noProblems("after the redirects")
}

// laneSegments reads the timeline's lanes from the page: per type, its
// segments' kind, range and payload.
func (tb *tab) laneSegments() map[string][]expSeg {
	tb.t.Helper()
	var raw []struct {
		Type string
		Segs []struct{ Kind, From, Until, URL, Finding string }
	}
	tb.eval(`Array.from(document.querySelectorAll(".timeline .lane[data-type]")).map(l => ({Type: l.dataset.type,
		Segs: Array.from(l.querySelectorAll(".seg")).map(s => ({Kind: s.dataset.kind, From: s.dataset.from,
			Until: s.dataset.until, URL: s.dataset.url || "", Finding: s.dataset.finding || ""}))}))`, &raw)
	out := map[string][]expSeg{}
	for _, l := range raw {
		for _, s := range l.Segs {
			out[l.Type] = append(out[l.Type], expSeg{Kind: s.Kind, From: s.From, Until: s.Until, URL: s.URL})
		}
	}
	return out
}

// TestTimelineSegments: the timeline of the seeded GT has, lane by lane,
// exactly the segments a brute-force lookup of every run gives, for the
// compatible and the strict answers; the duplicate start is highlighted;
// a segment reached with the keyboard, or hovered, shows its url,
// checksum, size and range.
func TestTimelineSegments(t *testing.T) {
	needBrowser(t)
	w := seeded(t)
	tb := newTab(t, 1280, 900)
	for _, strict := range []bool{false, true} {
		path := q("timeline", "gt", w.GT, "from", "100", "to", "400")
		if strict {
			path += "&strict=1"
		}
		tb.open(path, 200)
		got := tb.laneSegments()
		if len(got) != len(w.Types) {
			t.Errorf("strict=%v: %d lanes, want %d", strict, len(got), len(w.Types))
		}
		for _, ty := range w.Types {
			want := expectSegments(w.IOVs[ty], 100, 400, strict)
			if !slices.Equal(got[ty], want) {
				t.Errorf("strict=%v, lane %s:\n got  %v\n want %v", strict, ty, got[ty], want)
			}
		}
	}
	// The form shows the range as typed, and submitting it with the
	// keyboard (Enter on Show) draws the same lanes from its deep link.
	tb.open(q("timeline", "gt", w.GT, "from", "100", "to", "400"), 200)
	var from, to string
	tb.eval(`document.querySelector('form.filters [name="from"]').value`, &from)
	tb.eval(`document.querySelector('form.filters [name="to"]').value`, &to)
	if from != "100.0" || to != "400" {
		t.Errorf("the timeline's form shows from %q to %q, want 100.0 and 400", from, to)
	}
	before := tb.laneSegments()
	tb.run(chromedp.Focus(`form.filters button[type="submit"]`, chromedp.ByQuery), chromedp.KeyEvent("\r"))
	testkit.Poller(100*time.Millisecond).EventuallyNil(t, 30*time.Second, "the submitted form's page", func() error {
		var loc string
		if err := chromedp.Run(tb.ctx, chromedp.Location(&loc)); err != nil {
			return err
		}
		if !strings.Contains(loc, "from=100.0&to=400") {
			return fmt.Errorf("at %s", loc)
		}
		return nil
	})
	tb.settle()
	if after := tb.laneSegments(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after submitting the form: %v, before %v", after, before)
	}

	// The row that answers at the duplicate start is marked with the
	// check's finding; the others are not.
	a := w.Types[0]
	dup := w.IOVs[a][2].ID
	var marked []string
	tb.eval(`Array.from(document.querySelectorAll(".seg.has-finding")).map(s => s.dataset.iov + ":" + s.dataset.finding)`, &marked)
	if want := []string{strconv.FormatInt(dup, 10) + ":duplicate_start"}; !slices.Equal(marked, want) {
		t.Errorf("segments with findings %v, want %v", marked, want)
	}

	// Keyboard: Tab from the top of the page reaches the segments; the
	// first one focused shows its payload.
	tb.run(chromedp.Evaluate(`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`, nil))
	first := w.IOVs[a][0]
	var active string
	for i := 0; i < 80; i++ {
		tb.run(chromedp.KeyEvent("\t"))
		tb.eval(`(document.activeElement.closest && document.activeElement.closest(".seg") || {dataset: {}}).dataset.iov || ""`, &active)
		if active != "" {
			break
		}
	}
	if active != strconv.FormatInt(first.ID, 10) {
		t.Fatalf("tabbing reached segment %q first, want IOV %d (a100.root)", active, first.ID)
	}
	detail := tb.waitText("#seg-detail", first.URL)
	for _, s := range []string{first.Checksum, strconv.FormatInt(first.Size, 10), "[100.0, 150.0)"} {
		if !strings.Contains(detail, s) {
			t.Errorf("focused segment: detail %q lacks %q", detail, s)
		}
	}
	// Enter follows the segment to its IOV's page.
	tb.run(chromedp.KeyEvent("\r"))
	tb.waitText("h1", "Payload IOV "+strconv.FormatInt(first.ID, 10))
	tb.noProblems("after following a segment")

	// Hover: the pointer over the gap of lane B shows it.
	tb.open(q("timeline", "gt", w.GT, "from", "100", "to", "400"), 200)
	var box struct{ X, Y float64 }
	tb.eval(fmt.Sprintf(`(() => { const r = document.querySelector('.lane[data-type=%q] .seg.gap rect').getBoundingClientRect();
		return {X: r.x + r.width / 2, Y: r.y + r.height / 2}; })()`, w.Types[1]), &box)
	tb.run(chromedp.ActionFunc(func(ctx context.Context) error {
		return input.DispatchMouseEvent(input.MouseMoved, box.X, box.Y).Do(ctx)
	}))
	tb.waitText("#seg-detail", "no answer")
	if d := tb.text("#seg-detail"); !strings.Contains(d, "[100.0, 200.0)") {
		t.Errorf("hovered gap: %q", d)
	}
	tb.noProblems("timeline")
}

// TestCloneFromTheUI: with a token pasted once, the clone form makes a
// clone that answers what its source answers; the token travels only as
// the Authorization header of the writes, never in a URL or a cookie.
func TestCloneFromTheUI(t *testing.T) {
	needBrowser(t)
	w := seeded(t)
	tok := adminToken(t)
	dst := testkit.Uniq("ui_clone")
	tb := newTab(t, 1280, 900)
	tb.open(q("gt", "name", w.GT), 200)
	tb.setToken(tok)
	tb.fill(`form[data-action="clone"]`, "dst", dst)
	tb.run(chromedp.Click(`form[data-action="clone"] button[type="submit"]`, chromedp.ByQuery))
	tb.waitText("h1", "Global tag "+dst)
	tb.waitText(".flash", "Cloned")
	tb.noProblems("clone")
	// What the page says, and what the API says.
	body := tb.text("body")
	for _, ty := range w.Types {
		if !strings.Contains(body, ty) {
			t.Errorf("the clone's page lacks type %s", ty)
		}
	}
	var da, db struct{ Digest string }
	call(t, "", "GET", "/api/v2/gt/"+seg(w.GT)+"/digest?from=100&to=400", nil, 200, &da)
	call(t, "", "GET", "/api/v2/gt/"+seg(dst)+"/digest?from=100&to=400", nil, 200, &db)
	if da.Digest != db.Digest {
		t.Errorf("clone digest %s, source %s", db.Digest, da.Digest)
	}
	checkToken(t, tb, tok)

	// The diff of the two: nothing, then, after a fix in the clone, that
	// one range, as a table row and as a segment of its timeline.
	tb.open(q("diff", "a", w.GT, "b", dst, "from", "100", "to", "400"), 200)
	tb.waitText("#no-diff", "answer the same payloads")
	var lists map[string]string
	call(t, "", "GET", "/api/cdb_rest/gtPayloadLists/"+seg(dst), nil, 200, &lists)
	var fix struct{ ID int64 }
	call(t, tok, "POST", "/api/cdb_rest/piov", map[string]any{"payload_url": "fix.root", "checksum": "ck-fix", "size": 9,
		"major_iov": 220, "minor_iov": 0, "major_iov_end": 260, "minor_iov_end": 0}, 200, &fix)
	call(t, tok, "PUT", "/api/cdb_rest/piov_attach", map[string]any{"payload_list": lists[w.Types[0]], "piov_id": fix.ID}, 200, nil)
	tb.open(q("diff", "a", w.GT, "b", dst, "from", "100", "to", "400"), 200)
	var rows []string
	tb.eval(`Array.from(document.querySelectorAll("table.changes tbody tr")).map(r => Array.from(r.cells).map(c => c.textContent.trim()).join(" | "))`, &rows)
	want := []string{w.Types[0] + " | 220.0 | 260.0 | a150b.root ck-a150b.root | fix.root ck-fix"}
	if !slices.Equal(rows, want) {
		t.Errorf("diff rows %q, want %q", rows, want)
	}
	var segs []string
	tb.eval(`Array.from(document.querySelectorAll(".timeline .lane[data-type] .seg")).map(s => s.closest(".lane").dataset.type + " " + s.dataset.kind + " " + s.dataset.from + " " + s.dataset.until)`, &segs)
	if want := []string{w.Types[0] + " change 220.0 260.0"}; !slices.Equal(segs, want) {
		t.Errorf("diff timeline %q, want %q", segs, want)
	}
}

// checkToken: the token was sent as the Bearer header of every write the
// tab made, appears in no URL it asked for, and in no cookie; it is in
// session storage only.
func checkToken(t *testing.T, tb *tab, tok string) {
	t.Helper()
	writes := 0
	for _, r := range tb.requestsSeen() {
		if strings.Contains(r.URL, tok) || strings.Contains(r.URLFragment, tok) {
			t.Errorf("the token is in the URL %s", r.URL)
		}
		if r.Method == "GET" || r.Method == "HEAD" {
			if _, ok := r.Headers["Authorization"]; ok && strings.HasPrefix(r.URL, servers.ReaderURL+"/ui/") {
				t.Errorf("a page request carries the token: %s", r.URL)
			}
			continue
		}
		writes++
		if got, _ := r.Headers["Authorization"].(string); got != "Bearer "+tok {
			t.Errorf("%s %s: Authorization %q, want the Bearer token", r.Method, r.URL, got)
		}
	}
	if writes == 0 {
		t.Error("no write seen")
	}
	var cookies, local, session string
	tb.eval(`document.cookie`, &cookies)
	tb.eval(`JSON.stringify(localStorage)`, &local)
	tb.eval(`sessionStorage.getItem("condcache.token") || ""`, &session)
	if cookies != "" || strings.Contains(local, tok) {
		t.Errorf("the token is kept elsewhere: cookies %q, localStorage %q", cookies, local)
	}
	if session != tok {
		t.Errorf("session storage holds %q, want the token", session)
	}
}

// TestPreviewedAttach: the attach form shows the dry run's answer changes
// before anything is attached, and Apply attaches: the lookups after
// are what the preview said. A refused attach shows the server's detail.
func TestPreviewedAttach(t *testing.T) {
	needBrowser(t)
	tok := adminToken(t)
	gt := testkit.Uniq("ui_attach")
	ty := "Beam" + strings.TrimPrefix(gt, "ui_attach")
	lists, _ := newGT(t, gt, "", []string{ty}, map[string][]seedIOV{ty: {
		{URL: "run100.root", Checksum: "c100", Size: 1, Start: 100, End: maxI},
		{URL: "run200.root", Checksum: "c200", Size: 2, Start: 200, End: maxI},
	}})
	list := lists[ty]
	tb := newTab(t, 1280, 900)
	tb.open(q("list", "name", list), 200)
	tb.setToken(tok)
	form := `form[data-action="attach"]`
	for f, v := range map[string]string{"payload_url": "fix.root", "checksum": "cfix", "size": "42", "from": "150", "to": "180"} {
		tb.fill(form, f, v)
	}
	var disabled bool
	tb.eval(`document.querySelector('form[data-action="attach"] button.apply').disabled`, &disabled)
	if !disabled {
		t.Error("Apply is enabled before a preview")
	}
	tb.run(chromedp.Click(form+` button[value="preview"]`, chromedp.ByQuery))
	tb.waitText(form+" output.result", "Preview of attaching")
	var rows []struct{ From, Until, Before, After string }
	tb.eval(`Array.from(document.querySelectorAll(".answer-changes tbody tr")).map(r => ({From: r.dataset.from, Until: r.dataset.until,
		Before: r.querySelector(".before").textContent, After: r.querySelector(".after").textContent}))`, &rows)
	if len(rows) != 1 || rows[0].From != "150.0" || rows[0].Until != "180.0" ||
		!strings.HasPrefix(rows[0].Before, "run100.root") || !strings.HasPrefix(rows[0].After, "fix.root") {
		t.Fatalf("preview rows %+v, want [150.0, 180.0) run100.root → fix.root", rows)
	}
	// Nothing is attached yet.
	if u := lookupURL(t, gt, 160); u != "run100.root" {
		t.Fatalf("after the preview, run 160 answers %s", u)
	}
	// Editing the form asks for a new preview.
	tb.fill(form, "to", "190")
	tb.eval(`document.querySelector('form[data-action="attach"] button.apply').disabled`, &disabled)
	if !disabled {
		t.Error("Apply stays enabled after the form changed")
	}
	tb.fill(form, "to", "180")
	tb.run(chromedp.Click(form+` button[value="preview"]`, chromedp.ByQuery))
	tb.waitText(form+" output.result", "Preview of attaching")
	testkit.Poller(100*time.Millisecond).Eventually(t, 10*time.Second, "Apply enabled", func() bool {
		tb.eval(`document.querySelector('form[data-action="attach"] button.apply').disabled`, &disabled)
		return !disabled
	})
	beforeApply := time.Now().UTC().Format(time.RFC3339Nano)
	tb.run(chromedp.Click(form+` button.apply`, chromedp.ByQuery))
	tb.waitText(".flash", "attached to")
	tb.noProblems("attach")
	for run, want := range map[int64]string{120: "run100.root", 150: "fix.root", 179: "fix.root", 180: "run100.root", 200: "run200.root"} {
		if u := lookupURL(t, gt, run); u != want {
			t.Errorf("after Apply, run %d answers %s, want %s", run, u, want)
		}
	}
	// The lookup page answers what the API does, now and as of before
	// the Apply.
	tb.open(q("lookup", "gt", gt, "at", "160"), 200)
	if u := tb.text(".answer td.url"); u != "fix.root" {
		t.Errorf("the lookup page at 160 shows %q, want fix.root", u)
	}
	tb.open(q("lookup", "gt", gt, "at", "160", "asof", beforeApply), 200)
	if u := tb.text(".answer td.url"); u != "run100.root" {
		t.Errorf("the lookup page at 160 as of %s shows %q, want run100.root", beforeApply, u)
	}
	tb.open(q("list", "name", list), 200)
	if body := tb.text(".iovs"); !strings.Contains(body, "fix.root") {
		t.Error("the list page does not show the attached IOV")
	}
	checkToken(t, tb, tok)

	// A frozen GT refuses the attach: the preview shows the server's detail.
	call(t, tok, "PUT", "/api/cdb_rest/gt_change_status/"+seg(gt)+"/frozen", nil, 200, nil)
	tb.allow = func(s string) bool { return strings.Contains(s, "status of 409") }
	tb.open(q("list", "name", list), 200)
	tb.fill(form, "payload_url", "late.root")
	tb.fill(form, "checksum", "clate")
	tb.fill(form, "from", "300")
	tb.run(chromedp.Click(form+` button[value="preview"]`, chromedp.ByQuery))
	out := tb.waitText(form+" output.result", "cannot be attached")
	if !strings.Contains(out, "HTTP 409 locked: Global Tag is frozen.") {
		t.Errorf("frozen attach shows %q", out)
	}
	tb.noProblems("refused attach")
}

func lookupURL(t *testing.T, gt string, run int64) string {
	t.Helper()
	var a struct {
		Payloads []struct{ URL string } `json:"payloads"`
	}
	call(t, "", "GET", fmt.Sprintf("/api/v2/lookup?gt=%s&major=%d", qe(gt), run), nil, 200, &a)
	if len(a.Payloads) != 1 {
		return fmt.Sprint(a.Payloads)
	}
	return a.Payloads[0].URL
}

// TestProtectedDelete: a protected GT is marked on its page, and Delete
// shows the server's refusal (409 protected) after its dry run; an
// unprotected one is deleted once the user confirms. Freezing from the
// page marks the lists protected by the status.
func TestProtectedDelete(t *testing.T) {
	needBrowser(t)
	tok := adminToken(t)
	gt := testkit.Uniq("ui_prot")
	ty := "Prot" + strings.TrimPrefix(gt, "ui_prot")
	lists, _ := newGT(t, gt, "", []string{ty}, map[string][]seedIOV{ty: {{URL: "p.root", Checksum: "cp", Size: 1, Start: 1, End: maxI}}})
	call(t, tok, "PUT", "/api/v2/protect", map[string]any{"global_tags": []string{gt}, "protected": true, "note": "paper"}, 200, nil)
	tb := newTab(t, 1280, 900)
	tb.allow = func(s string) bool { return strings.Contains(s, "status of 409") }
	tb.open(q("gt", "name", gt), 200)
	if s := tb.text(".facts"); !strings.Contains(s, "protected: paper") {
		t.Errorf("the GT's facts do not show its mark: %q", s)
	}
	if s := tb.text("table.data"); !strings.Contains(s, "protected (its global tag is)") {
		t.Errorf("its list is not marked protected: %q", s)
	}
	tb.setToken(tok)
	form := `form[data-action="delete-gt"]`
	tb.run(chromedp.Click(form+` button[type="submit"]`, chromedp.ByQuery))
	out := tb.waitText(form+" output.result", "refused")
	want := `HTTP 409 protected: Protected, so nothing was deleted: GlobalTag "` + gt + `"`
	if !strings.Contains(out, want) {
		t.Errorf("delete shows %q, want %q", out, want)
	}
	call(t, "", "GET", "/api/cdb_rest/globalTag/"+seg(gt)+"?light", nil, 200, nil)

	// Unprotected: the dry run's count, then the confirmed delete.
	call(t, tok, "PUT", "/api/v2/protect", map[string]any{"global_tags": []string{gt}, "protected": false}, 200, nil)
	tb.open(q("gt", "name", gt), 200)
	// Freeze it from the page first: its lists show as protected.
	tb.run(chromedp.Click(`form[data-action="status"] button[value="frozen"]`, chromedp.ByQuery))
	tb.waitText(".flash", "set to frozen")
	if s := tb.text("table.data"); !strings.Contains(s, "protected (its global tag is frozen)") {
		t.Errorf("a frozen GT's list is not marked: %q", s)
	}
	tb.run(chromedp.Click(`form[data-action="status"] button[value="unlocked"]`, chromedp.ByQuery))
	tb.waitText(".flash", "set to unlocked")
	tb.run(chromedp.Click(form+` button[type="submit"]`, chromedp.ByQuery))
	tb.waitText(form+" output.result", "rows would be deleted")
	tb.run(chromedp.Click(form+` button.confirm`, chromedp.ByQuery))
	tb.waitText(".flash", "done")
	call(t, "", "GET", "/api/cdb_rest/globalTag/"+seg(gt)+"?light", nil, 404, nil)
	_ = lists
	tb.noProblems("delete")
	checkToken(t, tb, tok)
}

// TestNoticeFromTheUI: a notice added on a GT's page shows there with its
// importance's colour, its sanitised markdown and its run range; the
// notices page colours each importance as documented.
func TestNoticeFromTheUI(t *testing.T) {
	needBrowser(t)
	tok := adminToken(t)
	gt := testkit.Uniq("ui_notice")
	newGT(t, gt, "", nil, nil)
	for _, imp := range []string{"MAJOR", "MINOR", "INSIGNIFICANT"} {
		call(t, tok, "POST", "/api/v2/notices", map[string]any{"description": imp + " one", "importance": imp, "global_tags": []string{gt}}, 201, nil)
	}
	tb := newTab(t, 1280, 900)
	tb.open(q("gt", "name", gt), 200)
	tb.setToken(tok)
	tb.run(chromedp.Click(`details.panel summary`, chromedp.ByQuery))
	form := `form[data-action="notice"]`
	tb.fill(form, "description", "**Bad** TPC gain, see <https://logbook.example/123>")
	tb.run(chromedp.SetValue(form+` select[name="importance"]`, "CRITICAL", chromedp.ByQuery))
	tb.fill(form, "from", "120")
	tb.fill(form, "to", "180")
	tb.run(chromedp.Click(form+` button[type="submit"]`, chromedp.ByQuery))
	tb.waitText(".flash", "(CRITICAL) added")
	tb.noProblems("notice")
	var bold, link, runs string
	tb.eval(`document.querySelector(".notice.imp-critical .md strong").textContent`, &bold)
	tb.eval(`document.querySelector(".notice.imp-critical .md a").getAttribute("href")`, &link)
	tb.eval(`document.querySelector(".notice.imp-critical .meta").textContent`, &runs)
	if bold != "Bad" || link != "https://logbook.example/123" || !strings.Contains(runs, "120.0 – 180.MAX") {
		t.Errorf("the notice shows bold %q, link %q, meta %q", bold, link, runs)
	}
	colours := map[string]string{"CRITICAL": "rgb(201, 48, 44)", "MAJOR": "rgb(236, 151, 31)", "MINOR": "rgb(49, 176, 213)", "INSIGNIFICANT": "rgb(108, 117, 125)"}
	tb.open(q("notices", "gt", gt), 200)
	var got map[string]string
	tb.eval(`Object.fromEntries(Array.from(document.querySelectorAll(".notice .imp")).map(e => [e.textContent, getComputedStyle(e).backgroundColor]))`, &got)
	for imp, want := range colours {
		if got[imp] != want {
			t.Errorf("%s is coloured %s, want %s", imp, got[imp], want)
		}
	}
	checkToken(t, tb, tok)
}

// TestWritesShowTheServersDetail: without a token a write is refused,
// and the form says why in the server's words.
func TestWritesShowTheServersDetail(t *testing.T) {
	needBrowser(t)
	ensureStatuses(t)
	tb := newTab(t, 1280, 900)
	tb.allow = func(s string) bool { return strings.Contains(s, "status of 403") }
	tb.open("/ui/gts", 200)
	tb.run(chromedp.Click(`details.panel summary`, chromedp.ByQuery))
	form := `form[data-action="create-gt"]`
	tb.fill(form, "name", testkit.Uniq("ui_denied"))
	tb.run(chromedp.Click(form+` button[type="submit"]`, chromedp.ByQuery))
	out := tb.waitText(form+" output.result", "HTTP 403")
	if !strings.Contains(out, "unauthorized") {
		t.Errorf("refused create shows %q", out)
	}
	tb.noProblems("refused create")
}

// TestHostileNamesShowAsText: names with markup, quotes, an RTL override
// and the longest texts the schema holds are shown as text on every page
// that shows them: no dialog, no element the names would make, the exact
// text on the page.
func TestHostileNamesShowAsText(t *testing.T) {
	needBrowser(t)
	w := seeded(t)
	iov := strconv.FormatInt(w.HostileIOV, 10)
	all := []string{w.HostileGT, w.HostileType, w.HostileList}
	cases := []pageCase{
		{"/ui/", 200, []string{w.HostileGT}},
		{q("gts", "search", w.HostileGT), 200, []string{w.HostileGT, w.HostileAuthor}},
		{q("gt", "name", w.HostileGT), 200, append(all, w.HostileAuthor, "Hostile <script>")},
		{q("types", "search", w.HostileType), 200, []string{w.HostileType}},
		{q("type", "name", w.HostileType), 200, all},
		{q("lists", "global_tag", w.HostileGT), 200, all},
		{q("list", "name", w.HostileList), 200, append(all, w.HostileURL, w.HostileChecksum)},
		{q("iovs", "global_tag", w.HostileGT), 200, append(all, w.HostileURL, w.HostileChecksum)},
		{q("iov", "id", iov), 200, append(all, w.HostileURL, w.HostileChecksum)},
		{q("timeline", "gt", w.HostileGT), 200, []string{w.HostileGT, w.HostileType, w.HostileURL}},
		{q("lookup", "gt", w.HostileGT, "at", "150"), 200, []string{w.HostileGT, w.HostileType, w.HostileURL, w.HostileChecksum}},
		{q("diff", "a", w.HostileGT, "b", w.GT), 200, []string{w.HostileGT, w.HostileType}},
		{q("notices", "gt", w.HostileGT), 200, []string{w.HostileGT, "stored by SQL"}},
		{q("notice", "id", strconv.FormatInt(w.HostileNotice, 10)), 200, []string{w.HostileGT, `<script>alert("notice")</script>`}},
		{q("audit", "gt", w.HostileGT), 200, []string{w.HostileGT}},
		{q("audit-entry", "id", strconv.FormatInt(w.AuditEntry, 10)), 200, []string{w.HostileGT}},
		{q("usage", "gt", w.HostileGT), 200, []string{w.HostileGT, hostileClient}},
		{q("check", "gt", w.HostileGT), 200, []string{w.HostileGT}},
		{q("gt", "name", w.HostileGT+"!"), 404, []string{w.HostileGT + "!"}},
	}
	tb := newTab(t, 1280, 900)
	tb.allow = func(s string) bool { return strings.Contains(s, "status of 404") }
	for _, pc := range cases {
		tb.open(pc.path, pc.status)
		var text string
		tb.eval(`document.body.textContent + " " + Array.from(document.querySelectorAll("[data-label]")).map(e => e.dataset.label).join(" ")`, &text)
		for _, s := range pc.want {
			if !strings.Contains(text, s) {
				t.Errorf("%s does not show %.60q as text", pc.path, s)
			}
		}
		var made struct {
			Scripts  []string
			Handlers int
			Images   int
			JSLinks  int
			Bold     int
		}
		tb.eval(`({Scripts: Array.from(document.scripts).map(s => s.getAttribute("src") || "inline"),
			Handlers: document.querySelectorAll("[onerror],[onload],[onclick],[onmouseover]").length,
			Images: document.querySelectorAll('img[src="x"]').length,
			JSLinks: document.querySelectorAll('a[href^="javascript:"]').length,
			Bold: document.querySelectorAll("b, i").length})`, &made)
		if len(made.Scripts) != 1 || !strings.HasPrefix(made.Scripts[0], "/ui/static/app.js") || made.Handlers+made.Images+made.JSLinks+made.Bold > 0 {
			t.Errorf("%s: the names made elements: %+v", pc.path, made)
		}
		if strings.Contains(pc.path, "/ui/notices") {
			var sqlNotice int
			tb.eval(`document.querySelectorAll("#sqlnotice, .md script, .md img").length`, &sqlNotice)
			if sqlNotice != 0 {
				t.Errorf("the notice stored by SQL shows unsanitised HTML (%d elements)", sqlNotice)
			}
		}
	}
	tb.noProblems("hostile")
}

// TestPhoneWidth: at 390 px the pages need no horizontal scrolling of
// the page itself (wide tables scroll in their own box).
func TestPhoneWidth(t *testing.T) {
	needBrowser(t)
	w := seeded(t)
	tb := newTab(t, 390, 844)
	for _, p := range []string{"/ui/", q("gt", "name", w.GT), q("timeline", "gt", w.GT), q("list", "name", w.Lists[w.Types[0]]),
		q("lookup", "gt", w.GT, "at", "160"), q("notices"), q("gt", "name", w.HostileGT)} {
		tb.open(p, 200)
		var over float64
		tb.eval(`document.documentElement.scrollWidth - document.documentElement.clientWidth`, &over)
		if over > 1 {
			var wide []string
			tb.eval(`Array.from(document.querySelectorAll("main *")).filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 &&
				!e.closest(".scroll")).slice(0, 5).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))`, &wide)
			t.Errorf("%s is %v px wider than a phone; the first elements beyond its edge: %v", p, over, wide)
		}
	}
}

var _ = json.Marshal

// TestKeyboardOnly: the skip link comes first and moves focus to the
// content; the token is set and a clone made with the keyboard alone
// (Tab, typing, Enter), no pointer.
func TestKeyboardOnly(t *testing.T) {
	needBrowser(t)
	w := seeded(t)
	tok := adminToken(t)
	dst := testkit.Uniq("ui_kbd")
	tb := newTab(t, 1280, 900)
	tb.open(q("gt", "name", w.GT), 200)
	focused := func() string {
		var s string
		tb.eval(`(e => e.id || e.name || e.className || e.tagName)(document.activeElement)`, &s)
		return s
	}
	// tabTo presses Tab until the focused element is want.
	tabTo := func(want string) {
		t.Helper()
		for i := 0; i < 60; i++ {
			tb.run(chromedp.KeyEvent("\t"))
			if focused() == want {
				return
			}
		}
		t.Fatalf("Tab never reached %s", want)
	}
	tb.run(chromedp.KeyEvent("\t"))
	if f := focused(); f != "skip" {
		t.Errorf("the first Tab focuses %q, want the skip link", f)
	}
	tb.run(chromedp.KeyEvent("\r"))
	if f := focused(); f != "main" {
		t.Errorf("the skip link moved focus to %q, want main", f)
	}
	tb.run(chromedp.Evaluate(`document.activeElement.blur(); window.scrollTo(0, 0)`, nil))
	tabTo("token-toggle")
	tb.run(chromedp.KeyEvent("\r"))
	if f := focused(); f != "token-input" {
		t.Fatalf("opening the token form focuses %q, want its input", f)
	}
	tb.run(chromedp.KeyEvent(tok), chromedp.KeyEvent("\r"))
	tb.waitText("#token-state", "token set")
	tabTo("dst")
	tb.run(chromedp.KeyEvent(dst), chromedp.KeyEvent("\r"))
	tb.waitText("h1", "Global tag "+dst)
	tb.waitText(".flash", "Cloned")
	tb.noProblems("keyboard")
	checkToken(t, tb, tok)
}
