package drf

import (
	"errors"
	"strings"
	"testing"

	"github.com/condcache/condcache"
)

// Unit tests of the validation fixes made for the hostile-input e2e tests
// (internal/e2e/hostile_test.go).

func TestCheckText(t *testing.T) {
	for v, want := range map[string]string{
		"":                   "",
		"plain":              "",
		"x' OR '1'='1":       "",
		"é 😀 \u202e \u200b":  "",
		"\x01\x1b\r\n\x7f":   "",
		"\x00":               "p: " + MsgNullCharacter,
		"a\x00b":             "p: " + MsgNullCharacter,
		"\xff":               "p: Not valid UTF-8 once percent-decoded.",
		"\xc0\xaf":           "p: Not valid UTF-8 once percent-decoded.",
		"\xed\xa0\x80":       "p: Not valid UTF-8 once percent-decoded.",
		"ok\xf4\x90\x80\x80": "p: Not valid UTF-8 once percent-decoded.",
	} {
		err := CheckText("p", v)
		if got := ""; err != nil {
			var e *condcache.Error
			if !errors.As(err, &e) || e.Code != condcache.EInvalid {
				t.Errorf("CheckText(%q) = %v, want an invalid-input error", v, err)
				continue
			}
			got = e.Detail
			if got != want {
				t.Errorf("CheckText(%q) = %q, want %q", v, got, want)
			}
		} else if want != "" {
			t.Errorf("CheckText(%q) = nil, want %q", v, want)
		}
	}
}

func TestCheckJSONLoneSurrogates(t *testing.T) {
	for body, at := range map[string]int{
		`{"a":"\udc00"}`:              6,
		`{"a":"\ud800"}`:              6,
		`{"a":"\ud800x"}`:             6,
		`{"a":"\ud800\u0041"}`:        6,
		`{"a":"\ud800\ud800"}`:        6,
		`{"a":"ok\uDFFF"}`:            8,
		`{"\udfff":1}`:                2,
		`"\ud800"`:                    1,
		`["\u0022\udc01"]`:            8,
		`{"a":"\\\ud800"}`:            8,
		`{"a":"\ud83d\ude00"}`:        -1,
		`{"a":"\uD83D\uDE00\u00e9"}`:  -1,
		`{"a":"\\ud800"}`:             -1, // an escaped backslash, then text
		`{"a":"x","b":[1,2,{"c":3}]}`: -1,
		`{"a":"\"\ud800"}`:            8,
	} {
		if got := loneSurrogate([]byte(body)); got != at {
			t.Errorf("loneSurrogate(%s) = %d, want %d", body, got, at)
		}
		err := CheckJSON([]byte(body))
		switch {
		case at < 0 && err != nil:
			t.Errorf("CheckJSON(%s) = %v, want nil", body, err)
		case at >= 0 && (err == nil || !strings.HasPrefix(condcache.ErrorDetail(err), "JSON parse error - lone UTF-16 surrogate \\u")):
			t.Errorf("CheckJSON(%s) = %v, want a lone-surrogate parse error", body, err)
		}
	}
}
