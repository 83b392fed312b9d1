// Command citecheck is a lint step (make lint): every citation of the
// project's documents names a file and a section that exist, and nothing
// cites a file outside the repository. Citations take two forms:
//
//	docs/design.md "The attach invariant"   (in code comments)
//	docs/design.md#the-attach-invariant     (in Markdown links)
//
// A citation may wrap across comment lines. It prints every bad citation
// with its place and exits 1 if there is any.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

var (
	// lineBreak joins comment lines: a newline, indentation and a comment
	// marker (Go, SQL, shell, YAML).
	lineBreak = regexp.MustCompile(`\n[ \t]*(?://|--|#)?[ \t]*`)
	cite      = regexp.MustCompile(`docs/([a-z0-9_-]+\.md) "([^"]+)"`)
	anchor    = regexp.MustCompile(`\(((?:docs/)?[a-z0-9_-]+\.md)#([a-z0-9_-]+)\)`)
	// outside names the reference documents that live outside the
	// repository, and paths leaving it.
	outside = regexp.MustCompile(`\b(?:API|DESIGN)\.md\b|\.\./shared/|\bshared/(?:fixtures|hooks)\b`)
	heading = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
)

func main() {
	files, err := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "citecheck: git ls-files:", err)
		os.Exit(2)
	}
	docs := map[string]map[string]bool{} // file → headings and anchors
	section := func(file string) map[string]bool {
		if s, ok := docs[file]; ok {
			return s
		}
		b, err := os.ReadFile(filepath.Join("docs", file))
		if err != nil {
			docs[file] = nil
			return nil
		}
		s := map[string]bool{}
		for _, m := range heading.FindAllStringSubmatch(string(b), -1) {
			s[m[1]], s["#"+slug(m[1])] = true, true
		}
		docs[file] = s
		return s
	}
	bad := 0
	report := func(path string, text string, offset int, format string, args ...any) {
		line := 1 + strings.Count(text[:offset], "\n")
		fmt.Printf("%s:%d: %s\n", path, line, fmt.Sprintf(format, args...))
		bad++
	}
	sc := bufio.NewScanner(strings.NewReader(string(files)))
	for sc.Scan() {
		path := sc.Text()
		if !textFile(path) || strings.HasPrefix(path, "internal/tools/citecheck/") {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue // deleted in the work tree
		}
		text := string(b)
		for _, m := range outside.FindAllStringIndex(text, -1) {
			report(path, text, m[0], "cites %q, which is outside the repository: cite a section of docs/", text[m[0]:m[1]])
		}
		joined, offsets := join(text)
		for _, m := range cite.FindAllStringSubmatchIndex(joined, -1) {
			file, sec := joined[m[2]:m[3]], joined[m[4]:m[5]]
			if s := section(file); s == nil {
				report(path, text, offsets[m[0]], "cites docs/%s, which does not exist", file)
			} else if !s[sec] {
				report(path, text, offsets[m[0]], "cites section %q of docs/%s, which has no such heading", sec, file)
			}
		}
		for _, m := range anchor.FindAllStringSubmatchIndex(text, -1) {
			file := strings.TrimPrefix(text[m[2]:m[3]], "docs/")
			if !strings.HasPrefix(path, "docs/") && !strings.HasPrefix(text[m[2]:m[3]], "docs/") {
				continue // a link to a Markdown file elsewhere
			}
			if s := section(file); s == nil {
				report(path, text, m[0], "links to docs/%s, which does not exist", file)
			} else if !s["#"+text[m[4]:m[5]]] {
				report(path, text, m[0], "links to #%s of docs/%s, which has no such heading", text[m[4]:m[5]], file)
			}
		}
	}
	if bad > 0 {
		fmt.Printf("citecheck: %d bad citation(s)\n", bad)
		os.Exit(1)
	}
}

// join removes the comment line breaks of text, and maps each byte of the
// result back to its offset in text.
func join(text string) (string, []int) {
	var b strings.Builder
	offsets := make([]int, 0, len(text))
	last := 0
	for _, m := range lineBreak.FindAllStringIndex(text, -1) {
		b.WriteString(text[last:m[0]])
		for i := last; i < m[0]; i++ {
			offsets = append(offsets, i)
		}
		b.WriteByte(' ')
		offsets = append(offsets, m[0])
		last = m[1]
	}
	b.WriteString(text[last:])
	for i := last; i < len(text); i++ {
		offsets = append(offsets, i)
	}
	return b.String(), append(offsets, len(text))
}

// slug is GitHub's anchor of a heading: lower case, spaces to hyphens,
// punctuation other than hyphens and underscores dropped.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func textFile(path string) bool {
	switch filepath.Ext(path) {
	case ".go", ".sql", ".md", ".yml", ".yaml", ".sh", ".tmpl", ".html", ".js", ".css":
		return true
	}
	base := filepath.Base(path)
	return base == "Makefile" || base == "Dockerfile" || strings.HasPrefix(path, ".ci/")
}
