package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Belle II's basf2 reads conditions from an HSF server through
// HSFCentralMetadataProvider (framework/database in basf2), over libcurl
// with redirects followed, "Accept: application/json", transparent
// compression, and any status >= 400 an error (CURLOPT_FAILONERROR). Its
// calls, replayed here exactly (docs/compatibility.md "Belle II client"):
//
//  1. GET <base>/gtstatus: an array of objects with a string "name".
//  2. GET <base>/user_settings/CDB_PAYLOAD_BASE_URL (no trailing slash: the
//     301 to the slashed path is followed): {"CDB_PAYLOAD_BASE_URL": …}.
//  3. GET <base>/globalTag/<escaped name>: status.name.
//  4. GET <base>/payloadiovs/?gtName=<escaped>&majorIOV=<exp>&minorIOV=<run>
//     &shape=dict: an array of objects; major_iov_end and minor_iov_end
//     equal to 2^63-1 are read as -1 (open), the bounds as ints, the
//     payload kept when its inclusive IoV contains (exp, run), and
//     "revision" converted from a string of digits.

// belle2Client is the client's HTTP behaviour.
type belle2Client struct {
	t    *testing.T
	base string // …/api/cdb_rest
	http *http.Client
}

func (c *belle2Client) get(path string) any {
	c.t.Helper()
	req, err := http.NewRequest("GET", strings.TrimRight(c.base, "/")+"/"+strings.TrimLeft(path, "/"), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req) // follows redirects, as CURLOPT_FOLLOWLOCATION
	if err != nil {
		c.t.Fatalf("%s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if res.StatusCode >= 400 { // CURLOPT_FAILONERROR: the client throws
		c.t.Fatalf("%s: HTTP %d %s (basf2 would fail here)", path, res.StatusCode, body)
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(body)) // json::parse keeps 64-bit integers exact
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		c.t.Fatalf("%s: %v in %s", path, err, body)
	}
	return v
}

// belle2Payload is what updatePayloads keeps of a row.
type belle2Payload struct {
	name, url, base, checksum string
	expLow, runLow            int
	expHigh, runHigh          int
	revision                  uint64
}

// belle2Contains is basf2's IntervalOfValidity::contains: inclusive bounds,
// -1 meaning open.
func belle2Contains(expLow, runLow, expHigh, runHigh, exp, run int) bool {
	after := exp > expLow || (exp == expLow && run >= runLow)
	before := expHigh == -1 || exp < expHigh || (exp == expHigh && (runHigh == -1 || run <= runHigh))
	return after && before
}

const belle2MaxIoV = int64(9223372036854775807)

// updatePayloads replays the lookup and its parsing.
func (c *belle2Client) updatePayloads(gt string, exp, run int, base string) []belle2Payload {
	c.t.Helper()
	v := c.get(fmt.Sprintf("payloadiovs/?gtName=%s&majorIOV=%d&minorIOV=%d&shape=dict", url.QueryEscape(gt), exp, run))
	rows, ok := v.([]any)
	if !ok {
		c.t.Fatalf("lookup: expected array, got %T", v)
	}
	var out []belle2Payload
	for _, r := range rows {
		m, ok := r.(map[string]any)
		if !ok {
			c.t.Fatalf("lookup: expected payload object, got %T", r)
		}
		num := func(key string) int64 {
			n, err := strconv.ParseInt(fmt.Sprint(m[key]), 10, 64)
			if err != nil {
				c.t.Fatalf("%s: %v not an integer", key, m[key])
			}
			return n
		}
		str := func(key string) string {
			s, ok := m[key].(string)
			if !ok {
				c.t.Fatalf("%s: %v is not a string (nlohmann::json would throw)", key, m[key])
			}
			return s
		}
		expHigh, runHigh := num("major_iov_end"), num("minor_iov_end")
		if expHigh == belle2MaxIoV {
			expHigh = -1
		}
		if runHigh == belle2MaxIoV {
			runHigh = -1
		}
		if !belle2Contains(int(num("major_iov")), int(num("minor_iov")), int(expHigh), int(runHigh), exp, run) {
			continue
		}
		rev, err := strconv.ParseUint(str("revision"), 10, 64) // convertString<unsigned long>
		if err != nil {
			c.t.Fatalf("revision %v: %v", m["revision"], err)
		}
		out = append(out, belle2Payload{name: str("payload_type_name"), url: str("payload_url"), base: base,
			checksum: str("checksum"), expLow: int(num("major_iov")), runLow: int(num("minor_iov")),
			expHigh: int(expHigh), runHigh: int(runHigh), revision: rev})
	}
	return out
}

