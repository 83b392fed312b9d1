package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test helpers: a tiny HTTP client for the API (every response must be JSON),
// typed accessors for decoded JSON, and builders of GTs, types, lists and
// IOVs that go through the public API exactly like the C++ client does.

const (
	apiPrefix = "/api/cdb_rest/"
	maxI      = int64(math.MaxInt64)
	maxStr    = "9223372036854775807"
)

var httpClient = &http.Client{
	Timeout: 60 * time.Second,
	// The C++ client never follows redirects; neither do we.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Raw is a request body sent as is with its own content type.
type Raw struct {
	ContentType string
	Data        []byte
}

// rawJSON is a request body sent verbatim as application/json (e.g. "null").
type rawJSON string

// Resp is a decoded response.
type Resp struct {
	Method, Path string
	Status       int
	Header       http.Header
	Body         []byte
	JSON         any // decoded with UseNumber; nil when the body is empty or not JSON
}

func (r Resp) String() string {
	b := r.Body
	if len(b) > 600 {
		b = append(b[:600:600], "…"...)
	}
	return fmt.Sprintf("%s %s -> %d %s", r.Method, r.Path, r.Status, b)
}

// client talks to one base URL (reader or writer), optionally with an
// Authorization header.
type client struct {
	t    testing.TB
	base string
	auth string
	rec  *recorder
}

// recorder keeps every response body a client saw.
type recorder struct {
	mu     sync.Mutex
	bodies []string
}

func (r *recorder) add(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies = append(r.bodies, string(b))
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.bodies)
}

func newClient(t testing.TB, base string) *client { return &client{t: t, base: base} }

// url turns an API-relative path ("gt", "payloadiovs/?gtName=x") into a full
// URL; paths starting with "/" are taken from the server root.
func (c *client) url(path string) string {
	if strings.HasPrefix(path, "/") {
		return c.base + path
	}
	return c.base + apiPrefix + path
}

// do sends a request. body: nil (no body), Raw, rawJSON or any value that is
// marshalled to JSON. It fails the test on transport errors, and reports an
// error when a response (other than a redirect) is not a JSON document with
// Content-Type application/json, or does not match docs/openapi.yaml
// (checkOpenAPI).
func (c *client) do(method, path string, body any, headers ...string) Resp {
	c.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case Raw:
		rd, ctype = bytes.NewReader(b.Data), b.ContentType
	case rawJSON:
		rd, ctype = strings.NewReader(string(b)), "application/json"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("marshal: %v", err)
		}
		rd, ctype = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, c.url(path), rd)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := httpClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	r := Resp{Method: method, Path: path, Status: res.StatusCode, Header: res.Header, Body: data}
	checkOpenAPI(c.t, req, res, r)
	if c.rec != nil {
		c.rec.add(data)
		for k, v := range res.Header {
			c.rec.add([]byte(k + ": " + strings.Join(v, ",")))
		}
	}
	if res.StatusCode == http.StatusMovedPermanently || res.StatusCode == http.StatusNotModified {
		return r
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		c.t.Errorf("%s: Content-Type %q, want application/json", r, ct)
	}
	if len(data) == 0 {
		c.t.Errorf("%s: empty body, want a JSON document", r)
		return r
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&r.JSON); err != nil {
		c.t.Errorf("%s: body is not JSON: %v", r, err)
		r.JSON = nil
	} else if dec.More() {
		c.t.Errorf("%s: trailing data after the JSON document", r)
	}
	return r
}

func (c *client) get(path string) Resp { c.t.Helper(); return c.do("GET", path, nil) }

// ok sends a request and requires 200.
func (c *client) ok(method, path string, body any) Resp {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.Status != 200 {
		c.t.Fatalf("%s: want 200", r)
	}
	return r
}

// ---------------------------------------------------------------------------
// JSON accessors (fatal on a type mismatch).

func obj(t testing.TB, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("want a JSON object, got %T %v", v, v)
	}
	return m
}

func arr(t testing.TB, v any) []any {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("want a JSON array, got %T %v", v, v)
	}
	return a
}

// i64 requires a JSON integer (no fraction, no exponent) fitting int64.
func i64(t testing.TB, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("want a JSON integer, got %T %v", v, v)
	}
	if strings.ContainsAny(n.String(), ".eE") {
		t.Fatalf("want a JSON integer, got %s", n)
	}
	x, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		t.Fatalf("integer %s: %v", n, err)
	}
	return x
}

