package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"
)

// material matches the runs of base64 or base64url text of at least 16
// characters: the key material of a PEM or JWK file.
var material = regexp.MustCompile(`[A-Za-z0-9+/_=-]{16,}`)

// checkNoMaterial fails when msg quotes a run of key material of content.
func checkNoMaterial(t *testing.T, what, msg string, content []byte) {
	t.Helper()
	for _, m := range material.FindAllString(string(content), -1) {
		if strings.Contains(msg, m) {
			t.Errorf("%s: the error quotes the file: %s", what, msg)
			return
		}
	}
}

func TestLoadPublicKeyFile(t *testing.T) {
	k := keys(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa1.PublicKey)})
	good := []struct {
		name, alg string
		data      []byte
	}{
		{"RSA PKIX", "RS256", publicPEM(t, k.rsa1.Public())},
		{"RSA PKCS #1", "RS256", pkcs1},
		{"EC P-256", "ES256", publicPEM(t, k.ec1.Public())},
		{"certificate", "ES256", selfSigned(t, k.ec1.Public(), k.ec1)},
		{"text around the block", "RS256", append(append([]byte("issuer key\n"), pkcs1...), "\n\n"...)},
	}
	for _, c := range good {
		path := writeFile(t, "key.pem", c.data)
		s, err := LoadPublicKeyFile(path)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if s.Len() != 1 || s.keys[0].method.Alg() != c.alg || s.keys[0].kid != "" {
			t.Errorf("%s: %s, want one %s key", c.name, s, c.alg)
		}
		if !strings.Contains(s.String(), path) {
			t.Errorf("%s: String() = %q does not name the file", c.name, s)
		}
	}

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(k.rsa1)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, err := x509.MarshalECPrivateKey(k.ec1)
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no PEM block found"},
		{"not PEM", []byte("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"), "no PEM block found"},
		{"two keys", append(publicPEM(t, k.rsa1.Public()), publicPEM(t, k.rsa2.Public())...), "more than one PEM block"},
		{"PKCS #8 private key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), `private key (PEM type "PRIVATE KEY")`},
		{"PKCS #1 private key", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.rsa1)}), "private key"},
		{"EC private key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecPriv}), "private key"},
		{"unknown type", pem.EncodeToMemory(&pem.Block{Type: "SSH KEY", Bytes: []byte("xxxxxxxxxxxxxxxxxxxxxxxx")}), `PEM type "SSH KEY" is not supported`},
		{"bad DER", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("not DER at all, not at all")}), `PEM type "PUBLIC KEY": not valid DER`},
		{"RSA key in a PKCS #1 block", pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: mustPKIX(t, k.rsa1.Public())}), `PEM type "RSA PUBLIC KEY": x509:`},
		{"RSA 1024", publicPEM(t, small.Public()), "RSA key of 1024 bits is too small"},
		{"P-384", publicPEM(t, k.ec384.Public()), "EC curve P-384 is not supported"},
		{"Ed25519", publicPEM(t, edPub), "Ed25519 (EdDSA) is not supported"},
		{"Ed25519 certificate", selfSigned(t, edPub, edPriv), "Ed25519 (EdDSA) is not supported"},
	}
	for _, c := range bad {
		path := writeFile(t, "key.pem", c.data)
		_, err := LoadPublicKeyFile(path)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, path) || !strings.HasPrefix(msg, EnvPublicKeyFile) {
			t.Errorf("%s: %q, want the variable, the file and %q", c.name, msg, c.want)
		}
		checkNoMaterial(t, c.name, msg, c.data)
	}

	missing := t.TempDir() + "/nope.pem"
	if _, err := LoadPublicKeyFile(missing); err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), EnvPublicKeyFile) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadPublicKeyFile(t.TempDir()); err == nil {
		t.Error("a directory was accepted")
	}
}

