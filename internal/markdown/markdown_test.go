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
