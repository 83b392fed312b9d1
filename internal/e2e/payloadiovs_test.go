package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// docs/compatibility.md "Payload IOVs" (routes 21–23), §2.14 + DESIGN decision 6 (route 24), §3.1, §3.2.

func TestPayloadIOVCreateAndRead(t *testing.T) {
	t.Parallel()
	both(t, "piov", "payload-iovs", func(t *testing.T, path string) {
		c := shared(t)
		u := uniqz("calib") + ".root"
		r := c.ok("POST", path, map[string]any{
			"payload_url": u, "checksum": "sha256:abcd", "major_iov": 0, "minor_iov": 1000,
			"major_iov_end": 0, "minor_iov_end": 2000,
			"payload_list": "ignored", "comb_iov": "7.0", "id": 1, "extra": "x",
		})
		m := obj(t, r.JSON)
		checkPIOV(t, m, IOV{u, P{0, 1000}, P{0, 2000}}, "")
		if m["comb_iov"] != "0.0000000000000001000" || m["checksum"] != "sha256:abcd" {
			t.Errorf("POST piov: %v", m)
		}
		id := i64(t, m["id"])
		for _, p := range []string{"piov/%d", "payload-iovs/%d"} {
			g := obj(t, c.ok("GET", fmt.Sprintf(p, id), nil).JSON)
			checkPIOV(t, g, IOV{u, P{0, 1000}, P{0, 2000}}, "")
			if g["inserted"] != m["inserted"] || g["checksum"] != "sha256:abcd" {
				t.Errorf("GET %s: %v, want %v", p, g, m)
			}
		}
		for _, p := range []string{"piov", "payload-iovs"} {
			found := false
			for _, e := range arr(t, c.ok("GET", p, nil).JSON) {
				em := obj(t, e)
				wantKeys(t, "PIOV in "+p, em, piovKeys...)
				if i64(t, em["id"]) == id {
					found = true
					checkPIOV(t, em, IOV{u, P{0, 1000}, P{0, 2000}}, "")
				}
			}
			if !found {
				t.Errorf("GET %s lacks IOV %d", p, id)
			}
		}
		wantErr(t, c.get(fmt.Sprintf("%s/999999999999", path)), "not_found", "Not found.", 404)

		// Defaults: each absent end key is MAX, independently.
		for _, tc := range []struct {
			body map[string]any
			want IOV
		}{
			{map[string]any{"major_iov": 3, "minor_iov": 4}, IOV{"", P{3, 4}, open}},
			{map[string]any{"major_iov": 3, "minor_iov": 4, "minor_iov_end": 9}, IOV{"", P{3, 4}, P{maxI, 9}}},
			{map[string]any{"major_iov": 3, "minor_iov": 4, "major_iov_end": 9}, IOV{"", P{3, 4}, P{9, maxI}}},
			{map[string]any{"major_iov": 1.0, "minor_iov": 2.0, "major_iov_end": 3.0, "minor_iov_end": 0}, IOV{"", P{1, 2}, P{3, 0}}},
			{map[string]any{"major_iov": -5, "minor_iov": 1, "major_iov_end": -5, "minor_iov_end": 2}, IOV{"", P{-5, 1}, P{-5, 2}}},
			{map[string]any{"major_iov": 1000000000, "minor_iov": 1}, IOV{"", P{1000000000, 1}, open}},
			{map[string]any{"major_iov": 1000000000, "minor_iov": 9999999999}, IOV{"", P{1000000000, 9999999999}, open}},
			{map[string]any{"major_iov": json.Number(maxStr), "minor_iov": 0}, IOV{"", P{maxI, 0}, open}},
			{map[string]any{"major_iov": json.Number("-9223372036854775808"), "minor_iov": 0}, IOV{"", P{-1 << 63, 0}, open}},
		} {
			u := uniqz("def")
			tc.body["payload_url"], tc.body["checksum"] = u, "c"
			tc.want.URL = u
			r := c.do("POST", path, tc.body)
			if r.Status != 200 {
				t.Errorf("%s: want 200", r)
				continue
			}
			checkPIOV(t, obj(t, r.JSON), tc.want, "")
		}
		// The comb_iov strings of docs/compatibility.md "JSON shapes" / §1.7, computed exactly.
		for _, tc := range []struct {
			M, m int64
			want string
		}{
			{-5, 1, "-4.9999999999999999999"},
			{1000000000, 1, "1000000000.0000000000000000001"},
			{1000000000, 9999999999, "1000000000.0000000009999999999"},
			{0, 0, "0.0000000000000000000"},
		} {
			id := c.mkPIOV(uniqz("cmb"), P{tc.M, tc.m}, open)
			if got := c.piovByID(id)["comb_iov"]; got != tc.want {
				t.Errorf("comb_iov of %v: %v, want %s", P{tc.M, tc.m}, got, tc.want)
			}
		}
	})
}

