package auth

import (
	"log/slog"
	"regexp"
	"strings"
	"sync"

	"github.com/condcache/condcache"
)

// Objects and roles of the permission contexts (docs/compatibility.md "Permission checks").
const (
	ObjectGlobalTag   = "GlobalTag"
	ObjectPayloadList = "PayloadList"

	RoleAdmin         = "admin"
	RoleCreateIOV     = "createiov"
	RoleCreatePayload = "createpayload"
)

// Belle II claims: lists of regular expressions matched against the name of
// the permission context (docs/compatibility.md "Belle II plugin").
const (
	ClaimAdmin         = "b2cdb:admin"
	ClaimCreateIOV     = "b2cdb:createiov"
	ClaimCreatePayload = "b2cdb:createpayload"
)

var errDenied = &condcache.Error{Code: condcache.EForbidden, Detail: "Permission denied."}

// Permit decides whether claims (nil when unauthenticated) allow role on
// the object named name. Denial is *condcache.Error with code EForbidden
// and detail "Permission denied.".
//
// The dummy plugin allows everything. The Belle II plugin, as observed on
// the reference:
//   - object containing "GlobalTag" (a substring test, as the reference):
//     allowed when a b2cdb:admin pattern matches name, or, for role
//     createiov, a b2cdb:createiov pattern;
//   - object containing "PayloadList" with role createpayload: allowed when
//     a b2cdb:createpayload pattern matches (no endpoint asks for it);
//   - anything else, and no claims at all, is denied.
//
// A pattern matches when it matches the whole name (Python re.fullmatch),
// evaluated with RE2 as \A(?:pattern)\z, i.e. ^(?:pattern)$. A pattern RE2
// cannot compile (backreferences, lookarounds, or simply invalid) never
// matches and is logged once, where the reference crashes with a 500.
//
// A claim given as a string instead of a list is iterated per character, as
// the reference does (each character is a pattern, so "GT" allows the names
// "G" and "T", not "GT"). This keeps tokens minted for the reference
// meaning the same thing here, and it can only grant single-character
// names. Items of a list that are not strings, and claims of any other
// type, give no patterns.
func (a *Authorizer) Permit(claims Claims, object, role, name string) error {
	if a.plugin != PluginBelle2 || a.belle2Allows(claims, object, role, name) {
		return nil
	}
	return errDenied
}

func (a *Authorizer) belle2Allows(claims Claims, object, role, name string) bool {
	if strings.Contains(object, ObjectGlobalTag) {
		if a.anyMatch(claims[ClaimAdmin], name) {
			return true
		}
		if role == RoleCreateIOV && a.anyMatch(claims[ClaimCreateIOV], name) {
			return true
		}
	}
	if strings.Contains(object, ObjectPayloadList) && role == RoleCreatePayload {
		return a.anyMatch(claims[ClaimCreatePayload], name)
	}
	return false
}

// anyMatch reports whether one of the patterns of claim fully matches name.
func (a *Authorizer) anyMatch(claim any, name string) bool {
	switch c := claim.(type) {
	case []any:
		for _, p := range c {
			if s, ok := p.(string); ok && a.patterns.fullMatch(s, name) {
				return true
			}
		}
	case string:
		for _, r := range c {
			if a.patterns.fullMatch(string(r), name) {
				return true
			}
		}
	}
	return false
}

// maxCachedPatterns bounds the pattern cache. Patterns come from signed
// tokens, so there are few distinct ones; the bound only keeps a leaked
// secret from turning the cache into unbounded memory.
const maxCachedPatterns = 4096

// patternCache compiles each claim pattern once. A nil entry is a pattern
// that does not compile (already logged).
type patternCache struct {
	log *slog.Logger
	mu  sync.Mutex
	m   map[string]*regexp.Regexp
}

func (c *patternCache) fullMatch(pattern, name string) bool {
	re := c.get(pattern)
	return re != nil && re.MatchString(name)
}

func (c *patternCache) get(pattern string) *regexp.Regexp {
	c.mu.Lock()
	re, ok := c.m[pattern]
	c.mu.Unlock()
	if ok {
		return re
	}
	re, err := compileFullMatch(pattern)
	if err != nil {
		re = nil
		c.log.Warn("permission pattern does not compile under RE2 and never matches",
			"pattern", truncate(pattern, 200), "err", err.Error())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*regexp.Regexp)
	}
	if len(c.m) < maxCachedPatterns {
		c.m[pattern] = re
	}
	return re
}

// compileFullMatch compiles pattern to match whole strings only. The
// pattern must compile on its own first: otherwise an unbalanced pattern
// such as "x)|(.*" would escape the wrapping group and match anything, where
// Python refuses it. \A and \z, unlike ^ and $, keep their meaning under any
// flag the pattern sets, e.g. (?m).
func compileFullMatch(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err
	}
	return regexp.Compile(`\A(?:` + pattern + `)\z`)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
