package writer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/condcache/condcache"
)

const (
	required   = "This field is required."
	null       = "This field may not be null."
	blank      = "This field may not be blank."
	notString  = "Not a valid string."
	notInteger = "A valid integer is required."
	nulChar    = "Null characters are not allowed."
	gotList    = "Invalid data. Expected a dictionary, but got list."
	gotStr     = "Invalid data. Expected a dictionary, but got str."
	max80      = "Ensure this field has no more than 80 characters."
	max255     = "Ensure this field has no more than 255 characters."
	overMax    = "Ensure this value is less than or equal to 9223372036854775807."
	underMin   = "Ensure this value is greater than or equal to -9223372036854775808."
	negative   = "Ensure this value is greater than or equal to 0."
)

// badCase is a request that must be refused with 400 before the service is
// called. fields maps each expected field error to its first message; the
// detail mentions each of them, unless fields["detail"] gives the detail
// (the reference's text for a missing key).
type badCase struct {
	name, method, path, body string
	fields                   map[string]string
}

func f(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func runBadCases(t *testing.T, s *testServer, cases []badCase) {
	t.Helper()
	for _, c := range cases {
		what := c.method + " " + c.path + " " + c.name
		r := s.do(c.method, c.path, c.body)
		detail, refDetail := c.fields["detail"]
		wantError(t, what, r, 400, "invalid", detail)
		for field, msg := range c.fields {
			if field == "detail" {
				continue
			}
			wantField(t, what, r, field, msg)
			if d, _ := r.json["detail"].(string); !refDetail && !strings.Contains(d, msg) {
				t.Errorf("%s: detail %q does not mention %q", what, d, msg)
			}
		}
		for k := range r.json {
			if _, ok := c.fields[k]; !ok && k != "detail" && k != "code" {
				t.Errorf("%s: unexpected field error %q: %s", what, k, r.body)
			}
		}
		s.wantCalls(what)
	}
}

func TestValidationNames(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	long := strings.Repeat("é", 81)
	var cases []badCase
	for _, p := range []string{"gtstatus", "global-tags/statuses", "pt", "payload-types"} {
		cases = append(cases,
			badCase{"empty", "POST", p, `{}`, f("name", required)},
			badCase{"description only", "POST", p, `{"description":"x"}`, f("name", required)},
			badCase{"blank", "POST", p, `{"name":""}`, f("name", blank)},
			badCase{"white space", "POST", p, `{"name":" \t\n "}`, f("name", blank)},
			badCase{"81 characters", "POST", p, `{"name":"` + long + `"}`, f("name", max80)},
			badCase{"null", "POST", p, `{"name":null}`, f("name", null)},
			badCase{"list", "POST", p, `{"name":["x"]}`, f("name", notString)},
			badCase{"number", "POST", p, `{"name":5}`, f("name", notString)},
			badCase{"bool", "POST", p, `{"name":true}`, f("name", notString)},
			badCase{"NUL", "POST", p, `{"name":"a\u0000b"}`, f("name", nulChar)},
			badCase{"list body", "POST", p, `[{"name":"x"}]`, f("non_field_errors", gotList)},
			badCase{"string body", "POST", p, `"x"`, f("non_field_errors", gotStr)},
		)
	}
	cases = append(cases,
		badCase{"no name", "POST", "gt", `{"status":"unlocked"}`, f("name", required)},
		badCase{"no status", "POST", "gt", `{"name":"G"}`, f("status", required, "detail", "GlobalTagStatus not found.")},
		badCase{"no status, bad author", "POST", "gt", `{"name":"G","author":""}`,
			f("status", required, "author", blank, "detail", "GlobalTagStatus not found.")},
		badCase{"nothing", "POST", "gt", `{}`, f("name", required, "status", required)},
		badCase{"blank name", "POST", "gt", `{"name":"","status":"unlocked"}`, f("name", blank)},
		badCase{"long name", "POST", "gt", `{"name":"` + long + `","status":"unlocked"}`, f("name", max80)},
		badCase{"list name", "POST", "gt", `{"name":["G"],"status":"unlocked"}`, f("name", notString)},
		badCase{"numeric status", "POST", "gt", `{"name":"G","status":1}`, f("status", notString)},
		badCase{"blank status", "POST", "gt", `{"name":"G","status":""}`, f("status", blank)},
		badCase{"null status", "POST", "gt", `{"name":"G","status":null}`, f("status", null)},
		badCase{"blank author", "POST", "gt", `{"name":"G","status":"unlocked","author":""}`, f("author", blank)},
		badCase{"spaces author", "POST", "gt", `{"name":"G","status":"unlocked","author":"  "}`, f("author", blank)},
		badCase{"long author", "POST", "gt", `{"name":"G","status":"unlocked","author":"` + long + `"}`, f("author", max80)},
		badCase{"numeric author", "POST", "gt", `{"name":"G","status":"unlocked","author":5}`, f("author", notString)},
		badCase{"all wrong", "POST", "gt", `{"name":"","status":2,"author":""}`, f("name", blank, "status", notString, "author", blank)},
		badCase{"list body", "POST", "gt", `[{"name":"G","status":"unlocked"}]`, f("non_field_errors", gotList)},
	)
	for _, p := range []string{"pl", "payload-lists"} {
		cases = append(cases,
			badCase{"empty", "POST", p, `{}`, f("payload_type", required)},
			badCase{"name only", "POST", p, `{"name":"x"}`, f("payload_type", required)},
			badCase{"number", "POST", p, `{"payload_type":5}`, f("payload_type", notString)},
			badCase{"null", "POST", p, `{"payload_type":null}`, f("payload_type", null)},
			badCase{"blank", "POST", p, `{"payload_type":""}`, f("payload_type", blank)},
			badCase{"list body", "POST", p, `[{"payload_type":"Beam"}]`, f("non_field_errors", gotList)},
		)
	}
	for _, p := range []string{"pl_attach", "payload-lists/attach"} {
		cases = append(cases,
			badCase{"no GT", "PUT", p, `{"payload_list":"L"}`, f("global_tag", required)},
			badCase{"no list", "PUT", p, `{"global_tag":"G"}`, f("payload_list", required, "detail", "PayloadList not found.")},
			badCase{"nothing", "PUT", p, `{}`, f("global_tag", required, "payload_list", required)},
			badCase{"numeric list", "PUT", p, `{"global_tag":"G","payload_list":7}`, f("payload_list", notString)},
			badCase{"list body", "PUT", p, `[{"global_tag":"G","payload_list":"L"}]`, f("non_field_errors", gotList)},
		)
	}
	runBadCases(t, s, cases)

	// Names are trimmed where the reference's serializer trims them (and an
	// 80-character name is fine); references to existing rows are not.
	s.do("POST", "gt", `{"name":" `+strings.Repeat("é", 80)+` ","status":" unlocked ","author":" me "}`)
	s.do("POST", "gt", `{"name":"G","status":"unlocked","author":null}`)
	s.do("POST", "gt", `{"name":"G","status":"unlocked"}`)
	s.do("POST", "pl", `{"payload_type":" Beam "}`)
	s.wantCalls("trimming",
		`CreateGlobalTag("`+strings.Repeat("é", 80)+`", " unlocked ", "me")`,
		`CreateGlobalTag("G", "unlocked", nil)`,
		`CreateGlobalTag("G", "unlocked", nil)`,
		`CreatePayloadList(" Beam ")`)
}

func TestValidationPayloadIOV(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	base := `"payload_url":"u","checksum":"c"`
	with := func(kv string) string { return `{` + base + `,"major_iov":0,"minor_iov":100` + kv + `}` }
	var cases []badCase
	for _, p := range []string{"piov", "payload-iovs"} {
		cases = append(cases,
			badCase{"nothing", "POST", p, `{}`, f("payload_url", required, "checksum", required, "major_iov", required, "minor_iov", required)},
			badCase{"no url", "POST", p, `{"checksum":"c","major_iov":0,"minor_iov":1}`, f("payload_url", required)},
			badCase{"blank url", "POST", p, `{"payload_url":" ","checksum":"c","major_iov":0,"minor_iov":1}`, f("payload_url", blank)},
			badCase{"url 256", "POST", p, `{"payload_url":"` + strings.Repeat("u", 256) + `","checksum":"c","major_iov":0,"minor_iov":1}`, f("payload_url", max255)},
			badCase{"no checksum", "POST", p, `{"payload_url":"u","major_iov":0,"minor_iov":1}`, f("checksum", required)},
			badCase{"blank checksum", "POST", p, `{"payload_url":"u","checksum":"","major_iov":0,"minor_iov":1}`, f("checksum", blank)},
			badCase{"checksum 256", "POST", p, `{"payload_url":"u","checksum":"` + strings.Repeat("c", 256) + `","major_iov":0,"minor_iov":1}`, f("checksum", max255)},
			badCase{"no major", "POST", p, `{` + base + `,"minor_iov":1}`, f("major_iov", required)},
			badCase{"no minor", "POST", p, `{` + base + `,"major_iov":1}`, f("minor_iov", required)},
			badCase{"numeric string", "POST", p, `{` + base + `,"major_iov":"0","minor_iov":1}`, f("major_iov", notInteger)},
			badCase{"garbage string", "POST", p, `{` + base + `,"major_iov":"abc","minor_iov":1}`, f("major_iov", notInteger)},
			badCase{"fraction", "POST", p, `{` + base + `,"major_iov":1.5,"minor_iov":1}`, f("major_iov", notInteger)},
			badCase{"fraction end", "POST", p, with(`,"minor_iov_end":2.5`), f("minor_iov_end", notInteger)},
			badCase{"bool", "POST", p, `{` + base + `,"major_iov":0,"minor_iov":true}`, f("minor_iov", notInteger)},
			badCase{"null", "POST", p, `{` + base + `,"major_iov":null,"minor_iov":1}`, f("major_iov", null)},
			badCase{"null end", "POST", p, with(`,"major_iov_end":null`), f("major_iov_end", null)},
			badCase{"object", "POST", p, `{` + base + `,"major_iov":{},"minor_iov":1}`, f("major_iov", notInteger)},
			badCase{"over int64", "POST", p, with(`,"major_iov_end":9223372036854775808`), f("major_iov_end", overMax)},
			badCase{"over int64 float", "POST", p, with(`,"major_iov_end":1e19`), f("major_iov_end", overMax)},
			badCase{"under int64", "POST", p, `{` + base + `,"major_iov":-9223372036854775809,"minor_iov":1}`, f("major_iov", underMin)},
			badCase{"negative size", "POST", p, with(`,"size":-1`), f("size", negative)},
			badCase{"string size", "POST", p, with(`,"size":"1"`), f("size", notInteger)},
			badCase{"several", "POST", p, `{"payload_url":"","checksum":5,"major_iov":"0","minor_iov":0.5}`,
				f("payload_url", blank, "checksum", notString, "major_iov", notInteger, "minor_iov", notInteger)},
			badCase{"list body", "POST", p, `[{` + base + `,"major_iov":0,"minor_iov":1}]`, f("non_field_errors", gotList)},
		)
	}
	for _, p := range []string{"piov_attach", "payload-iovs/attach"} {
		cases = append(cases,
			badCase{"no list", "PUT", p, `{"piov_id":1}`, f("payload_list", required, "detail", "PayloadList not found.")},
			badCase{"no id", "PUT", p, `{"payload_list":"L"}`, f("piov_id", required, "detail", "PayloadIOV not found.")},
			badCase{"nothing", "PUT", p, `{}`, f("payload_list", required, "piov_id", required, "detail", "PayloadList not found.")},
			badCase{"fraction id", "PUT", p, `{"payload_list":"L","piov_id":1.5}`, f("piov_id", notInteger)},
			badCase{"garbage id", "PUT", p, `{"payload_list":"L","piov_id":"abc"}`, f("piov_id", notInteger)},
			badCase{"fraction string id", "PUT", p, `{"payload_list":"L","piov_id":"1.0"}`, f("piov_id", notInteger)},
			badCase{"null id", "PUT", p, `{"payload_list":"L","piov_id":null}`, f("piov_id", null)},
			badCase{"huge id", "PUT", p, `{"payload_list":"L","piov_id":"99999999999999999999"}`, f("piov_id", overMax)},
			badCase{"list body", "PUT", p, `[{"payload_list":"L","piov_id":1}]`, f("non_field_errors", gotList)},
		)
	}
	for _, p := range []string{"deletePayloadIOV/G/P/99999999999999999999/0", "payload-iovs/G/P/99999999999999999999/0/delete"} {
		cases = append(cases, badCase{"major over int64", "DELETE", p, noBody, f("major_iov", overMax)})
	}
	cases = append(cases,
		badCase{"minor under int64", "DELETE", "deletePayloadIOV/G/P/0/-99999999999999999999", noBody, f("minor_iov", underMin)},
		badCase{"end over int64", "DELETE", "deletePayloadIOV/G/P/0/0/1/99999999999999999999", noBody, f("minor_iov_end", overMax)},
	)
	runBadCases(t, s, cases)

	// Integral numbers in any notation, ends defaulting independently to
	// MAX, and the optional size; piov_id as a number or numeric string.
	s.do("POST", "piov", `{"payload_url":" u ","checksum":" c ","major_iov":1.0,"minor_iov":1e3,"minor_iov_end":2000,"size":12}`)
	s.do("POST", "piov", `{"payload_url":"u","checksum":"c","major_iov":-5,"minor_iov":-1,"major_iov_end":-5,"size":null}`)
	s.do("PUT", "piov_attach", `{"payload_list":"L","piov_id":"12"}`)
	s.do("PUT", "piov_attach", `{"payload_list":"L","piov_id":" -3 "}`)
	s.do("PUT", "piov_attach", `{"payload_list":"L","piov_id":12.0}`)
	s.wantCalls("integer forms",
		`CreatePayloadIOV("u", "c", 12, (1,1000)->(9223372036854775807,2000))`,
		`CreatePayloadIOV("u", "c", nil, (-5,-1)->(-5,9223372036854775807))`,
		`AttachPayloadIOV("L", 12)`, `authorize("") = <nil>`,
		`AttachPayloadIOV("L", -3)`, `authorize("") = <nil>`,
		`AttachPayloadIOV("L", 12)`, `authorize("") = <nil>`)
}

// TestRangeCheck: the reference's range refusal comes before the other
// field errors, with its text, in both modes (docs/compatibility.md "Range validation").
func TestRangeCheck(t *testing.T) {
	t.Parallel()
	msg := func(url string, s, e condcache.Point) string {
		return fmt.Sprintf("%s PayloadIOV ending IOVs should be greater or equal than starting. Provided end IOVs: major_iov: %d major_iov_end: %d minor_iov: %d minor_iov_end: %d",
			url, s.Major, e.Major, s.Minor, e.Minor)
	}
	body := func(url, checksum string, s, e condcache.Point) string {
		return fmt.Sprintf(`{"payload_url":%q,"checksum":%q,"major_iov":%d,"minor_iov":%d,"major_iov_end":%d,"minor_iov_end":%d}`,
			url, checksum, s.Major, s.Minor, e.Major, e.Minor)
	}
	P := func(M, m int64) condcache.Point { return condcache.Point{Major: M, Minor: m} }
	for _, mode := range []condcache.IOVMode{condcache.ModeContinuous, condcache.ModeDiscrete} {
		s := startServer(t, Config{IOVMode: mode})
		bad := [][2]condcache.Point{{P(0, 100), P(0, 99)}, {P(5, 100), P(4, 200)}, {P(-1, 0), P(-2, 5)}}
		if mode == condcache.ModeContinuous {
			bad = append(bad, [2]condcache.Point{P(0, 100), P(0, 100)})
		}
		for _, b := range bad {
			r := s.do("POST", "piov", body("u", "c", b[0], b[1]))
			wantError(t, string(mode), r, 400, "invalid", msg("u", b[0], b[1]))
			// Before the other field errors, as in the reference.
			r = s.do("POST", "piov", body(" u ", "", b[0], b[1]))
			wantError(t, string(mode)+" with a blank checksum", r, 400, "invalid", msg(" u ", b[0], b[1]))
			// In bulk loads too, naming the element.
			r = s.do("POST", "bulk_piov", fmt.Sprintf(`[{"payload_url":"ok","major_iov":0,"minor_iov":0,"payload_list":"L"},
				{"payload_url":"u","payload_list":"L","major_iov":%d,"minor_iov":%d,"major_iov_end":%d,"minor_iov_end":%d}]`,
				b[0].Major, b[0].Minor, b[1].Major, b[1].Minor))
			wantError(t, string(mode)+" bulk", r, 400, "invalid", "element 1: "+msg("u", b[0], b[1]))
		}
		s.wantCalls(string(mode) + " refused ranges")
		r := s.do("POST", "piov", body("u", "c", P(0, 100), P(0, 100)))
		if mode == condcache.ModeDiscrete && r.status != 200 {
			t.Errorf("discrete: an IOV ending at its start is refused: %s", r.body)
		}
		if mode == condcache.ModeContinuous {
			s.wantCalls("continuous, empty range")
		}
	}
}

func TestValidationBulk(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	good := `{"payload_url":"g","major_iov":7,"minor_iov":0,"payload_list":"L"}`
	withBad := func(e string) string { return `[` + good + `,` + e + `,` + good + `]` }
	for _, p := range []string{"bulk_piov", "payload-iovs/bulk"} {
		for _, c := range []struct {
			name, body, detail, field, msg string
		}{
			{"no url", withBad(`{"major_iov":7,"minor_iov":1,"payload_list":"L"}`), "element 1: payload_url: " + required, "payload_url", required},
			{"blank url", withBad(`{"payload_url":"","major_iov":7,"minor_iov":1,"payload_list":"L"}`), "element 1: payload_url: " + blank, "payload_url", blank},
			{"url 256", withBad(`{"payload_url":"` + strings.Repeat("x", 256) + `","major_iov":7,"minor_iov":1,"payload_list":"L"}`), "element 1: payload_url: " + max255, "payload_url", max255},
			{"no major", withBad(`{"payload_url":"b","minor_iov":1,"payload_list":"L"}`), "element 1: major_iov: " + required, "major_iov", required},
			{"no list", withBad(`{"payload_url":"b","major_iov":7,"minor_iov":1}`), "element 1: payload_list: " + required, "payload_list", required},
			{"string major", withBad(`{"payload_url":"b","major_iov":"7","minor_iov":1,"payload_list":"L"}`), "element 1: major_iov: " + notInteger, "major_iov", notInteger},
			{"fraction", withBad(`{"payload_url":"b","major_iov":7.5,"minor_iov":1,"payload_list":"L"}`), "element 1: major_iov: " + notInteger, "major_iov", notInteger},
			{"numeric checksum", withBad(`{"payload_url":"b","major_iov":7,"minor_iov":1,"payload_list":"L","checksum":5}`), "element 1: checksum: " + notString, "checksum", notString},
			{"negative size", withBad(`{"payload_url":"b","major_iov":7,"minor_iov":1,"payload_list":"L","size":-2}`), "element 1: size: " + negative, "size", negative},
			{"string element", withBad(`"x"`), "element 1: " + gotStr, "non_field_errors", gotStr},
			{"null element", withBad(`null`), "element 1: No data provided", "non_field_errors", "No data provided"},
			{"object body", good, `Expected a list of items but got type "dict".`, "non_field_errors", `Expected a list of items but got type "dict".`},
			{"string body", `"text"`, `Expected a list of items but got type "str".`, "non_field_errors", `Expected a list of items but got type "str".`},
			{"first bad element wins", `[` + good + `,{},"x"]`, "", "payload_url", required},
		} {
			r := s.do("POST", p, c.body)
			wantError(t, p+" "+c.name, r, 400, "invalid", c.detail)
			wantField(t, p+" "+c.name, r, c.field, c.msg)
			s.wantCalls(p + " " + c.name)
		}
	}
	// Values are used as sent (no trimming, as the reference's bulk
	// insert); null checksum and size are the defaults.
	s.do("POST", "bulk_piov", `[{"payload_url":" a ","major_iov":0,"minor_iov":0,"payload_list":" L ","checksum":null,"size":null}]`)
	s.do("POST", "bulk_piov", `[]`)
	s.wantCalls("bulk values",
		`BulkCreatePayloadIOVs([{" L " " a " "" nil (0,0)->(9223372036854775807,9223372036854775807)}])`,
		`BulkCreatePayloadIOVs([])`)
}

// TestUnsupportedMediaType: a body that is not JSON is refused with 415 and
// DRF's text on every endpoint that reads a body.
func TestUnsupportedMediaType(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	for _, c := range []struct{ method, path string }{
		{"POST", "gtstatus"}, {"POST", "global-tags/statuses"}, {"POST", "gt"}, {"POST", "pt"}, {"POST", "payload-types"},
		{"POST", "pl"}, {"POST", "payload-lists"}, {"PUT", "pl_attach"}, {"PUT", "payload-lists/attach"},
		{"POST", "piov"}, {"POST", "payload-iovs"}, {"POST", "bulk_piov"}, {"POST", "payload-iovs/bulk"},
		{"PUT", "piov_attach"}, {"PUT", "payload-iovs/attach"},
	} {
		for _, ct := range []string{"text/plain", "application/xml", "application/x-www-form-urlencoded"} {
			r := s.raw(c.method, c.path, `{"name":"x"}`, ct)
			wantError(t, c.method+" "+c.path+" "+ct, r, 415, "unsupported_media_type", fmt.Sprintf("Unsupported media type %q in request.", ct))
		}
		// No Content-Type at all (fasthttp's client would add one).
		status, body := s.wire(fmt.Sprintf("%s /api/cdb_rest/%s HTTP/1.1\r\nHost: w\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", c.method, c.path))
		if status != 415 || body != `{"code":"unsupported_media_type","detail":"Unsupported media type \"\" in request."}` {
			t.Errorf("%s %s without a content type: %d %s", c.method, c.path, status, body)
		}
		// A charset parameter is fine.
		if r := s.raw(c.method, c.path, `{}`, "application/json; charset=utf-8"); r.status == 415 {
			t.Errorf("%s %s: JSON with a charset refused", c.method, c.path)
		}
	}
	s.wantCalls("415s")
}

func TestMalformedJSON(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	bodies := []string{`{"name": "x", `, `{"name": "x"`, `[{"payload_url": "x"}`, `{name: "x"}`, `{"name": "x"}}`,
		"\xff\xfe", `{"name":"\xff"}`, `NaN`, ` `, `{"name":"x"} {"name":"y"}`}
	for _, c := range []struct{ method, path string }{
		{"POST", "gtstatus"}, {"POST", "gt"}, {"POST", "pt"}, {"POST", "pl"}, {"PUT", "pl_attach"},
		{"POST", "piov"}, {"POST", "bulk_piov"}, {"PUT", "piov_attach"},
	} {
		for _, b := range bodies {
			r := s.do(c.method, c.path, b)
			wantError(t, fmt.Sprintf("%s %s %q", c.method, c.path, b), r, 400, "invalid", "")
			if d, _ := r.json["detail"].(string); !strings.HasPrefix(d, "JSON parse error - ") {
				t.Errorf("%s %s %q: detail %q", c.method, c.path, b, d)
			}
		}
	}
	s.wantCalls("malformed")
}
