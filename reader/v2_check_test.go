package reader

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
)

// fakeChecker answers Check with fixed findings, records the names asked
// for, and returns err when set.
type fakeChecker struct {
	mu       sync.Mutex
	findings []condcache.Finding
	err      error
	asked    []string
}

func (f *fakeChecker) Check(_ context.Context, globalTag string) ([]condcache.Finding, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, globalTag)
	return f.findings, f.err
}

func (f *fakeChecker) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

const checkPath = api.V2Prefix + "check"

func TestV2CheckAnswersTheFindings(t *testing.T) {
	ck := &fakeChecker{findings: []condcache.Finding{{
		Kind: condcache.FindingDuplicateStart, GlobalTag: "GT&", PayloadType: "Beam", PayloadList: "Beam_7",
		IDs: []int64{12, 15}, Detail: "IOVs 12 and 15 both start at (0,100); lookups answer 15",
	}}}
	r := newTestReader(t, &fakeService{}, Config{Checker: ck})
	// The last of repeated parameters counts, as in the compatible API.
	a := r.get(checkPath + "?gt=other&gt=GT%26")
	want := `{"global_tag":"GT&","count":1,"findings":[{"kind":"duplicate_start","severity":"warning","global_tag":"GT&","payload_type":"Beam",` +
		`"payload_list":"Beam_7","ids":[12,15],"detail":"IOVs 12 and 15 both start at (0,100); lookups answer 15"}]}`
	if a.status != 200 || a.body != want {
		t.Errorf("GET check = %d %s, want 200 %s", a.status, a.body, want)
	}
	if cc := string(a.header.Peek("Cache-Control")); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if ct := string(a.header.ContentType()); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if got := ck.names(); !slices.Equal(got, []string{"GT&"}) {
		t.Errorf("Check called with %q, want [GT&]", got)
	}

	ck.findings = []condcache.Finding{}
	if a := r.get(checkPath + "?gt=Clean"); a.status != 200 || a.body != `{"global_tag":"Clean","count":0,"findings":[]}` {
		t.Errorf("clean GT: %d %s", a.status, a.body)
	}
}

func TestV2CheckRefusesBadInput(t *testing.T) {
	ck := &fakeChecker{}
	r := newTestReader(t, &fakeService{}, Config{Checker: ck})
	for _, q := range []string{"", "?", "?gt", "?gt=", "?other=x", "?gt=x&gt=", "?gt=%00", "?gt=a%00b", "?gt=%ff"} {
		a := r.get(checkPath + q)
		detail, code := a.detail(t)
		if a.status != 400 || code != "invalid" || detail == "" {
			t.Errorf("GET check%s = %d %s, want 400 invalid with a detail", q, a.status, a.body)
		}
		if cc := string(a.header.Peek("Cache-Control")); cc != "no-store" {
			t.Errorf("GET check%s: Cache-Control %q, want no-store", q, cc)
		}
	}
	if got := ck.names(); len(got) != 0 {
		t.Errorf("the checker was asked %q for refused requests", got)
	}
}

func TestV2CheckErrors(t *testing.T) {
	ck := &fakeChecker{}
	r := newTestReader(t, &fakeService{}, Config{Checker: ck})
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{condcache.Errorf(condcache.ENotFound, `GlobalTag "x" not found.`), 404, "not_found"},
		{errors.New("dial postgres://login:hunter2@db/x: refused"), 500, "internal"},
	} {
		ck.mu.Lock()
		ck.err = c.err
		ck.mu.Unlock()
		a := r.get(checkPath + "?gt=x")
		if _, code := a.detail(t); a.status != c.status || code != c.code {
			t.Errorf("%v: %d %s, want %d %s", c.err, a.status, a.body, c.status, c.code)
		}
	}
	if a := newTestReader(t, &fakeService{}, Config{}).get(checkPath + "?gt=x"); a.status != 404 {
		t.Errorf("without a Checker: %d %s, want 404", a.status, a.body)
	}
}
