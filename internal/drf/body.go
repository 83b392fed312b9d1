package drf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
)

// Request bodies (docs/compatibility.md "Conventions") are JSON, decoded and validated the way the
// reference's Django REST framework serializers do it, with DRF's messages,
// so that scripts written against the reference read the same errors.

// DRF's validation messages.
const (
	MsgRequired       = "This field is required."
	MsgNull           = "This field may not be null."
	MsgBlank          = "This field may not be blank."
	MsgNotString      = "Not a valid string."
	MsgNullCharacter  = "Null characters are not allowed."
	MsgNotInteger     = "A valid integer is required."
	MsgNoData         = "No data provided"
	NonFieldErrorsKey = "non_field_errors"
)

// MsgMaxLength is DRF's message for a string over its column limit.
func MsgMaxLength(n int) string {
	return fmt.Sprintf("Ensure this field has no more than %d characters.", n)
}

// MsgMaxValue and MsgMinValue are DRF's messages for an integer out of range.
func MsgMaxValue(n int64) string {
	return fmt.Sprintf("Ensure this value is less than or equal to %d.", n)
}

// MsgMinValue: see MsgMaxValue.
func MsgMinValue(n int64) string {
	return fmt.Sprintf("Ensure this value is greater than or equal to %d.", n)
}

// ReadJSON returns the request body, checked to be well-formed JSON in
// UTF-8, or nil when the request has no body (DRF reads an empty body as an
// empty form, whatever its content type). A body with another content type
// than application/json is refused with 415 and DRF's text; malformed JSON
// with 400 "JSON parse error - …".
func ReadJSON(ctx *fasthttp.RequestCtx) ([]byte, error) {
	body := ctx.Request.Body()
	if len(body) == 0 {
		return nil, nil
	}
	if ct := ctx.Request.Header.ContentType(); !isJSONMediaType(ct) {
		return nil, &condcache.Error{
			Code:   condcache.EUnsupportedMediaType,
			Detail: fmt.Sprintf("Unsupported media type \"%s\" in request.", ct),
		}
	}
	if err := CheckJSON(body); err != nil {
		return nil, err
	}
	return body, nil
}

// isJSONMediaType reports whether a Content-Type value is application/json,
// with any parameters ("; charset=utf-8").
func isJSONMediaType(ct []byte) bool {
	mt, _, _ := bytes.Cut(ct, []byte(";"))
	return bytes.EqualFold(bytes.TrimSpace(mt), []byte("application/json"))
}

// CheckJSON returns nil when body is one well-formed JSON value in UTF-8,
// else a 400 with "JSON parse error - " and the reason. Invalid UTF-8 is
// refused rather than silently replaced by U+FFFD, as Python refuses it;
// so is a \u escape of a lone UTF-16 surrogate, which Go would decode as
// U+FFFD (storing another name than the one sent) and which PostgreSQL
// cannot store anyway.
func CheckJSON(body []byte) error {
	if !utf8.Valid(body) {
		return parseError("invalid UTF-8 in the request body")
	}
	if json.Valid(body) {
		if at := loneSurrogate(body); at >= 0 {
			return parseError(fmt.Sprintf("lone UTF-16 surrogate %s in a string (at byte %d)", body[at:at+6], at))
		}
		return nil
	}
	// Decode only to learn why; json.Valid does not say.
	var raw json.RawMessage
	err := json.Unmarshal(body, &raw)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return parseError(fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset))
	}
	if err == nil {
		err = errors.New("invalid JSON")
	}
	return parseError(err.Error())
}

