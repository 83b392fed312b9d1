package writer

import (
	"strings"
	"testing"

	"github.com/condcache/condcache/internal/api"
)

// TestRoutes sends every write route, legacy path and alias, and checks the
// service call with its decoded arguments and the exact answer.
func TestRoutes(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	const max = "9223372036854775807"
	gtWrite := `{"id":7,"name":"G","author":"me","status":"unlocked","created":` + tsJSON + `,"updated":` + tsJSON + `}`
	clone := `{"id":8,"name":"My GT","author":"a","status":"unlocked","payload_lists_count":2,"payload_iov_count":5,"created":` + tsJSON + `,"updated":` + tsJSON + `}`
	cases := []struct {
		route         string
		method        string
		paths         []string
		body          string
		call          []string
		want          string
		contentTypeOK bool // the body is never read, so its content type does not matter
	}{
		{api.CreateGlobalTagStatus, "POST", []string{"gtstatus", "global-tags/statuses"}, `{"name":" st ","description":"ignored"}`,
			[]string{`CreateGlobalTagStatus("st")`}, `{"id":3,"name":"st","created":` + tsJSON + `}`, false},
		{api.CreateGlobalTag, "POST", []string{"gt"}, `{"name":"G","status":"unlocked","author":"me","id":99,"description":"x"}`,
			[]string{`CreateGlobalTag("G", "unlocked", "me")`}, gtWrite, false},
		{api.CloneGlobalTag, "POST", []string{"cloneGlobalTag/src%20x/My%20GT", "global-tags/src%20x/clone/My%20GT"}, `null`,
			[]string{`CloneGlobalTag("src x", "My GT")`}, clone, true},
		{api.ChangeGlobalTagStatus, "PUT", []string{"gt_change_status/G/locked", "global-tags/G/change-status/locked"}, `null`,
			[]string{`ChangeGlobalTagStatus("G", "locked")`},
			`{"id":7,"name":"G","author":null,"status":9,"created":` + tsJSON + `,"updated":` + tsJSON + `}`, true},
		{api.DeleteGlobalTag, "DELETE", []string{"deleteGlobalTag/G%C3%BC", "global-tags/G%C3%BC/delete"}, noBody,
			[]string{`DeleteGlobalTag("Gü")`}, `{"detail":"Global tag Gü deleted."}`, true},
		{api.CreatePayloadType, "POST", []string{"pt", "payload-types"}, `{"name":"Beam"}`,
			[]string{`CreatePayloadType("Beam")`}, `{"id":4,"name":"Beam","created":` + tsJSON + `}`, false},
		{api.DeletePayloadType, "DELETE", []string{"deletePayloadType/Beam", "payload-types/Beam/delete"}, noBody,
			[]string{`DeletePayloadType("Beam")`}, `{"detail":"Payload Type Beam deleted."}`, true},
		{api.CreatePayloadList, "POST", []string{"pl", "payload-lists"}, `{"payload_type":"Beam","name":"ignored","global_tag":"G"}`,
			[]string{`CreatePayloadList("Beam")`},
			`{"id":42,"name":"Beam_42","global_tag":null,"payload_type":"Beam","created":` + tsJSON + `}`, false},
		{api.AttachPayloadList, "PUT", []string{"pl_attach", "payload-lists/attach"}, `{"global_tag":"G","payload_list":"Beam_42"}`,
			[]string{`AttachPayloadList("G", "Beam_42")`},
			`{"id":42,"name":"Beam_42","global_tag":"G","payload_type":"Beam","created":` + tsJSON + `}`, false},
		{api.DeletePayloadList, "DELETE", []string{"deletePayloadList/Beam_42", "payload-lists/Beam_42/delete"}, noBody,
			[]string{`DeletePayloadList("Beam_42")`}, `{"detail":"Payload Type Beam_42 deleted."}`, true},
		{api.CreatePayloadIOV, "POST", []string{"piov", "payload-iovs"},
			`{"payload_url":"u.root","checksum":"c","major_iov":0,"minor_iov":1000,"major_iov_end":0,"minor_iov_end":2000,"payload_list":"ignored","comb_iov":"9","id":3}`,
			[]string{`CreatePayloadIOV("u.root", "c", nil, (0,1000)->(0,2000))`},
			`{"id":11,"payload_url":"u.root","checksum":"c","major_iov":0,"minor_iov":1000,"comb_iov":"0.0000000000000001000","major_iov_end":0,"minor_iov_end":2000,"payload_list":null,"inserted":` + tsJSON + `}`, false},
		{api.BulkCreatePayloadIOVs, "POST", []string{"bulk_piov", "payload-iovs/bulk"},
			`[{"payload_url":"a","major_iov":0,"minor_iov":0,"payload_list":"L"},{"payload_url":"b","major_iov":-1,"minor_iov":5,"payload_list":"L","checksum":"cs","size":10,"major_iov_end":2,"minor_iov_end":3}]`,
			[]string{`BulkCreatePayloadIOVs([{"L" "a" "" nil (0,0)->(` + max + `,` + max + `)} {"L" "b" "cs" 10 (-1,5)->(2,3)}])`},
			`{"created":2}`, false},
		{api.AttachPayloadIOV, "PUT", []string{"piov_attach", "payload-iovs/attach"}, `{"payload_list":"Beam_42","piov_id":12}`,
			[]string{`AttachPayloadIOV("Beam_42", 12)`, `authorize("") = <nil>`},
			`{"id":12,"payload_url":"u.root","checksum":"c","major_iov":0,"minor_iov":1000,"comb_iov":"0.0000000000000001000","major_iov_end":` + max + `,"minor_iov_end":` + max + `,"payload_list":"Beam_42","inserted":` + tsJSON + `}`, false},
		{api.DeleteOpenPayloadIOV, "DELETE", []string{"deletePayloadIOV/G/Beam/-1/2", "payload-iovs/G/Beam/-1/2/delete"}, noBody,
			[]string{`DeletePayloadIOV("G", "Beam", (-1,2)->(` + max + `,` + max + `))`}, `{"detail":"PayloadIOV deleted.root deleted."}`, true},
		{api.DeletePayloadIOV, "DELETE", []string{"deletePayloadIOV/G/Beam/1/2/3/-4", "payload-iovs/G/Beam/1/2/3/-4/delete"}, noBody,
			[]string{`DeletePayloadIOV("G", "Beam", (1,2)->(3,-4))`}, `{"detail":"PayloadIOV deleted.root deleted."}`, true},
	}
	covered := map[string]int{}
	for _, c := range cases {
		for _, p := range c.paths {
			covered[c.route]++
			r := s.do(c.method, p, c.body)
			if r.status != 200 || r.body != c.want {
				t.Errorf("%s %s: %d %s\nwant 200 %s", c.method, p, r.status, r.body, c.want)
			}
			s.wantCalls(c.method+" "+p, c.call...)
			if c.contentTypeOK && c.body != noBody {
				// The body of these endpoints is never read: any content
				// type, even garbage, is fine (clients send null).
				r := s.raw(c.method, p, "not json", "text/plain")
				if r.status != 200 {
					t.Errorf("%s %s with an ignored text body: %d %s", c.method, p, r.status, r.body)
				}
				s.wantCalls(c.method+" "+p+" (ignored body)", c.call...)
			}
		}
	}
	// Every write route of the table, every path of it, is covered.
	for _, rt := range api.Routes {
		if rt.Method != "GET" && covered[rt.Name] != len(rt.Paths) {
			t.Errorf("route %s: %d of %d paths tested", rt.Name, covered[rt.Name], len(rt.Paths))
		}
	}
}

