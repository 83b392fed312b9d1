package drf

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
)

func TestParseJSONInt(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		err  error
	}{
		{"0", 0, nil}, {"-0", 0, nil}, {"12", 12, nil}, {"-12", -12, nil},
		{"1.0", 1, nil}, {"1.000", 1, nil}, {"-3.0", -3, nil}, {"1e3", 1000, nil}, {"1E3", 1000, nil},
		{"1.5e1", 15, nil}, {"1500e-2", 15, nil}, {"0.0", 0, nil}, {"0e99999999999999999999", 0, nil},
		{"9223372036854775807", math.MaxInt64, nil}, {"9223372036854775807.0", math.MaxInt64, nil},
		{"-9223372036854775808", math.MinInt64, nil}, {"-9.223372036854775808e18", math.MinInt64, nil},
		{"1.5", 0, strconv.ErrSyntax}, {"0.1", 0, strconv.ErrSyntax}, {"15e-1", 0, strconv.ErrSyntax},
		{"1e-99999999999999999999", 0, strconv.ErrSyntax},
		{"9223372036854775808", math.MaxInt64, strconv.ErrRange},
		{"9.3e18", math.MaxInt64, strconv.ErrRange}, {"1e19", math.MaxInt64, strconv.ErrRange},
		{"1e99999999999999999999", math.MaxInt64, strconv.ErrRange},
		{"-9223372036854775809", math.MinInt64, strconv.ErrRange}, {"-1e300", math.MinInt64, strconv.ErrRange},
		{"", 0, strconv.ErrSyntax}, {"-", 0, strconv.ErrSyntax}, {"abc", 0, strconv.ErrSyntax}, {".5", 0, strconv.ErrSyntax},
	}
	for _, c := range cases {
		got, err := ParseJSONInt([]byte(c.in))
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("ParseJSONInt(%q) = %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestPythonType(t *testing.T) {
	for in, want := range map[string]string{
		`{}`: "dict", ` [1]`: "list", `"x"`: "str", `true`: "bool", `false`: "bool",
		`null`: "NoneType", `1`: "int", `-1`: "int", `1.0`: "float", `1e3`: "float",
	} {
		if got := PythonType([]byte(in)); got != want {
			t.Errorf("PythonType(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestCheckJSON(t *testing.T) {
	for _, ok := range []string{`{}`, `[]`, `null`, ` {"a": [1, 2.5, "é"]} `} {
		if err := CheckJSON([]byte(ok)); err != nil {
			t.Errorf("CheckJSON(%s) = %v", ok, err)
		}
	}
	for _, bad := range []string{`{"a": `, `{a: 1}`, `{"a": 1}}`, "\xff\xfe", `{"a": "\xff"}`, `NaN`, ` `} {
		err := CheckJSON([]byte(bad))
		var e *condcache.Error
		if !errors.As(err, &e) || e.Code != condcache.EInvalid || !strings.HasPrefix(e.Detail, "JSON parse error - ") {
			t.Errorf("CheckJSON(%q) = %v, want a JSON parse error", bad, err)
		}
	}
}

func TestReadJSONContentType(t *testing.T) {
	for ct, want := range map[string]int{
		"application/json":                  0,
		"application/json; charset=utf-8":   0,
		"Application/JSON;charset=UTF-8":    0,
		"text/plain":                        fasthttp.StatusUnsupportedMediaType,
		"application/x-www-form-urlencoded": fasthttp.StatusUnsupportedMediaType,
		"":                                  fasthttp.StatusUnsupportedMediaType,
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("POST")
		if ct != "" {
			ctx.Request.Header.SetContentType(ct)
		}
		ctx.Request.SetBodyString(`{"a":1}`)
		_, err := ReadJSON(&ctx)
		var e *condcache.Error
		switch {
		case want == 0 && err != nil:
			t.Errorf("%q: %v", ct, err)
		case want != 0 && (!errors.As(err, &e) || e.Code.HTTPStatus() != want):
			t.Errorf("%q: %v, want %d", ct, err, want)
		case want != 0 && e.Detail != `Unsupported media type "`+ct+`" in request.`:
			t.Errorf("%q: detail %q", ct, e.Detail)
		}
	}
	// No body: no content type needed, nil body.
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetContentType("text/plain")
	if b, err := ReadJSON(&ctx); b != nil || err != nil {
		t.Errorf("empty body: %q, %v", b, err)
	}
}

func TestParseObject(t *testing.T) {
	cases := map[string]string{
		`[]`:   "Invalid data. Expected a dictionary, but got list.",
		`"x"`:  "Invalid data. Expected a dictionary, but got str.",
		`1`:    "Invalid data. Expected a dictionary, but got int.",
		`1.5`:  "Invalid data. Expected a dictionary, but got float.",
		`true`: "Invalid data. Expected a dictionary, but got bool.",
		`null`: "No data provided",
	}
	for in, msg := range cases {
		_, err := ParseObject([]byte(in))
		var e *condcache.Error
		if !errors.As(err, &e) || e.Code != condcache.EInvalid || e.Detail != msg || !reflect.DeepEqual(e.Fields, map[string][]string{NonFieldErrorsKey: {msg}}) {
			t.Errorf("ParseObject(%s) = %#v, want %q", in, err, msg)
		}
	}
	o, err := ParseObject(nil)
	if err != nil || o.Has("x") || o.Err() != nil {
		t.Errorf("ParseObject(nil) = %v, %v", o, err)
	}
}

func TestObjectFields(t *testing.T) {
	o, err := ParseObject([]byte(`{
		"s": "  padded  ", "blank": "", "spaces": " \u3000 ", "null": null, "num": 5, "list": ["x"],
		"long": "` + strings.Repeat("é", 81) + `", "nul": "a\u0000b", "dup": "first", "dup": "last",
		"i": 7, "f": 2.0, "frac": 2.5, "is": "12", "big": 9223372036854775808, "small": -9223372036854775809,
		"neg": -1, "bool": true, "obj": {}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := o.String("s", StringRule{Trim: true}); !ok || v != "padded" {
		t.Errorf("trimmed = %q, %v", v, ok)
	}
	if v, ok := o.String("s", StringRule{}); !ok || v != "  padded  " {
		t.Errorf("untrimmed = %q, %v", v, ok)
	}
	if v, ok := o.String("dup", StringRule{}); !ok || v != "last" {
		t.Errorf("duplicate key = %q, want the last", v)
	}
	if v, ok := o.String("blank", StringRule{Blank: true}); !ok || v != "" {
		t.Errorf("blank allowed = %q, %v", v, ok)
	}
	if p := o.NullableString("null", StringRule{}); p != nil {
		t.Errorf("nullable null = %q", *p)
	}
	if p := o.NullableString("absent", StringRule{}); p != nil {
		t.Errorf("nullable absent = %q", *p)
	}
	if v, ok := o.String("long", StringRule{MaxLen: 81}); !ok || v != strings.Repeat("é", 81) {
		t.Errorf("81 characters (162 bytes) within 81: %v", ok)
	}
	if v, ok := o.Int("is", IntRule{NumericString: true}); !ok || v != 12 {
		t.Errorf("numeric string = %d, %v", v, ok)
	}
	if v, ok := o.Int("f", IntRule{}); !ok || v != 2 {
		t.Errorf("2.0 = %d, %v", v, ok)
	}
	if _, ok := o.Int("absent", IntRule{Optional: true}); ok {
		t.Error("optional absent int is ok")
	}
	if o.Err() != nil {
		t.Fatalf("unexpected errors: %v", o.Err())
	}
	if v, ok := o.PeekString("s", true); !ok || v != "padded" {
		t.Errorf("PeekString = %q, %v", v, ok)
	}
	if _, ok := o.PeekString("num", false); ok {
		t.Error("PeekString of a number")
	}

	o.String("absent", StringRule{})
	o.String("blank", StringRule{})
	o.String("spaces", StringRule{Trim: true})
	o.String("null", StringRule{})
	o.String("num", StringRule{})
	o.String("list", StringRule{})
	o.String("long", StringRule{MaxLen: 80})
	o.String("nul", StringRule{})
	o.Int("absentint", IntRule{})
	o.Int("frac", IntRule{})
	o.Int("is", IntRule{})
	o.Int("big", IntRule{})
	o.Int("small", IntRule{})
	o.Int("neg", IntRule{NonNegative: true})
	o.Int("bool", IntRule{})
	o.Int("obj", IntRule{})
	o.Int("null", IntRule{})
	want := map[string][]string{
		"absent": {MsgRequired}, "blank": {MsgBlank}, "spaces": {MsgBlank}, "null": {MsgNull, MsgNull},
		"num": {MsgNotString}, "list": {MsgNotString}, "long": {"Ensure this field has no more than 80 characters."},
		"nul": {MsgNullCharacter}, "absentint": {MsgRequired}, "frac": {MsgNotInteger}, "is": {MsgNotInteger},
		"big":   {"Ensure this value is less than or equal to 9223372036854775807."},
		"small": {"Ensure this value is greater than or equal to -9223372036854775808."},
		"neg":   {"Ensure this value is greater than or equal to 0."},
		"bool":  {MsgNotInteger}, "obj": {MsgNotInteger},
	}
	var e *condcache.Error
	if err := o.Err(); !errors.As(err, &e) || e.Code != condcache.EInvalid || !reflect.DeepEqual(e.Fields, want) {
		t.Fatalf("errors = %#v\nwant %v", err, want)
	}
	if !strings.HasPrefix(e.Detail, "absent: This field is required.; blank: This field may not be blank.; ") {
		t.Errorf("detail %q does not list the errors in order", e.Detail)
	}
}

func TestEachElement(t *testing.T) {
	var got []string
	err := EachElement([]byte(` [ {"a":1}, "x" ,null] `), func(i int, elem []byte) error {
		got = append(got, strconv.Itoa(i)+":"+string(elem))
		return nil
	})
	if err != nil || !reflect.DeepEqual(got, []string{`0:{"a":1}`, `1:"x"`, `2:null`}) {
		t.Errorf("EachElement = %v, %v", got, err)
	}
	stop := errors.New("stop")
	n := 0
	if err := EachElement([]byte(`[1,2,3]`), func(int, []byte) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("EachElement did not stop: %v after %d", err, n)
	}
	for in, msg := range map[string]string{
		"":     `Expected a list of items but got type "dict".`,
		`{}`:   `Expected a list of items but got type "dict".`,
		`"x"`:  `Expected a list of items but got type "str".`,
		`null`: `Expected a list of items but got type "NoneType".`,
	} {
		var raw []byte
		if in != "" {
			raw = []byte(in)
		}
		err := EachElement(raw, func(int, []byte) error { return nil })
		if condcache.ErrorDetail(err) != msg || condcache.ErrorCodeOf(err) != condcache.EInvalid {
			t.Errorf("EachElement(%q) = %v, want %q", in, err, msg)
		}
	}
}
