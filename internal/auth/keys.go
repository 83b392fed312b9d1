package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// minRSABits is the smallest RSA modulus accepted. Smaller keys are
// factorable with public means or close to it, and NIST has deprecated them
// since 2013, so accepting one would only hide a weak issuer.
const minRSABits = 2048

// KeySet holds the public keys that verify RS256 and ES256 tokens, each
// bound to the one algorithm its type allows: an RSA key verifies RS256
// only, a P-256 key ES256 only. The binding, not just the list of accepted
// algorithms, is what rules out algorithm confusion: a key is never handed
// to another algorithm's verifier.
//
// The zero KeySet is empty. Build one with LoadPublicKeyFile, LoadJWKSFile,
// ParsePublicKeyPEM or ParseJWKS.
type KeySet struct {
	source string // the file the keys come from, for messages
	keys   []publicKey
}

type publicKey struct {
	kid    string // "" when the key has none (always for a PEM key)
	method jwt.SigningMethod
	key    any // *rsa.PublicKey or *ecdsa.PublicKey
}

// Len returns the number of keys.
func (s KeySet) Len() int { return len(s.keys) }

// String names the keys by algorithm and kid, and their file. Public keys
// are not secret, but their bytes are noise in a log.
func (s KeySet) String() string {
	if len(s.keys) == 0 {
		return "no keys"
	}
	names := make([]string, len(s.keys))
	for i, k := range s.keys {
		names[i] = k.method.Alg()
		if k.kid != "" {
			names[i] += fmt.Sprintf(" kid %q", truncate(k.kid, 64))
		}
	}
	desc := strings.Join(names, ", ")
	if s.source != "" {
		desc += " from " + s.source
	}
	return desc
}

// algorithms returns the algorithms of the keys, each once.
func (s KeySet) algorithms() []string {
	var algs []string
	for _, k := range s.keys {
		if alg := k.method.Alg(); !slices.Contains(algs, alg) {
			algs = append(algs, alg)
		}
	}
	return algs
}

// lookup picks the key for a token whose header has kid (hasKid false when
// the header has none):
//   - a set of one key without kid (a PEM key) verifies every token, as
//     there is nothing to choose;
//   - a token with a kid takes the key with that kid;
//   - a token without kid takes the only key of a set of one.
//
// Anything else finds no key: guessing among several keys would let a
// token pick a key it was not meant for.
func (s KeySet) lookup(kid string, hasKid bool) (publicKey, bool) {
	if len(s.keys) == 1 && (s.keys[0].kid == "" || !hasKid) {
		return s.keys[0], true
	}
	if !hasKid {
		return publicKey{}, false
	}
	for _, k := range s.keys {
		if k.kid == kid {
			return k, true
		}
	}
	return publicKey{}, false
}

// LoadPublicKeyFile reads a PEM file holding one public key (see
// ParsePublicKeyPEM). Errors name the file and never quote its content.
func LoadPublicKeyFile(path string) (KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return KeySet{}, fmt.Errorf("%s: %w", EnvPublicKeyFile, err)
	}
	s, err := ParsePublicKeyPEM(data)
	if err != nil {
		return KeySet{}, fmt.Errorf("%s %q: %w", EnvPublicKeyFile, path, err)
	}
	s.source = path
	return s, nil
}

// ParsePublicKeyPEM parses exactly one PEM block holding an RSA public key
// of at least 2048 bits (RS256) or an EC P-256 public key (ES256), as
// "PUBLIC KEY" (X.509 SubjectPublicKeyInfo), "RSA PUBLIC KEY" (PKCS #1) or
// "CERTIFICATE" (only its key is used: the certificate's dates and issuer
// are not checked). A private key is refused: it has no business on the
// verifying side, and accepting it would hide that it was copied there.
func ParsePublicKeyPEM(data []byte) (KeySet, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return KeySet{}, errors.New("no PEM block found")
	}
	if next, _ := pem.Decode(rest); next != nil {
		// Several keys need kids to choose among them, which PEM lacks.
		return KeySet{}, fmt.Errorf("more than one PEM block: give one public key, or several in a JSON Web Key Set (%s)", EnvJWKSFile)
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			key = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return KeySet{}, fmt.Errorf("holds a private key (PEM type %q): configure the public key only", truncate(block.Type, 40))
		}
		return KeySet{}, fmt.Errorf("PEM type %q is not supported: use PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", truncate(block.Type, 40))
	}
	if err != nil {
		// x509's own messages name what is wrong (an unsupported curve,
		// say); asn1's only describe tags, so they are summed up.
		if !strings.HasPrefix(err.Error(), "x509: ") {
			err = errors.New("not valid DER")
		}
		return KeySet{}, fmt.Errorf("PEM type %q: %w", block.Type, err)
	}
	k, err := newPublicKey(key)
	if err != nil {
		return KeySet{}, err
	}
	return KeySet{keys: []publicKey{k}}, nil
}

// newPublicKey binds key to its algorithm, or says why it cannot verify
// RS256 or ES256 tokens.
func newPublicKey(key any) (publicKey, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if err := checkRSA(k); err != nil {
			return publicKey{}, err
		}
		return publicKey{method: jwt.SigningMethodRS256, key: k}, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return publicKey{}, fmt.Errorf("EC curve %s is not supported: ES256 needs P-256", k.Curve.Params().Name)
		}
		return publicKey{method: jwt.SigningMethodES256, key: k}, nil
	case ed25519.PublicKey:
		return publicKey{}, errors.New("key type Ed25519 (EdDSA) is not supported: use RSA (RS256) or EC P-256 (ES256)")
	}
	return publicKey{}, fmt.Errorf("key type %T is not supported: use RSA (RS256) or EC P-256 (ES256)", key)
}

func checkRSA(k *rsa.PublicKey) error {
	if n := k.N.BitLen(); n < minRSABits {
		return fmt.Errorf("RSA key of %d bits is too small: at least %d are needed", n, minRSABits)
	}
	// crypto/rsa verifies with any odd exponent; an even or tiny one only
	// comes from a broken generator.
	if k.E < 3 || k.E%2 == 0 {
		return fmt.Errorf("RSA public exponent %d is invalid", k.E)
	}
	return nil
}
