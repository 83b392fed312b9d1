package reader

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
)

func TestServiceErrorsMapToStatuses(t *testing.T) {
	svc := &fakeService{}
	r := newTestReader(t, svc, Config{})
	cases := []struct {
		err    error
		status int
		code   string
		detail string
	}{
		{condcache.Errorf(condcache.EInvalid, "bad"), 400, "invalid", "bad"},
		{condcache.Errorf(condcache.ENotFound, "gone"), 404, "not_found", "gone"},
		{condcache.Errorf(condcache.EConflict, "dup"), 409, "conflict", "dup"},
		{condcache.Errorf(condcache.ELocked, "Global Tag is locked."), 409, "locked", "Global Tag is locked."},
		{condcache.Errorf(condcache.EForbidden, "Permission denied."), 403, "forbidden", "Permission denied."},
		{fmt.Errorf("wrapped: %w", condcache.Errorf(condcache.EUnavailable, "no backend")), 503, "unavailable", "no backend"},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), 503, "unavailable", "The database did not answer in time."},
		{context.Canceled, 503, "unavailable", "The database did not answer in time."},
		{errors.New("dial postgres://login:hunter2@db:5432/x: refused"), 500, "internal", "Internal error."},
		{condcache.Errorf(condcache.EInternal, "SELECT secret internals"), 500, "internal", "Internal error."},
	}
	paths := []string{"gtstatus", "gt", "gt/1", "globalTag/x", "globalTag/x?light", "globalTags", "globalTags?page",
		"gtPayloadLists/x", "pt", "pt?page", "pl", "pl?page", "pl/1", "payload-lists/by-name/x", "piov", "piov?page",
		"piov/1", "payloadiovs/?gtName=x&majorIOV=1&minorIOV=2"}
	for _, c := range cases {
		svc.mu.Lock()
		svc.err = c.err
		svc.mu.Unlock()
		for _, p := range paths {
			a := r.get(api.Prefix + p)
			detail, code := a.detail(t)
			if a.status != c.status || code != c.code || detail != c.detail {
				t.Errorf("%v: GET %s = %d %s, want %d %s %q", c.err, p, a.status, a.body, c.status, c.code, c.detail)
			}
			if c.status == 503 && string(a.header.Peek("Retry-After")) == "" {
				t.Errorf("%v: GET %s: 503 without Retry-After", c.err, p)
			}
		}
	}
	logs := r.logs.String()
	if strings.Contains(logs, "hunter2") {
		t.Errorf("a password reached the logs:\n%s", logs)
	}
	if !strings.Contains(logs, "route=GlobalTagStatuses") || !strings.Contains(logs, "SELECT secret internals") {
		t.Errorf("internal errors are not logged with their route:\n%s", logs)
	}
}

func TestPanicIsA500(t *testing.T) {
	svc := &fakeService{panicMsg: "boom"}
	r := newTestReader(t, svc, Config{})
	a := r.get(api.Prefix + "gtstatus")
	if detail, code := a.detail(t); a.status != 500 || code != "internal" || detail != "Internal error." {
		t.Errorf("panic answered %d %s", a.status, a.body)
	}
	svc.mu.Lock()
	svc.panicMsg = ""
	svc.mu.Unlock()
	if a := r.get(api.Prefix + "gtstatus"); a.status != 200 {
		t.Errorf("after a panic: %d %s", a.status, a.body)
	}
	if !strings.Contains(r.logs.String(), "boom") {
		t.Error("the panic was not logged")
	}
}

func TestRequestErrorsAreJSON(t *testing.T) {
	r := newTestReader(t, &fakeService{}, Config{MaxRequestBodySize: 1024, WriterURL: "http://127.0.0.1:1"})
	a := r.do("POST", api.Prefix+"bulk_piov", make([]byte, 4096), "Content-Type", "application/json")
	if detail, _ := a.detail(t); a.status != 413 || detail != "Request body too large." {
		t.Errorf("oversized body answered %d %s", a.status, a.body)
	}
}