func TestPayloadIOVCreateErrors(t *testing.T) {
	t.Parallel()
	c := shared(t)
	prefix := uniqz("badiov")
	n := 0
	next := func() string { n++; return fmt.Sprintf("%s_%d", prefix, n) }
	base := func() map[string]any {
		return map[string]any{"payload_url": next(), "checksum": "c", "major_iov": 0, "minor_iov": 100}
	}
	with := func(kv ...any) map[string]any {
		b := base()
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "<delete>" {
				delete(b, kv[i].(string))
			} else {
				b[kv[i].(string)] = kv[i+1]
			}
		}
		return b
	}
	cases := []struct {
		name        string
		body        any
		field, want string
	}{
		{"no url", with("payload_url", "<delete>"), "payload_url", "This field is required."},
		{"blank url", with("payload_url", ""), "payload_url", "This field may not be blank."},
		{"url 256", with("payload_url", prefix+strings.Repeat("u", 256-len(prefix))), "payload_url", "Ensure this field has no more than 255 characters."},
		{"no checksum", with("checksum", "<delete>"), "checksum", "This field is required."},
		{"blank checksum", with("checksum", ""), "checksum", "This field may not be blank."},
		{"checksum 256", with("checksum", strings.Repeat("c", 256)), "checksum", "Ensure this field has no more than 255 characters."},
		{"no major", with("major_iov", "<delete>"), "major_iov", "This field is required."},
		{"no minor", with("minor_iov", "<delete>"), "minor_iov", "This field is required."},
		{"numeric string major", with("major_iov", "0"), "major_iov", ""},
		{"garbage major", with("major_iov", "abc"), "major_iov", ""},
		{"fraction major", with("major_iov", 1.5), "major_iov", "A valid integer is required."},
		{"fraction minor_end", with("minor_iov_end", 2.5), "minor_iov_end", "A valid integer is required."},
		{"bool minor", with("minor_iov", true), "minor_iov", ""},
		{"null major", with("major_iov", nil), "major_iov", ""},
		{"object major", with("major_iov", map[string]any{}), "major_iov", ""},
		{"major_end over int64", with("major_iov_end", json.Number("9223372036854775808")), "major_iov_end", "Ensure this value is less than or equal to 9223372036854775807."},
		{"major under int64", with("major_iov", json.Number("-9223372036854775809")), "major_iov", "Ensure this value is greater than or equal to -9223372036854775808."},
		{"list body", []any{base()}, "non_field_errors", "Invalid data. Expected a dictionary, but got list."},
	}
	for _, tc := range cases {
		r := c.do("POST", "piov", tc.body)
		wantErr(t, r, "invalid", "", 400)
		wantField(t, r, tc.field, tc.want)
	}
	// Ranges (continuous: end must be > start).
	for _, tc := range []struct{ s, e P }{
		{P{0, 100}, P{0, 100}},
		{P{0, 100}, P{0, 99}},
		{P{5, 100}, P{4, 200}},
		{P{-1, 0}, P{-2, 5}},
	} {
		u := next()
		r := c.do("POST", "piov", map[string]any{"payload_url": u, "checksum": "c",
			"major_iov": tc.s.M, "minor_iov": tc.s.m, "major_iov_end": tc.e.M, "minor_iov_end": tc.e.m})
		wantErr(t, r, "invalid", fmt.Sprintf("%s PayloadIOV ending IOVs should be greater or equal than starting. Provided end IOVs: major_iov: %d major_iov_end: %d minor_iov: %d minor_iov_end: %d",
			u, tc.s.M, tc.e.M, tc.s.m, tc.e.m), 400)
	}
	if got := c.countPIOVs(prefix); got != 0 {
		t.Errorf("refused POST piov requests created %d IOVs", got)
	}
	// Just valid: end one minor after start.
	c.mkPIOV(next(), P{0, 100}, P{0, 101})
}

