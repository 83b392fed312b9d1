package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/condcache/condcache"
)

// FuzzAuthenticate: any Authorization header is either a token signed
// with the secret, whose claims come back, or refused as unauthorized, and
// the refusal never echoes the header (secrets must not leak into
// responses). Headers are fuzzed as a header and payload signed with the
// test secret (so the fuzzer reaches the claim checks) and as raw text.
func FuzzAuthenticate(f *testing.F) {
	f.Add(`{"alg":"HS256","typ":"JWT"}`, `{"exp":1900000000}`, "")
	f.Add(`{"alg":"none"}`, `{}`, "")
	f.Add(`{"alg":"HS512"}`, `{"iat":"1"}`, "")
	f.Add(`{"alg":"HS256"}`, `{"nbf":1e309,"aud":[]}`, "Bearer a.b.c")
	f.Add(`{"alg":"RS256"}`, `{"exp":-1}`, "Bearer  x")
	f.Fuzz(func(t *testing.T, header, payload, raw string) {
		a := newTestAuthorizer(t, PluginDummy)
		for _, h := range []string{"Bearer " + rawHS256(header, payload), raw} {
			claims, err := a.Authenticate(h)
			if err == nil {
				if !signedHS256(strings.TrimPrefix(h, "Bearer ")) {
					t.Fatalf("Authenticate(%q) accepted a token not signed HS256 with the secret (claims %v)", h, claims)
				}
				continue
			}
			var e *condcache.Error
			if !errors.As(err, &e) || e.Code != condcache.EUnauthorized {
				t.Fatalf("Authenticate(%q): %v, want an unauthorized error", h, err)
			}
			if len(h) > 8 && strings.Contains(e.Detail, h) {
				t.Fatalf("Authenticate(%q): the detail echoes the header", h)
			}
		}
	})
}

// signedHS256 checks, independently of golang-jwt, that token's header says
// HS256 and its signature is the HMAC-SHA256 of its first two segments with
// the test secret.
func signedHS256(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	decode := func(s string) ([]byte, error) {
		return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	head, err := decode(parts[0])
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(head, &h) != nil || h.Alg != "HS256" {
		return false
	}
	sig, err := decode(parts[2])
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	return hmac.Equal(sig, mac.Sum(nil))
}
