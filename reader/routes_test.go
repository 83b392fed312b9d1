package reader

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
)

const (
	ts        = `"2026-07-23T00:05:09.831925"`
	piovJSON  = `{"id":1,"payload_url":"D0DXMagnets.dat","checksum":"e99a","major_iov":0,"minor_iov":0,"comb_iov":"0.0000000000000000000","major_iov_end":9223372036854775807,"minor_iov_end":9223372036854775807,"payload_list":"Beam_210","inserted":` + ts + `}`
	plFull    = `{"id":210,"name":"Beam_210","global_tag":"sPHENIX_ExampleGT_24","payload_type":"Beam","payload_iov":[` + piovJSON + `],"created":` + ts + `}`
	gtFull    = `{"id":1,"name":"sPHENIX_ExampleGT_24","author":"admin","status":{"id":1,"name":"unlocked","description":null,"created":` + ts + `},"payload_lists":[` + plFull + `],"created":` + ts + `,"updated":` + ts + `}`
	gtSummary = `{"id":1,"name":"sPHENIX_ExampleGT_24","author":"admin","status":"unlocked","payload_lists_count":1,"payload_iov_count":2,"created":` + ts + `,"updated":` + ts + `}`
	statuses  = `[{"id":1,"name":"unlocked","created":` + ts + `}]`
	pts       = `[{"id":3,"name":"Beam","created":` + ts + `}]`
	plBrowse  = `{"id":210,"name":"Beam_210","global_tag":"sPHENIX_ExampleGT_24","payload_type":"Beam","iov_count":12,"created":` + ts + `}`
	plByID    = `{"id":210,"name":"Beam_210","global_tag":1,"payload_type":3,"created":` + ts + `}`
	piovBrows = `{"id":1,"payload_url":"D0DXMagnets.dat","checksum":"e99a","major_iov":0,"minor_iov":0,"major_iov_end":9223372036854775807,"minor_iov_end":9223372036854775807,"payload_list":"Beam_210","global_tag":"sPHENIX_ExampleGT_24","payload_type":null,"inserted":` + ts + `}`
	rowsJSON  = `[["Beam","D0DXMagnets.dat","e99a",null,0,999999,9223372036854775807,9223372036854775807,null],["CEMC","cemc.root","",1234,-5,1,7,8,"r1"]]`
	dictsJSON = `[{"payload_type_name":"Beam","payload_url":"D0DXMagnets.dat","checksum":"e99a","size":null,"major_iov":0,"minor_iov":999999,"major_iov_end":9223372036854775807,"minor_iov_end":9223372036854775807,"revision":null},` +
		`{"payload_type_name":"CEMC","payload_url":"cemc.root","checksum":"","size":1234,"major_iov":-5,"minor_iov":1,"major_iov_end":7,"minor_iov_end":8,"revision":"r1"}]`
	notFound = `{"code":"not_found","detail":"Not found."}`
)

func TestEveryGETRouteHasAHandler(t *testing.T) {
	s := &Server{}
	h := s.handlers()
	for _, rt := range api.Routes {
		if _, ok := h[rt.Name]; (rt.Method == fasthttp.MethodGet) != ok {
			t.Errorf("route %s %s: handler registered = %v", rt.Method, rt.Name, ok)
		}
	}
}