// loneSurrogate returns the offset of the first \uXXXX escape in a string of
// body, which must be valid JSON, that is a UTF-16 surrogate outside a
// high-low pair; -1 when there is none.
func loneSurrogate(body []byte) int {
	if !bytes.Contains(body, []byte(`\u`)) {
		return -1
	}
	inString := false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\':
			// Valid JSON: an escape letter follows, and after u four hex digits.
			i++
			if body[i] != 'u' {
				continue
			}
			switch r := hex4(body[i+1 : i+5]); {
			case r >= 0xd800 && r < 0xdc00:
				if i+11 <= len(body) && body[i+5] == '\\' && body[i+6] == 'u' {
					if r2 := hex4(body[i+7 : i+11]); r2 >= 0xdc00 && r2 < 0xe000 {
						i += 10
						continue
					}
				}
				return i - 1
			case r >= 0xdc00 && r < 0xe000:
				return i - 1
			}
			i += 4
		}
	}
	return -1
}

// hex4 is the value of four hexadecimal digits, already known to be valid.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

func parseError(reason string) error {
	return condcache.Errorf(condcache.EInvalid, "JSON parse error - %s", reason)
}

// NonFieldError is a DRF error that concerns the whole body:
// {"non_field_errors": [msg]}.
func NonFieldError(msg string) *condcache.Error {
	return &condcache.Error{Code: condcache.EInvalid, Detail: msg, Fields: map[string][]string{NonFieldErrorsKey: {msg}}}
}

// PythonType names the type a JSON value decodes to in Python, for DRF's
// "Expected a dictionary, but got list." messages. raw must be valid JSON.
func PythonType(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "NoneType"
	}
	switch raw[0] {
	case '{':
		return "dict"
	case '[':
		return "list"
	case '"':
		return "str"
	case 't', 'f':
		return "bool"
	case 'n':
		return "NoneType"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return "float"
	}
	return "int"
}

// FieldErrors collects DRF field errors ({"<field>": ["<message>", …]}) in
// the order they are found, so that one answer reports every bad field.
type FieldErrors struct {
	order []string
	msgs  map[string][]string
}

// Add records msg for field.
func (f *FieldErrors) Add(field, msg string) {
	if f.msgs == nil {
		f.msgs = make(map[string][]string)
	}
	if _, ok := f.msgs[field]; !ok {
		f.order = append(f.order, field)
	}
	f.msgs[field] = append(f.msgs[field], msg)
}

// Empty reports whether no error was recorded.
func (f *FieldErrors) Empty() bool { return len(f.order) == 0 }

// Err returns nil when no error was recorded, else a 400 *condcache.Error
// with the field errors and a detail listing them ("name: This field is
// required.; status: …").
func (f *FieldErrors) Err() error {
	if f.Empty() {
		return nil
	}
	parts := make([]string, 0, len(f.order))
	fields := make(map[string][]string, len(f.order))
	for _, field := range f.order {
		msgs := f.msgs[field]
		fields[field] = msgs
		parts = append(parts, field+": "+strings.Join(msgs, " "))
	}
	return &condcache.Error{Code: condcache.EInvalid, Detail: strings.Join(parts, "; "), Fields: fields}
}

// Object is a JSON object body being validated field by field. Accessors
// record a field error instead of failing, so that all errors are reported
// at once by Err.
type Object struct {
	fields map[string]json.RawMessage
	errs   FieldErrors
}

// ReadObject reads a JSON object body (ReadJSON). No body is an empty
// object; null is DRF's "No data provided"; any other JSON value is DRF's
// "Invalid data. Expected a dictionary, but got <type>.".
func ReadObject(ctx *fasthttp.RequestCtx) (*Object, error) {
	body, err := ReadJSON(ctx)
	if err != nil {
		return nil, err
	}
	return ParseObject(body)
}

// ParseObject is ReadObject for a body already checked by CheckJSON (nil:
// no body).
func ParseObject(raw []byte) (*Object, error) {
	o := &Object{fields: map[string]json.RawMessage{}}
	if raw == nil {
		return o, nil
	}
	switch t := PythonType(raw); t {
	case "dict":
		// Duplicate keys: the last wins, as in Python.
		if err := json.Unmarshal(raw, &o.fields); err != nil {
			return nil, parseError(err.Error())
		}
		return o, nil
	case "NoneType":
		return nil, NonFieldError(MsgNoData)
	default:
		return nil, NonFieldError(fmt.Sprintf("Invalid data. Expected a dictionary, but got %s.", t))
	}
}

