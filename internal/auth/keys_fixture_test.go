package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// testKeys are private keys shared by the tests of this package: RSA
// generation takes long enough to do it once.
type testKeys struct {
	rsa1, rsa2 *rsa.PrivateKey
	ec1, ec2   *ecdsa.PrivateKey // P-256
	ec384      *ecdsa.PrivateKey
}

var (
	keysOnce   sync.Once
	sharedKeys testKeys
	keysErr    error
)

func keys(t testing.TB) testKeys {
	t.Helper()
	keysOnce.Do(func() {
		k := &sharedKeys
		if k.rsa1, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
			return
		}
		if k.rsa2, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
			return
		}
		if k.ec1, keysErr = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); keysErr != nil {
			return
		}
		if k.ec2, keysErr = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); keysErr != nil {
			return
		}
		k.ec384, keysErr = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return sharedKeys
}

// publicPEM encodes the public part of key as a PUBLIC KEY block.
func publicPEM(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// jwkOf returns the JWK of the public part of key with kid ("" for none).
func jwkOf(t testing.TB, key any, kid string) map[string]any {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	var m map[string]any
	switch k := key.(type) {
	case *rsa.PublicKey:
		m = map[string]any{"kty": "RSA", "n": enc(k.N.Bytes()), "e": enc([]byte{1, 0, 1})}
		if k.E != 65537 {
			t.Fatalf("exponent %d", k.E)
		}
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		size := (len(b) - 1) / 2
		m = map[string]any{"kty": "EC", "crv": k.Curve.Params().Name, "x": enc(b[1 : 1+size]), "y": enc(b[1+size:])}
	default:
		t.Fatalf("jwkOf(%T)", key)
	}
	if kid != "" {
		m["kid"] = kid
	}
	return m
}

// jwks encodes keys as a JSON Web Key Set.
func jwks(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeFile writes data to a new file of the test and returns its path.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// rawECDSA signs header and payload JSON texts with an ECDSA key whatever
// the header says, for signatures golang-jwt refuses to make (a P-384
// signature under "ES256").
func rawECDSA(t testing.TB, key *ecdsa.PrivateKey, header, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	h := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	size := (key.Curve.Params().BitSize + 7) / 8
	sig := append(r.FillBytes(make([]byte, size)), s.FillBytes(make([]byte, size))...)
	return input + "." + enc.EncodeToString(sig)
}