// TestGETRoutes checks every GET endpoint through its legacy and alias
// paths: status, exact body and content type.
func TestGETRoutes(t *testing.T) {
	svc := &fakeService{typeLists: []condcache.TypeList{{PayloadType: "ZDC", PayloadList: "ZDC_9"}, {PayloadType: "Beam", PayloadList: "Beam_210"}}}
	r := newTestReader(t, svc, Config{TimeoutEndpointWait: 10e6, Settings: map[string]string{"CDB_AUTH_CLASS": ""}})
	const gt = "sPHENIX_ExampleGT_24"
	cases := []struct {
		path   string
		status int
		body   string
	}{
		{"gtstatus", 200, statuses},
		{"global-tags/statuses", 200, statuses},
		{"gt", 200, "[" + gtFull + "]"},
		{"gt/1", 200, gtFull},
		{"gt/2", 404, notFound},
		{"globalTag/" + gt, 200, gtFull},
		{"global-tags/" + gt, 200, gtFull},
		{"globalTag/" + gt + "?light", 200, gtSummary},
		{"globalTag/" + gt + "?light=0", 200, gtSummary},
		{"global-tags/" + gt + "?light=1", 200, gtSummary},
		{"globalTag/nope", 404, notFound},
		{"globalTag/nope?light", 404, notFound},
		{"globalTags", 200, "[" + gtSummary + "]"},
		{"global-tags", 200, "[" + gtSummary + "]"},
		{"globalTags?page=2&page_size=1", 200, `{"count":28,"page":2,"page_size":1,"total_pages":14,"results":[` + gtSummary + `]}`},
		{"gtPayloadLists/" + gt, 200, `{"ZDC":"ZDC_9","Beam":"Beam_210"}`},
		{"global-tags/" + gt + "/payload-lists", 200, `{"ZDC":"ZDC_9","Beam":"Beam_210"}`},
		{"gtPayloadLists/nope", 200, `{}`},
		{"pt", 200, pts},
		{"payload-types", 200, pts},
		{"pt?page", 200, `{"count":1,"page":1,"page_size":25,"total_pages":1,"results":` + pts + `}`},
		{"pl", 200, "[" + plFull + "]"},
		{"payload-lists", 200, "[" + plFull + "]"},
		{"pl?page=1", 200, `{"count":1,"page":1,"page_size":25,"total_pages":1,"results":[` + plBrowse + `]}`},
		{"pl/210", 200, plByID},
		{"payload-lists/210", 200, plByID},
		{"pl/211", 404, notFound},
		{"payload-lists/by-name/Beam_210", 200, plBrowse},
		{"payload-lists/by-name/nope", 404, notFound},
		{"piov", 200, "[" + piovJSON + "]"},
		{"payload-iovs", 200, "[" + piovJSON + "]"},
		{"piov?page=1&page_size=1000", 200, `{"count":1,"page":1,"page_size":1000,"total_pages":1,"results":[` + piovBrows + `]}`},
		{"piov/1", 200, piovJSON},
		{"payload-iovs/1", 200, piovJSON},
		{"piov/2", 404, notFound},
		{"payloadiovs/?gtName=" + gt + "&majorIOV=0&minorIOV=0", 200, rowsJSON},
		{"payload-iovs/query/?gtName=" + gt + "&majorIOV=0&minorIOV=0", 200, rowsJSON},
		{"payloadiovs/?gtName=" + gt + "&majorIOV=0&minorIOV=0&shape=dict", 200, dictsJSON},
		{"payloadiovs/?gtName=nope&majorIOV=0&minorIOV=0", 200, `[]`},
		{"payloadiovs/", 200, `[]`},
		{"user_settings/CDB_IOV_MODE/", 200, `{"CDB_IOV_MODE":"continuous"}`},
		{"settings/CDB_IOV_MODE/", 200, `{"CDB_IOV_MODE":"continuous"}`},
		{"settings/CDB_AUTH_CLASS/", 200, `{"CDB_AUTH_CLASS":""}`},
		{"user_settings/CDB_NOPE/", 404, `{"code":"not_found","detail":"Setting 'CDB_NOPE' not found."}`},
		{"timeout", 200, `{}`},
	}
	for _, c := range cases {
		a := r.get(api.Prefix + c.path)
		if a.status != c.status || a.body != c.body {
			t.Errorf("GET %s = %d %s\nwant %d %s", c.path, a.status, a.body, c.status, c.body)
		}
		if ct := string(a.header.ContentType()); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", c.path, ct)
		}
		if srv := string(a.header.Server()); srv != "condcache" {
			t.Errorf("GET %s: Server %q", c.path, srv)
		}
	}
}

func TestPathParametersArePercentDecoded(t *testing.T) {
	svc := &fakeService{}
	r := newTestReader(t, svc, Config{})
	r.get(api.Prefix + "globalTag/My%20GT%2Fv1")
	r.get(api.Prefix + "gtPayloadLists/%C3%A9t%C3%A9+x")
	r.get(api.Prefix + "payload-lists/by-name/bad%zz")
	want := []string{"My GT/v1", "été+x", "bad%zz"}
	if strings.Join(svc.names, "|") != strings.Join(want, "|") {
		t.Errorf("names = %q, want %q", svc.names, want)
	}
}

