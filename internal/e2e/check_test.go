package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache"
)

// The consistency check (docs/design.md "Consistency check") through the
// real reader (GET /api/v2/check) and the real command (condcache check),
// on GTs seeded with plain SQL the way Nopayloaddb could have left them.

// checkSeed writes the rows Nopayloaddb's attach could leave behind.
type checkSeed struct {
	t  *testing.T
	c  *client // through the reader: writes go to the writer
	db *pgx.Conn
}

// list creates a list of a new type and attaches it to gt; it returns the
// type, the list's name and id.
func (s *checkSeed) list(gt string) (pt, pl string, id int64) {
	s.t.Helper()
	pt = s.c.mkPT()
	pl, id = s.c.mkPL(pt)
	if r := s.c.plAttach(gt, pl); r.Status != 200 {
		s.t.Fatalf("%s", r)
	}
	return pt, pl, id
}

// iov inserts an IOV [start, end) into list with the given comb_iov text
// ("" = the exact value of start, nil = NULL), and returns its id.
func (s *checkSeed) iov(list int64, start, end P, comb *string) int64 {
	s.t.Helper()
	exact := condcache.Point{Major: start.M, Minor: start.m}.CombIOV()
	if comb != nil && *comb == "" {
		comb = &exact
	}
	var id int64
	err := s.db.QueryRow(s.t.Context(), `INSERT INTO "PayloadIOV" (payload_url, checksum, major_iov, minor_iov,
			major_iov_end, minor_iov_end, comb_iov, created, updated, payload_list_id)
		VALUES ('legacy_' || $1::text, 'legacy', $2, $3, $4, $5, $6::text::numeric, now(), now(), $7) RETURNING id`,
		fmt.Sprint(start), start.M, start.m, end.M, end.m, comb, list).Scan(&id)
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

var exactComb = new(string) // "": the exact comb_iov of the start

// checkWant is a finding as the JSON answer carries it, without detail.
type checkWant struct {
	Kind, PayloadType string
	PayloadList       *string
	IDs               []int64
}

func (w checkWant) String() string {
	l := "null"
	if w.PayloadList != nil {
		l = *w.PayloadList
	}
	return fmt.Sprintf("%s %s %s %v", w.Kind, w.PayloadType, l, w.IDs)
}

// seedDirtyGT creates a GT with one list per kind of finding (and two
// lists of one type), plus clean lists, and returns it with the findings
// expected, sorted as the answer sorts them.
func seedDirtyGT(s *checkSeed) (string, []checkWant) {
	t := s.t
	gt := s.c.mkGT("unlocked")
	var want []checkWant
	expect := func(kind condcache.FindingKind, pt, pl string, ids ...int64) {
		want = append(want, checkWant{string(kind), pt, &pl, ids})
	}

	// A clean list written through the API, and one with plain SQL.
	s.c.mustInsert(gt, s.c.mkPT(), uniqz("clean"), P{0, 0}, P{0, 10})
	_, _, clean := s.list(gt)
	s.iov(clean, P{0, 0}, P{0, 10}, exactComb)
	s.iov(clean, P{0, 10}, open, exactComb)

	pt, pl, l := s.list(gt)
	a, b := s.iov(l, P{0, 100}, P{0, 200}, exactComb), s.iov(l, P{0, 100}, P{0, 200}, exactComb)
	expect(condcache.FindingDuplicateStart, pt, pl, a, b)

	pt, pl, l = s.list(gt)
	a, b = s.iov(l, P{0, 0}, P{0, 300}, exactComb), s.iov(l, P{0, 200}, open, exactComb)
	expect(condcache.FindingOverlap, pt, pl, a, b)

	pt, pl, l = s.list(gt)
	expect(condcache.FindingZeroLength, pt, pl, s.iov(l, P{0, 5}, P{0, 5}, exactComb))

	pt, pl, l = s.list(gt)
	expect(condcache.FindingInverted, pt, pl, s.iov(l, P{0, 10}, P{0, 5}, exactComb))

	pt, pl, l = s.list(gt)
	expect(condcache.FindingNullCombIOV, pt, pl, s.iov(l, P{0, 10}, open, nil))

	// Nopayloaddb's successor shift that stored major + major/10^19.
	pt, pl, l = s.list(gt)
	wrong := "7.0000000000000000007"
	expect(condcache.FindingCombIOVMismatch, pt, pl, s.iov(l, P{7, 3}, open, &wrong))

	// A second list of one type, attached behind the API's back (pl_attach
	// would detach the first).
	pt, _, first := s.list(gt)
	second, secondID := s.c.mkPL(pt)
	if _, err := s.db.Exec(t.Context(), `UPDATE "PayloadList" SET global_tag_id = (SELECT global_tag_id FROM "PayloadList" WHERE id = $1)
		WHERE name = $2`, first, second); err != nil {
		t.Fatal(err)
	}
	want = append(want, checkWant{string(condcache.FindingDuplicateType), pt, nil, []int64{first, secondID}})

	slices.SortFunc(want, func(a, b checkWant) int {
		if c := strings.Compare(a.PayloadType, b.PayloadType); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind) // one list per type here, apart from duplicate_type's nil
	})
	return gt, want
}