// Has reports whether the field is present (null included).
func (o *Object) Has(field string) bool {
	_, ok := o.fields[field]
	return ok
}

// Err returns the field errors recorded so far (nil when none).
func (o *Object) Err() error { return o.errs.Err() }

// AddError records a field error found by the caller.
func (o *Object) AddError(field, msg string) { o.errs.Add(field, msg) }

// PeekString returns the field's value if it is a JSON string, trimmed as
// StringRule.Trim does when trim is set, without recording any error. It
// gives the name a permission check needs before validation runs.
func (o *Object) PeekString(field string, trim bool) (string, bool) {
	raw, ok := o.fields[field]
	if !ok || PythonType(raw) != "str" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	if trim {
		s = trimPythonSpace(s)
	}
	return s, true
}

// StringRule says how Object.String validates a field, after DRF's
// CharField. The zero value is a required, non-null, non-blank string
// without a length limit, used as sent.
type StringRule struct {
	Optional bool // absent is fine
	Null     bool // null is fine (reads as absent)
	Blank    bool // "" is fine
	Trim     bool // strip surrounding white space first (DRF trim_whitespace)
	MaxLen   int  // limit in characters; 0: none
}

// String returns the field's string value. ok is false when the field is
// absent, null, or invalid; an invalid or missing required field records
// its error. Only JSON strings are strings: DRF would also take numbers, but
// their Python spelling ("1.0") cannot be reproduced reliably.
func (o *Object) String(field string, r StringRule) (v string, ok bool) {
	raw, present := o.fields[field]
	if !present {
		if !r.Optional {
			o.errs.Add(field, MsgRequired)
		}
		return "", false
	}
	if PythonType(raw) == "NoneType" {
		if !r.Null {
			o.errs.Add(field, MsgNull)
		}
		return "", false
	}
	if PythonType(raw) != "str" || json.Unmarshal(raw, &v) != nil {
		o.errs.Add(field, MsgNotString)
		return "", false
	}
	if r.Trim {
		v = trimPythonSpace(v)
	}
	switch {
	case v == "" && !r.Blank:
		o.errs.Add(field, MsgBlank)
		return "", false
	case r.MaxLen > 0 && utf8.RuneCountInString(v) > r.MaxLen:
		o.errs.Add(field, MsgMaxLength(r.MaxLen))
		return "", false
	case strings.IndexByte(v, 0) >= 0:
		// PostgreSQL text cannot hold NUL; DRF refuses it up front too.
		o.errs.Add(field, MsgNullCharacter)
		return "", false
	}
	return v, true
}

// NullableString is String for a field that may be absent or null: nil then.
func (o *Object) NullableString(field string, r StringRule) *string {
	r.Optional, r.Null = true, true
	if v, ok := o.String(field, r); ok {
		return &v
	}
	return nil
}

// IntRule says how Object.Int validates a field, after DRF's IntegerField on
// a bigint column. The zero value is a required, non-null int64.
type IntRule struct {
	Optional      bool // absent is fine
	Null          bool // null is fine (reads as absent)
	NumericString bool // a JSON string holding a decimal integer is fine too
	NonNegative   bool // values below 0 are refused
}

