package wire

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/condcache/condcache"
)

func TestAppendTime(t *testing.T) {
	cases := map[time.Time]string{
		time.Date(2026, 7, 23, 0, 5, 9, 831925000, time.UTC):             "2026-07-23T00:05:09.831925",
		time.Date(2026, 7, 23, 0, 5, 9, 0, time.UTC):                     "2026-07-23T00:05:09",
		time.Date(2026, 7, 23, 0, 5, 9, 100000000, time.UTC):             "2026-07-23T00:05:09.100000",
		time.Date(2026, 7, 23, 2, 5, 9, 1000, time.FixedZone("x", 7200)): "2026-07-23T00:05:09.000001",
	}
	for in, want := range cases {
		if got := string(AppendTime(nil, in)); got != want {
			t.Errorf("AppendTime(%v) = %s, want %s", in, got, want)
		}
	}
}

func TestLookupEncodingMatchesEncodingJSON(t *testing.T) {
	size := int64(12345)
	rev := "r<1>&\"q\"\n\u2028é"
	rows := []condcache.LookupRow{
		{PayloadType: "Beam", PayloadURL: "D0DXMagnets.dat", Checksum: "e99a", Start: condcache.Point{Major: 0, Minor: 999999}, End: condcache.OpenEnd},
		{PayloadType: "CEMC\x01\\", PayloadURL: "bad\xffutf8", Checksum: "", Size: &size, Start: condcache.Point{Major: -5, Minor: 1}, End: condcache.Point{Major: 7, Minor: 8}, Revision: &rev},
	}
	var positional [][]any
	if err := json.Unmarshal(AppendLookupRows(nil, rows), &positional); err != nil {
		t.Fatalf("positional rows are not JSON: %v", err)
	}
	if len(positional) != 2 || len(positional[0]) != 9 || positional[0][0] != "Beam" || positional[1][8] != rev {
		t.Errorf("positional rows decoded as %v", positional)
	}
	want := Marshal([]map[string]any{
		{"payload_type_name": "Beam", "payload_url": "D0DXMagnets.dat", "checksum": "e99a", "size": nil, "major_iov": 0, "minor_iov": 999999,
			"major_iov_end": int64(condcache.MaxIOV), "minor_iov_end": int64(condcache.MaxIOV), "revision": nil},
		{"payload_type_name": "CEMC\x01\\", "payload_url": "bad\xffutf8", "checksum": "", "size": size, "major_iov": -5, "minor_iov": 1,
			"major_iov_end": 7, "minor_iov_end": 8, "revision": rev},
	})
	var gotV, wantV any
	if err := json.Unmarshal(AppendLookupDicts(nil, rows), &gotV); err != nil {
		t.Fatalf("dict rows are not JSON: %v", err)
	}
	_ = json.Unmarshal(want, &wantV)
	if g, w := string(Marshal(gotV)), string(Marshal(wantV)); g != w {
		t.Errorf("dict rows\n got %s\nwant %s", g, w)
	}
	if got := string(AppendLookupRows(nil, rows[:1])); got != `[["Beam","D0DXMagnets.dat","e99a",null,0,999999,9223372036854775807,9223372036854775807,null]]` {
		t.Errorf("positional row = %s", got)
	}
	if got := string(AppendLookupRows(nil, nil)); got != "[]" {
		t.Errorf("empty lookup = %s, want []", got)
	}
}

func TestErrorBody(t *testing.T) {
	err := condcache.FieldError(condcache.EConflict, "name", "global tag with this name already exists.")
	var m map[string]any
	if e := json.Unmarshal(ErrorBody(err), &m); e != nil {
		t.Fatal(e)
	}
	if m["code"] != "conflict" || m["detail"] == "" {
		t.Errorf("error body %v lacks code/detail", m)
	}
	if names, ok := m["name"].([]any); !ok || names[0] != "global tag with this name already exists." {
		t.Errorf("error body %v lacks the DRF name array", m)
	}
}
