package api

import (
	"bytes"
	"strings"
)

// aliasRoots are the first path segments (under Prefix) of the readable
// aliases added in 2026 (docs/compatibility.md "Routes", right-hand column). No legacy path
// starts with one of them, and no alias starts with anything else.
var aliasRoots = []string{"global-tags", "payload-types", "payload-lists", "payload-iovs", "settings"}

// legacyRoots are the first path segments of the legacy paths: those of
// every route and redirect in the table that are not aliases.
var legacyRoots = func() map[string]bool {
	roots := map[string]bool{}
	add := func(p string) {
		root, _, _ := strings.Cut(p, "/")
		if !strings.HasPrefix(root, "{") {
			roots[root] = true
		}
	}
	for _, rt := range Routes {
		for _, p := range rt.Paths {
			add(p)
		}
	}
	for _, p := range SlashRedirects {
		add(p)
	}
	for _, a := range aliasRoots {
		delete(roots, a)
	}
	return roots
}()

var prefixBytes = []byte(Prefix)

// IsLegacyPath reports whether path is one of the legacy paths the C++ and
// Python clients use (docs/compatibility.md "Routes", §7), decided by its first segment after
// Prefix, so unknown paths under a legacy root count too. Shed load on
// these is answered 504, the one status the C++ client retries (docs/compatibility.md "Status codes"); the readable aliases, which no such client
// uses, get 503 like every other path.
func IsLegacyPath(path []byte) bool {
	rest, ok := bytes.CutPrefix(path, prefixBytes)
	if !ok {
		return false
	}
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return legacyRoots[string(rest)]
}
