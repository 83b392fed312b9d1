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
// with the secret, with an object as payload, whose claims come back, or
// refused as unauthorized (always so with HS256 turned off by a key), and
// the refusal never echoes the header (secrets must not leak into
// responses). Headers are fuzzed as a header and payload signed with the
// test secret (so the fuzzer reaches the claim checks) and as raw text.
func FuzzAuthenticate(f *testing.F) {
	f.Add(`{"alg":"HS256","typ":"JWT"}`, `{"exp":1900000000}`, "")
	f.Add(`{"alg":"none"}`, `{}`, "")
	f.Add(`{"alg":"HS512"}`, `{"iat":"1"}`, "")
	f.Add(`{"alg":"HS256"}`, `{"nbf":1e309,"aud":[]}`, "Bearer a.b.c")
	f.Add(`{"alg":"RS256"}`, `{"exp":-1}`, "Bearer  x")
	f.Add(`{"alg":"HS256"}`, `null`, "")
	f.Add(`{"alg":"HS256","kid":"k"}`, `{}`, "")
	// An authorizer with an RSA public key and HS256 off must refuse
	// every token here: none is signed with the RSA key.
	ks, err := ParsePublicKeyPEM(publicPEM(f, keys(f).rsa1.Public()))
	if err != nil {
		f.Fatal(err)
	}
	rsOnly, err := New(Config{Enabled: true, Secret: []byte(testSecret), Keys: ks}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header, payload, raw string) {
		a := newTestAuthorizer(t, PluginDummy)
		for _, h := range []string{"Bearer " + rawHS256(header, payload), raw} {
			if claims, err := rsOnly.Authenticate(h); err == nil {
				t.Fatalf("RS256-only Authenticate(%q) accepted a token not signed with the RSA key (claims %v)", h, claims)
			}
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
	// PyJWT accepts only an object as payload.
	body, err := decode(parts[1])
	if err != nil || !json.Valid(body) || !strings.HasPrefix(strings.TrimLeft(string(body), " \t\r\n"), "{") {
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