// Int returns the field's int64 value. JSON integers and integral numbers
// in any notation (1.0, 1e3) are accepted; fractions, strings (unless
// NumericString), booleans and other types are "A valid integer is
// required."; values outside int64 get DRF's range messages. ok is false when
// the field is absent, null or invalid; errors are recorded as in String.
func (o *Object) Int(field string, r IntRule) (v int64, ok bool) {
	raw, present := o.fields[field]
	if !present {
		if !r.Optional {
			o.errs.Add(field, MsgRequired)
		}
		return 0, false
	}
	var err error
	switch PythonType(raw) {
	case "NoneType":
		if !r.Null {
			o.errs.Add(field, MsgNull)
		}
		return 0, false
	case "int", "float":
		v, err = ParseJSONInt(bytes.TrimSpace(raw))
	case "str":
		var s string
		if !r.NumericString || json.Unmarshal(raw, &s) != nil {
			err = strconv.ErrSyntax
			break
		}
		v, err = ParseInt([]byte(s))
	default:
		err = strconv.ErrSyntax
	}
	switch {
	case errors.Is(err, strconv.ErrRange) && v > 0:
		o.errs.Add(field, MsgMaxValue(1<<63-1))
	case errors.Is(err, strconv.ErrRange):
		o.errs.Add(field, MsgMinValue(-1<<63))
	case err != nil:
		o.errs.Add(field, MsgNotInteger)
	case r.NonNegative && v < 0:
		o.errs.Add(field, MsgMinValue(0))
	default:
		return v, true
	}
	return 0, false
}

// ParseJSONInt parses a JSON number literal whose value is an integer, in
// any notation ("12", "-0", "1.0", "1.20e1", "1e3"), exactly (no float
// rounding). A fraction fails with strconv.ErrSyntax; an integer outside
// int64 with strconv.ErrRange and the value clamped to MinInt64 or MaxInt64
// (its sign tells which bound was crossed).
func ParseJSONInt(lit []byte) (int64, error) {
	s := string(lit)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	mant, expPart, hasExp := strings.Cut(strings.ToLower(s), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, strconv.ErrSyntax
	}
	exp := 0
	if hasExp {
		e, err := strconv.Atoi(expPart)
		if err != nil {
			// An exponent beyond int: only a zero mantissa is an integer
			// then (0e-99999999999999999999), and a huge positive exponent
			// of a non-zero mantissa is out of range, handled below.
			if strings.HasPrefix(expPart, "-") {
				e = -1 << 30
			} else {
				e = 1 << 30
			}
		}
		exp = max(min(e, 1<<30), -1<<30)
	}
	// value = digits × 10^scale
	digits := strings.TrimLeft(intPart+frac, "0")
	scale := exp - len(frac)
	if digits == "" {
		return 0, nil
	}
	for strings.HasSuffix(digits, "0") {
		digits = digits[:len(digits)-1]
		scale++
	}
	if scale < 0 {
		return 0, strconv.ErrSyntax // a fraction
	}
	if len(digits)+scale > 19 {
		return clampedRange(neg)
	}
	text := digits + strings.Repeat("0", scale)
	if neg {
		text = "-" + text
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return clampedRange(neg)
	}
	return v, nil
}

func clampedRange(neg bool) (int64, error) {
	if neg {
		return -1 << 63, strconv.ErrRange
	}
	return 1<<63 - 1, strconv.ErrRange
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// trimPythonSpace strips what Python's str.strip() strips: Unicode white
// space plus the ASCII separators U+001C–U+001F.
func trimPythonSpace(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}

// EachElement calls fn with the index and text of each element of a JSON
// array body already checked by CheckJSON, one at a time so that a large
// bulk body is never held twice in decoded form. It stops at the first
// error fn returns. No body, or any other JSON value, is DRF's
// ListSerializer error "Expected a list of items but got type \"<type>\".".
func EachElement(raw []byte, fn func(i int, elem []byte) error) error {
	if raw == nil {
		return NonFieldError(`Expected a list of items but got type "dict".`)
	}
	if t := PythonType(raw); t != "list" {
		return NonFieldError(fmt.Sprintf("Expected a list of items but got type %q.", t))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // [
		return parseError(err.Error())
	}
	for i := 0; dec.More(); i++ {
		var elem json.RawMessage
		if err := dec.Decode(&elem); err != nil {
			return parseError(err.Error())
		}
		if err := fn(i, elem); err != nil {
			return err
		}
	}
	return nil
}
