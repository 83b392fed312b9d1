package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/condcache/condcache"
)

const (
	testSecret = "test-secret-0123456789"
	testNow    = 1_800_000_000 // the fixed clock of these tests, in Unix seconds
)

func newTestAuthorizer(t *testing.T, plugin string) *Authorizer {
	t.Helper()
	a, err := New(Config{Enabled: true, Secret: []byte(testSecret), Plugin: plugin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.now = func() time.Time { return time.Unix(testNow, 0) }
	return a
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hs256(t *testing.T, claims jwt.MapClaims) string {
	return sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims)
}

// rawHS256 signs arbitrary header and payload JSON texts with the test
// secret, for tokens golang-jwt would not produce.
func rawHS256(header, payload string) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil))
}

// TestAuthenticate covers every row of docs/compatibility.md "JWT authentication"'s table and the claim
// rules of PyJWT 2.6 (no leeway).
func TestAuthenticate(t *testing.T) {
	a := newTestAuthorizer(t, PluginDummy)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	valid := hs256(t, jwt.MapClaims{"b2cdb:admin": []any{".*"}})
	const (
		noCreds  = "Authentication credentials were not provided"
		format   = "Wrong access_token format"
		badSig   = "invalid signature"
		expired  = "access_token expired"
		invalid  = "invalid access_token"
		accepted = ""
	)
	cases := []struct {
		name, header, want string
	}{
		{"no header", "", noCreds},
		{"Bearer only", "Bearer", format},
		{"three parts", "Bearer a b", format},
		{"double space", "Bearer  " + valid, format},
		{"trailing space", "Bearer " + valid + " ", format},
		{"tab", "Bearer\t" + valid, format},
		{"Token scheme", "Token " + valid, format},
		{"lowercase bearer", "bearer " + valid, format},
		{"empty token", "Bearer ", invalid},
		{"valid", "Bearer " + valid, accepted},
		{"valid, no claims", "Bearer " + hs256(t, jwt.MapClaims{}), accepted},
		{"wrong secret", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("other"), jwt.MapClaims{}), badSig},
		{"tampered payload", "Bearer " + tamper(valid), badSig},
		{"malformed", "Bearer abc", invalid},
		{"malformed 3 parts", "Bearer a.b.c", invalid},
		{"4 parts", "Bearer " + valid + ".x", invalid},
		{"header not JSON", "Bearer " + rawHS256("nope", `{}`), invalid},
		{"header not object", "Bearer " + rawHS256(`["HS256"]`, `{}`), invalid},
		{"payload not object", "Bearer " + rawHS256(`{"alg":"HS256"}`, `[1]`), invalid},
		{"payload not JSON", "Bearer " + rawHS256(`{"alg":"HS256"}`, `nope`), invalid},
		// golang-jwt reads a null payload as no claims; PyJWT refuses it.
		{"payload null", "Bearer " + rawHS256(`{"alg":"HS256"}`, ` null `), invalid},
		{"payload empty", "Bearer " + rawHS256(`{"alg":"HS256"}`, ``), invalid},
		// golang-jwt stops after the first JSON value; PyJWT's json.loads
		// refuses extra data.
		{"payload with trailing data", "Bearer " + rawHS256(`{"alg":"HS256"}`, `{}0`), invalid},
		{"payload with a second object", "Bearer " + rawHS256(`{"alg":"HS256"}`, `{}{"b2cdb:admin":[".*"]}`), invalid},
		{"payload with trailing space", "Bearer " + rawHS256(`{"alg":"HS256"}`, "{} \n"), accepted},
		{"header with trailing data", "Bearer " + rawHS256(`{"alg":"HS256"}0`, `{}`), invalid},
		{"no alg", "Bearer " + rawHS256(`{"typ":"JWT"}`, `{}`), invalid},
		{"alg none", "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{}), invalid},
		{"alg none, HMAC signature", "Bearer " + rawHS256(`{"alg":"none"}`, `{}`), invalid},
		{"alg NONE", "Bearer " + rawHS256(`{"alg":"NONE"}`, `{}`), invalid},
		{"alg hs256 lowercase", "Bearer " + rawHS256(`{"alg":"hs256"}`, `{}`), invalid},
		{"HS384", "Bearer " + sign(t, jwt.SigningMethodHS384, []byte(testSecret), jwt.MapClaims{}), invalid},
		{"HS512", "Bearer " + sign(t, jwt.SigningMethodHS512, []byte(testSecret), jwt.MapClaims{}), invalid},
		{"RS256", "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, jwt.MapClaims{}), invalid},
		{"RS256 header, HMAC signature", "Bearer " + rawHS256(`{"alg":"RS256"}`, `{}`), invalid},
		{"exp past", "Bearer " + hs256(t, jwt.MapClaims{"exp": testNow - 5}), expired},
		{"exp now", "Bearer " + hs256(t, jwt.MapClaims{"exp": testNow}), expired},
		{"exp now+0.5 truncates to now", "Bearer " + hs256(t, jwt.MapClaims{"exp": testNow + 0.5}), expired},
		{"exp now+1", "Bearer " + hs256(t, jwt.MapClaims{"exp": testNow + 1}), accepted},
		{"exp string", "Bearer " + hs256(t, jwt.MapClaims{"exp": "tomorrow"}), invalid},
		{"exp numeric string", "Bearer " + hs256(t, jwt.MapClaims{"exp": "9999999999"}), invalid},
		{"exp null", "Bearer " + hs256(t, jwt.MapClaims{"exp": nil}), invalid},
		{"exp huge", "Bearer " + rawHS256(`{"alg":"HS256"}`, `{"exp":1e400}`), invalid},
		{"nbf future", "Bearer " + hs256(t, jwt.MapClaims{"nbf": testNow + 3600}), invalid},
		{"nbf now+0.5 truncates to now", "Bearer " + hs256(t, jwt.MapClaims{"nbf": testNow + 0.5}), accepted},
		{"nbf now", "Bearer " + hs256(t, jwt.MapClaims{"nbf": testNow}), accepted},
		{"nbf string", "Bearer " + hs256(t, jwt.MapClaims{"nbf": "x"}), invalid},
		{"iat future", "Bearer " + hs256(t, jwt.MapClaims{"iat": testNow + 1}), invalid},
		{"iat now+0.5", "Bearer " + hs256(t, jwt.MapClaims{"iat": testNow + 0.5}), invalid},
		{"iat now", "Bearer " + hs256(t, jwt.MapClaims{"iat": testNow}), accepted},
		{"iat string", "Bearer " + hs256(t, jwt.MapClaims{"iat": "x"}), invalid},
		// PyJWT checks iat before exp: an expired token issued in the future
		// is invalid, not expired.
		{"iat future and expired", "Bearer " + hs256(t, jwt.MapClaims{"iat": testNow + 10, "exp": testNow - 10}), invalid},
		{"aud string", "Bearer " + hs256(t, jwt.MapClaims{"aud": "cdb"}), invalid},
		{"aud list", "Bearer " + hs256(t, jwt.MapClaims{"aud": []any{"cdb"}}), invalid},
		{"aud empty string", "Bearer " + hs256(t, jwt.MapClaims{"aud": ""}), accepted},
		{"aud empty list", "Bearer " + hs256(t, jwt.MapClaims{"aud": []any{}}), accepted},
		{"aud null", "Bearer " + hs256(t, jwt.MapClaims{"aud": nil}), accepted},
		{"iss not checked", "Bearer " + hs256(t, jwt.MapClaims{"iss": "anyone", "sub": 5}), accepted},
		{"all dates valid", "Bearer " + hs256(t, jwt.MapClaims{"exp": testNow + 60, "nbf": testNow - 60, "iat": testNow - 60}), accepted},
		// PyJWT pads segments before decoding them, but signs the segments
		// as sent: padding the signature is fine, padding the signed part
		// changes it.
		{"padded signature", "Bearer " + padded(valid, 2), accepted},
		{"padded payload", "Bearer " + padded(valid, 1), badSig},
	}
	for _, c := range cases {
		claims, err := a.Authenticate(c.header)
		if c.want == accepted {
			if err != nil {
				t.Errorf("%s: %v, want accepted", c.name, err)
			}
			if claims == nil {
				t.Errorf("%s: nil claims", c.name)
			}
			continue
		}
		var e *condcache.Error
		if !errors.As(err, &e) || e.Code != condcache.EUnauthorized || e.Detail != c.want || e.Fields != nil {
			t.Errorf("%s: %#v, want EUnauthorized %q", c.name, err, c.want)
			continue
		}
		if claims != nil {
			t.Errorf("%s: claims returned with an error", c.name)
		}
		// The error never echoes the token or the secret.
		_, tok, _ := strings.Cut(c.header, " ")
		if (len(tok) > 3 && strings.Contains(err.Error(), tok)) || strings.Contains(err.Error(), testSecret) {
			t.Errorf("%s: error %q echoes a credential", c.name, err)
		}
	}

	claims, err := a.Authenticate("Bearer " + valid)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := claims[ClaimAdmin].([]any); !ok || len(p) != 1 || p[0] != ".*" {
		t.Errorf("claims = %v", claims)
	}
}

// tamper changes the payload of a token, keeping its signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"b2cdb:admin":[".*"],"x":1}`))
	return strings.Join(parts, ".")
}

// padded adds base64 padding to segment i of tok.
func padded(tok string, i int) string {
	parts := strings.Split(tok, ".")
	if r := len(parts[i]) % 4; r != 0 {
		parts[i] += strings.Repeat("=", 4-r)
	}
	return strings.Join(parts, ".")
}

func TestAuthenticateRealClock(t *testing.T) {
	a, err := New(Config{Enabled: true, Secret: []byte(testSecret)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	if _, err := a.Authenticate("Bearer " + hs256(t, jwt.MapClaims{"exp": now + 3600, "iat": now - 1})); err != nil {
		t.Errorf("fresh token: %v", err)
	}
	if _, err := a.Authenticate("Bearer " + hs256(t, jwt.MapClaims{"exp": now - 1})); condcache.ErrorDetail(err) != "access_token expired" {
		t.Errorf("expired token: %v", err)
	}
}
