// Package markdown renders the markdown of notices (docs/design.md
// "Notices") to HTML that is safe to show in a page: goldmark renders
// CommonMark with GitHub's tables and strikethrough, raw HTML left out,
// and bluemonday's user-content policy removes whatever could still run or
// restyle a page (scripts, event handlers, style attributes, javascript:
// links). Problem tells the writer why a description is refused before
// anything is stored: notices are markdown, and raw HTML or script links
// in one are a mistake or an attack, never something to store quietly
// changed.
package markdown

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
)

var (
	renderer = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify))
	policy   = newPolicy()
)

func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

// HTML renders md and sanitises the result.
func HTML(md string) string {
	var b bytes.Buffer
	if err := renderer.Convert([]byte(md), &b); err != nil {
		// goldmark fails only on writer errors, which a buffer has none of;
		// fall back to the text, escaped.
		return policy.Sanitize("<p>" + bluemondayEscape(md) + "</p>")
	}
	return policy.Sanitize(b.String())
}

func bluemondayEscape(s string) string {
	return bluemonday.StrictPolicy().Sanitize(s)
}

// maxQuoted bounds how much of a refused construct Problem quotes.
const maxQuoted = 40

// Problem returns why md cannot be a notice's description, or "": it holds
// raw HTML (a block or inline tag; HTML inside code is text and fine), or
// a link, image or autolink to a javascript:, vbscript:, file: or
// non-image data: URL.
func Problem(md string) string {
	src := []byte(md)
	doc := renderer.Parser().Parse(text.NewReader(src))
	var problem string
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.HTMLBlock:
			problem = "raw HTML " + quote(linesOf(n.Lines(), src)) + ", which is not allowed: write markdown"
		case *ast.RawHTML:
			problem = "raw HTML " + quote(linesOf(n.Segments, src)) + ", which is not allowed: write markdown"
		case *ast.Link:
			problem = dangerous(n.Destination)
		case *ast.Image:
			problem = dangerous(n.Destination)
		case *ast.AutoLink:
			problem = dangerous(n.URL(src))
		}
		if problem != "" {
			return ast.WalkStop, nil
		}
		return ast.WalkContinue, nil
	})
	return problem
}

func dangerous(url []byte) string {
	if html.IsDangerousURL(bytes.TrimSpace(url)) {
		return "the link " + quote(url) + ", which is not allowed: only http, https, mailto and relative links are"
	}
	return ""
}

func linesOf(segs *text.Segments, src []byte) []byte {
	var b []byte
	for i := range segs.Len() {
		seg := segs.At(i)
		b = append(b, seg.Value(src)...)
	}
	return bytes.TrimSpace(b)
}

func quote(b []byte) string {
	r := []rune(string(b))
	if len(r) > maxQuoted {
		return fmt.Sprintf("%q…", string(r[:maxQuoted]))
	}
	return fmt.Sprintf("%q", string(r))
}

// Sanitize applies the policy of HTML, made stricter for a page, to HTML
// rendered elsewhere: a notice's description_html as stored, which plain
// SQL may have written, before a page shows it. On top of HTML's policy it
// drops id attributes (a notice must not clobber the page's own elements
// or what its script looks up by id) and images other than https: and
// data:image ones (a relative src would load from the page's own
// directory, which serves no image).
func Sanitize(html string) string { return pagePolicy.Sanitize(html) }

var pagePolicy = newPagePolicy()

// newPagePolicy allows what goldmark renders from markdown, with no
// attribute but links' href and title, images' src, alt and title, and a
// list's start. bluemonday's rules only add up, so this is built rather
// than derived from the user-content policy, which allows id everywhere.
func newPagePolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowStandardURLs() // parseable; relative, mailto, http or https
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowElements("p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
		"ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "sub", "sup")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("title").Matching(bluemonday.Paragraph).OnElements("a", "img")
	p.AllowAttrs("alt").Matching(bluemonday.Paragraph).OnElements("img")
	p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
	p.AllowDataURIImages()
	p.AllowAttrs("src").Matching(regexp.MustCompile(`^(?i:https://|data:image/(?:png|gif|jpeg|webp);base64,)`)).OnElements("img")
	return p
}
