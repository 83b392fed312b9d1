// Package redact hides credentials in text that may quote a database or
// Redis URL: error messages, probe answers, log lines and command lines.
// It depends on nothing, so both the HTTP layer and the process launcher
// use it.
package redact

import (
	"regexp"
	"strings"
)

// credentialsInURL matches the userinfo of a URL ("postgres://user:pw@")
// and key=value passwords of libpq connection strings.
var credentialsInURL = regexp.MustCompile(`(?i)(://)[^/@\s]*@|(password|passwd|pwd)=\S*`)

// tokens matches bearer credentials: an Authorization value and anything
// shaped like a JSON Web Token (three base64url parts, the first a JSON
// object: "eyJ").
var tokens = regexp.MustCompile(`(?i)\bbearer\s+\S+|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// Credentials hides the user info of URLs, password=… pairs and bearer
// tokens in s.
func Credentials(s string) string {
	s = credentialsInURL.ReplaceAllStringFunc(s, func(m string) string {
		if m[0] == ':' {
			return "://***@"
		}
		if i := strings.IndexByte(m, '='); i >= 0 {
			return m[:i+1] + "***"
		}
		return "***"
	})
	return tokens.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(strings.ToLower(m), "bearer") {
			return m[:len("bearer")] + " ***"
		}
		return "***"
	})
}