// TestNullAndEmptyBodies: null is accepted where no body is needed and is
// DRF's "No data provided" where an object is; no body at all reads as an
// empty object.
func TestNullAndEmptyBodies(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	for _, c := range []struct{ method, path string }{
		{"PUT", "gt_change_status/G/locked"}, {"POST", "cloneGlobalTag/A/B"},
	} {
		for _, body := range []string{"null", noBody, "{}"} {
			if r := s.do(c.method, c.path, body); r.status != 200 {
				t.Errorf("%s %s %q: %d %s", c.method, c.path, body, r.status, r.body)
			}
		}
		s.svc.Calls()
	}
	for _, c := range []struct{ method, path, field string }{
		{"POST", "gtstatus", "name"}, {"POST", "gt", "name"}, {"POST", "pt", "name"}, {"POST", "pl", "payload_type"},
		{"PUT", "pl_attach", "global_tag"}, {"POST", "piov", "payload_url"}, {"PUT", "piov_attach", "payload_list"},
	} {
		r := s.do(c.method, c.path, "null")
		wantError(t, c.path+" null", r, 400, "invalid", "No data provided")
		wantField(t, c.path+" null", r, "non_field_errors", "No data provided")
		r = s.do(c.method, c.path, noBody)
		wantError(t, c.path+" no body", r, 400, "invalid", "")
		wantField(t, c.path+" no body", r, c.field, "This field is required.")
		s.wantCalls(c.path + " null/empty")
	}
	r := s.do("POST", "bulk_piov", "null")
	wantError(t, "bulk null", r, 400, "invalid", `Expected a list of items but got type "NoneType".`)
	r = s.do("POST", "bulk_piov", noBody)
	wantError(t, "bulk no body", r, 400, "invalid", `Expected a list of items but got type "dict".`)
	s.wantCalls("bulk null/empty")
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	for _, p := range []string{
		"/api/cdb_rest/nosuch", "/api/cdb_rest/gt/", "/api/cdb_rest/pt/", "/api/cdb_rest/gtstatus/",
		"/nosuch", "/api/cdb_rest/", "/api/cdb_rest/pl_attach/", "/api/cdb_rest/deleteGlobalTag/",
		"/api/cdb_rest/deletePayloadIOV/G/P/1", "/api/cdb_rest/deletePayloadIOV/G/P/1/x",
		"/api/cdb_rest/deletePayloadIOV/G/P/1/2/3", "/api/cdb_rest/deletePayloadIOV/G/P/1.5/2",
		"/api/cdb_rest/global-tags/a/b/c", "/api/cdb_rest/cloneGlobalTag/a",
	} {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			wantError(t, m+" "+p, s.do(m, p, noBody), 404, "not_found", "Not found.")
		}
	}
	s.wantCalls("404s")
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "globalTags", "GET, HEAD, OPTIONS"}, {"POST", "payloadiovs/", "GET, HEAD, OPTIONS"},
		{"POST", "timeout", "GET, HEAD, OPTIONS"}, {"POST", "settings/CDB_IOV_MODE/", "GET, HEAD, OPTIONS"},
		{"POST", "payloadiovs", "GET, HEAD, OPTIONS"},
		{"DELETE", "gt", "GET, HEAD, OPTIONS, POST"}, {"PUT", "pt", "GET, HEAD, OPTIONS, POST"},
		{"DELETE", "piov/1", "GET, HEAD, OPTIONS"}, {"PUT", "globalTag/x", "GET, HEAD, OPTIONS"},
		{"POST", "gt_change_status/x/y", "OPTIONS, PUT"}, {"GET", "pl_attach", "OPTIONS, PUT"},
		{"GET", "bulk_piov", "OPTIONS, POST"}, {"GET", "deleteGlobalTag/x", "DELETE, OPTIONS"},
		// PATCH is advertised by the reference but crashes there (docs/compatibility.md "Routes").
		{"PATCH", "pl_attach", "OPTIONS, PUT"}, {"PATCH", "piov_attach", "OPTIONS, PUT"},
		{"PATCH", "gt_change_status/x/y", "OPTIONS, PUT"}, {"PATCH", "payload-lists/attach", "OPTIONS, PUT"},
		{"PATCH", "payload-iovs/attach", "OPTIONS, PUT"}, {"PATCH", "global-tags/x/change-status/y", "OPTIONS, PUT"},
	} {
		r := s.do(c.method, c.path, noBody)
		wantError(t, c.method+" "+c.path, r, 405, "method_not_allowed", `Method "`+c.method+`" not allowed.`)
		if got := sortedAllow(r); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	s.wantCalls("405s")
}