// checkAnswer is the JSON answer of the check.
type checkAnswer struct {
	GlobalTag *string        `json:"global_tag"`
	Count     int            `json:"count"`
	Findings  []checkFinding `json:"findings"`
}

type checkFinding struct {
	Kind        string  `json:"kind"`
	Severity    string  `json:"severity"`
	GlobalTag   string  `json:"global_tag"`
	PayloadType string  `json:"payload_type"`
	PayloadList *string `json:"payload_list"`
	IDs         []int64 `json:"ids"`
	Detail      string  `json:"detail"`
}

func decodeCheck(t *testing.T, body []byte) checkAnswer {
	t.Helper()
	var a checkAnswer
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("check answer %s: %v", body, err)
	}
	return a
}

// wants renders an answer's findings like checkWant, checking that each is
// of gt and has a detail.
func (a checkAnswer) wants(t *testing.T, gt string) []string {
	t.Helper()
	var out []string
	for _, f := range a.Findings {
		if f.GlobalTag != gt || f.Detail == "" {
			t.Errorf("finding %+v: want global_tag %q and a detail", f, gt)
		}
		out = append(out, checkWant{f.Kind, f.PayloadType, f.PayloadList, f.IDs}.String())
	}
	return out
}

func wantLines(ws []checkWant) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.String()
	}
	return out
}