func mustPKIX(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// selfSigned returns a PEM certificate for pub signed by priv.
func selfSigned(t *testing.T, pub, priv any) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "issuer"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(1, 0), // expired: only the key is used
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestLoadJWKSFile(t *testing.T) {
	k := keys(t)
	r1, e1 := jwkOf(t, k.rsa1.Public(), "r1"), jwkOf(t, k.ec1.Public(), "e1")
	with := func(m map[string]any, kv ...any) map[string]any {
		c := make(map[string]any, len(m)+len(kv)/2)
		for key, v := range m {
			c[key] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	enc := jwkOf(t, k.rsa2.Public(), "enc1")
	enc["use"] = "enc"

	good := []struct {
		name string
		data []byte
		want string // KeySet.String without the file
	}{
		{"RSA and EC", jwks(t, r1, e1), `RS256 kid "r1", ES256 kid "e1"`},
		{"alg and use given", jwks(t, with(r1, "alg", "RS256", "use", "sig"), with(e1, "alg", "ES256")), `RS256 kid "r1", ES256 kid "e1"`},
		{"encryption keys skipped", jwks(t, enc, r1), `RS256 kid "r1"`},
		{"one key without kid", jwks(t, jwkOf(t, k.ec1.Public(), "")), `ES256`},
		{"unknown members ignored", jwks(t, with(r1, "x5t", "abc", "key_ops", []any{"verify"})), `RS256 kid "r1"`},
	}
	for _, c := range good {
		path := writeFile(t, "keys.json", c.data)
		s, err := LoadJWKSFile(path)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := strings.TrimSuffix(s.String(), " from "+path); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}

	smallKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		data []byte
		want string
	}{
		{"not JSON", []byte(`{"keys": [`), "not valid JSON (at byte"},
		{"not an object", []byte(`[1, 2]`), "the document must be an object"},
		{"keys not a list", []byte(`{"keys": {}}`), "keys must be an array"},
		{"kid a number", []byte(`{"keys": [{"kty": "RSA", "kid": 12345678901234567890}]}`), "keys.kid must be a string"},
		{"no keys", []byte(`{}`), "no signature key"},
		{"empty keys", []byte(`{"keys": []}`), "no signature key"},
		{"only encryption keys", jwks(t, enc), "no signature key"},
		{"no kty", jwks(t, with(r1, "kty", nil)), `key 0 (kid "r1"): "kty" is missing`},
		{"symmetric key", jwks(t, r1, map[string]any{"kty": "oct", "kid": "h", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}), `key 1 (kid "h"): kty "oct"`},
		{"OKP key", jwks(t, map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}), `key 0: kty "OKP" is not supported`},
		{"RSA private key", jwks(t, with(r1, "d", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "p", "cHJpbWUtcHJpbWUtcHJpbWU")), "holds a private key"},
		{"EC private key", jwks(t, with(e1, "d", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0")), "holds a private key"},
		{"RS384 alg", jwks(t, with(r1, "alg", "RS384")), `alg "RS384" is not supported for kty RSA: only RS256`},
		{"PS256 alg", jwks(t, with(r1, "alg", "PS256")), `alg "PS256"`},
		{"HS256 alg on an RSA key", jwks(t, with(r1, "alg", "HS256")), `alg "HS256"`},
		{"ES384 alg on P-256", jwks(t, with(e1, "alg", "ES384")), `alg "ES384"`},
		{"P-384 key", jwks(t, jwkOf(t, k.ec384.Public(), "e384")), `crv "P-384" is not supported`},
		{"no crv", jwks(t, with(e1, "crv", nil)), `crv "" is not supported`},
		{"no n", jwks(t, with(r1, "n", nil)), `"n" is missing`},
		{"no e", jwks(t, with(r1, "e", nil)), `"e" is missing`},
		{"n padded base64", jwks(t, with(r1, "n", r1["n"].(string)+"==")), `"n" is not base64url`},
		{"n standard base64", jwks(t, with(r1, "n", "ab+/"+r1["n"].(string))), `"n" is not base64url`},
		{"even exponent", jwks(t, with(r1, "e", "AQAA")), "RSA public exponent 65536 is invalid"},
		{"huge exponent", jwks(t, with(r1, "e", "AQAAAAAB")), `"e" is too large`},
		{"RSA 1024", jwks(t, jwkOf(t, smallKey.Public(), "s")), "RSA key of 1024 bits is too small"},
		{"x short", jwks(t, with(e1, "x", "AAAA")), "must be 32 bytes"},
		{"point not on the curve", jwks(t, with(e1, "y", e1["x"])), "not a point of P-256"},
		{"two keys, one without kid", jwks(t, r1, jwkOf(t, k.ec1.Public(), "")), `a key has no "kid"`},
		{"duplicate kid", jwks(t, r1, with(e1, "kid", "r1")), `kid "r1" is used by several keys`},
	}
	for _, c := range bad {
		path := writeFile(t, "keys.json", c.data)
		_, err := LoadJWKSFile(path)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, path) || !strings.HasPrefix(msg, EnvJWKSFile) {
			t.Errorf("%s: %q, want the variable, the file and %q", c.name, msg, c.want)
		}
		checkNoMaterial(t, c.name, msg, c.data)
	}
	if _, err := LoadJWKSFile(t.TempDir() + "/nope.json"); err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Errorf("missing file: %v", err)
	}
}

func TestKeySetLookup(t *testing.T) {
	k := keys(t)
	pemKey, err := ParsePublicKeyPEM(publicPEM(t, k.rsa1.Public()))
	if err != nil {
		t.Fatal(err)
	}
	one, err := ParseJWKS(jwks(t, jwkOf(t, k.rsa1.Public(), "a")))
	if err != nil {
		t.Fatal(err)
	}
	two, err := ParseJWKS(jwks(t, jwkOf(t, k.rsa1.Public(), "a"), jwkOf(t, k.ec1.Public(), "b")))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		set     KeySet
		kid     string
		hasKid  bool
		wantKid string // "-" for none found
	}{
		{"PEM key, no kid", pemKey, "", false, ""},
		{"PEM key, any kid", pemKey, "z", true, ""},
		{"one key, no kid", one, "", false, "a"},
		{"one key, its kid", one, "a", true, "a"},
		{"one key, another kid", one, "z", true, "-"},
		{"one key, empty kid", one, "", true, "-"},
		{"two keys, no kid", two, "", false, "-"},
		{"two keys, b", two, "b", true, "b"},
		{"two keys, unknown", two, "c", true, "-"},
		{"empty set", KeySet{}, "a", true, "-"},
	}
	for _, c := range cases {
		got, ok := c.set.lookup(c.kid, c.hasKid)
		if c.wantKid == "-" {
			if ok {
				t.Errorf("%s: found %q, want none", c.name, got.kid)
			}
			continue
		}
		if !ok || got.kid != c.wantKid {
			t.Errorf("%s: %q, %t; want %q", c.name, got.kid, ok, c.wantKid)
		}
	}
}