// TestReadOnWriter: a GET on a read path is refused with a pointer to the
// readers.
func TestReadOnWriter(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	for _, c := range []struct{ path, allow string }{
		{"globalTags", ""}, {"gtstatus", "POST"}, {"global-tags/statuses", "POST"}, {"gt", "POST"}, {"gt/1", ""},
		{"globalTag/G", ""}, {"pt", "POST"}, {"piov", "POST"}, {"payloadiovs/?gtName=G&majorIOV=0&minorIOV=0", ""},
		{"payloadiovs", ""}, {"settings/CDB_IOV_MODE/", ""}, {"timeout", ""},
	} {
		for _, m := range []string{"GET", "HEAD"} {
			r := s.do(m, c.path, noBody)
			if r.status != 405 {
				t.Errorf("%s %s: %d, want 405", m, c.path, r.status)
			}
			if got := string(r.header.Peek("Allow")); got != c.allow {
				t.Errorf("%s %s: Allow %q, want %q", m, c.path, got, c.allow)
			}
			if m == "GET" {
				wantError(t, "GET "+c.path, r, 405, "method_not_allowed", `Method "GET" not allowed. Reads are served by the readers; this is the writer.`)
			}
		}
	}
	s.wantCalls("reads")
}

func TestOptions(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	r := s.do("OPTIONS", "pl_attach", noBody)
	if r.status != 200 || r.body != "{}" || !strings.Contains(string(r.header.Peek("Allow")), "PUT") {
		t.Errorf("OPTIONS pl_attach: %d %s Allow %q", r.status, r.body, r.header.Peek("Allow"))
	}
}

func sortedAllow(r resp) string {
	parts := strings.Split(string(r.header.Peek("Allow")), ", ")
	for i := range parts {
		for j := i + 1; j < len(parts); j++ {
			if parts[j] < parts[i] {
				parts[i], parts[j] = parts[j], parts[i]
			}
		}
	}
	return strings.Join(parts, ", ")
}
