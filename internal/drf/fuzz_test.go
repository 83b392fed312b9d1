package drf

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"regexp"
	"strconv"
	"testing"

	"github.com/condcache/condcache"
)

var decimal = regexp.MustCompile(`^[+-]?[0-9]+$`)

// FuzzParseInt checks ParseInt against strconv.ParseInt on the trimmed
// input: same value, same kind of error, except that anything but an
// optional sign and digits is a syntax error even where strconv, having
// overflowed first, reports the range. Run longer with make fuzz.
func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-0", "+7", " 42 ", "\t-9223372036854775808\n", "9223372036854775807",
		"9223372036854775808", "-9223372036854775809", "99999999999999999999999", "1.5", "1e3", "0x10", "", "-", "+", "1_000", "٣"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseInt(b)
		trimmed := trimASCIISpace(b)
		want, werr := strconv.ParseInt(string(trimmed), 10, 64)
		switch {
		case !decimal.Match(trimmed):
			if !errors.Is(err, strconv.ErrSyntax) {
				t.Fatalf("ParseInt(%q) = %d, %v; want a syntax error", b, v, err)
			}
		case werr == nil:
			if err != nil || v != want {
				t.Fatalf("ParseInt(%q) = %d, %v; strconv says %d", b, v, err, want)
			}
		case errors.Is(werr, strconv.ErrRange):
			if !errors.Is(err, strconv.ErrRange) || v != want {
				t.Fatalf("ParseInt(%q) = %d, %v; strconv says %d, out of range", b, v, err, want)
			}
		default:
			if !errors.Is(err, strconv.ErrSyntax) {
				t.Fatalf("ParseInt(%q) = %d, %v; strconv says it is not an integer", b, v, err)
			}
		}
	})
}

var smallExponent = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?$`)

// FuzzParseJSONInt checks ParseJSONInt against exact rational arithmetic
// for every JSON number literal with an exponent below 1000 (beyond that,
// only that it does not panic).
func FuzzParseJSONInt(f *testing.F) {
	for _, s := range []string{"0", "-0", "12", "1.0", "1.20e1", "1e3", "1.5", "-1e-1", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808", "-9223372036854775809", "1e19", "10e-1", "0e-99999999999999999999", "1e999999999"} {
		f.Add([]byte(s))
	}
	limit := new(big.Rat).SetInt64(1 << 62)
	limit.Mul(limit, big.NewRat(2, 1)) // 2^63
	f.Fuzz(func(t *testing.T, lit []byte) {
		v, err := ParseJSONInt(lit)
		if !json.Valid(lit) || !smallExponent.Match(lit) || bytes.ContainsAny(lit, " \t\r\n") {
			return
		}
		r, ok := new(big.Rat).SetString(string(lit))
		if !ok {
			t.Fatalf("big.Rat cannot parse %q", lit)
		}
		switch {
		case !r.IsInt():
			if !errors.Is(err, strconv.ErrSyntax) {
				t.Fatalf("ParseJSONInt(%q) = %d, %v; it is a fraction", lit, v, err)
			}
		case r.Cmp(limit) >= 0 || r.Cmp(new(big.Rat).Neg(limit)) < 0:
			if !errors.Is(err, strconv.ErrRange) || (r.Sign() < 0) != (v < 0) {
				t.Fatalf("ParseJSONInt(%q) = %d, %v; it is out of range", lit, v, err)
			}
		default:
			if err != nil || v != r.Num().Int64() {
				t.Fatalf("ParseJSONInt(%q) = %d, %v; want %s", lit, v, err, r.Num())
			}
		}
	})
}

// FuzzParseObject: a body that CheckJSON accepts is either an object or
// refused with a client error; one that it refuses never reaches parsing.
func FuzzParseObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"a":2}`, `[]`, `null`, `"x"`, `{"name":"\u0000"}`, `{"n":1e999}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if CheckJSON(raw) != nil {
			return
		}
		o, err := ParseObject(raw)
		if err != nil {
			var e *condcache.Error
			if !errors.As(err, &e) || e.Code != condcache.EInvalid {
				t.Fatalf("ParseObject(%q): %v, want an invalid-input error", raw, err)
			}
			return
		}
		if o == nil {
			t.Fatalf("ParseObject(%q): nil object and no error", raw)
		}
		_ = o.Err()
	})
}