// TestBelle2HSFClient replays the HSF metadata provider's calls against a
// server with Belle II's settings (discrete IOVs, CDB_PAYLOAD_BASE_URL) and
// checks what the client parses.
func TestBelle2HSFClient(t *testing.T) {
	t.Parallel()
	const payloadBase = "https://conditions.belle2.example/files"
	sv, database := startServersDB(t, "CDB_IOV_MODE=discrete", "CDB_PAYLOAD_BASE_URL="+payloadBase)
	admin := newClient(t, sv.ReaderURL)
	admin.ensureStatus("published")
	gt := uniqz("Belle2 GT") // a space: escaped as curl_easy_escape does
	admin.ok("POST", "gt", map[string]any{"name": gt, "status": "published"})
	beam, ecl := admin.mkPT(), admin.mkPT()
	admin.mustInsert(gt, beam, "dbstore_Beam_rev_3.root", P{1, 0}, P{1, 99})
	admin.mustInsert(gt, beam, "dbstore_Beam_rev_4.root", P{1, 100}, open)
	admin.mustInsert(gt, ecl, "dbstore_ECL_rev_7.root", P{0, 0}, P{1, 50})
	// Revisions are the column extra, which only Belle II's own tools set.
	db, err := stack.Primary.Connect(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	if _, err := db.Exec(t.Context(), `UPDATE "PayloadIOV" SET extra = substring(payload_url from '_rev_([0-9]+)')`); err != nil {
		t.Fatal(err)
	}
	admin.listOf(gt, admin.mkPT()) // a write through the writer, so the plain-SQL change is seen at once

	c := &belle2Client{t: t, base: sv.ReaderURL + "/api/cdb_rest", http: &http.Client{}}
	// The constructor: statuses, then the payload base URL.
	states := map[string]bool{}
	for _, s := range c.get("/gtstatus").([]any) {
		states[s.(map[string]any)["name"].(string)] = true
	}
	if !states["published"] {
		t.Errorf("gtstatus lacks published: %v", states)
	}
	base := c.get("user_settings/CDB_PAYLOAD_BASE_URL").(map[string]any)["CDB_PAYLOAD_BASE_URL"]
	if base != payloadBase {
		t.Fatalf("CDB_PAYLOAD_BASE_URL: %v", base)
	}
	// getGlobaltagStatus.
	gtinfo := c.get("/globalTag/" + url.PathEscape(gt)).(map[string]any)
	if status := gtinfo["status"].(map[string]any)["name"]; status != "published" {
		t.Fatalf("globalTag status.name = %v", status)
	}
	// updatePayloads at runs of experiment 1 and 0.
	for _, tc := range []struct {
		exp, run int
		want     []string // "type url expLow.runLow-expHigh.runHigh rev"
	}{
		{1, 50, []string{fmt.Sprintf("%s dbstore_Beam_rev_3.root 1.0-1.99 3", beam), fmt.Sprintf("%s dbstore_ECL_rev_7.root 0.0-1.50 7", ecl)}},
		{1, 99, []string{fmt.Sprintf("%s dbstore_Beam_rev_3.root 1.0-1.99 3", beam)}},
		{1, 100, []string{fmt.Sprintf("%s dbstore_Beam_rev_4.root 1.100--1.-1 4", beam)}},
		{0, 7, []string{fmt.Sprintf("%s dbstore_ECL_rev_7.root 0.0-1.50 7", ecl)}},
	} {
		var got []string
		for _, p := range c.updatePayloads(gt, tc.exp, tc.run, base.(string)) {
			got = append(got, fmt.Sprintf("%s %s %d.%d-%d.%d %d", p.name, p.url, p.expLow, p.runLow, p.expHigh, p.runHigh, p.revision))
		}
		slices.Sort(got)
		slices.Sort(tc.want)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("updatePayloads(%d, %d):\n got  %q\n want %q", tc.exp, tc.run, got, tc.want)
		}
	}
}
