package auth

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/condcache/condcache"
)

// Refusal details of docs/compatibility.md "JWT authentication", and accepted.
const (
	dNoCreds  = "Authentication credentials were not provided"
	dFormat   = "Wrong access_token format"
	dBadSig   = "invalid signature"
	dExpired  = "access_token expired"
	dInvalid  = "invalid access_token"
	dAccepted = ""
)

type authCase struct{ name, header, want string }

// authScenario is one configuration and the answers it must give.
type authScenario struct {
	name  string
	cfg   Config
	cases []authCase
}

// newScenarioAuthorizer is New for cfg with the tests' fixed clock.
func newScenarioAuthorizer(t *testing.T, cfg Config, logger *slog.Logger) *Authorizer {
	t.Helper()
	a, err := New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	a.now = func() time.Time { return time.Unix(testNow, 0) }
	return a
}

// withKid signs claims with method and key under a header carrying kid.
func withKid(t *testing.T, method jwt.SigningMethod, key any, kid any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rawSigned signs header and payload JSON texts with method and key, for
// tokens golang-jwt would not build.
func rawSigned(t *testing.T, method jwt.SigningMethod, key any, header, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	sig, err := method.Sign(input, key)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

// stripSignature empties the signature segment of tok.
func stripSignature(tok string) string {
	return tok[:strings.LastIndex(tok, ".")+1]
}

func bearerOf(tok string) string { return "Bearer " + tok }

// asymmetricScenarios are the configurations with public keys, each with
// the refusals the brief of the issue lists (expiry, signature, "none",
// wrong algorithm, missing claims, malformed headers) and the algorithm
// confusion attempts.
func asymmetricScenarios(t *testing.T) []authScenario {
	k := keys(t)
	pemRSA := publicPEM(t, k.rsa1.Public())
	pemEC := publicPEM(t, k.ec1.Public())
	derRSA, err := x509.MarshalPKIXPublicKey(k.rsa1.Public())
	if err != nil {
		t.Fatal(err)
	}
	rsaKeys, err := ParsePublicKeyPEM(pemRSA)
	if err != nil {
		t.Fatal(err)
	}
	ecKeys, err := ParsePublicKeyPEM(pemEC)
	if err != nil {
		t.Fatal(err)
	}
	setJSON := jwks(t, jwkOf(t, k.rsa1.Public(), "r1"), jwkOf(t, k.rsa2.Public(), "r2"), jwkOf(t, k.ec1.Public(), "e1"))
	set, err := ParseJWKS(setJSON)
	if err != nil {
		t.Fatal(err)
	}
	oneKey, err := ParseJWKS(jwks(t, jwkOf(t, k.ec1.Public(), "only")))
	if err != nil {
		t.Fatal(err)
	}
	rs := func(key any, claims jwt.MapClaims) string { return sign(t, jwt.SigningMethodRS256, key, claims) }
	es := func(key any, claims jwt.MapClaims) string { return sign(t, jwt.SigningMethodES256, key, claims) }
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{})
	validRS := rs(k.rsa1, jwt.MapClaims{ClaimAdmin: []any{".*"}})
	const rsHeader = `{"alg":"RS256","typ":"JWT"}`

	return []authScenario{{
		name: "RS256 public key, HS256 off",
		cfg:  Config{Enabled: true, Secret: []byte(testSecret), Keys: rsaKeys},
		cases: []authCase{
			{"valid", bearerOf(validRS), dAccepted},
			{"valid, all dates", bearerOf(rs(k.rsa1, jwt.MapClaims{"exp": testNow + 60, "nbf": testNow, "iat": testNow})), dAccepted},
			{"valid, any kid (a PEM key has none to compare)", bearerOf(withKid(t, jwt.SigningMethodRS256, k.rsa1, "x", jwt.MapClaims{})), dAccepted},
			// No claim is required, as in the reference: permissions
			// come from claims, so a token without them can do nothing
			// the Belle II plugin checks.
			{"no claims", bearerOf(rs(k.rsa1, jwt.MapClaims{})), dAccepted},
			{"expired", bearerOf(rs(k.rsa1, jwt.MapClaims{"exp": testNow - 5})), dExpired},
			{"exp == now", bearerOf(rs(k.rsa1, jwt.MapClaims{"exp": testNow})), dExpired},
			{"exp now+1", bearerOf(rs(k.rsa1, jwt.MapClaims{"exp": testNow + 1})), dAccepted},
			{"exp not a number", bearerOf(rs(k.rsa1, jwt.MapClaims{"exp": "tomorrow"})), dInvalid},
			{"nbf future", bearerOf(rs(k.rsa1, jwt.MapClaims{"nbf": testNow + 60})), dInvalid},
			{"iat future", bearerOf(rs(k.rsa1, jwt.MapClaims{"iat": testNow + 1})), dInvalid},
			{"aud", bearerOf(rs(k.rsa1, jwt.MapClaims{"aud": "cdb"})), dInvalid},
			{"payload null", bearerOf(rawSigned(t, jwt.SigningMethodRS256, k.rsa1, rsHeader, `null`)), dInvalid},
			{"payload a list", bearerOf(rawSigned(t, jwt.SigningMethodRS256, k.rsa1, rsHeader, `[]`)), dInvalid},
			{"payload not JSON", bearerOf(rawSigned(t, jwt.SigningMethodRS256, k.rsa1, rsHeader, `nope`)), dInvalid},
			{"payload segment empty", bearerOf(rawSigned(t, jwt.SigningMethodRS256, k.rsa1, rsHeader, ``)), dInvalid},
			{"signed by another key", bearerOf(rs(k.rsa2, jwt.MapClaims{})), dBadSig},
			{"tampered payload", bearerOf(tamper(validRS)), dBadSig},
			{"signature removed", bearerOf(stripSignature(validRS)), dBadSig},
			{"RS256 header, HMAC signature", bearerOf(rawHS256(`{"alg":"RS256"}`, `{}`)), dBadSig},
			{"alg none", bearerOf(none), dInvalid},
			{"alg none, RSA signature", bearerOf(withNoneHeader(validRS)), dInvalid},
			{"HS256 with JWT_SECRET", bearerOf(hs256(t, jwt.MapClaims{})), dInvalid},
			// Algorithm confusion: the public key's bytes as an HMAC
			// secret. A verifier that let the token's alg decide how to
			// use the key would accept these.
			{"confusion: HS256 keyed with the PEM", bearerOf(sign(t, jwt.SigningMethodHS256, pemRSA, jwt.MapClaims{ClaimAdmin: []any{".*"}})), dInvalid},
			{"confusion: HS256 keyed with the DER", bearerOf(sign(t, jwt.SigningMethodHS256, derRSA, jwt.MapClaims{})), dInvalid},
			{"RS384, right key", bearerOf(sign(t, jwt.SigningMethodRS384, k.rsa1, jwt.MapClaims{})), dInvalid},
			{"RS512, right key", bearerOf(sign(t, jwt.SigningMethodRS512, k.rsa1, jwt.MapClaims{})), dInvalid},
			{"PS256, right key", bearerOf(sign(t, jwt.SigningMethodPS256, k.rsa1, jwt.MapClaims{})), dInvalid},
			{"ES256", bearerOf(es(k.ec1, jwt.MapClaims{})), dInvalid},
			{"alg rs256 lowercase", bearerOf(rawSigned(t, jwt.SigningMethodRS256, k.rsa1, `{"alg":"rs256"}`, `{}`)), dInvalid},
			{"no alg", bearerOf(rawSigned(t, jwt.SigningMethodRS256, k.rsa1, `{"typ":"JWT"}`, `{}`)), dInvalid},
			{"alg not a string", bearerOf(rawSigned(t, jwt.SigningMethodRS256, k.rsa1, `{"alg":256}`, `{}`)), dInvalid},
			{"kid not a string", bearerOf(rawSigned(t, jwt.SigningMethodRS256, k.rsa1, `{"alg":"RS256","kid":1}`, `{}`)), dInvalid},
			{"header not JSON", bearerOf(rawSigned(t, jwt.SigningMethodRS256, k.rsa1, `nope`, `{}`)), dInvalid},
			{"header null", bearerOf(rawSigned(t, jwt.SigningMethodRS256, k.rsa1, `null`, `{}`)), dInvalid},
			{"two segments", bearerOf(strings.TrimSuffix(stripSignature(validRS), ".")), dInvalid},
			{"four segments", bearerOf(validRS + ".x"), dInvalid},
			{"malformed", "Bearer abc", dInvalid},
			{"no Authorization header", "", dNoCreds},
			{"Bearer only", "Bearer", dFormat},
			{"double space", "Bearer  " + validRS, dFormat},
			{"lowercase bearer", "bearer " + validRS, dFormat},
			{"Token scheme", "Token " + validRS, dFormat},
		},
	}, {
		name: "ES256 public key, HS256 kept",
		cfg:  Config{Enabled: true, Secret: []byte(testSecret), Keys: ecKeys, AllowHS256: true},
		cases: []authCase{
			{"ES256", bearerOf(es(k.ec1, jwt.MapClaims{})), dAccepted},
			{"HS256 with JWT_SECRET", bearerOf(hs256(t, jwt.MapClaims{})), dAccepted},
			{"HS256, wrong secret", bearerOf(sign(t, jwt.SigningMethodHS256, []byte("other"), jwt.MapClaims{})), dBadSig},
			// HS256 is verified with JWT_SECRET only, never with the
			// public key.
			{"confusion: HS256 keyed with the PEM", bearerOf(sign(t, jwt.SigningMethodHS256, pemEC, jwt.MapClaims{})), dBadSig},
			{"ES256 expired", bearerOf(es(k.ec1, jwt.MapClaims{"exp": testNow - 1})), dExpired},
			{"ES256 exp == now", bearerOf(es(k.ec1, jwt.MapClaims{"exp": testNow})), dExpired},
			{"ES256 another P-256 key", bearerOf(es(k.ec2, jwt.MapClaims{})), dBadSig},
			{"ES256 header, P-384 signature", bearerOf(rawECDSA(t, k.ec384, `{"alg":"ES256"}`, `{}`)), dBadSig},
			{"ES384, P-384 key", bearerOf(sign(t, jwt.SigningMethodES384, k.ec384, jwt.MapClaims{})), dInvalid},
			{"RS256", bearerOf(rs(k.rsa1, jwt.MapClaims{})), dInvalid},
			{"alg none", bearerOf(none), dInvalid},
		},
	}, {
		name: "JWKS: two RSA keys and a P-256 key",
		cfg:  Config{Enabled: true, Secret: []byte(testSecret), Keys: set},
		cases: []authCase{
			{"r1", bearerOf(withKid(t, jwt.SigningMethodRS256, k.rsa1, "r1", jwt.MapClaims{})), dAccepted},
			{"r2", bearerOf(withKid(t, jwt.SigningMethodRS256, k.rsa2, "r2", jwt.MapClaims{})), dAccepted},
			{"e1", bearerOf(withKid(t, jwt.SigningMethodES256, k.ec1, "e1", jwt.MapClaims{})), dAccepted},
			{"kid r2, signed by r1's key", bearerOf(withKid(t, jwt.SigningMethodRS256, k.rsa1, "r2", jwt.MapClaims{})), dBadSig},
			{"kid e1, another P-256 key", bearerOf(withKid(t, jwt.SigningMethodES256, k.ec2, "e1", jwt.MapClaims{})), dBadSig},
			{"kid e1, P-384 signature", bearerOf(rawECDSA(t, k.ec384, `{"alg":"ES256","kid":"e1"}`, `{}`)), dBadSig},
			// The kid names a key of the other algorithm: refused before
			// any verification.
			{"ES256 with an RSA key's kid", bearerOf(withKid(t, jwt.SigningMethodES256, k.ec1, "r1", jwt.MapClaims{})), dInvalid},
			{"RS256 with the EC key's kid", bearerOf(withKid(t, jwt.SigningMethodRS256, k.rsa1, "e1", jwt.MapClaims{})), dInvalid},
			{"no kid among several keys", bearerOf(rs(k.rsa1, jwt.MapClaims{})), dInvalid},
			{"unknown kid", bearerOf(withKid(t, jwt.SigningMethodRS256, k.rsa1, "r3", jwt.MapClaims{})), dInvalid},
			{"kid null", bearerOf(withKid(t, jwt.SigningMethodRS256, k.rsa1, nil, jwt.MapClaims{})), dInvalid},
			{"expired", bearerOf(withKid(t, jwt.SigningMethodRS256, k.rsa1, "r1", jwt.MapClaims{"exp": testNow - 5})), dExpired},
			{"exp == now", bearerOf(withKid(t, jwt.SigningMethodES256, k.ec1, "e1", jwt.MapClaims{"exp": testNow})), dExpired},
			{"HS256 with JWT_SECRET", bearerOf(withKid(t, jwt.SigningMethodHS256, []byte(testSecret), "r1", jwt.MapClaims{})), dInvalid},
			{"confusion: HS256 keyed with the JWKS file", bearerOf(withKid(t, jwt.SigningMethodHS256, setJSON, "r1", jwt.MapClaims{})), dInvalid},
			{"alg none with a kid", bearerOf(withKid(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "r1", jwt.MapClaims{})), dInvalid},
			{"ES384", bearerOf(withKid(t, jwt.SigningMethodES384, k.ec384, "e1", jwt.MapClaims{})), dInvalid},
		},
	}, {
		name: "JWKS: one key",
		cfg:  Config{Enabled: true, Secret: []byte(testSecret), Keys: oneKey},
		cases: []authCase{
			{"no kid", bearerOf(es(k.ec1, jwt.MapClaims{})), dAccepted},
			{"its kid", bearerOf(withKid(t, jwt.SigningMethodES256, k.ec1, "only", jwt.MapClaims{})), dAccepted},
			{"another kid", bearerOf(withKid(t, jwt.SigningMethodES256, k.ec1, "other", jwt.MapClaims{})), dInvalid},
			{"another key", bearerOf(es(k.ec2, jwt.MapClaims{})), dBadSig},
		},
	}}
}

// withNoneHeader replaces the header of tok by {"alg":"none"}, keeping its
// payload and signature.
func withNoneHeader(tok string) string {
	_, rest, _ := strings.Cut(tok, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + rest
}

// checkAnswer checks the answer of Authenticate to c: accepted with claims,
// or refused with code EUnauthorized and exactly the detail c.want.
func checkAnswer(t *testing.T, c authCase, claims Claims, err error) {
	t.Helper()
	if c.want == dAccepted {
		if err != nil || claims == nil {
			t.Errorf("%s: %v, %v; want accepted", c.name, claims, err)
		}
		return
	}
	var e *condcache.Error
	if !errors.As(err, &e) || e.Code != condcache.EUnauthorized || e.Detail != c.want || e.Fields != nil {
		t.Errorf("%s: %#v, want EUnauthorized %q", c.name, err, c.want)
	}
	if claims != nil {
		t.Errorf("%s: claims returned with an error", c.name)
	}
}

func TestAuthenticateAsymmetric(t *testing.T) {
	for _, sc := range asymmetricScenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			a := newScenarioAuthorizer(t, sc.cfg, nil)
			for _, c := range sc.cases {
				claims, err := a.Authenticate(c.header)
				checkAnswer(t, c, claims, err)
			}
		})
	}
}

