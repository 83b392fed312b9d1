package writer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
)

// TestProtectBody: PUT /api/v2/protect's body (docs/design.md
// "Protection"): what is accepted, and every refusal is 400 naming the
// field.
func TestProtectBody(t *testing.T) {
	req := func(body string) *fasthttp.RequestCtx {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBodyString(body)
		return &ctx
	}
	r, err := readProtectBody(req(`{"global_tags": ["G"], "payload_lists": ["L_1"], "iovs": [7, 8.0, 9e0], "protected": true, "note": "why"}`))
	if err != nil || fmt.Sprint(r) != "{[G] [L_1] [7 8 9] true why}" {
		t.Errorf("good body: %+v, %v", r, err)
	}
	if r, err := readProtectBody(req(`{"iovs": [1], "protected": false}`)); err != nil || r.Protected {
		t.Errorf("unprotect: %+v, %v", r, err)
	}
	for _, tc := range []struct{ body, detail string }{
		{``, "No data provided"},
		{`null`, "No data provided"},
		{`[]`, "Invalid data. Expected a dictionary, but got list."},
		{`{"iovs": [1]}`, "protected: This field is required."},
		{`{"iovs": [1], "protected": 1}`, "protected: Must be true or false."},
		{`{"iovs": [1], "protected": "true"}`, "protected: Must be true or false."},
		{`{"protected": true}`, "Name at least one object: global_tags, payload_lists or iovs."},
		{`{"global_tags": [], "protected": true}`, "Name at least one object: global_tags, payload_lists or iovs."},
		{`{"global_tags": "G", "protected": true}`, "global_tags: Expected a list of names."},
		{`{"global_tags": ["G", 3, ""], "protected": true}`, "global_tags: Element 1: Not a valid string. Element 2: This field may not be blank."},
		{`{"payload_lists": ["a\u0000b"], "protected": true}`, "payload_lists: Element 0: Null characters are not allowed."},
		{`{"iovs": [1, "2", 1.5, true, 99999999999999999999], "protected": true}`,
			"iovs: Element 1: A valid integer is required. Element 2: A valid integer is required. " +
				"Element 3: A valid integer is required. Element 4: A valid integer is required."},
		{`{"iovs": {"a": 1}, "protected": true}`, "iovs: Expected a list of integer ids."},
		{`{"iovs": [1], "protected": true, "note": 5}`, "note: Not a valid string."},
		{`{"iovs": [1], "protected": true, "note": "` + strings.Repeat("x", 1001) + `"}`, "note: Ensure this field has no more than 1000 characters."},
		{`{"iov": [1], "protected": true}`, "iov: Unknown field; the fields are global_tags, payload_lists, iovs, protected, note."},
	} {
		_, err := readProtectBody(req(tc.body))
		if condcache.ErrorCodeOf(err) != condcache.EInvalid || condcache.ErrorDetail(err) != tc.detail {
			t.Errorf("%s: %v, want invalid %q", tc.body, err, tc.detail)
		}
	}
	var many strings.Builder
	many.WriteString(`{"protected": true, "iovs": [1`)
	for range maxProtectObjects {
		many.WriteString(",1")
	}
	many.WriteString(`]}`)
	if _, err := readProtectBody(req(many.String())); condcache.ErrorDetail(err) != "Name at most 100000 objects in one request." {
		t.Errorf("too many objects: %v", err)
	}
	for _, q := range []string{"force=2", "force=yes", "force="} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/api/v2/protect?" + q)
		if _, err := forceParam(&ctx); condcache.ErrorDetail(err) != "force: Must be 1 (or true), or 0 (or false)." {
			t.Errorf("%s: %v", q, err)
		}
	}
}
