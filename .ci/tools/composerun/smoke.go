package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"
)

// smoke checks a running stack from outside, as clients see it: readiness,
// lookups through nginx and a reader, a write-then-read freshness check
// through nginx's cache, nginx serving a frozen GT itself, and the C++
// client's workflow (internal/e2e TestClientWorkflow's requests, through
// nginx). It prints "N passed, N failed".
//
// writesWithin is how long writes may be refused first: right after a Redis
// master failover the writer refuses writes (503 unavailable, nothing
// written) until its client follows the new master, as
// internal/faults TestRedisMasterFailover allows; the checks start once one
// is accepted.
func smoke(ctx context.Context, nginx, reader, writer string, writesWithin time.Duration) error {
	s := &smoker{ctx: ctx, http: &http.Client{Timeout: 30 * time.Second}}
	for _, u := range []string{writer + "/readyz", reader + "/readyz", nginx + "/readyz"} {
		if err := s.waitOK(u, 2*time.Minute); err != nil {
			return err
		}
	}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	if writesWithin > 0 {
		if err := s.waitWritable(nginx, "probe"+suffix, writesWithin); err != nil {
			return err
		}
	}
	s.check("lookups", func() error { return s.lookups(nginx, reader, "smoke"+suffix) })
	s.check("write-then-read through nginx", func() error { return s.freshness(nginx, "fresh"+suffix) })
	s.check("nginx caches a frozen GT", func() error { return s.frozen(nginx, "frozen"+suffix) })
	s.check("C++ client workflow", func() error { return s.workflow(nginx, "cpp"+suffix) })
	fmt.Printf("composerun smoke: %d passed, %d failed\n", s.passed, s.failed)
	if s.failed > 0 {
		return fmt.Errorf("%d checks failed", s.failed)
	}
	return nil
}

type smoker struct {
	ctx            context.Context
	http           *http.Client
	passed, failed int
}

func (s *smoker) check(name string, f func() error) {
	began := time.Now()
	if err := f(); err != nil {
		s.failed++
		fmt.Printf("--- FAIL: %s (%.1fs): %v\n", name, time.Since(began).Seconds(), err)
		return
	}
	s.passed++
	fmt.Printf("--- PASS: %s (%.1fs)\n", name, time.Since(began).Seconds())
}

