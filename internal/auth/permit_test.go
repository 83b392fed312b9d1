package auth

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/condcache/condcache"
)

func TestPermitDummy(t *testing.T) {
	for _, plugin := range []string{"", PluginDummy, PluginDummyClass} {
		a, err := New(Config{Plugin: plugin}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, role := range []string{RoleAdmin, RoleCreateIOV, RoleCreatePayload} {
			if err := a.Permit(nil, ObjectGlobalTag, role, "anything"); err != nil {
				t.Errorf("plugin %q, role %s: %v", plugin, role, err)
			}
		}
	}
}

// TestPermitBelle2 covers every rule of docs/compatibility.md "Belle II plugin".
func TestPermitBelle2(t *testing.T) {
	a := newTestAuthorizer(t, PluginBelle2)
	admin := func(p ...any) Claims { return Claims{ClaimAdmin: p} }
	createiov := func(p ...any) Claims { return Claims{ClaimCreateIOV: p} }
	const gt, pl = ObjectGlobalTag, ObjectPayloadList
	cases := []struct {
		name         string
		claims       Claims
		object, role string
		target       string
		allow        bool
	}{
		{"unauthenticated", nil, gt, RoleAdmin, "GT", false},
		{"no claims", Claims{}, gt, RoleAdmin, "GT", false},
		{"admin exact", admin("GT"), gt, RoleAdmin, "GT", true},
		{"anchored end", admin("GT"), gt, RoleAdmin, "GT2", false},
		{"anchored start", admin("GT"), gt, RoleAdmin, "xGT", false},
		{"prefix pattern", admin("GT.*"), gt, RoleAdmin, "GT2", true},
		// Partial-match attempts: the name must be the whole match, and
		// the name is text, never a pattern.
		{"name extends the pattern at both ends", admin("GT"), gt, RoleAdmin, "xGTx", false},
		{"name is a prefix of the pattern", admin("GT_v1"), gt, RoleAdmin, "GT_v", false},
		{"name is a suffix of the pattern", admin("GT_v1"), gt, RoleAdmin, "T_v1", false},
		{"prefix pattern does not match before", admin("GT.*"), gt, RoleAdmin, "xGT2", false},
		{"suffix pattern", admin(".*_prod"), gt, RoleAdmin, "GT_prod", true},
		{"suffix pattern does not match after", admin(".*_prod"), gt, RoleAdmin, "GT_prod_old", false},
		{"trailing newline in the name", admin("GT"), gt, RoleAdmin, "GT\n", false},
		{"leading newline in the name", admin("GT"), gt, RoleAdmin, "\nGT", false},
		{"explicit anchors in the pattern", admin("^GT$"), gt, RoleAdmin, "GT", true},
		{"explicit anchors do not unanchor", admin("^GT$"), gt, RoleAdmin, "GT\n", false},
		{"name .* is not a pattern", admin("GT"), gt, RoleAdmin, ".*", false},
		{"name GT.* is not a pattern", admin("GT"), gt, RoleAdmin, "GT.*", false},
		{"name with alternation", admin("GT"), gt, RoleAdmin, "GT|x", false},
		{"name with anchors", admin("GT"), gt, RoleAdmin, "^GT$", false},
		{"name with a group", admin("GT"), gt, RoleAdmin, "(GT)", false},
		{"name with brackets", admin("GT"), gt, RoleAdmin, "[GT]", false},
		{"name of metacharacters, escaped pattern", admin(`GT\.\*`), gt, RoleAdmin, "GT.*", true},
		{"escaped pattern, other text", admin(`GT\.\*`), gt, RoleAdmin, "GTxx", false},
		// As in Python: an unescaped dot in a pattern is any character.
		{"unescaped dot", admin("GT_v1.0"), gt, RoleAdmin, "GT_v1x0", true},
		{"empty pattern, empty name", admin(""), gt, RoleAdmin, "", true},
		{"empty pattern", admin(""), gt, RoleAdmin, "GT", false},
		{"alternation anchored as a whole", admin("A|B"), gt, RoleAdmin, "AB", false},
		{"alternation", admin("A|B"), gt, RoleAdmin, "B", true},
		{"second pattern", admin("X", "GT"), gt, RoleAdmin, "GT", true},
		{"admin grants createiov", admin("GT"), gt, RoleCreateIOV, "GT", true},
		{"admin grants createpayload on GlobalTag", admin("data/.*"), gt, RoleCreatePayload, "data/f.root", true},
		{"createiov grants createiov", createiov("GT"), gt, RoleCreateIOV, "GT", true},
		{"createiov does not grant admin", createiov(".*"), gt, RoleAdmin, "GT", false},
		{"createiov does not grant createpayload", createiov(".*"), gt, RoleCreatePayload, "f", false},
		{"createpayload unused for GlobalTag", Claims{ClaimCreatePayload: []any{".*"}}, gt, RoleCreatePayload, "f", false},
		{"createpayload for PayloadList", Claims{ClaimCreatePayload: []any{".*"}}, pl, RoleCreatePayload, "f", true},
		{"createpayload for PayloadList, other role", Claims{ClaimCreatePayload: []any{".*"}}, pl, RoleAdmin, "f", false},
		{"admin does not grant PayloadList", admin(".*"), pl, RoleCreatePayload, "f", false},
		{"object is a substring test", admin(".*"), "xGlobalTagy", RoleAdmin, "GT", true},
		{"unknown object", admin(".*"), "PayloadType", RoleAdmin, "GT", false},
		{"detached list: .* matches the empty name", createiov(".*"), gt, RoleCreateIOV, "", true},
		{"detached list: x does not", createiov("x"), gt, RoleCreateIOV, "", false},
		{"invalid pattern never matches", admin("("), gt, RoleAdmin, "(", false},
		{"invalid pattern, valid next", admin("(", "GT"), gt, RoleAdmin, "GT", true},
		{"unbalanced pattern cannot escape the anchors", admin("x)|(.*"), gt, RoleAdmin, "anything", false},
		{"backreference (not RE2)", admin(`(a)\1`), gt, RoleAdmin, "aa", false},
		{"lookahead (not RE2)", admin(`(?=G)GT`), gt, RoleAdmin, "GT", false},
		{"multi-line flag does not unanchor", admin("(?m)GT"), gt, RoleAdmin, "GT\nx", false},
		{"case-insensitive flag", admin("(?i)gt"), gt, RoleAdmin, "GT", true},
		{"string claim per character: whole string", Claims{ClaimAdmin: "QZ"}, gt, RoleAdmin, "QZ", false},
		{"string claim per character: one character", Claims{ClaimAdmin: "QZ"}, gt, RoleAdmin, "Q", true},
		{"string claim per character: multi-byte", Claims{ClaimAdmin: "é"}, gt, RoleAdmin, "é", true},
		{"string claim of a metacharacter", Claims{ClaimAdmin: "*"}, gt, RoleAdmin, "*", false},
		{"non-string items skipped", admin(5, nil, []any{"GT"}, "GT"), gt, RoleAdmin, "GT", true},
		{"non-string items only", admin(5, nil), gt, RoleAdmin, "5", false},
		{"object claim", Claims{ClaimAdmin: map[string]any{"GT": true}}, gt, RoleAdmin, "GT", false},
		{"null claim", Claims{ClaimAdmin: nil}, gt, RoleAdmin, "GT", false},
	}
	for _, c := range cases {
		err := a.Permit(c.claims, c.object, c.role, c.target)
		if c.allow {
			if err != nil {
				t.Errorf("%s: %v, want allowed", c.name, err)
			}
			continue
		}
		var e *condcache.Error
		if !errors.As(err, &e) || e.Code != condcache.EForbidden || e.Detail != "Permission denied." {
			t.Errorf("%s: %v, want EForbidden \"Permission denied.\"", c.name, err)
		}
	}
}

func TestPermitLogsBadPatternOnce(t *testing.T) {
	var buf bytes.Buffer
	a, err := New(Config{Plugin: PluginBelle2}, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset() // start-up warnings
	for range 3 {
		_ = a.Permit(Claims{ClaimAdmin: []any{"(", "[z-a]"}}, ObjectGlobalTag, RoleAdmin, "x")
	}
	if n := strings.Count(buf.String(), "never matches"); n != 2 {
		t.Errorf("logged %d times, want once per pattern:\n%s", n, buf.String())
	}
}
