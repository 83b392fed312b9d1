package reader

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
)

func args(query string) *fasthttp.Args {
	var a fasthttp.Args
	a.Parse(query)
	return &a
}

func TestParseLookup(t *testing.T) {
	type want struct {
		gt       string
		at       condcache.Point
		dict     bool
		complete bool
	}
	cases := []struct {
		query string
		want  want
	}{
		{"gtName=GT&majorIOV=5&minorIOV=7", want{"GT", condcache.Point{Major: 5, Minor: 7}, false, true}},
		{"gtName=GT&majorIOV=-5&minorIOV=-1", want{"GT", condcache.Point{Major: -5, Minor: -1}, false, true}},
		{"gtName=GT&majorIOV=%2B5&minorIOV=0", want{"GT", condcache.Point{Major: 5}, false, true}},
		{"gtName=GT&majorIOV=%205%20&minorIOV=%09-3%0A", want{"GT", condcache.Point{Major: 5, Minor: -3}, false, true}},
		{"gtName=GT&majorIOV=+5+&minorIOV=1", want{"GT", condcache.Point{Major: 5, Minor: 1}, false, true}}, // '+' decodes to a space
		{"gtName=GT&majorIOV=9223372036854775807&minorIOV=-9223372036854775808",
			want{"GT", condcache.Point{Major: math.MaxInt64, Minor: math.MinInt64}, false, true}},
		{"gtName=My+GT&majorIOV=1&minorIOV=2&shape=dict", want{"My GT", condcache.Point{Major: 1, Minor: 2}, true, true}},
		{"gtName=GT&majorIOV=1&minorIOV=2&shape=DICT", want{"GT", condcache.Point{Major: 1, Minor: 2}, false, true}},
		{"gtName=GT&majorIOV=1&minorIOV=2&shape=json", want{"GT", condcache.Point{Major: 1, Minor: 2}, false, true}},
		// Repeated parameters: the last wins (fasthttp's Peek would give the first).
		{"gtName=A&gtName=B&majorIOV=1&majorIOV=2&minorIOV=3&minorIOV=4&shape=dict&shape=rows",
			want{"B", condcache.Point{Major: 2, Minor: 4}, false, true}},
		{"gtName=GT&majorIOV=abc&majorIOV=8&minorIOV=0", want{"GT", condcache.Point{Major: 8}, false, true}},
		// Missing parameters: [] without an error.
		{"majorIOV=1&minorIOV=2", want{"", condcache.Point{Major: 1, Minor: 2}, false, false}},
		{"gtName=GT&minorIOV=2", want{"GT", condcache.Point{Minor: 2}, false, false}},
		{"gtName=GT&majorIOV=1", want{"GT", condcache.Point{Major: 1}, false, false}},
		{"", want{}},
		{"gtName=&majorIOV=1&minorIOV=2", want{"", condcache.Point{Major: 1, Minor: 2}, false, true}},
	}
	for _, c := range cases {
		p, err := parseLookup(args(c.query))
		if err != nil {
			t.Errorf("parseLookup(%q): %v", c.query, err)
			continue
		}
		got := want{string(p.globalTag), p.at, p.dict, p.complete}
		if got != c.want {
			t.Errorf("parseLookup(%q) = %+v, want %+v", c.query, got, c.want)
		}
	}
}