func TestBulkPayloadIOVs(t *testing.T) {
	t.Parallel()
	both(t, "bulk_piov", "payload-iovs/bulk", func(t *testing.T, path string) {
		c := shared(t)
		gt, pt := c.mkGT("unlocked"), c.mkPT()
		pl := c.listOf(gt, pt)

		r := c.ok("POST", path, []any{})
		if m := obj(t, r.JSON); len(m) != 1 || i64(t, m["created"]) != 0 {
			t.Errorf("bulk []: %s, want {\"created\":0}", r.Body)
		}

		prefix := uniqz("bulk")
		u1, u2, u3 := prefix+"_1", prefix+"_2", prefix+"_3"
		r = c.ok("POST", path, []any{
			map[string]any{"payload_url": u1, "major_iov": 0, "minor_iov": 0, "payload_list": pl},
			map[string]any{"payload_url": u2, "major_iov": 0, "minor_iov": 10, "payload_list": pl, "checksum": "given"},
			map[string]any{"payload_url": u3, "major_iov": 1, "minor_iov": 0, "payload_list": pl, "checksum": "c3",
				"major_iov_end": 2, "minor_iov_end": 5, "size": 4096},
		})
		if m := obj(t, r.JSON); len(m) != 1 || i64(t, m["created"]) != 3 {
			t.Errorf("bulk: %s, want {\"created\":3}", r.Body)
		}
		wantIOVs(t, "bulk rows", c.iovsOf(gt, pt), []IOV{{u1, P{0, 0}, open}, {u2, P{0, 10}, open}, {u3, P{1, 0}, P{2, 5}}})
		sums := map[string]any{}
		for _, e := range arr(t, obj(t, c.ok("GET", "piov?page=1&search="+prefix, nil).JSON)["results"]) {
			em := obj(t, e)
			sums[str(t, em["payload_url"])] = em["checksum"]
		}
		if sums[u1] != "" || sums[u2] != "given" || sums[u3] != "c3" {
			t.Errorf("bulk checksums %v; want \"\" by default and provided ones honoured", sums)
		}
		full := c.ok("GET", "globalTag/"+gt, nil)
		for _, l := range arr(t, obj(t, full.JSON)["payload_lists"]) {
			for _, v := range arr(t, obj(t, l)["payload_iov"]) {
				vm := obj(t, v)
				if vm["comb_iov"] != comb(i64(t, vm["major_iov"]), i64(t, vm["minor_iov"])) {
					t.Errorf("bulk comb_iov %v for %v", vm["comb_iov"], vm)
				}
			}
		}
		if got := c.lookupURLs(gt, 0, 15); got[pt] != u2 {
			t.Errorf("lookup after bulk: %v", got)
		}
		// size is honoured (DESIGN decision 6); absent, it is null.
		if row := c.lookup(gt, 1, 3)[pt]; row.URL != u3 || fmt.Sprint(row.Size) != "4096" || row.Checksum != "c3" {
			t.Errorf("bulk element with size: lookup row %+v, want %s with size 4096, checksum c3", row, u3)
		}
		if row := c.lookup(gt, 0, 5)[pt]; row.URL != u1 || row.Size != nil || row.Checksum != "" {
			t.Errorf("bulk element without size: lookup row %+v, want %s with size null, checksum \"\"", row, u1)
		}

		// Any bad element rejects the whole batch; nothing is written.
		before := c.snap(gt)
		bad := prefix + "_bad"
		good := map[string]any{"payload_url": bad, "major_iov": 7, "minor_iov": 0, "payload_list": pl}
		withBad := func(e any) []any { return []any{good, e, good} }
		for _, body := range []any{
			withBad(map[string]any{"payload_url": bad, "major_iov": 7, "minor_iov": 1, "payload_list": uniqz("nosuch")}),
			withBad(map[string]any{"major_iov": 7, "minor_iov": 1, "payload_list": pl}),
			withBad(map[string]any{"payload_url": bad, "minor_iov": 1, "payload_list": pl}),
			withBad(map[string]any{"payload_url": bad, "major_iov": 7, "minor_iov": 1}),
			withBad(map[string]any{"payload_url": bad, "major_iov": "7", "minor_iov": 1, "payload_list": pl}),
			withBad(map[string]any{"payload_url": bad, "major_iov": 7.5, "minor_iov": 1, "payload_list": pl}),
			withBad(map[string]any{"payload_url": strings.Repeat("x", 256), "major_iov": 7, "minor_iov": 1, "payload_list": pl}),
			withBad(map[string]any{"payload_url": bad, "major_iov": 7, "minor_iov": 1, "payload_list": pl, "major_iov_end": 6, "minor_iov_end": 0}),
			withBad("string element"),
			withBad(nil),
			good, // an object, not an array
			"text",
		} {
			r := c.do("POST", path, body)
			wantErr(t, r, "invalid", "", 400) // DESIGN decision 6: the whole batch, 400
		}
		c.wantUnchanged(gt, before)
		if got := c.countPIOVs(bad); got != 0 {
			t.Errorf("refused bulk requests created %d IOVs", got)
		}
	})
}
