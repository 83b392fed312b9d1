package e2e

import "testing"

// TestMissingKeys sends every write endpoint bodies that lack keys it
// needs, through the reader (proxied to the writer): each is 400 `invalid`
// with a DRF field array for every bad key, and nothing is written. The
// detail is the reference's text where the reference has one for the
// missing key (docs/compatibility.md "Status codes"): it reads some keys
// itself before its serializer validates the body, and answers a missing
// one with "<Model> not found." (POST gt without status, pl_attach without
// payload_list, piov_attach without payload_list or piov_id). Where the
// reference fails on the key without a detail (an HTML 500: POST gt
// without name, pl_attach without global_tag, POST pl, POST piov without
// a start, bulk_piov) or its serializer answers (field arrays only:
// gtstatus, pt, piov's texts), the detail names the fields.
func TestMissingKeys(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt, pt := c.mkGT("unlocked"), c.mkPT()
	pl := c.listOf(gt, pt)
	c.mustInsert(gt, pt, uniqz("a"), P{0, 0}, open)
	spare, _ := c.mkPL(c.mkPT())
	id := c.mkPIOV(uniqz("detached"), P{5, 0}, open)
	before := c.snap(gt)
	name := uniqz("missing")
	url := uniqz("missing-url")

	const req = "This field is required."
	type fields = map[string]string
	cases := []struct {
		what   string
		method string
		paths  []string
		body   any
		detail string
		fields fields
	}{
		{"gtstatus, no name", "POST", []string{"gtstatus", "global-tags/statuses"},
			map[string]any{"description": name}, "name: " + req, fields{"name": req}},

		{"gt, no status", "POST", []string{"gt"},
			map[string]any{"name": name}, "GlobalTagStatus not found.", fields{"status": req}},
		{"gt, no status and a blank author", "POST", []string{"gt"},
			map[string]any{"name": name, "author": ""}, "GlobalTagStatus not found.",
			fields{"status": req, "author": "This field may not be blank."}},
		{"gt, no name", "POST", []string{"gt"},
			map[string]any{"status": "unlocked"}, "name: " + req, fields{"name": req}},
		{"gt, nothing", "POST", []string{"gt"},
			map[string]any{}, "name: " + req + "; status: " + req, fields{"name": req, "status": req}},

		{"pt, no name", "POST", []string{"pt", "payload-types"},
			map[string]any{}, "name: " + req, fields{"name": req}},

		{"pl, no type", "POST", []string{"pl", "payload-lists"},
			map[string]any{"name": name}, "payload_type: " + req, fields{"payload_type": req}},

		{"pl_attach, no list", "PUT", []string{"pl_attach", "payload-lists/attach"},
			map[string]any{"global_tag": gt}, "PayloadList not found.", fields{"payload_list": req}},
		{"pl_attach, no GT", "PUT", []string{"pl_attach", "payload-lists/attach"},
			map[string]any{"payload_list": spare}, "global_tag: " + req, fields{"global_tag": req}},
		{"pl_attach, nothing", "PUT", []string{"pl_attach", "payload-lists/attach"},
			map[string]any{}, "global_tag: " + req + "; payload_list: " + req, fields{"global_tag": req, "payload_list": req}},

		{"piov, no url", "POST", []string{"piov", "payload-iovs"},
			map[string]any{"checksum": "c", "major_iov": 1, "minor_iov": 0}, "payload_url: " + req, fields{"payload_url": req}},
		{"piov, no checksum", "POST", []string{"piov", "payload-iovs"},
			map[string]any{"payload_url": url, "major_iov": 1, "minor_iov": 0}, "checksum: " + req, fields{"checksum": req}},
		{"piov, no major", "POST", []string{"piov", "payload-iovs"},
			map[string]any{"payload_url": url, "checksum": "c", "minor_iov": 0}, "major_iov: " + req, fields{"major_iov": req}},
		{"piov, no minor", "POST", []string{"piov", "payload-iovs"},
			map[string]any{"payload_url": url, "checksum": "c", "major_iov": 1}, "minor_iov: " + req, fields{"minor_iov": req}},
		{"piov, nothing", "POST", []string{"piov", "payload-iovs"},
			map[string]any{}, "payload_url: " + req + "; checksum: " + req + "; major_iov: " + req + "; minor_iov: " + req,
			fields{"payload_url": req, "checksum": req, "major_iov": req, "minor_iov": req}},

		{"piov_attach, no list", "PUT", []string{"piov_attach", "payload-iovs/attach"},
			map[string]any{"piov_id": id}, "PayloadList not found.", fields{"payload_list": req}},
		{"piov_attach, no id", "PUT", []string{"piov_attach", "payload-iovs/attach"},
			map[string]any{"payload_list": pl}, "PayloadIOV not found.", fields{"piov_id": req}},
		{"piov_attach, nothing", "PUT", []string{"piov_attach", "payload-iovs/attach"},
			map[string]any{}, "PayloadList not found.", fields{"payload_list": req, "piov_id": req}},

		{"bulk_piov, no url", "POST", []string{"bulk_piov", "payload-iovs/bulk"},
			[]any{map[string]any{"major_iov": 1, "minor_iov": 0, "payload_list": pl}},
			"element 0: payload_url: " + req, fields{"payload_url": req}},
		{"bulk_piov, no list", "POST", []string{"bulk_piov", "payload-iovs/bulk"},
			[]any{map[string]any{"payload_url": url, "major_iov": 1, "minor_iov": 0}},
			"element 0: payload_list: " + req, fields{"payload_list": req}},
		{"bulk_piov, no major", "POST", []string{"bulk_piov", "payload-iovs/bulk"},
			[]any{map[string]any{"payload_url": url, "minor_iov": 0, "payload_list": pl}},
			"element 0: major_iov: " + req, fields{"major_iov": req}},
		{"bulk_piov, no minor in the second element", "POST", []string{"bulk_piov", "payload-iovs/bulk"},
			[]any{map[string]any{"payload_url": url, "major_iov": 1, "minor_iov": 0, "payload_list": pl},
				map[string]any{"payload_url": url, "major_iov": 2, "payload_list": pl}},
			"element 1: minor_iov: " + req, fields{"minor_iov": req}},
	}
	for _, tc := range cases {
		for _, path := range tc.paths {
			r := c.do(tc.method, path, tc.body)
			m := wantErr(t, r, "invalid", tc.detail, 400)
			if m == nil {
				continue
			}
			for field, msg := range tc.fields {
				wantField(t, r, field, msg)
			}
			for k := range m {
				if _, ok := tc.fields[k]; !ok && k != "detail" && k != "code" {
					t.Errorf("%s (%s): unexpected field errors %q", r, tc.what, k)
				}
			}
		}
	}

	// Nothing was written by the refused requests.
	if _, ok := statusNames(c, "gtstatus")[name]; ok {
		t.Errorf("a refused request created status %s", name)
	}
	if c.gtNames()[name] {
		t.Errorf("a refused request created GT %s", name)
	}
	if n := c.countPIOVs(url); n != 0 {
		t.Errorf("refused requests created %d IOVs", n)
	}
	if got := c.listOfIOV(id); got != "" {
		t.Errorf("IOV %d was attached to %q by a refused request", id, got)
	}
	for pt, list := range c.gtLists(gt) {
		if list == spare {
			t.Errorf("list %s (%s) was attached to %s by a refused request", spare, pt, gt)
		}
	}
	c.wantUnchanged(gt, before)
}