// TestRoutingIsExact: no trailing-slash or case fixing, signed or huge ids
// do not match, unknown paths are JSON 404s.
func TestRoutingIsExact(t *testing.T) {
	r := newTestReader(t, &fakeService{}, Config{})
	for _, p := range []string{
		"/", "/api/cdb_rest", "/api/cdb_rest/", "/api/cdb_rest/nope", "/api/cdb_rest/gt/", "/api/cdb_rest/globalTags/",
		"/api/cdb_rest/GT", "/api/cdb_rest//gt", "/api/cdb_rest/gt/-1", "/api/cdb_rest/gt/abc",
		"/api/cdb_rest/gt/99999999999999999999", "/api/cdb_rest/globalTag/", "/api/cdb_rest/payloadiovs//",
		"/api/cdb_rest/timeout/", "/admin/", "/healthz/", // (/api/cdb_rest/web/ redirects to the web UI)
	} {
		a := r.get(p)
		if a.status != 404 || a.body != notFound {
			t.Errorf("GET %s = %d %s, want 404 %s", p, a.status, a.body, notFound)
		}
		if ct := string(a.header.ContentType()); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
	}
	// Route order of the reference: the status list shadows a GT named
	// "statuses"; attach/bulk paths are not taken for ids.
	if a := r.get(api.Prefix + "global-tags/statuses"); a.body != statuses {
		t.Errorf("global-tags/statuses = %s", a.body)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	r := newTestReader(t, &fakeService{}, Config{})
	cases := []struct{ method, path, allow string }{
		{"GET", "/api/cdb_rest/pl_attach", "PUT"},
		{"GET", "/api/cdb_rest/payload-iovs/attach", "PUT"},
		{"GET", "/api/cdb_rest/payload-iovs/bulk", "POST"},
		{"GET", "/api/cdb_rest/deleteGlobalTag/x", "DELETE"},
		{"GET", "/api/cdb_rest/cloneGlobalTag/a/b", "POST"},
		{"GET", "/api/cdb_rest/deletePayloadIOV/g/p/-1/2", "DELETE"},
		{"POST", "/healthz", "GET"},
		{"DELETE", "/readyz", "GET"},
		{"TRACE", "/api/cdb_rest/gt", "GET"},
	}
	for _, c := range cases {
		a := r.do(c.method, c.path, nil)
		detail, _ := a.detail(t)
		if a.status != 405 || detail != `Method "`+c.method+`" not allowed.` {
			t.Errorf("%s %s = %d %s, want 405", c.method, c.path, a.status, a.body)
		}
		if allow := string(a.header.Peek("Allow")); !strings.Contains(allow, c.allow) {
			t.Errorf("%s %s: Allow %q lacks %s", c.method, c.path, allow, c.allow)
		}
	}
	// A write outside the API prefix is not proxied.
	if a := r.do("POST", "/nope", nil); a.status != 404 || a.body != notFound {
		t.Errorf("POST /nope = %d %s", a.status, a.body)
	}
}

func TestHeadAndOptions(t *testing.T) {
	r := newTestReader(t, &fakeService{}, Config{})
	if a := r.do("HEAD", api.Prefix+"gtstatus", nil); a.status != 200 || a.body != "" || a.header.ContentLength() != len(statuses) {
		t.Errorf("HEAD gtstatus = %d %q (Content-Length %d)", a.status, a.body, a.header.ContentLength())
	}
	a := r.do("OPTIONS", api.Prefix+"pt", nil)
	if a.status != 200 || a.body != `{}` || !strings.Contains(string(a.header.Peek("Allow")), "POST") {
		t.Errorf("OPTIONS pt = %d %s, Allow %q", a.status, a.body, a.header.Peek("Allow"))
	}
}

func TestSlashRedirects(t *testing.T) {
	r := newTestReader(t, &fakeService{}, Config{})
	cases := map[string]string{
		"payloadiovs?gtName=a&majorIOV=1&minorIOV=2": "payloadiovs/?gtName=a&majorIOV=1&minorIOV=2",
		"payloadiovs":                   "payloadiovs/",
		"payload-iovs/query?shape=dict": "payload-iovs/query/?shape=dict",
		"user_settings/CDB_IOV_MODE":    "user_settings/CDB_IOV_MODE/",
		"settings/CDB_X%20Y":            "settings/CDB_X%20Y/",
	}
	for from, to := range cases {
		a := r.get(api.Prefix + from)
		loc := string(a.header.Peek("Location"))
		if a.status != 301 || loc != api.Prefix+to {
			t.Errorf("GET %s = %d Location %q, want 301 %q", from, a.status, loc, api.Prefix+to)
		}
		if detail, _ := a.detail(t); detail == "" {
			t.Errorf("GET %s: redirect body %q has no detail", from, a.body)
		}
	}
}