func (s *smoker) waitOK(u string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		res, err := s.http.Get(u)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("HTTP %d", res.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %v", u, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitWritable creates GT name until the writer accepts it, retrying only
// the 503 "unavailable" refusals (nothing written) for at most within; it
// prints how long writes were refused.
func (s *smoker) waitWritable(base, name string, within time.Duration) error {
	began := time.Now()
	refused := 0
	for {
		err := s.gt(base, name)
		if err == nil {
			fmt.Printf("composerun smoke: writes accepted after %d refusals (%.1fs)\n", refused, time.Since(began).Seconds())
			return nil
		}
		if !strings.Contains(err.Error(), "HTTP 503 ") || !strings.Contains(err.Error(), `"code":"unavailable"`) {
			return fmt.Errorf("waiting for writes: %v", err)
		}
		refused++
		if time.Since(began) > within {
			return fmt.Errorf("writes still refused after %s (%d refusals): %v", within, refused, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type answer struct {
	status int
	body   []byte
	header http.Header
}

func (s *smoker) do(method, u string, body any) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(s.ctx, method, u, rd)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return answer{res.StatusCode, b, res.Header}, err
}

// ok sends a request to base/api/cdb_rest/path and wants 200.
func (s *smoker) ok(base, method, path string, body any) (any, error) {
	a, err := s.do(method, base+"/api/cdb_rest/"+path, body)
	if err != nil {
		return nil, err
	}
	if a.status != 200 {
		return nil, fmt.Errorf("%s %s: HTTP %d %s", method, path, a.status, a.body)
	}
	var v any
	_ = json.Unmarshal(a.body, &v)
	return v, nil
}

func (s *smoker) want(base, method, path string, body any, status int) error {
	a, err := s.do(method, base+"/api/cdb_rest/"+path, body)
	if err != nil {
		return err
	}
	if a.status != status {
		return fmt.Errorf("%s %s: HTTP %d %s, want %d", method, path, a.status, a.body, status)
	}
	return nil
}

// gt makes a GT with status unlocked.
func (s *smoker) gt(base, name string) error {
	for _, st := range []string{"unlocked", "locked", "frozen"} {
		a, err := s.do("POST", base+"/api/cdb_rest/gtstatus", map[string]any{"name": st})
		if err != nil || (a.status != 200 && a.status != 409 && a.status != 400) {
			return fmt.Errorf("gtstatus %s: %v %d %s", st, err, a.status, a.body)
		}
	}
	_, err := s.ok(base, "POST", "gt", map[string]any{"name": name, "status": "unlocked", "author": "smoke"})
	return err
}

// insert is the C++ client's insert: list if missing, pl_attach, piov,
// piov_attach; end nil is open-ended.
func (s *smoker) insert(base, gt, pt, u string, major, minor int64, end *[2]int64) (int, error) {
	v, err := s.ok(base, "GET", "gtPayloadLists/"+url.PathEscape(gt), nil)
	if err != nil {
		return 0, err
	}
	pl, _ := v.(map[string]any)[pt].(string)
	if pl == "" {
		v, err := s.ok(base, "POST", "pl", map[string]any{"payload_type": pt})
		if err != nil {
			return 0, err
		}
		pl = v.(map[string]any)["name"].(string)
		if _, err := s.ok(base, "PUT", "pl_attach", map[string]any{"payload_list": pl, "global_tag": gt}); err != nil {
			return 0, err
		}
	}
	body := map[string]any{"payload_url": u, "major_iov": major, "minor_iov": minor, "checksum": "ck"}
	if end != nil {
		body["major_iov_end"], body["minor_iov_end"] = end[0], end[1]
	}
	v, err = s.ok(base, "POST", "piov", body)
	if err != nil {
		return 0, err
	}
	id := v.(map[string]any)["id"]
	a, err := s.do("PUT", base+"/api/cdb_rest/piov_attach", map[string]any{"payload_list": pl, "piov_id": id})
	return a.status, err
}

func (s *smoker) mustInsert(base, gt, pt, u string, major, minor int64, end *[2]int64) error {
	status, err := s.insert(base, gt, pt, u, major, minor, end)
	if err == nil && status != 200 {
		err = fmt.Errorf("insert %s into %s/%s: HTTP %d", u, gt, pt, status)
	}
	return err
}

// lookup returns type → payload URL at (major, minor).
func (s *smoker) lookup(base, gt string, major, minor int64) (map[string]string, answer, error) {
	a, err := s.do("GET", fmt.Sprintf("%s/api/cdb_rest/payloadiovs/?gtName=%s&majorIOV=%d&minorIOV=%d", base, url.QueryEscape(gt), major, minor), nil)
	if err != nil {
		return nil, a, err
	}
	if a.status != 200 {
		return nil, a, fmt.Errorf("lookup %s %d.%d: HTTP %d %s", gt, major, minor, a.status, a.body)
	}
	var rows [][]any
	if err := json.Unmarshal(a.body, &rows); err != nil {
		return nil, a, err
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r[0].(string)] = r[1].(string)
	}
	return out, a, nil
}

func (s *smoker) lookups(nginx, reader, gt string) error {
	if err := s.gt(nginx, gt); err != nil {
		return err
	}
	for i, pt := range []string{"Beam", "Calo", "Track"} {
		pt = gt + pt
		if _, err := s.ok(nginx, "POST", "pt", map[string]any{"name": pt}); err != nil {
			return err
		}
		if err := s.mustInsert(nginx, gt, pt, fmt.Sprintf("%s_%d.root", pt, i), 100, 0, nil); err != nil {
			return err
		}
	}
	for _, base := range []string{nginx, reader} {
		for _, run := range []int64{99, 100, 150, 1 << 40} {
			got, _, err := s.lookup(base, gt, run, 0)
			if err != nil {
				return err
			}
			if want := map[bool]int{true: 3, false: 0}[run >= 100]; len(got) != want {
				return fmt.Errorf("lookup at run %d through %s: %v, want %d types", run, base, got, want)
			}
		}
	}
	return nil
}

// freshness: every acknowledged write is in the next lookup through nginx,
// although nginx and Redis held the previous answer.
func (s *smoker) freshness(nginx, gt string) error {
	if err := s.gt(nginx, gt); err != nil {
		return err
	}
	pt := gt + "T"
	if _, err := s.ok(nginx, "POST", "pt", map[string]any{"name": pt}); err != nil {
		return err
	}
	for i := range 20 {
		u := fmt.Sprintf("%s_%d.root", gt, i)
		if err := s.mustInsert(nginx, gt, pt, u, int64(i), 0, nil); err != nil {
			return err
		}
		for k := range 3 {
			got, a, err := s.lookup(nginx, gt, 1000, 0)
			if err != nil {
				return err
			}
			if got[pt] != u {
				return fmt.Errorf("round %d, lookup %d after the write: %q (X-Cache-Status %s), want %q", i, k, got[pt], a.header.Get("X-Cache-Status"), u)
			}
		}
	}
	return nil
}

// frozen: a frozen GT's lookups are served by nginx itself.
func (s *smoker) frozen(nginx, gt string) error {
	if err := s.gt(nginx, gt); err != nil {
		return err
	}
	pt := gt + "T"
	if _, err := s.ok(nginx, "POST", "pt", map[string]any{"name": pt}); err != nil {
		return err
	}
	if err := s.mustInsert(nginx, gt, pt, gt+".root", 1, 0, nil); err != nil {
		return err
	}
	if _, err := s.ok(nginx, "PUT", "gt_change_status/"+gt+"/frozen", nil); err != nil {
		return err
	}
	var statuses []string
	for range 3 {
		got, a, err := s.lookup(nginx, gt, 5, 0)
		if err != nil {
			return err
		}
		if got[pt] != gt+".root" {
			return fmt.Errorf("frozen lookup: %v", got)
		}
		statuses = append(statuses, a.header.Get("X-Cache-Status"))
	}
	if statuses[len(statuses)-1] != "HIT" {
		return fmt.Errorf("nginx did not cache the frozen GT's lookup: X-Cache-Status %v", statuses)
	}
	return nil
}

// workflow is internal/e2e TestClientWorkflow's sequence, abridged.
func (s *smoker) workflow(base, gt string) error {
	if err := s.want(base, "DELETE", "deleteGlobalTag/"+gt, nil, 404); err != nil {
		return err
	}
	if err := s.gt(base, gt); err != nil {
		return err
	}
	if err := s.want(base, "POST", "gt", map[string]any{"name": gt, "status": "unlocked", "author": "cppuser"}, 409); err != nil {
		return err
	}
	ptA, ptB, ptC := gt+"A", gt+"B", gt+"C"
	for _, pt := range []string{ptA, ptB, ptC} {
		if _, err := s.ok(base, "POST", "pt", map[string]any{"name": pt}); err != nil {
			return err
		}
	}
	if err := s.want(base, "POST", "pt", map[string]any{"name": ptA}, 409); err != nil {
		return err
	}
	steps := []struct {
		pt, u    string
		from     [2]int64
		end      *[2]int64
		inserted bool
	}{
		{ptA, "a1", [2]int64{10, 0}, nil, true}, {ptA, "a2", [2]int64{20, 0}, nil, true},
		{ptA, "a3", [2]int64{15, 0}, &[2]int64{17, 0}, true}, // splits a1
		{ptB, "b1", [2]int64{0, 0}, &[2]int64{5, 0}, true}, {ptC, "c1", [2]int64{12, 0}, nil, true},
	}
	for _, st := range steps {
		if err := s.mustInsert(base, gt, st.pt, st.u, st.from[0], st.from[1], st.end); err != nil {
			return err
		}
	}
	for _, tc := range []struct {
		major, minor int64
		want         map[string]string
	}{
		{-1, 0, map[string]string{}},
		{9, 0, map[string]string{ptB: "b1"}},
		{10, 3, map[string]string{ptA: "a1", ptB: "b1"}},
		{16, 0, map[string]string{ptA: "a3", ptB: "b1", ptC: "c1"}},
		{18, 0, map[string]string{ptA: "a1", ptB: "b1", ptC: "c1"}},
		{99, 0, map[string]string{ptA: "a2", ptB: "b1", ptC: "c1"}},
	} {
		got, _, err := s.lookup(base, gt, tc.major, tc.minor)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, tc.want) {
			return fmt.Errorf("lookup at %d.%d: %v, want %v", tc.major, tc.minor, got, tc.want)
		}
	}
	if _, err := s.ok(base, "DELETE", fmt.Sprintf("deletePayloadIOV/%s/%s/12/0", gt, ptC), nil); err != nil {
		return err
	}
	if got, _, err := s.lookup(base, gt, 16, 0); err != nil || !reflect.DeepEqual(got, map[string]string{ptA: "a3", ptB: "b1"}) {
		return fmt.Errorf("after deleting the only IOV of %s: %v %v", ptC, got, err)
	}
	// Lock: deleting fails, the same start is refused, open after open is fine.
	if _, err := s.ok(base, "PUT", "gt_change_status/"+gt+"/locked", nil); err != nil {
		return err
	}
	if err := s.want(base, "DELETE", "deleteGlobalTag/"+gt, nil, 409); err != nil {
		return err
	}
	if status, err := s.insert(base, gt, ptA, "dup", 20, 0, nil); err != nil || status != 409 {
		return fmt.Errorf("insert at an existing start of a locked GT: %d %v, want 409", status, err)
	}
	if err := s.mustInsert(base, gt, ptA, "a4", 30, 0, nil); err != nil {
		return err
	}
	if _, err := s.ok(base, "PUT", "gt_change_status/"+gt+"/unlocked", nil); err != nil {
		return err
	}
	clone := gt + "Clone"
	if _, err := s.ok(base, "POST", "cloneGlobalTag/"+gt+"/"+clone, nil); err != nil {
		return err
	}
	for major := int64(-1); major <= 32; major++ {
		a, _, err1 := s.lookup(base, gt, major, 0)
		b, _, err2 := s.lookup(base, clone, major, 0)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) {
			return fmt.Errorf("lookup at %d: source %v, clone %v (%v %v)", major, a, b, err1, err2)
		}
	}
	for _, g := range []string{gt, clone} {
		v, err := s.ok(base, "DELETE", "deleteGlobalTag/"+g, nil)
		if err != nil {
			return err
		}
		if d, _ := v.(map[string]any)["detail"].(string); !strings.Contains(d, "deleted") {
			return fmt.Errorf("delete %s: %v", g, v)
		}
	}
	return nil
}
