package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"reflect"
)

// jwk is the part of a JSON Web Key (RFC 7517, 7518 §6) that verification
// needs, plus the members that only a private or symmetric key has, so
// that such a key is refused rather than silently used as public.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	// RSA
	N string `json:"n"`
	E string `json:"e"`
	// EC
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	// Private or symmetric material: only tested for presence.
	D  *json.RawMessage `json:"d"`
	P  *json.RawMessage `json:"p"`
	Q  *json.RawMessage `json:"q"`
	K  *json.RawMessage `json:"k"`
	DP *json.RawMessage `json:"dp"`
	DQ *json.RawMessage `json:"dq"`
	QI *json.RawMessage `json:"qi"`
}

// LoadJWKSFile reads a JSON Web Key Set file (see ParseJWKS). Errors name
// the file and never quote its content.
func LoadJWKSFile(path string) (KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return KeySet{}, fmt.Errorf("%s: %w", EnvJWKSFile, err)
	}
	s, err := ParseJWKS(data)
	if err != nil {
		return KeySet{}, fmt.Errorf("%s %q: %w", EnvJWKSFile, path, err)
	}
	s.source = path
	return s, nil
}

// ParseJWKS parses a JSON Web Key Set, {"keys": [...]}, as an identity
// provider publishes it. Keys whose "use" is other than "sig" (encryption
// keys) are skipped. Every other key must be an RSA key of at least 2048
// bits (RS256) or an EC P-256 key (ES256), with an "alg", when given,
// matching; anything else fails, so that a key the operator expects to be
// used is never dropped silently. With several keys, each needs a distinct
// "kid", since tokens choose their key by kid.
func ParseJWKS(data []byte) (KeySet, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return KeySet{}, jsonError(err)
	}
	var s KeySet
	for i, j := range set.Keys {
		if j.Use != "" && j.Use != "sig" {
			continue
		}
		k, err := j.publicKey()
		if err != nil {
			name := fmt.Sprintf("key %d", i)
			if j.Kid != "" {
				name += fmt.Sprintf(" (kid %q)", truncate(j.Kid, 64))
			}
			return KeySet{}, fmt.Errorf("%s: %w", name, err)
		}
		s.keys = append(s.keys, k)
	}
	if len(s.keys) == 0 {
		return KeySet{}, errors.New(`no signature key: "keys" is missing or holds only keys of another "use"`)
	}
	if len(s.keys) > 1 {
		seen := make(map[string]bool, len(s.keys))
		for _, k := range s.keys {
			if k.kid == "" {
				return KeySet{}, errors.New(`a key has no "kid": with several keys each needs one, since tokens choose their key by kid`)
			}
			if seen[k.kid] {
				return KeySet{}, fmt.Errorf("kid %q is used by several keys", truncate(k.kid, 64))
			}
			seen[k.kid] = true
		}
	}
	return s, nil
}

func (j jwk) publicKey() (publicKey, error) {
	if j.D != nil || j.P != nil || j.Q != nil || j.DP != nil || j.DQ != nil || j.QI != nil {
		return publicKey{}, errors.New("holds a private key: publish the public members only")
	}
	var (
		key     any
		wantAlg string
		err     error
	)
	switch j.Kty {
	case "RSA":
		wantAlg = "RS256"
		key, err = j.rsa()
	case "EC":
		wantAlg = "ES256"
		key, err = j.ec()
	case "oct":
		// A symmetric key in a file meant to be public would be a leaked
		// secret; HS256 takes its key from JWT_SECRET only.
		return publicKey{}, errors.New(`kty "oct" (a symmetric key) is not accepted in a key set: HS256 uses JWT_SECRET`)
	case "":
		return publicKey{}, errors.New(`"kty" is missing`)
	default:
		return publicKey{}, fmt.Errorf("kty %q is not supported: use RSA (RS256) or EC P-256 (ES256)", truncate(j.Kty, 20))
	}
	if err != nil {
		return publicKey{}, err
	}
	if j.Alg != "" && j.Alg != wantAlg {
		return publicKey{}, fmt.Errorf("alg %q is not supported for kty %s: only %s", truncate(j.Alg, 20), j.Kty, wantAlg)
	}
	k, err := newPublicKey(key)
	if err != nil {
		return publicKey{}, err
	}
	k.kid = j.Kid
	return k, nil
}

func (j jwk) rsa() (*rsa.PublicKey, error) {
	n, err := decodeMember("n", j.N)
	if err != nil {
		return nil, err
	}
	e, err := decodeMember("e", j.E)
	if err != nil {
		return nil, err
	}
	// 4 bytes keep the exponent within an int on every platform; real
	// exponents are 3 or 65537.
	if len(e) > 4 {
		return nil, errors.New(`"e" is too large`)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
}

func (j jwk) ec() (*ecdsa.PublicKey, error) {
	if j.Crv != "P-256" {
		return nil, fmt.Errorf("crv %q is not supported: ES256 needs P-256", truncate(j.Crv, 20))
	}
	x, err := decodeMember("x", j.X)
	if err != nil {
		return nil, err
	}
	y, err := decodeMember("y", j.Y)
	if err != nil {
		return nil, err
	}
	// RFC 7518 §6.2.1.2: coordinates are the full size of the field.
	if len(x) != 32 || len(y) != 32 {
		return nil, errors.New(`"x" and "y" must be 32 bytes each for P-256`)
	}
	// ParseUncompressedPublicKey refuses a point that is not on the
	// curve, which would otherwise open invalid-curve attacks.
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, errors.New("x, y is not a point of P-256")
	}
	return k, nil
}

// decodeMember decodes a base64url member (RFC 7518 uses no padding).
func decodeMember(name, v string) ([]byte, error) {
	if v == "" {
		return nil, fmt.Errorf("%q is missing", name)
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		// The error gives an offset, never the data.
		return nil, fmt.Errorf("%q is not base64url: %w", name, err)
	}
	return b, nil
}

// jsonError describes a JSON decoding error by position or field only:
// encoding/json may quote a piece of the input (a number, for one), which
// could be key material.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the document"
		}
		want := map[reflect.Kind]string{reflect.Slice: "an array", reflect.Struct: "an object", reflect.String: "a string"}[typ.Type.Kind()]
		if want == "" {
			want = "of another type"
		}
		return fmt.Errorf("not a JSON Web Key Set: %s must be %s", field, want)
	}
	return errors.New("not valid JSON")
}
