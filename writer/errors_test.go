package writer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/condcache/condcache"
)

// TestServiceErrors: application errors get the status of their code and
// their detail and field errors; anything else is a 500 whose cause is
// logged, not sent.
func TestServiceErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	cases := []struct {
		err    error
		status int
		code   string
		detail string
	}{
		{condcache.Errorf(condcache.ENotFound, "GlobalTag G doesn't exist"), 404, "not_found", "GlobalTag G doesn't exist"},
		{condcache.FieldError(condcache.EConflict, "name", "global tag with this name already exists."), 409, "conflict", "name: global tag with this name already exists."},
		{condcache.Errorf(condcache.ELocked, "Global Tag is frozen."), 409, "locked", "Global Tag is frozen."},
		{condcache.Errorf(condcache.EInvalid, "bad"), 400, "invalid", "bad"},
		{condcache.Errorf(condcache.EForbidden, "Permission denied."), 403, "forbidden", "Permission denied."},
		{fmt.Errorf("wrapped: %w", condcache.Errorf(condcache.EUnavailable, "Redis is down.")), 503, "unavailable", "Redis is down."},
		{errors.New("sql: connection to postgres://u:hunter2@db failed"), 500, "internal", "Internal error."},
		{condcache.Errorf(condcache.EInternal, "invariant broken at row 5"), 500, "internal", "Internal error."},
		{fmt.Errorf("commit: %w", context.DeadlineExceeded), 503, "unavailable", "The database did not answer in time."},
	}
	for _, c := range cases {
		s.svc.err = c.err
		r := s.do("DELETE", "deleteGlobalTag/G", noBody)
		wantError(t, c.err.Error(), r, c.status, c.code, c.detail)
		if c.code == "conflict" {
			wantField(t, "conflict", r, "name", "global tag with this name already exists.")
		}
		if c.status == 503 && string(r.header.Peek("Retry-After")) == "" {
			t.Errorf("%v: 503 without Retry-After", c.err)
		}
		if c.status == 500 && strings.Contains(r.body, "hunter2") {
			t.Errorf("the internal error leaks: %s", r.body)
		}
		s.svc.Calls()
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "invariant broken at row 5") || !strings.Contains(logs, "level=ERROR") {
		t.Errorf("internal errors are not logged as errors:\n%s", logs)
	}
	if strings.Contains(logs, "hunter2") {
		t.Errorf("the log holds a password:\n%s", logs)
	}
	if strings.Contains(logs, "level=ERROR msg=\"write failed\" route=DeleteGlobalTag path=/api/cdb_rest/deleteGlobalTag/G err=\"not_found") {
		t.Errorf("application errors are logged as errors:\n%s", logs)
	}
}

// TestBulkMissingList: a list named in a bulk body that does not exist is
// bad input (400), while the other service errors keep their status.
func TestBulkMissingList(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	body := `[{"payload_url":"u","major_iov":0,"minor_iov":0,"payload_list":"nosuch"}]`
	s.svc.err = condcache.Errorf(condcache.ENotFound, `element 0 (payload_url u): PayloadList "nosuch" not found.`)
	wantError(t, "missing list", s.do("POST", "bulk_piov", body), 400, "invalid", `element 0 (payload_url u): PayloadList "nosuch" not found.`)
	s.svc.err = condcache.Errorf(condcache.ELocked, "element 0 (payload_url u): Global Tag G of PayloadList L is frozen: bulk loads into it are refused.")
	wantError(t, "frozen", s.do("POST", "bulk_piov", body), 409, "locked", "")
	// Elsewhere not found stays 404.
	s.svc.err = condcache.Errorf(condcache.ENotFound, `PayloadList "nosuch" not found.`)
	wantError(t, "pl_attach", s.do("PUT", "pl_attach", `{"global_tag":"G","payload_list":"nosuch"}`), 404, "not_found", "")
}

func TestPanicRecovered(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	s.svc.panicMsg = "boom at postgres://u:hunter2@db"
	wantError(t, "panic", s.do("POST", "pt", `{"name":"P"}`), 500, "internal", "Internal error.")
	s.svc.panicMsg = ""
	if r := s.do("POST", "pt", `{"name":"P"}`); r.status != 200 {
		t.Errorf("after a panic: %d %s", r.status, r.body)
	}
	if logs := s.logs.String(); !strings.Contains(logs, "handler panic") || strings.Contains(logs, "hunter2") {
		t.Errorf("panic log:\n%s", logs)
	}
}
