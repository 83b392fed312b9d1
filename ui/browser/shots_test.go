package browser

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/condcache/condcache/internal/testkit"
)

// TestScreenshots writes every page at 1280 px and at a phone's width
// (390 px) under $UI_SHOTS (make ui-shots: reports/ui/), for people to
// look at. It skips without UI_SHOTS.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("UI_SHOTS")
	if dir == "" {
		t.Skip("UI_SHOTS is not set (make ui-shots)")
	}
	needBrowser(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := seeded(t)
	tok := adminToken(t)
	// A clone with a fix, for the diff.
	clone := testkit.Uniq("ui_v2")
	call(t, tok, "POST", "/api/cdb_rest/cloneGlobalTag/"+seg(w.GT)+"/"+seg(clone), nil, 200, nil)
	var lists map[string]string
	call(t, "", "GET", "/api/cdb_rest/gtPayloadLists/"+seg(clone), nil, 200, &lists)
	var iov struct{ ID int64 }
	call(t, tok, "POST", "/api/cdb_rest/piov", map[string]any{"payload_url": "a_fix.root", "checksum": "ck-fix", "size": 2048,
		"major_iov": 220, "minor_iov": 0, "major_iov_end": 260, "minor_iov_end": 0}, 200, &iov)
	call(t, tok, "PUT", "/api/cdb_rest/piov_attach", map[string]any{"payload_list": lists[w.Types[0]], "piov_id": iov.ID}, 200, nil)
	call(t, tok, "POST", "/api/v2/notices", map[string]any{"description": "**Known bad** gain between runs 220 and 260, see <https://logbook.example/42>",
		"importance": "MAJOR", "global_tags": []string{w.GT}, "runs": map[string]any{"from": map[string]any{"major": 220}, "to": map[string]any{"major": 260}}}, 201, nil)
	a := w.Types[0]
	pages := []struct{ name, path string }{
		{"home", "/ui/"},
		{"gts", "/ui/gts"},
		{"gt", q("gt", "name", w.GT)},
		{"types", "/ui/types"},
		{"type", q("type", "name", a)},
		{"lists", "/ui/lists"},
		{"list", q("list", "name", w.Lists[a])},
		{"iovs", "/ui/iovs"},
		{"iov", q("iov", "id", strconv.FormatInt(w.IOVs[a][2].ID, 10))},
		{"timeline", q("timeline", "gt", w.GT, "from", "100", "to", "400")},
		{"timeline-strict", q("timeline", "gt", w.GT, "from", "100", "to", "400", "strict", "1")},
		{"diff", q("diff", "a", w.GT, "b", clone, "from", "100", "to", "400")},
		{"lookup", q("lookup", "gt", w.GT, "at", "230")},
		{"notices", "/ui/notices"},
		{"notice", q("notice", "id", strconv.FormatInt(w.HostileNotice, 10))},
		{"audit", q("audit", "gt", w.GT)},
		{"audit-entry", q("audit-entry", "id", strconv.FormatInt(w.AuditEntry, 10))},
		{"usage", "/ui/usage"},
		{"check", q("check", "gt", w.GT)},
		{"hostile-gt", q("gt", "name", w.HostileGT)},
		{"hostile-list", q("list", "name", w.HostileList)},
		{"error", q("gt", "name", "no such GT")},
	}
	for _, size := range []struct {
		suffix string
		w, h   int64
	}{{"1280", 1280, 900}, {"phone", 390, 844}} {
		tb := newTab(t, size.w, size.h)
		tb.allow = func(s string) bool { return strings.Contains(s, "status of 404") }
		for _, p := range pages {
			status := 200
			if p.name == "error" {
				status = 404
			}
			tb.open(p.path, status)
			if strings.HasPrefix(p.name, "timeline") {
				// Show a segment's details as a user pointing at it would.
				var box struct{ X, Y float64 }
				tb.eval(`(() => { const r = document.querySelector(".seg.has-finding rect").getBoundingClientRect();
					return {X: r.x + r.width / 2, Y: r.y + r.height / 2}; })()`, &box)
				tb.run(chromedp.ActionFunc(func(ctx context.Context) error {
					return input.DispatchMouseEvent(input.MouseMoved, box.X, box.Y).Do(ctx)
				}))
				tb.waitText("#seg-detail", "IOV")
			}
			var png []byte
			tb.run(chromedp.FullScreenshot(&png, 100))
			name := filepath.Join(dir, p.name+"-"+size.suffix+".png")
			if err := os.WriteFile(name, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("screenshots of %d pages in %s", len(pages), dir)
}
