package reader

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/drf"
)

// FuzzParseLookup: any query string is either parsed consistently with
// its last gtName/majorIOV/minorIOV values or refused as invalid input
// with a detail of bounded length, never a panic or another error.
func FuzzParseLookup(f *testing.F) {
	for _, q := range []string{"gtName=G&majorIOV=1&minorIOV=0", "gtName=G&majorIOV=1&majorIOV=2&minorIOV=-3&shape=dict",
		"majorIOV=1.5", "minorIOV=99999999999999999999", "gtName=%00&majorIOV=%20%2B7%20&minorIOV=0", "majorIOV=&minorIOV", ""} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		var args fasthttp.Args
		args.Parse(q)
		p, err := parseLookup(&args)
		if err != nil {
			var e *condcache.Error
			if !errors.As(err, &e) || e.Code != condcache.EInvalid {
				t.Fatalf("parseLookup(%q): %v, want an EInvalid error", q, err)
			}
			if n := utf8.RuneCountInString(e.Detail); n > 400 { // a value is quoted up to 64 bytes, 4 characters each when escaped
				t.Fatalf("parseLookup(%q): a %d-character detail", q, n)
			}
			return
		}
		for name, got := range map[string]int64{"majorIOV": p.at.Major, "minorIOV": p.at.Minor} {
			if v, ok := drf.LastQueryArg(&args, name); ok {
				want, err := drf.ParseInt(v)
				if err != nil || want != got {
					t.Fatalf("parseLookup(%q): %s = %d, its last value %q parses as %d, %v", q, name, got, v, want, err)
				}
			}
		}
		_, hasGT := drf.LastQueryArg(&args, "gtName")
		_, hasMajor := drf.LastQueryArg(&args, "majorIOV")
		_, hasMinor := drf.LastQueryArg(&args, "minorIOV")
		if p.complete != (hasGT && hasMajor && hasMinor) {
			t.Fatalf("parseLookup(%q): complete = %v", q, p.complete)
		}
	})
}
