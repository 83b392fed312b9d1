package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/testkit"
	"github.com/condcache/condcache/loadtest"
)

var httpClient = &http.Client{Timeout: 30 * time.Second}

// call sends a JSON request and returns the status and the decoded body
// (nil when it is not JSON); err only for a failed round trip.
func call(method, url string, body any) (int, any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, err
	}
	var v any
	_ = json.Unmarshal(b, &v)
	return res.StatusCode, v, nil
}

// must is call that fails the test unless the answer is 200.
func must(t *testing.T, method, url string, body any) any {
	t.Helper()
	status, v, err := call(method, url, body)
	if err != nil || status != 200 {
		t.Fatalf("%s %s: %d %v %v", method, url, status, v, err)
	}
	return v
}

// fixture is a GT with one payload list, made through the writer API.
type fixture struct {
	api      string // writer or reader base URL + /api/cdb_rest
	gt, list string
}

func newFixture(t *testing.T, base string) *fixture {
	t.Helper()
	f := &fixture{api: base + "/api/cdb_rest", gt: testkit.Uniq("GT")}
	if status, _, err := call("POST", f.api+"/gtstatus", map[string]any{"name": "unlocked"}); err != nil || (status != 200 && status != 409) {
		t.Fatalf("gtstatus: %d %v", status, err)
	}
	must(t, "POST", f.api+"/gt", map[string]any{"name": f.gt, "status": "unlocked", "author": "faults"})
	pt := testkit.Uniq("PT")
	must(t, "POST", f.api+"/pt", map[string]any{"name": pt})
	pl := must(t, "POST", f.api+"/pl", map[string]any{"payload_type": pt}).(map[string]any)
	f.list = pl["name"].(string)
	must(t, "PUT", f.api+"/pl_attach", map[string]any{"global_tag": f.gt, "payload_list": f.list})
	return f
}

// insert creates an open-ended IOV starting at run major and attaches it:
// the status of the first failing step, 200 when both succeeded.
func (f *fixture) insert(url string, major int64) (int, any, error) {
	status, v, err := call("POST", f.api+"/piov", map[string]any{"payload_url": url, "checksum": "c", "major_iov": major, "minor_iov": 0})
	if err != nil || status != 200 {
		return status, v, err
	}
	id := int64(v.(map[string]any)["id"].(float64))
	return call("PUT", f.api+"/piov_attach", map[string]any{"payload_list": f.list, "piov_id": id})
}

func (f *fixture) mustInsert(t *testing.T, url string, major int64) {
	t.Helper()
	if status, v, err := f.insert(url, major); err != nil || status != 200 {
		t.Fatalf("insert %s: %d %v %v", url, status, v, err)
	}
}

// lookupURL is the lookup of the fixture's GT at run major.
func (f *fixture) lookupURL(readerBase string, major int64) string {
	return fmt.Sprintf("%s/api/cdb_rest/payloadiovs/?gtName=%s&majorIOV=%d&minorIOV=0", readerBase, f.gt, major)
}

// metric reads one series (its exact text before the value) from the
// /metrics of base: 0 when absent, -1 when unreachable.
func metric(base, series string) float64 {
	v, err := loadtest.Metric(base, series)
	if err != nil {
		return -1
	}
	return v
}
