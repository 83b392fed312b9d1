package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/condcache/condcache"
)

// Authentication failures with the reference's texts (docs/compatibility.md "JWT authentication"). All are
// 403 (condcache.EUnauthorized), never 401.
var (
	errNoCredentials = unauthorized("Authentication credentials were not provided")
	errFormat        = unauthorized("Wrong access_token format")
	errSignature     = unauthorized("invalid signature")
	errExpired       = unauthorized("access_token expired")
	errInvalid       = unauthorized("invalid access_token")
)

func unauthorized(detail string) *condcache.Error {
	return &condcache.Error{Code: condcache.EUnauthorized, Detail: detail}
}

// newParser returns a parser accepting the algorithms algs only:
// golang-jwt refuses "none" and every other algorithm before looking for a
// key. Claims are validated by validateClaims instead of golang-jwt's
// validator, whose rules differ from PyJWT's (exp == now is valid there,
// expired in the reference; fractional dates are kept there, truncated by
// the reference's int()).
func newParser(algs []string) *jwt.Parser {
	// A nil list would let golang-jwt accept every algorithm.
	algs = append(make([]string, 0, len(algs)), algs...)
	return jwt.NewParser(
		jwt.WithValidMethods(algs),
		jwt.WithoutClaimsValidation(),
		jwt.WithJSONNumber(),
		// PyJWT pads segments itself, so a padded segment is accepted there.
		jwt.WithPaddingAllowed(),
	)
}

// Authenticate verifies the value of an Authorization header ("" when the
// header is absent) and returns the token's claims. Failures are
// *condcache.Error with code EUnauthorized and the reference's detail.
//
// The header must be exactly "Bearer <token>" split on single spaces, as the
// reference splits it; where the reference crashes (not exactly two parts)
// this answers "Wrong access_token format" (docs/compatibility.md "JWT authentication").
func (a *Authorizer) Authenticate(header string) (Claims, error) {
	if header == "" {
		return nil, errNoCredentials
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || strings.Contains(token, " ") || scheme != "Bearer" {
		return nil, errFormat
	}
	claims := jwt.MapClaims{}
	tok, err := a.parser.ParseWithClaims(token, claims, a.verificationKey)
	if err != nil {
		// A signature mismatch is "invalid signature" only for an accepted
		// algorithm: golang-jwt reports a refused algorithm as a signature
		// error too, which the reference calls an invalid token.
		if errors.Is(err, jwt.ErrTokenSignatureInvalid) && tok != nil && tok.Method != nil && slices.Contains(a.algs, tok.Method.Alg()) {
			return nil, errSignature
		}
		return nil, errInvalid
	}
	if !a.payloadIsObject(token) {
		return nil, errInvalid
	}
	if err := validateClaims(claims, a.now().Unix()); err != nil {
		return nil, err
	}
	return Claims(claims), nil
}

// payloadIsObject reports whether the payload of a token golang-jwt has
// accepted is exactly one JSON object, as PyJWT requires ("must be a json
// object"; json.loads refuses trailing data), after checking the
// signature as here. golang-jwt reads a "null" payload as no claims, and
// stops reading after the first value, so "{}0" passes there.
func (a *Authorizer) payloadIsObject(token string) bool {
	_, rest, _ := strings.Cut(token, ".")
	payload, _, _ := strings.Cut(rest, ".")
	b, err := a.parser.DecodeSegment(payload)
	if err != nil || !json.Valid(b) {
		return false
	}
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// Reasons verificationKey gives golang-jwt; they end in errInvalid and
// never reach a client.
var (
	errHS256Off     = errors.New("HS256 is not accepted")
	errKid          = errors.New(`"kid" header is not a string`)
	errNoKey        = errors.New("no key for the token's kid")
	errKeyAlgorithm = errors.New("the key's algorithm is not the token's")
)

// verificationKey is the jwt.Keyfunc. The parser has already refused the
// algorithms not accepted, and this checks again on its own, so that
// neither check alone stands between a token and algorithm confusion:
// HS256 gets the secret, only when HS256 is on, and nothing else; RS256
// and ES256 get the key the kid designates, only when that key is bound to
// the token's algorithm. The token's alg never chooses how a key is used.
func (a *Authorizer) verificationKey(t *jwt.Token) (any, error) {
	if t.Method == jwt.SigningMethodHS256 {
		if !a.hs256 {
			return nil, errHS256Off
		}
		return a.secret, nil
	}
	kid, hasKid := t.Header["kid"]
	kidStr, ok := kid.(string)
	if hasKid && !ok {
		return nil, errKid
	}
	k, ok := a.keys.lookup(kidStr, hasKid)
	if !ok {
		return nil, errNoKey
	}
	if k.method != t.Method {
		return nil, errKeyAlgorithm
	}
	return k.key, nil
}

// validateClaims checks the registered claims as PyJWT 2.6 does with no
// leeway and no expected audience, in its order (iat, nbf, exp, aud), with
// now in whole seconds:
//   - iat, when present, must be a number not after now;
//   - nbf, when present, must be a number whose integer part is not after now;
//   - exp, when present, must be a number whose integer part is after now
//     (else "access_token expired");
//   - aud, when present, must be empty (null, "", [], 0 …): no audience is
//     expected, so any audience is refused.
//
// Dates given as strings are refused, where PyJWT's int() would accept a
// numeric string: RFC 7519 NumericDates are numbers, and refusing is the
// safe side.
func validateClaims(c jwt.MapClaims, now int64) error {
	if v, ok := c["iat"]; ok {
		iat, ok := number(v)
		if !ok || iat > float64(now) {
			return errInvalid
		}
	}
	if v, ok := c["nbf"]; ok {
		nbf, ok := number(v)
		if !ok || math.Trunc(nbf) > float64(now) {
			return errInvalid
		}
	}
	if v, ok := c["exp"]; ok {
		exp, ok := number(v)
		if !ok {
			return errInvalid
		}
		if math.Trunc(exp) <= float64(now) {
			return errExpired
		}
	}
	if v, ok := c["aud"]; ok && truthy(v) {
		return errInvalid
	}
	return nil
}

// number returns a finite JSON number claim as a float64. Float precision is
// ample: dates are compared with the current time in seconds.
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// truthy is Python's truth value of a decoded JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return err != nil || f != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}
