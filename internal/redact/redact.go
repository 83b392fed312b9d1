// Package redact hides credentials in text that may quote a database or
// Redis URL, a connection string, a secret or a token: error messages,
// probe answers, log lines, command lines and printed configurations. It
// is the one redaction of the project: the servers' answers, the
// processes' logs (Handler), the process launcher and -print-config all
// use it. It depends on nothing but the standard library, so every layer
// can.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces what is hidden.
const Mask = "***"

// secretKey matches the key of a key=value pair whose value is a
// credential: libpq's password, passwd, pwd and sslpassword, and names
// made of words one of which is such a word, as JWT_SECRET,
// POSTGRES_PASSWORD_W, access_token or x-api-key (not a word merely
// containing one, as a path "…/TestSecretLeaks/…"). The
// separator is "=" with optional spaces (libpq allows them), or "%3D" in
// a query-escaped text.
var secretKey = regexp.MustCompile(`(?i)(?:\b|%[0-9a-f]{2})((?:[a-z0-9]+[_.-])*(?:(?:ssl)?password|passwd|pwd|secret|token|api_?key)(?:[_.-][a-z0-9]+)*)\s*(?:=|%3D)\s*`)

// tokens matches bearer credentials: an Authorization header's value, a
// Bearer token, and anything shaped like a JSON Web Token (three base64url
// parts, the first a JSON object: "eyJ").
var tokens = regexp.MustCompile(`(?i)\b(authorization\s*[:=]\s*|bearer(?:\s+|%20|\+))(?:(?:basic|bearer|digest|negotiate)\s+)?[^\s"',;&]+|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// Credentials hides, in free text s:
//   - the password of every URL's user info ("postgres://u:pw@h" becomes
//     "postgres://u:***@h", "redis://:pw@h" "redis://:***@h"), also when
//     the URL is percent-encoded inside another ("%3A%2F%2F");
//   - the value of every password=, pwd=, sslpassword=, …secret=,
//     …token= pair: libpq keyword/value strings, quoted ('a b') or not,
//     percent-encoded as in a URL's path or query ("password=pw%20dbname=x"
//     keeps "%20dbname=x"), URL query parameters;
//   - Authorization values, bearer tokens, and anything shaped like a
//     JWT.
func Credentials(s string) string {
	s = userInfo(s)
	s = keyValues(s)
	return tokens.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "eyJ") {
			return Mask
		}
		return tokens.FindStringSubmatch(m)[1] + Mask
	})
}

// DSN returns a database or Redis connection string (URL or libpq
// keyword/value) fit to show: its passwords hidden, the rest kept, so
// that host, port, user and database can still be read.
func DSN(dsn string) string { return Credentials(dsn) }

// Secret masks a secret value whole: Mask, or "" when it is empty (an
// empty secret is worth seeing as such).
func Secret(s string) string {
	if s == "" {
		return ""
	}
	return Mask
}

// Values returns a function that hides the given secret values, in the
// forms text may quote them (as they are, percent-encoded as in a URL
// path, user info or query), and then applies Credentials. Empty values and
// values shorter than 3 bytes (which would mask ordinary words) are
// ignored, but Credentials still applies.
func Values(secrets ...string) func(string) string {
	var forms []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) < 3 {
			continue
		}
		for _, f := range []string{s, url.QueryEscape(s), url.PathEscape(s), url.UserPassword("u", s).String()[2:]} {
			if !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	// Longest first, so an encoded form is not half replaced by a shorter one.
	for i := 1; i < len(forms); i++ {
		for j := i; j > 0 && len(forms[j]) > len(forms[j-1]); j-- {
			forms[j], forms[j-1] = forms[j-1], forms[j]
		}
	}
	return func(text string) string {
		for _, f := range forms {
			if strings.Contains(text, f) {
				text = strings.ReplaceAll(text, f, Mask)
			}
		}
		return Credentials(text)
	}
}

// userInfo hides the password of every URL user info in s: after
// "scheme://" (or its percent-encoded form "%3A%2F%2F"), the authority
// runs to the first "/", "?", "#", quote or white space; if it holds an
// "@", what lies between the first ":" and the last "@" is the password.
func userInfo(s string) string {
	var b strings.Builder
	rest := s
	for {
		i, sepLen, encoded := nextScheme(rest)
		if i < 0 {
			if b.Len() == 0 {
				return s
			}
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i+sepLen])
		rest = rest[i+sepLen:]
		end := authorityEnd(rest, encoded)
		auth := rest[:end]
		at, atLen := lastAt(auth, encoded)
		if at < 0 {
			continue
		}
		info := auth[:at]
		colon, _ := firstColon(info, encoded)
		if colon < 0 {
			continue // a user name alone
		}
		_, colonLen := firstColon(info, encoded)
		b.WriteString(info[:colon+colonLen])
		b.WriteString(Mask)
		b.WriteString(auth[at : at+atLen])
		rest = rest[at+atLen:]
	}
}

// nextScheme finds the next "://" (or "%3A%2F%2F") preceded by a scheme
// name, and returns its index, its length and whether it is encoded.
func nextScheme(s string) (int, int, bool) {
	plain := strings.Index(s, "://")
	enc := indexFold(s, "%3A%2F%2F")
	switch {
	case plain < 0 && enc < 0:
		return -1, 0, false
	case enc < 0 || (plain >= 0 && plain < enc):
		return plain, 3, false
	}
	return enc, 9, true
}

// authorityEnd is where the authority after "://" ends.
func authorityEnd(s string, encoded bool) int {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '/', '?', '#', ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>':
			return i
		case '\\':
			// An escape of a quoted log value (\n, \t, \"): the text
			// ends here.
			return i
		case '%':
			if encoded && i+2 < len(s) && (s[i+1:i+3] == "2F" || s[i+1:i+3] == "2f" || s[i+1:i+3] == "3F" || s[i+1:i+3] == "3f" || s[i+1:i+3] == "20") {
				return i
			}
		case '&':
			if encoded {
				return i
			}
		}
	}
	return len(s)
}

func lastAt(s string, encoded bool) (int, int) {
	i := strings.LastIndexByte(s, '@')
	if encoded {
		if j := lastIndexFold(s, "%40"); j > i {
			return j, 3
		}
	}
	if i < 0 {
		return -1, 0
	}
	return i, 1
}

func firstColon(s string, encoded bool) (int, int) {
	i := strings.IndexByte(s, ':')
	if encoded {
		if j := indexFold(s, "%3A"); j >= 0 && (i < 0 || j < i) {
			return j, 3
		}
	}
	if i < 0 {
		return -1, 0
	}
	return i, 1
}

// keyValues hides the value of every secret key=value pair.
func keyValues(s string) string {
	locs := secretKey.FindAllStringSubmatchIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range locs {
		if loc[0] < last {
			continue // inside a value already hidden
		}
		start := loc[1]
		end := valueEnd(s, start, queryContext(s, loc[2]))
		if end == start {
			continue // no value
		}
		b.WriteString(s[last:start])
		b.WriteString(Mask)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// queryContext reports whether the key at i is a URL query parameter
// (preceded by "?" or "&", plainly or percent-encoded), whose value ends
// at the next "&".
func queryContext(s string, i int) bool {
	if i == 0 {
		return false
	}
	if c := s[i-1]; c == '?' || c == '&' {
		return true
	}
	if i >= 3 {
		p := upper(s[i-3 : i])
		return p == "%3F" || p == "%26"
	}
	return false
}

// valueEnd is where the value starting at i ends: a libpq quoted value
// ('…' with \' and \\ escapes, or its percent-encoded %27…%27) runs to its
// closing quote; any other value to white space, a percent-encoded space
// (%20, or + in a query) or, in a URL query, "&" and "#". A quote of the
// surrounding text (a log line's "…") ends it too.
func valueEnd(s string, i int, query bool) int {
	if i < len(s) && s[i] == '\'' {
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '\'':
				return j + 1
			}
		}
		return len(s)
	}
	if strings.HasPrefix(upper(s[i:min(len(s), i+3)]), "%27") {
		if j := indexFold(s[i+3:], "%27"); j >= 0 {
			return i + 3 + j + 3
		}
		return len(s)
	}
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '`':
			return j
		case c == '\\' && j+1 < len(s) && strings.IndexByte(`ntr"`, s[j+1]) >= 0:
			return j // an escape of a quoted log value
		case c == '%' && j+2 < len(s) && s[j+1:j+3] == "20":
			return j
		case query && (c == '&' || c == '#' || c == '+'):
			return j
		case query && c == '%' && j+2 < len(s) && strings.EqualFold(s[j+1:j+3], "26"):
			return j
		}
	}
	return len(s)
}

// upper maps ASCII letters to upper case and keeps every other byte, so
// that indexes into the result are indexes into s.
func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func indexFold(s, sub string) int { return strings.Index(upper(s), upper(sub)) }

func lastIndexFold(s, sub string) int { return strings.LastIndex(upper(s), upper(sub)) }