func TestParseLookupRejectsNonIntegers(t *testing.T) {
	cases := []struct{ query, detail string }{
		{"gtName=GT&majorIOV=abc&minorIOV=0", `majorIOV must be an integer, got "abc"`},
		{"gtName=GT&majorIOV=1&minorIOV=25.7", `minorIOV must be an integer, got "25.7"`},
		{"gtName=GT&majorIOV=1.5&minorIOV=0", `majorIOV must be an integer, got "1.5"`},
		{"gtName=GT&majorIOV=1.0&minorIOV=0", `majorIOV must be an integer, got "1.0"`},
		{"gtName=GT&majorIOV=1e3&minorIOV=0", `majorIOV must be an integer, got "1e3"`},
		{"gtName=GT&majorIOV=0x10&minorIOV=0", `majorIOV must be an integer, got "0x10"`},
		{"gtName=GT&majorIOV=1_000&minorIOV=0", `majorIOV must be an integer, got "1_000"`},
		{"gtName=GT&majorIOV=1+2&minorIOV=0", `majorIOV must be an integer, got "1 2"`},
		{"gtName=GT&majorIOV=--1&minorIOV=0", `majorIOV must be an integer, got "--1"`},
		{"gtName=GT&majorIOV=-&minorIOV=0", `majorIOV must be an integer, got "-"`},
		{"gtName=GT&majorIOV=&minorIOV=0", `majorIOV must be an integer, got ""`},
		{"gtName=GT&majorIOV&minorIOV=0", `majorIOV must be an integer, got ""`},
		{"gtName=GT&majorIOV=1&minorIOV=%C3%A9", `minorIOV must be an integer, got "é"`},
		{"gtName=GT&majorIOV=9223372036854775808&minorIOV=0",
			`majorIOV must be an integer between -9223372036854775808 and 9223372036854775807, got "9223372036854775808"`},
		{"gtName=GT&majorIOV=0&minorIOV=-99999999999999999999",
			`minorIOV must be an integer between -9223372036854775808 and 9223372036854775807, got "-99999999999999999999"`},
		// Refused even without gtName: bad input is always a 400.
		{"majorIOV=x&minorIOV=0", `majorIOV must be an integer, got "x"`},
		// The last value is the one checked.
		{"gtName=GT&majorIOV=1&majorIOV=x&minorIOV=0", `majorIOV must be an integer, got "x"`},
	}
	for _, c := range cases {
		_, err := parseLookup(args(c.query))
		if err == nil {
			t.Errorf("parseLookup(%q) accepted it", c.query)
			continue
		}
		if condcache.ErrorCodeOf(err) != condcache.EInvalid || condcache.ErrorDetail(err) != c.detail {
			t.Errorf("parseLookup(%q) = %v, want invalid %q", c.query, err, c.detail)
		}
	}
}

func TestParseLookupQuotesLongValuesShortly(t *testing.T) {
	_, err := parseLookup(args("gtName=GT&minorIOV=0&majorIOV=" + strings.Repeat("9x", 1000)))
	if d := condcache.ErrorDetail(err); len(d) > 200 || !strings.HasPrefix(d, "majorIOV must be an integer") {
		t.Errorf("detail = %q", d)
	}
}

func TestParseLookupDoesNotAllocate(t *testing.T) {
	a := args("gtName=sPHENIX_ExampleGT_24&majorIOV=54321&minorIOV=0&shape=dict")
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := parseLookup(a); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("parseLookup allocates %v times per call", allocs)
	}
}

