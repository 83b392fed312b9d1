package markdown

import (
	"regexp"
	"strings"
	"testing"
)

// Nothing that runs or restyles survives, whatever the markdown holds.
var unsafe = regexp.MustCompile(`(?i)<\s*(script|style|iframe|object|embed|form|input|svg|math|link|meta|base)|\son\w+\s*=|style\s*=|javascript:|vbscript:|data:text/html`)

func TestHostileMarkdown(t *testing.T) {
	for _, md := range []string{
		`<script>alert(1)</script>`,
		`<img src=x onerror=alert(1)>`,
		`<a href="javascript:alert(1)">x</a>`,
		`[click](javascript:alert(1))`,
		`[click](JaVaScRiPt:alert(1))`,
		`![x](javascript:alert(1))`,
		`<div style="position:fixed;top:0">cover</div>`,
		`<p onclick="steal()">hi</p>`,
		`<iframe src="https://evil.example"></iframe>`,
		"```html\n<script>alert(1)</script>\n```",
		`<svg onload=alert(1)>`,
		`<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>`,
		"<scr<script>ipt>alert(1)</script>",
		`<style>body{display:none}</style>`,
		`**bold** <b onmouseover="x()">b</b>`,
		`[x](vbscript:msgbox(1))`,
		`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	} {
		got := HTML(md)
		if m := unsafe.FindString(got); m != "" {
			t.Errorf("markdown %q renders %q, which keeps %q", md, got, m)
		}
	}
}

func TestMarkdownRenders(t *testing.T) {
	for md, want := range map[string]string{
		"**bad** calibration":             "<strong>bad</strong>",
		"see [the log](https://x.y)":      `href="https://x.y"`,
		"- a\n- b":                        "<li>a</li>",
		"`code`":                          "<code>code</code>",
		"| a | b |\n|---|---|\n| 1 | 2 |": "<table>",
		"a & b < c":                       "a &amp; b &lt; c",
	} {
		if got := HTML(md); !strings.Contains(got, want) {
			t.Errorf("HTML(%q) = %q, want it to hold %q", md, got, want)
		}
	}
}

// Problem refuses raw HTML and script links, and nothing a calibration
// expert writes in plain markdown.
func TestProblem(t *testing.T) {
	for _, md := range []string{
		`<script>alert(1)</script>`,
		"text <img src=x onerror=alert(1)> more",
		`<div style="position:fixed">cover</div>`,
		`[click](javascript:alert(1))`,
		`[click](  JaVaScRiPt:alert(1))`,
		`![x](vbscript:msgbox(1))`,
		`<javascript:alert(1)>`,
		`[x](data:text/html;base64,PHNjcmlwdD4=)`,
		"ok\n\n<!-- hidden -->",
	} {
		if Problem(md) == "" {
			t.Errorf("Problem(%q) = \"\", want a refusal", md)
		}
	}
	for _, md := range []string{
		"**bad** calibration of `TPC` after run 1234",
		"see [the log](https://x.y/z?a=1) and <https://x.y>",
		"```html\n<script>alert(1)</script>\n```",
		"inline `<script>` as code",
		"a < b and c > d, 5 <= 6",
		"| a | b |\n|---|---|\n| 1 | 2 |",
		"![plot](https://x.y/p.png) ![small](data:image/png;base64,iVBORw0KGgo=)",
		"mail <mailto:calib@example.org>",
	} {
		if p := Problem(md); p != "" {
			t.Errorf("Problem(%q) = %q, want none", md, p)
		}
	}
}

// Sanitize, for a page: what HTML keeps, less ids and images a page
// cannot load; https and inline data images stay.
func TestSanitizeForAPage(t *testing.T) {
	for in, want := range map[string]string{
		`<p id="digest">x</p>`:                              `<p>x</p>`,
		`<h2 id="seg-detail">h</h2>`:                        `<h2>h</h2>`,
		`<img src="x" onerror="alert(3)">`:                  ``,
		`<img src="/ui/static/app.js">`:                     ``,
		`<img src="http://plain.example/a.png">`:            ``,
		`<img src="https://logbook.example/a.png" alt="a">`: `<img src="https://logbook.example/a.png" alt="a">`,
		`<img src="data:image/png;base64,iVBORw0KGgo=">`:    `<img src="data:image/png;base64,iVBORw0KGgo=">`,
		`<img src="data:image/svg+xml;base64,PHN2Zz4=">`:    ``,
		`<a href="/ui/gt?name=a">a</a>`:                     `<a href="/ui/gt?name=a" rel="nofollow">a</a>`,
		`<script>alert(1)</script><b>b</b>`:                 `b`,
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

// What markdown renders to passes Sanitize unchanged.
func TestSanitizeKeepsRenderedMarkdown(t *testing.T) {
	for _, md := range []string{
		"**bad** _calibration_ ~~old~~", "see [the log](https://x.y \"t\") and <https://a.b/c>", "- a\n- b\n\n3. c\n4. d",
		"`code`\n\n```\nblock\n```", "| a | b |\n|:--|--:|\n| 1 | 2 |", "# h1\n## h2\n> quote\n\n---",
		"![plot](https://logbook.example/p.png \"gain\")", "mail <me@x.y>", "[rel](/ui/gt?name=a)",
	} {
		h := HTML(md)
		if got := Sanitize(h); got != h {
			t.Errorf("markdown %q: Sanitize(%q) = %q", md, h, got)
		}
	}
}
