package writer

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestSummarizeBulkBody: a bulk body is summarised as its length and its
// first three elements with secrets removed, without decoding the rest;
// a body that is not JSON (also past the preview) is its size.
func TestSummarizeBulkBody(t *testing.T) {
	var elems []string
	for i := range 10_000 {
		elems = append(elems, fmt.Sprintf(`{"payload_url":"postgres://u:secret%d@h/db","major_iov":%d}`, i, i))
	}
	body := " [" + strings.Join(elems, ",") + "] "
	got, err := json.Marshal(summarizeBody([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Elements int              `json:"elements"`
		First    []map[string]any `json:"first"`
	}
	if err := json.Unmarshal(got, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Elements != 10_000 || len(sum.First) != 3 {
		t.Fatalf("summary %s: want 10000 elements and 3 first", got)
	}
	if strings.Contains(string(got), "secret") {
		t.Fatalf("summary keeps a password: %s", got)
	}
	if sum.First[2]["major_iov"] != float64(2) {
		t.Fatalf("third element %v", sum.First[2])
	}
	for _, bad := range []string{`[1,2,3,4,{]`, `[1,2] x`, `[1,2`} {
		got, _ := json.Marshal(summarizeBody([]byte(bad)))
		if string(got) != fmt.Sprintf(`{"bytes":%d,"json":false}`, len(bad)) {
			t.Errorf("%s: summary %s", bad, got)
		}
	}
	// Strings with brackets, commas and escaped quotes, nested values.
	tricky := `[1,2,3,{"a":"x\\\"],[","b":[1,{"c":2}]},"],\\",[[],[]],4]`
	got, _ = json.Marshal(summarizeBody([]byte(tricky)))
	if !strings.Contains(string(got), `"elements":7`) {
		t.Errorf("%s: summary %s", tricky, got)
	}
	got, _ = json.Marshal(summarizeBody([]byte(`[]`)))
	if string(got) != `{"elements":0,"first":[]}` {
		t.Errorf("empty array: %s", got)
	}
}