func TestParseBrowse(t *testing.T) {
	filters := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		spec  browseSpec
		query string
		want  condcache.BrowseQuery
	}{
		{globalTagBrowse, "page", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=3", condcache.BrowseQuery{Page: 3, PageSize: 25}},
		{globalTagBrowse, "page=+3+", condcache.BrowseQuery{Page: 3, PageSize: 25}},
		{globalTagBrowse, "page=abc", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=2.5", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=0", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=-7", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=-99999999999999999999", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=99999", condcache.BrowseQuery{Page: 99999, PageSize: 25}}, // no upper clamp
		{globalTagBrowse, "page=99999999999999999999", condcache.BrowseQuery{Page: maxPage, PageSize: 25}},
		{globalTagBrowse, "page=1&page=4", condcache.BrowseQuery{Page: 4, PageSize: 25}},
		{globalTagBrowse, "page=1&page_size=2", condcache.BrowseQuery{Page: 1, PageSize: 2}},
		{globalTagBrowse, "page=1&page_size=", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=1&page_size=x", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=1&page_size=0", condcache.BrowseQuery{Page: 1, PageSize: 1}},
		{globalTagBrowse, "page=1&page_size=-5", condcache.BrowseQuery{Page: 1, PageSize: 1}},
		{globalTagBrowse, "page=1&page_size=5000", condcache.BrowseQuery{Page: 1, PageSize: 1000}},
		{globalTagBrowse, "page=1&page_size=99999999999999999999", condcache.BrowseQuery{Page: 1, PageSize: 1000}},
		{globalTagBrowse, "page=1&search=+%20GT+1%09", condcache.BrowseQuery{Page: 1, PageSize: 25, Search: "GT 1"}},
		{globalTagBrowse, "page=1&search=+++", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=1&search=a&search=b", condcache.BrowseQuery{Page: 1, PageSize: 25, Search: "b"}},
		{globalTagBrowse, "page=1&sort=payload_iov_count&order=desc",
			condcache.BrowseQuery{Page: 1, PageSize: 25, Sort: "payload_iov_count", Desc: true}},
		{globalTagBrowse, "page=1&sort=name", condcache.BrowseQuery{Page: 1, PageSize: 25, Sort: "name"}},
		{globalTagBrowse, "page=1&sort=iov_count", condcache.BrowseQuery{Page: 1, PageSize: 25}}, // not a GT key
		{globalTagBrowse, "page=1&sort=Name", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=1&order=DESC", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=1&order=descending", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{globalTagBrowse, "page=1&status=locked&global_tag=x",
			condcache.BrowseQuery{Page: 1, PageSize: 25, Filters: filters("status", "locked")}},
		{globalTagBrowse, "page=1&status=", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{payloadTypeBrowse, "page=1&sort=created&status=x", condcache.BrowseQuery{Page: 1, PageSize: 25, Sort: "created"}},
		{payloadTypeBrowse, "page=1&sort=author", condcache.BrowseQuery{Page: 1, PageSize: 25}},
		{payloadListBrowse, "page=2&page_size=10&global_tag=GT&payload_type=Beam&sort=iov_count&order=desc",
			condcache.BrowseQuery{Page: 2, PageSize: 10, Sort: "iov_count", Desc: true, Filters: filters("global_tag", "GT", "payload_type", "Beam")}},
		{payloadIOVBrowse, "page=1&payload_list=Beam_1&global_tag=&payload_type=Beam&sort=minor_iov_end",
			condcache.BrowseQuery{Page: 1, PageSize: 25, Sort: "minor_iov_end", Filters: filters("payload_list", "Beam_1", "payload_type", "Beam")}},
		{payloadIOVBrowse, "page=1&sort=name", condcache.BrowseQuery{Page: 1, PageSize: 25}},
	}
	for _, c := range cases {
		got, ok := parseBrowse(args(c.query), c.spec)
		if !ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseBrowse(%q) = %+v, %v; want %+v", c.query, got, ok, c.want)
		}
	}
	for _, q := range []string{"", "page_size=10", "pages=1", "Page=1", "search=x"} {
		if _, ok := parseBrowse(args(q), globalTagBrowse); ok {
			t.Errorf("parseBrowse(%q) is browse mode without a page parameter", q)
		}
	}
}

func TestWantsLightIsPresenceBased(t *testing.T) {
	for q, want := range map[string]bool{
		"light": true, "light=": true, "light=1": true, "light=0": true, "light=false": true,
		"a=1&light": true, "": false, "lite=1": false, "Light=1": false, "x=light": false,
	} {
		if got := wantsLight(args(q)); got != want {
			t.Errorf("wantsLight(%q) = %v, want %v", q, got, want)
		}
	}
}

func TestVisibleSettings(t *testing.T) {
	env := map[string]string{
		"CDB_AUTH_CLASS":              "cdb_rest.authentication.CustomJWTAuthentication",
		"CDB_PERMISSION_PLUGIN_CLASS": "x.Plugin",
		"CDB_CUSTOM":                  "",
		"CDB_JWT_SECRET":              "s1",
		"CDB_DB_PASSWORD":             "s2",
		"CDB_db_passwd":               "s3",
		"CDB_API_TOKEN":               "s4",
		"CDB_SIGNING_KEY":             "s5",
		"CDB_AWS_CREDENTIALS":         "s6",
		"CDB_PRIVATE_THING":           "s7",
		"CDB_REPLICA_DSN":             "s8",
		"CDB_MIRROR":                  "postgres://user:pw@db/x",
		"CDB_MIRROR_NOPW":             "https://user@example.org/x",
		"JWT_SECRET":                  "not CDB_",
		"POSTGRES_PASSWORD_W":         "not CDB_",
	}
	got := visibleSettings(env, condcache.ModeDiscrete)
	want := map[string]string{
		"CDB_AUTH_CLASS":              "cdb_rest.authentication.CustomJWTAuthentication",
		"CDB_PERMISSION_PLUGIN_CLASS": "x.Plugin",
		"CDB_CUSTOM":                  "",
		"CDB_MIRROR_NOPW":             "https://user@example.org/x",
		"CDB_IOV_MODE":                "discrete",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("visibleSettings = %v\nwant %v", got, want)
	}
	// The effective mode is answered when the variable is unset, and wins
	// over a raw value meaning the same thing.
	if got := visibleSettings(map[string]string{"CDB_IOV_MODE": ""}, condcache.ModeContinuous); got["CDB_IOV_MODE"] != "continuous" {
		t.Errorf("CDB_IOV_MODE = %q, want continuous", got["CDB_IOV_MODE"])
	}
	if got := visibleSettings(nil, condcache.ModeContinuous); len(got) != 1 || got["CDB_IOV_MODE"] != "continuous" {
		t.Errorf("visibleSettings(nil) = %v", got)
	}
}