func str(t testing.TB, v any) string {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("want a JSON string, got %T %v", v, v)
	}
	return s
}

// strOrNull returns the string, or "" and false for JSON null.
func strOrNull(t testing.TB, v any) (string, bool) {
	t.Helper()
	if v == nil {
		return "", false
	}
	return str(t, v), true
}

func wantKeys(t testing.TB, what string, m map[string]any, keys ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	want := slices.Clone(keys)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: keys %v, want exactly %v", what, got, want)
	}
}

var tsRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$`)

// ts checks a naive ISO-8601 timestamp (Python isoformat: no offset, the
// fraction omitted when it is zero) and returns it parsed.
func ts(t testing.TB, field string, v any) time.Time {
	t.Helper()
	s := str(t, v)
	if !tsRE.MatchString(s) {
		t.Errorf("%s: timestamp %q is not naive ISO-8601 (YYYY-MM-DDTHH:MM:SS[.ffffff])", field, s)
		return time.Time{}
	}
	if strings.HasSuffix(s, ".000000") {
		t.Errorf("%s: timestamp %q: a zero fraction must be omitted", field, s)
	}
	tm, err := time.Parse("2006-01-02T15:04:05.999999", s)
	if err != nil {
		t.Errorf("%s: %v", field, err)
	}
	if d := time.Since(tm); d < -time.Minute || d > 24*time.Hour {
		t.Errorf("%s: timestamp %q is not recent UTC wall time (off by %v)", field, s, d)
	}
	return tm
}

// comb renders major + minor/10^19 with exactly 19 fractional digits.
func comb(major, minor int64) string {
	v := new(big.Int).Mul(big.NewInt(major), new(big.Int).Exp(big.NewInt(10), big.NewInt(19), nil))
	v.Add(v, big.NewInt(minor))
	neg := v.Sign() < 0
	v.Abs(v)
	s := v.String()
	for len(s) < 20 {
		s = "0" + s
	}
	out := s[:len(s)-19] + "." + s[len(s)-19:]
	if neg {
		out = "-" + out
	}
	return out
}

// ---------------------------------------------------------------------------
// Error assertions.

var codeForStatus = map[int][]string{
	400: {"invalid"},
	403: {"unauthorized", "forbidden"},
	404: {"not_found"},
	409: {"conflict", "locked", "protected"},
}

// wantErr requires one of statuses, a JSON object with a string `detail`
// (equal to detail unless detail is "") and a string `code` (equal to code
// unless code is "", and consistent with the status).
func wantErr(t testing.TB, r Resp, code, detail string, statuses ...int) map[string]any {
	t.Helper()
	if !slices.Contains(statuses, r.Status) {
		t.Errorf("%s: status %d, want one of %v", r, r.Status, statuses)
	}
	m, ok := r.JSON.(map[string]any)
	if !ok {
		t.Errorf("%s: error body is not a JSON object", r)
		return nil
	}
	d, ok := m["detail"].(string)
	if !ok || d == "" {
		t.Errorf("%s: `detail` must be a non-empty string", r)
	} else if detail != "" && d != detail {
		t.Errorf("%s: detail %q, want %q", r, d, detail)
	}
	cd, ok := m["code"].(string)
	if !ok {
		t.Errorf("%s: `code` must be a string", r)
	} else {
		if code != "" && cd != code {
			t.Errorf("%s: code %q, want %q", r, cd, code)
		}
		if want, known := codeForStatus[r.Status]; known && !slices.Contains(want, cd) {
			t.Errorf("%s: code %q does not fit status %d (want one of %v)", r, cd, r.Status, want)
		}
	}
	// The C++ client: `name`, when present, is an array whose first element
	// is a string (docs/compatibility.md "C++ client checklist" item 4).
	if n, present := m["name"]; present {
		a, ok := n.([]any)
		if !ok || len(a) == 0 {
			t.Errorf("%s: `name` must be a non-empty array", r)
		} else if _, ok := a[0].(string); !ok {
			t.Errorf("%s: `name[0]` must be a string", r)
		}
	}
	return m
}

// wantField requires body[field] to be an array of strings whose first
// element is msg (any message when msg is "").
func wantField(t testing.TB, r Resp, field, msg string) {
	t.Helper()
	m, ok := r.JSON.(map[string]any)
	if !ok {
		t.Errorf("%s: not a JSON object", r)
		return
	}
	a, ok := m[field].([]any)
	if !ok || len(a) == 0 {
		t.Errorf("%s: want field errors %q as a non-empty array", r, field)
		return
	}
	for _, e := range a {
		if _, ok := e.(string); !ok {
			t.Errorf("%s: field errors %q must be strings", r, field)
		}
	}
	if msg != "" && a[0] != msg {
		t.Errorf("%s: %s[0] = %q, want %q", r, field, a[0], msg)
	}
}

func wantStatus(t testing.TB, r Resp, status int) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: want %d", r, status)
	}
}

// ---------------------------------------------------------------------------
// Domain builders.

// P is an IOV point (major, minor).
type P struct{ M, m int64 }

func (p P) String() string { return fmt.Sprintf("(%d,%d)", p.M, p.m) }

func (p P) less(q P) bool { return p.M < q.M || p.M == q.M && p.m < q.m }

var open = P{maxI, maxI}

// IOV is an IOV as stored: url + [start, end).
type IOV struct {
	URL  string
	S, E P
}

func (v IOV) String() string { return fmt.Sprintf("%s[%v→%v]", v.URL, v.S, v.E) }

func sortIOVs(v []IOV) []IOV {
	sort.Slice(v, func(i, j int) bool {
		if v[i].S != v[j].S {
			return v[i].S.less(v[j].S)
		}
		if v[i].E != v[j].E {
			return v[i].E.less(v[j].E)
		}
		return v[i].URL < v[j].URL
	})
	return v
}

// ensureStatus creates a GT status unless it exists (concurrent tests may
// race: 409 with the DRF duplicate message is fine).
func (c *client) ensureStatus(name string) {
	c.t.Helper()
	r := c.do("POST", "gtstatus", map[string]any{"name": name})
	switch r.Status {
	case 200:
	case 409:
		wantField(c.t, r, "name", "global tag status with this name already exists.")
	default:
		c.t.Fatalf("%s: creating status %q", r, name)
	}
}

// mkGT creates a GT (status created as needed) and returns its name.
func (c *client) mkGT(status string) string {
	c.t.Helper()
	c.ensureStatus(status)
	name := uniqz("GT")
	c.ok("POST", "gt", map[string]any{"name": name, "status": status, "author": "e2e"})
	return name
}

// mkPT creates a payload type and returns its name.
func (c *client) mkPT() string {
	c.t.Helper()
	name := uniqz("PT")
	c.ok("POST", "pt", map[string]any{"name": name})
	return name
}

// mkPL creates a detached payload list of type pt; returns name and id.
func (c *client) mkPL(pt string) (string, int64) {
	c.t.Helper()
	r := c.ok("POST", "pl", map[string]any{"payload_type": pt})
	m := obj(c.t, r.JSON)
	return str(c.t, m["name"]), i64(c.t, m["id"])
}

func (c *client) plAttach(gt, pl string) Resp {
	c.t.Helper()
	return c.do("PUT", "pl_attach", map[string]any{"global_tag": gt, "payload_list": pl})
}

func (c *client) setStatus(gt, status string) {
	c.t.Helper()
	c.ensureStatus(status)
	c.ok("PUT", "gt_change_status/"+gt+"/"+status, rawJSON("null"))
}

// mkPIOV creates a detached IOV and returns its id.
func (c *client) mkPIOV(u string, s, e P) int64 {
	c.t.Helper()
	body := map[string]any{"payload_url": u, "checksum": "ck-" + u, "major_iov": s.M, "minor_iov": s.m}
	if e != open {
		body["major_iov_end"], body["minor_iov_end"] = e.M, e.m
	}
	r := c.ok("POST", "piov", body)
	return i64(c.t, obj(c.t, r.JSON)["id"])
}

func (c *client) piovAttach(pl string, id int64) Resp {
	c.t.Helper()
	return c.do("PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": id})
}

// gtLists is GET gtPayloadLists/<gt>.
func (c *client) gtLists(gt string) map[string]string {
	c.t.Helper()
	r := c.ok("GET", "gtPayloadLists/"+url.PathEscape(gt), nil)
	out := map[string]string{}
	for k, v := range obj(c.t, r.JSON) {
		out[k] = str(c.t, v)
	}
	return out
}

// listOf returns the name of gt's list of type pt, creating and attaching
// one if there is none (the C++ client's insert).
func (c *client) listOf(gt, pt string) string {
	c.t.Helper()
	if l, ok := c.gtLists(gt)[pt]; ok {
		return l
	}
	pl, _ := c.mkPL(pt)
	if r := c.plAttach(gt, pl); r.Status != 200 {
		c.t.Fatalf("%s", r)
	}
	return pl
}

// insert is the C++ client's insert: list if needed, create IOV, attach.
// It returns the IOV id and the attach response.
func (c *client) insert(gt, pt, u string, s, e P) (int64, Resp) {
	c.t.Helper()
	pl := c.listOf(gt, pt)
	id := c.mkPIOV(u, s, e)
	return id, c.piovAttach(pl, id)
}

// mustInsert is insert requiring 200.
func (c *client) mustInsert(gt, pt, u string, s, e P) int64 {
	c.t.Helper()
	id, r := c.insert(gt, pt, u, s, e)
	if r.Status != 200 {
		c.t.Fatalf("%s", r)
	}
	return id
}

// iovsOf reads the IOVs attached to gt's list of type pt through GET
// globalTag/<gt> (nil when the GT has no such list).
func (c *client) iovsOf(gt, pt string) []IOV {
	c.t.Helper()
	r := c.ok("GET", "globalTag/"+url.PathEscape(gt), nil)
	var out []IOV
	found := false
	for _, l := range arr(c.t, obj(c.t, r.JSON)["payload_lists"]) {
		lm := obj(c.t, l)
		if str(c.t, lm["payload_type"]) != pt {
			continue
		}
		if found {
			c.t.Errorf("GT %s has two lists of type %s", gt, pt)
		}
		found = true
		for _, v := range arr(c.t, lm["payload_iov"]) {
			vm := obj(c.t, v)
			out = append(out, IOV{
				URL: str(c.t, vm["payload_url"]),
				S:   P{i64(c.t, vm["major_iov"]), i64(c.t, vm["minor_iov"])},
				E:   P{i64(c.t, vm["major_iov_end"]), i64(c.t, vm["minor_iov_end"])},
			})
		}
	}
	return sortIOVs(out)
}

func wantIOVs(t testing.TB, what string, got, want []IOV) {
	t.Helper()
	got, want = sortIOVs(slices.Clone(got)), sortIOVs(slices.Clone(want))
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

// piovByID is GET piov/<id> decoded (nil when 404).
func (c *client) piovByID(id int64) map[string]any {
	c.t.Helper()
	r := c.get(fmt.Sprintf("piov/%d", id))
	if r.Status == 404 {
		return nil
	}
	if r.Status != 200 {
		c.t.Fatalf("%s", r)
	}
	return obj(c.t, r.JSON)
}

// listOfIOV returns the list name an IOV is attached to ("" if detached).
func (c *client) listOfIOV(id int64) string {
	c.t.Helper()
	m := c.piovByID(id)
	if m == nil {
		c.t.Fatalf("piov %d does not exist", id)
	}
	s, _ := strOrNull(c.t, m["payload_list"])
	return s
}

// Row is one lookup row.
type Row struct {
	Type, URL, Checksum string
	Size                any
	S, E                P
	Revision            any
}

// lookup is GET payloadiovs/ (positional rows), keyed by type.
func (c *client) lookup(gt string, major, minor int64) map[string]Row {
	c.t.Helper()
	q := url.Values{"gtName": {gt}, "majorIOV": {strconv.FormatInt(major, 10)}, "minorIOV": {strconv.FormatInt(minor, 10)}}
	r := c.ok("GET", "payloadiovs/?"+q.Encode(), nil)
	return c.rows(r)
}

func (c *client) rows(r Resp) map[string]Row {
	c.t.Helper()
	out := map[string]Row{}
	for _, e := range arr(c.t, r.JSON) {
		a := arr(c.t, e)
		if len(a) != 9 {
			c.t.Fatalf("%s: lookup row %v has %d columns, want 9", r, a, len(a))
		}
		row := Row{
			Type: str(c.t, a[0]), URL: str(c.t, a[1]), Checksum: str(c.t, a[2]), Size: a[3],
			S: P{i64(c.t, a[4]), i64(c.t, a[5])}, E: P{i64(c.t, a[6]), i64(c.t, a[7])}, Revision: a[8],
		}
		if _, dup := out[row.Type]; dup {
			c.t.Errorf("%s: two rows for type %s", r, row.Type)
		}
		out[row.Type] = row
	}
	return out
}

// lookupURLs maps type -> url.
func (c *client) lookupURLs(gt string, major, minor int64) map[string]string {
	c.t.Helper()
	out := map[string]string{}
	for k, v := range c.lookup(gt, major, minor) {
		out[k] = v.URL
	}
	return out
}

// snapshot captures everything observable about a GT, for "nothing changed"
// checks: the full nested GT minus `updated`-free comparisons are done on
// the IOV sets of every list plus the list map.
type snapshot struct {
	Lists map[string]string
	IOVs  map[string][]IOV
}

func (c *client) snap(gt string) snapshot {
	c.t.Helper()
	s := snapshot{Lists: c.gtLists(gt), IOVs: map[string][]IOV{}}
	for pt := range s.Lists {
		s.IOVs[pt] = c.iovsOf(gt, pt)
	}
	return s
}

func (c *client) wantUnchanged(gt string, before snapshot) {
	c.t.Helper()
	after := c.snap(gt)
	if fmt.Sprint(after.Lists) != fmt.Sprint(before.Lists) {
		c.t.Errorf("GT %s lists changed: %v -> %v", gt, before.Lists, after.Lists)
	}
	for pt, v := range before.IOVs {
		if !slices.Equal(sortIOVs(after.IOVs[pt]), sortIOVs(v)) {
			c.t.Errorf("GT %s type %s IOVs changed:\n before %v\n after  %v", gt, pt, v, after.IOVs[pt])
		}
	}
}

// countPIOVsWithURLPrefix counts all IOVs (attached or not) whose url starts
// with prefix, through browse mode of piov.
func (c *client) countPIOVs(search string) int64 {
	c.t.Helper()
	r := c.ok("GET", "piov?page=1&page_size=1&search="+url.QueryEscape(search), nil)
	return i64(c.t, obj(c.t, r.JSON)["count"])
}

// statusID returns the id of a status from GET gtstatus.
func (c *client) statusID(name string) int64 {
	c.t.Helper()
	for _, s := range arr(c.t, c.ok("GET", "gtstatus", nil).JSON) {
		m := obj(c.t, s)
		if m["name"] == name {
			return i64(c.t, m["id"])
		}
	}
	c.t.Fatalf("status %q not in gtstatus", name)
	return 0
}

// gtNames returns the names in GET globalTags.
func (c *client) gtNames() map[string]bool {
	c.t.Helper()
	out := map[string]bool{}
	for _, g := range arr(c.t, c.ok("GET", "globalTags", nil).JSON) {
		out[str(c.t, obj(c.t, g)["name"])] = true
	}
	return out
}

// ptNames returns the names in GET pt.
func (c *client) ptNames() map[string]bool {
	c.t.Helper()
	out := map[string]bool{}
	for _, g := range arr(c.t, c.ok("GET", "pt", nil).JSON) {
		out[str(c.t, obj(c.t, g)["name"])] = true
	}
	return out
}

// both runs f for the legacy and the alias form of a route.
func both(t *testing.T, legacy, alias string, f func(t *testing.T, path string)) {
	t.Helper()
	t.Run("legacy", func(t *testing.T) { f(t, legacy) })
	t.Run("alias", func(t *testing.T) { f(t, alias) })
}

// uniqz is uniq with a terminator, so that no name is a substring of
// another (browse searches are substring matches).
func uniqz(prefix string) string { return uniq(prefix) + "z" }

// shared returns a client of the shared reader (writes are proxied).
func shared(t testing.TB) *client { return newClient(t, servers.ReaderURL) }

// shed reports whether r is the admission control's refusal (503 or 504
// "overloaded"): nothing was done, and the client may retry.
func shed(r Resp) bool {
	m, _ := r.JSON.(map[string]any)
	return (r.Status == 503 || r.Status == 504) && m["code"] == "overloaded"
}
