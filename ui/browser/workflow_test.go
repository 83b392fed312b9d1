package browser

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/condcache/condcache/internal/testkit"
)

// TestWorkflowFromTheUI: the README's calibration workflow with the UI
// alone: create a GT and a payload type, create and attach a list,
// attach an IOV after its preview, lock the GT, and export it (the
// page's link gives the SQLite file).
func TestWorkflowFromTheUI(t *testing.T) {
	needBrowser(t)
	ensureStatuses(t)
	tok := adminToken(t)
	gt := testkit.Uniq("ui_flow")
	ty := "Flow" + strings.TrimPrefix(gt, "ui_flow")
	tb := newTab(t, 1280, 900)

	tb.open("/ui/gts", 200)
	tb.setToken(tok)
	tb.run(chromedp.Click(`details.panel summary`, chromedp.ByQuery))
	tb.fill(`form[data-action="create-gt"]`, "name", gt)
	tb.fill(`form[data-action="create-gt"]`, "author", "flow")
	tb.run(chromedp.Click(`form[data-action="create-gt"] button[type="submit"]`, chromedp.ByQuery))
	tb.waitText("h1", "Global tag "+gt)
	tb.waitText(".flash", "created")

	tb.open("/ui/types", 200)
	tb.run(chromedp.Click(`details.panel summary`, chromedp.ByQuery))
	tb.fill(`form[data-action="create-type"]`, "name", ty)
	tb.run(chromedp.Click(`form[data-action="create-type"] button[type="submit"]`, chromedp.ByQuery))
	tb.waitText("h1", "Payload type "+ty)

	tb.open(q("gt", "name", gt), 200)
	tb.run(chromedp.SetValue(`form[data-action="add-list"] select[name="type"]`, ty, chromedp.ByQuery),
		chromedp.Click(`form[data-action="add-list"] button[type="submit"]`, chromedp.ByQuery))
	tb.waitText(".flash", "of type "+ty+" attached")
	var list string
	tb.eval(`document.querySelector('table.data a[href^="/ui/list?"]').textContent`, &list)
	if !strings.HasPrefix(list, ty+"_") {
		t.Fatalf("the GT's list is %q, want one of type %s", list, ty)
	}

	tb.open(q("list", "name", list), 200)
	form := `form[data-action="attach"]`
	for f, v := range map[string]string{"payload_url": "flow.root", "checksum": "cflow", "size": "5", "from": "10"} {
		tb.fill(form, f, v)
	}
	tb.run(chromedp.Click(form+` button[value="preview"]`, chromedp.ByQuery))
	tb.waitText(form+" output.result", "Preview of attaching")
	if rows := tb.text(".answer-changes tbody"); !strings.Contains(rows, "flow.root") {
		t.Errorf("the preview does not show the new answer: %q", rows)
	}
	tb.run(chromedp.Click(form+` button.apply`, chromedp.ByQuery))
	tb.waitText(".flash", "attached to")
	if u := lookupURL(t, gt, 10); u != "flow.root" {
		t.Errorf("run 10 answers %s", u)
	}

	tb.open(q("gt", "name", gt), 200)
	tb.run(chromedp.Click(`form[data-action="status"] button[value="locked"]`, chromedp.ByQuery))
	tb.waitText(".flash", "set to locked")
	if s := tb.text(".facts"); !strings.Contains(s, "locked") {
		t.Errorf("the GT's facts after Lock: %q", s)
	}
	var href string
	tb.eval(`document.querySelector("a[download]").getAttribute("href")`, &href)
	resp, err := httpClient.Get(servers.ReaderURL + href)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 16)
	if _, err := io.ReadFull(resp.Body, head); err != nil || resp.StatusCode != 200 || !bytes.Equal(head, []byte("SQLite format 3\x00")) {
		t.Errorf("the export link %s: %d %q %v", href, resp.StatusCode, head, err)
	}
	tb.noProblems("workflow")
	checkToken(t, tb, tok)
}
