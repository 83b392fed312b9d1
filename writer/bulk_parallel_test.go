package writer

import (
	"fmt"
	"strings"
	"testing"
)

// TestLargeBulkBodyDecodedInOrder: a large bulk body, decoded in chunks on
// every core, reaches the service with its elements in body order, and a
// body with several bad elements is refused naming the lowest index, as
// when decoding one after the other.
func TestLargeBulkBodyDecodedInOrder(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	const n = 3 * parallelBulkElements
	elem := func(i int) string {
		return fmt.Sprintf(`{"payload_url":"u%d","major_iov":%d,"minor_iov":0,"payload_list":"L"}`, i, i)
	}
	var elems []string
	for i := range n {
		elems = append(elems, elem(i))
	}
	if r := s.do("POST", "bulk_piov", "["+strings.Join(elems, ",")+"]"); r.status != 200 || r.body != fmt.Sprintf(`{"created":%d}`, n) {
		t.Fatalf("bulk: %d %s", r.status, r.body)
	}
	s.svc.mu.Lock()
	call := s.svc.calls[len(s.svc.calls)-1]
	s.svc.mu.Unlock()
	for _, i := range []int{0, 1, n / 2, n - 1} {
		want := fmt.Sprintf(`{"L" "u%d" "" nil (%d,0)->`, i, i)
		if !strings.Contains(call, want) {
			t.Fatalf("element %d missing from the call: %.300s", i, call)
		}
	}
	if a, b := strings.Index(call, `"u100"`), strings.Index(call, `"u5000"`); a < 0 || b < a {
		t.Fatal("elements out of order")
	}
	// Bad elements in the last and the second chunk: the second's is named.
	bad := `{"payload_url":"bad","minor_iov":0,"payload_list":"L"}`
	elems[n-10], elems[n/2+7] = bad, bad
	r := s.do("POST", "bulk_piov", "["+strings.Join(elems, ",")+"]")
	if r.status != 400 || !strings.Contains(r.body, fmt.Sprintf("element %d:", n/2+7)) {
		t.Fatalf("two bad elements: %d %s", r.status, r.body)
	}
}