// runCheckCommand runs `condcache check args...` and returns its stdout and
// exit status; stderr goes to the test log.
func runCheckCommand(t *testing.T, args ...string) ([]byte, int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, append([]string{"check"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
	default:
		t.Fatalf("condcache check %q: %v", args, err)
	}
	if stderr.Len() > 0 {
		t.Logf("condcache check %q stderr: %s", args, stderr.String())
	}
	return stdout.Bytes(), cmd.ProcessState.ExitCode()
}

// dbState is what a read-only check must leave as it was: the rows of
// every Nopayloaddb table and the generation of every GT.
func dbState(t *testing.T, db *pgx.Conn) string {
	t.Helper()
	var state string
	err := db.QueryRow(t.Context(), `SELECT concat_ws(' ',
		(SELECT count(*) FROM "GlobalTagStatus"), (SELECT count(*) FROM "GlobalTag"),
		(SELECT count(*) FROM "PayloadType"), (SELECT count(*) FROM "PayloadList"),
		(SELECT count(*) FROM "PayloadIOV"),
		(SELECT md5(string_agg(i::text, ',' ORDER BY i.id)) FROM "PayloadIOV" i),
		(SELECT md5(string_agg(l::text, ',' ORDER BY l.id)) FROM "PayloadList" l),
		(SELECT string_agg(global_tag || '=' || generation, ',' ORDER BY global_tag) FROM condcache_generation))`).Scan(&state)
	if err != nil {
		t.Fatal(err)
	}
	return state
}

func TestCheck(t *testing.T) {
	t.Parallel()
	sv, database := startServersDB(t)
	c := newClient(t, sv.ReaderURL)
	db, err := stack.Primary.Connect(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	s := &checkSeed{t: t, c: c, db: db}
	dirty, want := seedDirtyGT(s)
	clean := c.mkGT("unlocked")
	c.mustInsert(clean, c.mkPT(), uniqz("clean"), P{0, 0}, P{0, 10})
	c.mustInsert(clean, c.mkPT(), uniqz("clean"), P{0, 0}, open)
	// A list as bulk_piov loads it (every IOV open-ended) is reported once,
	// as information: it does not fail the check.
	bulk := c.mkGT("unlocked")
	bulkList := c.listOf(bulk, c.mkPT())
	c.ok("POST", "bulk_piov", []map[string]any{
		{"payload_url": uniqz("b"), "major_iov": 1, "minor_iov": 0, "payload_list": bulkList},
		{"payload_url": uniqz("b"), "major_iov": 2, "minor_iov": 0, "payload_list": bulkList},
		{"payload_url": uniqz("b"), "major_iov": 3, "minor_iov": 0, "payload_list": bulkList}})

	lookups := func() []string {
		var out []string
		for _, gt := range []string{dirty, clean} {
			for _, p := range []P{{0, 0}, {0, 5}, {0, 100}, {0, 250}, {7, 3}} {
				out = append(out, string(c.get(fmt.Sprintf("payloadiovs/?gtName=%s&majorIOV=%d&minorIOV=%d", gt, p.M, p.m)).Body))
			}
		}
		return out
	}
	before, beforeLookups := dbState(t, db), lookups()
	checkPath := func(gt string) string { return "/api/v2/check?gt=" + url.QueryEscape(gt) }

	r := c.get(checkPath(dirty))
	wantStatus(t, r, 200)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", r, cc)
	}
	httpDirty := decodeCheck(t, r.Body)
	if httpDirty.GlobalTag == nil || *httpDirty.GlobalTag != dirty || httpDirty.Count != len(want) {
		t.Errorf("%s: want global_tag %q and count %d", r, dirty, len(want))
	}
	if got := httpDirty.wants(t, dirty); !slices.Equal(got, wantLines(want)) {
		t.Errorf("GET check of the seeded GT:\n got %q\nwant %q", got, wantLines(want))
	}
	if body := r0(c, checkPath(clean)); string(body) != fmt.Sprintf(`{"global_tag":%q,"count":0,"findings":[]}`, clean) {
		t.Errorf("GET check of a clean GT: %s, want no finding", body)
	}

	for _, bad := range []string{"", "?gt", "?gt=", "?gt=%00", "?gt=%ff"} {
		wantErr(t, c.get("/api/v2/check"+bad), "invalid", "", 400)
	}
	wantErr(t, c.get(checkPath(uniq("NoSuchGT"))), "not_found", "", 404)

	dsn := stack.Primary.DSN(database)
	out, code := runCheckCommand(t, "-gt", dirty, "-primary", dsn)
	if code != 1 || !bytes.Contains(out, []byte(fmt.Sprintf("%d findings in 1 global tag", len(want)))) {
		t.Errorf("condcache check -gt %s: exit %d, output:\n%s", dirty, code, out)
	}
	for _, w := range want {
		if !bytes.Contains(out, []byte(w.Kind)) || !bytes.Contains(out, []byte(w.PayloadType)) {
			t.Errorf("the text output lacks %s:\n%s", w, out)
		}
	}
	out, code = runCheckCommand(t, "-gt", dirty, "-o", "json", "-primary", dsn)
	if code != 1 || !bytes.Equal(bytes.TrimSuffix(out, []byte("\n")), r0(c, checkPath(dirty))) {
		t.Errorf("condcache check -o json: exit %d, output %s\nwant the HTTP answer %s", code, out, r0(c, checkPath(dirty)))
	}
	if out, code = runCheckCommand(t, "-gt", clean, "-primary", dsn); code != 0 || !bytes.Contains(out, []byte("No findings")) {
		t.Errorf("condcache check of a clean GT: exit %d, output:\n%s", code, out)
	}
	info := r0(c, checkPath(bulk))
	if !bytes.Contains(info, []byte(`"count":1,`)) || !bytes.Contains(info, []byte(`"kind":"open_ended_overlap","severity":"info"`)) ||
		!bytes.Contains(info, []byte("2 IOVs are open-ended")) {
		t.Errorf("GET check of a bulk-loaded GT: %s, want one informational open_ended_overlap of 2 IOVs", info)
	}
	if out, code = runCheckCommand(t, "-gt", bulk, "-primary", dsn); code != 0 || !bytes.Contains(out, []byte("open_ended_overlap")) {
		t.Errorf("condcache check of a bulk-loaded GT: exit %d (want 0), output:\n%s", code, out)
	}
	if _, code = runCheckCommand(t, "-gt", uniq("NoSuchGT"), "-primary", dsn); code != 3 {
		t.Errorf("condcache check of an unknown GT: exit %d, want 3 (not found)", code)
	}
	// Every GT: the same findings, now under "global_tag": null.
	out, code = runCheckCommand(t, "-o", "json", "-primary", dsn)
	all := decodeCheck(t, out)
	all.Findings = slices.DeleteFunc(all.Findings, func(f checkFinding) bool { return f.GlobalTag == bulk })
	if code != 1 || all.GlobalTag != nil || !slices.Equal(all.wants(t, dirty), wantLines(want)) {
		t.Errorf("condcache check -o json (every GT): exit %d, %s\nwant the findings of %s only", code, out, dirty)
	}

	if after := dbState(t, db); after != before {
		t.Errorf("the check changed the database:\nbefore %s\nafter  %s", before, after)
	}
	if after := lookups(); !slices.Equal(after, beforeLookups) {
		t.Errorf("lookups changed across the check:\nbefore %q\nafter  %q", beforeLookups, after)
	}
}

// r0 returns the body of a 200 GET of path.
func r0(c *client, path string) []byte {
	c.t.Helper()
	return c.ok("GET", path, nil).Body
}

// TestCheckDiscreteMode: the reader and the command judge ends by the IOV
// mode: in discrete mode a one-point IOV is valid and an end at the next
// start overlaps it.
func TestCheckDiscreteMode(t *testing.T) {
	t.Parallel()
	sv, database := startServersDB(t, "CDB_IOV_MODE=discrete")
	c := newClient(t, sv.ReaderURL)
	db, err := stack.Primary.Connect(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	s := &checkSeed{t: t, c: c, db: db}
	gt := c.mkGT("unlocked")
	pt, pl, l := s.list(gt)
	s.iov(l, P{0, 5}, P{0, 5}, exactComb)
	a, b := s.iov(l, P{0, 10}, P{0, 20}, exactComb), s.iov(l, P{0, 20}, P{0, 29}, exactComb)
	want := []string{checkWant{string(condcache.FindingOverlap), pt, &pl, []int64{a, b}}.String()}

	httpAnswer := r0(c, "/api/v2/check?gt="+url.QueryEscape(gt))
	if got := decodeCheck(t, httpAnswer).wants(t, gt); !slices.Equal(got, want) {
		t.Errorf("GET check in discrete mode: %q, want %q", got, want)
	}
	out, code := runCheckCommand(t, "-gt", gt, "-o", "json", "-iov-mode", "discrete", "-primary", stack.Primary.DSN(database))
	if code != 1 || !bytes.Equal(bytes.TrimSuffix(out, []byte("\n")), httpAnswer) {
		t.Errorf("condcache check -iov-mode discrete: exit %d, %s\nwant %s", code, out, httpAnswer)
	}
}
