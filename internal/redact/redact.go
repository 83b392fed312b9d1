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

// Credentials hides the user info of URLs and password=… pairs in s.
func Credentials(s string) string {
	return credentialsInURL.ReplaceAllStringFunc(s, func(m string) string {
		if m[0] == ':' {
			return "://***@"
		}
		if i := strings.IndexByte(m, '='); i >= 0 {
			return m[:i+1] + "***"
		}
		return "***"
	})
}