// TestAuthenticateAsymmetricClaims: the claims of an RS256 token reach the
// permission check as those of an HS256 token do.
func TestAuthenticateAsymmetricClaims(t *testing.T) {
	k := keys(t)
	ks, err := ParsePublicKeyPEM(publicPEM(t, k.rsa1.Public()))
	if err != nil {
		t.Fatal(err)
	}
	a := newScenarioAuthorizer(t, Config{Enabled: true, Keys: ks, Plugin: PluginBelle2}, nil)
	claims, err := a.Authenticate(bearerOf(sign(t, jwt.SigningMethodRS256, k.rsa1, jwt.MapClaims{ClaimAdmin: []any{"GT1"}})))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Permit(claims, ObjectGlobalTag, RoleAdmin, "GT1"); err != nil {
		t.Errorf("GT1: %v", err)
	}
	if err := a.Permit(claims, ObjectGlobalTag, RoleAdmin, "GT12"); err == nil {
		t.Error("GT12 permitted")
	}
}

// TestAuthenticateNeverLeaks runs every refusal of every configuration
// with a logger that keeps everything down to debug level, and checks that
// no detail, error text or log line holds the secret, the token, its
// signature or a piece of key material.
func TestAuthenticateNeverLeaks(t *testing.T) {
	k := keys(t)
	hsCases := []authCase{
		{"wrong secret", bearerOf(sign(t, jwt.SigningMethodHS256, []byte("other"), jwt.MapClaims{})), dBadSig},
		{"expired", bearerOf(hs256(t, jwt.MapClaims{"exp": testNow})), dExpired},
		{"alg none", bearerOf(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{})), dInvalid},
		{"RS256", bearerOf(sign(t, jwt.SigningMethodRS256, k.rsa1, jwt.MapClaims{})), dInvalid},
		{"malformed", "Bearer " + testSecret, dInvalid},
		{"format", "Token " + testSecret, dFormat},
	}
	scenarios := append(asymmetricScenarios(t), authScenario{
		name: "HS256 only", cfg: Config{Enabled: true, Secret: []byte(testSecret)}, cases: hsCases,
	})
	// Key material as it would appear in text: base64 of the PEM body,
	// base64url of the JWK members, and the secret.
	secrets := []string{testSecret, string(publicPEM(t, k.rsa1.Public())[30:90])}
	for _, m := range []map[string]any{jwkOf(t, k.rsa1.Public(), ""), jwkOf(t, k.ec1.Public(), "")} {
		for _, member := range []string{"n", "x", "y"} {
			if v, ok := m[member].(string); ok {
				secrets = append(secrets, v[:24])
			}
		}
	}
	for _, sc := range scenarios {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		a := newScenarioAuthorizer(t, sc.cfg, logger)
		var texts []string
		for _, c := range sc.cases {
			claims, err := a.Authenticate(c.header)
			checkAnswer(t, c, claims, err)
			if err == nil {
				continue
			}
			texts = append(texts, err.Error(), condcache.ErrorDetail(err))
			if _, tok, _ := strings.Cut(c.header, " "); len(tok) > 3 {
				leaks := []string{tok}
				if i := strings.LastIndex(tok, "."); i >= 0 && len(tok)-i > 8 {
					leaks = append(leaks, tok[i+1:]) // the signature
				}
				for _, s := range texts {
					for _, l := range leaks {
						if strings.Contains(s, l) {
							t.Errorf("%s / %s: %q holds the token", sc.name, c.name, s)
						}
					}
				}
				if strings.Contains(logs.String(), tok) {
					t.Errorf("%s / %s: the log holds the token", sc.name, c.name)
				}
			}
		}
		texts = append(texts, logs.String(), sc.cfg.String(), a.keys.String())
		for _, s := range texts {
			for _, secret := range secrets {
				if strings.Contains(s, secret) {
					t.Errorf("%s: %q holds a secret or key material (%q)", sc.name, s, secret)
				}
			}
		}
	}
}
