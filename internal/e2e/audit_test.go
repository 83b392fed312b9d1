package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"
)

// The audit trail over HTTP (docs/design.md "Audit trail").

// auditEndpoints returns the endpoints of the audit page at path, in order.
func auditEndpoints(t *testing.T, c *client, path string) ([]string, map[string]any) {
	t.Helper()
	page := obj(t, c.ok("GET", path, nil).JSON)
	var out []string
	for _, e := range arr(t, page["results"]) {
		out = append(out, str(t, obj(t, e)["endpoint"]))
	}
	return out, page
}

// TestAuditTrail: each acknowledged write through the reader's proxy is one
// entry, newest first, naming the client; the filters, paging and entry
// detail work; dry runs and refused writes leave none; plain SQL writes are
// recorded as actor sql; bad parameters are 4xx and change nothing.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	sv, database := startServersDB(t)
	c := newClient(t, sv.ReaderURL)
	job := func(method, path string, body any) Resp {
		t.Helper()
		r := c.do(method, path, body, "X-Condcache-Client", "job-42")
		if r.Status != 200 {
			t.Fatalf("%s", r)
		}
		return r
	}
	c.ensureStatus("unlocked")
	gt, pt := uniqz("GT"), uniqz("PT")
	start := time.Now().UTC()
	job("POST", "gt", map[string]any{"name": gt, "status": "unlocked"})
	job("POST", "pt", map[string]any{"name": pt})
	pl := str(t, obj(t, job("POST", "pl", map[string]any{"payload_type": pt}).JSON)["name"])
	job("PUT", "pl_attach", map[string]any{"global_tag": gt, "payload_list": pl})
	id := i64(t, obj(t, job("POST", "piov", map[string]any{"payload_url": "a.root", "checksum": "c", "major_iov": 1, "minor_iov": 0}).JSON)["id"])
	job("PUT", "piov_attach?dry_run=1", map[string]any{"payload_list": pl, "piov_id": id})
	job("PUT", "piov_attach", map[string]any{"payload_list": pl, "piov_id": id})
	job("POST", "bulk_piov", []map[string]any{{"payload_url": "b.root", "major_iov": 5, "minor_iov": 0, "payload_list": pl}})
	if r := c.do("POST", "gt", map[string]any{"name": gt, "status": "unlocked"}); r.Status != 409 {
		t.Fatalf("duplicate GT: %s", r)
	}

	got, page := auditEndpoints(t, c, "/api/v2/audit?gt="+url.QueryEscape(gt))
	want := []string{"BulkCreatePayloadIOVs", "AttachPayloadIOV", "AttachPayloadList", "CreateGlobalTag"}
	if !slices.Equal(got, want) {
		t.Fatalf("audit of the GT, newest first: %q, want %q", got, want)
	}
	first := obj(t, arr(t, page["results"])[0])
	if str(t, first["actor"]) != "job-42" || len(arr(t, first["generations"])) != 1 {
		t.Errorf("newest entry %v: want actor job-42 and the GT's generation", first)
	}
	if req := obj(t, first["request"]); str(t, req["method"]) != "POST" || str(t, req["path"]) != "/api/cdb_rest/bulk_piov" ||
		i64(t, obj(t, req["body"])["elements"]) != 1 {
		t.Errorf("bulk entry's request summary: %v", req)
	}
	if got, _ := auditEndpoints(t, c, "/api/v2/audit?type="+url.QueryEscape(pt)); !slices.Equal(got,
		[]string{"BulkCreatePayloadIOVs", "AttachPayloadIOV", "AttachPayloadList", "CreatePayloadList", "CreatePayloadType"}) {
		t.Errorf("audit of the type: %q", got)
	}
	all, _ := auditEndpoints(t, c, "/api/v2/audit?actor=job-42&since="+start.Format(time.RFC3339Nano))
	if len(all) != 7 { // status creation was not by job-42
		t.Errorf("entries by job-42 since the start: %q, want 7", all)
	}
	if got, _ := auditEndpoints(t, c, "/api/v2/audit?actor=job-42&until="+start.Format(time.RFC3339Nano)); len(got) != 0 {
		t.Errorf("entries by job-42 before the start: %q", got)
	}
	p2, page := auditEndpoints(t, c, "/api/v2/audit?gt="+url.QueryEscape(gt)+"&page=2&page_size=3")
	if !slices.Equal(p2, want[3:]) || i64(t, page["count"]) != 4 || i64(t, page["total_pages"]) != 2 {
		t.Errorf("page 2 of 3: %q, %v", p2, page)
	}

	// One entry with its rows: the bulk load's new IOV.
	detail := obj(t, c.ok("GET", fmt.Sprintf("/api/v2/audit/%d", i64(t, first["id"])), nil).JSON)
	var inserted []any
	for _, ch := range arr(t, detail["changes"]) {
		if m := obj(t, ch); m["table"] == "PayloadIOV" && m["op"] == "INSERT" {
			inserted = arr(t, m["new"])
		}
	}
	if len(inserted) != 1 || str(t, obj(t, inserted[0])["payload_url"]) != "b.root" {
		t.Errorf("the bulk entry's inserted rows: %v", inserted)
	}

	// Plain SQL behind the writer's back.
	db, err := stack.Primary.Connect(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	if _, err := db.Exec(t.Context(), `UPDATE "PayloadIOV" SET checksum = 'sql' WHERE payload_url = 'a.root'`); err != nil {
		t.Fatal(err)
	}
	_, page = auditEndpoints(t, c, "/api/v2/audit?gt="+url.QueryEscape(gt)+"&page_size=1")
	if e := obj(t, arr(t, page["results"])[0]); str(t, e["actor"]) != "sql" || str(t, e["endpoint"]) != "" {
		t.Errorf("plain SQL entry: %v, want actor sql and no endpoint", e)
	}

	// Bad parameters.
	count := i64(t, obj(t, c.ok("GET", "/api/v2/audit?page_size=1", nil).JSON)["count"])
	for _, bad := range []string{"page=0", "page=x", "page=1.5", "page_size=0", "page_size=1001", "since=yesterday",
		"until=2026-13-01T00:00:00Z", "since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "gt=%00", "actor=%ff"} {
		wantErr(t, c.get("/api/v2/audit?"+bad), "invalid", "", 400)
	}
	for _, unknown := range []string{"gt=" + uniq("NoSuchGT"), "type=" + uniq("NoSuchType")} {
		wantErr(t, c.get("/api/v2/audit?"+unknown), "not_found", "", 404)
	}
	for _, path := range []string{"/api/v2/audit/999999999", "/api/v2/audit/abc", "/api/v2/audit/-1"} {
		wantErr(t, c.get(path), "not_found", "", 404)
	}
	if after := i64(t, obj(t, c.ok("GET", "/api/v2/audit?page_size=1", nil).JSON)["count"]); after != count {
		t.Errorf("bad requests added %d entries", after-count)
	}
}
