package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	stdsql "database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
	"github.com/condcache/condcache/sqlite"
)

// Export and offline serving (docs/design.md "Export and offline
// serving"), end to end: a GT built through the real writer (and with
// plain SQL) is exported by the real reader, served by `condcache reader
// -sqlite` as a process of its own, and every answer the offline reader
// gives about it is compared byte for byte with the online reader's.

// exResp is an answer as received, whatever its body.
type exResp struct {
	Status int
	Header http.Header
	Body   []byte
}

func exDo(t testing.TB, method, u string, body []byte, headers ...string) exResp {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return exResp{res.StatusCode, res.Header, b}
}

func exGet(t testing.TB, u string, headers ...string) exResp {
	t.Helper()
	return exDo(t, "GET", u, nil, headers...)
}

// exportPath is the export URL path of gt, with an optional range query.
func exportPath(gt, query string) string {
	p := "/api/v2/gt/" + url.PathEscape(gt) + "/export"
	if query != "" {
		p += "?" + query
	}
	return p
}

// download saves the export of gt from base into a file of dir.
func download(t testing.TB, base, gt, query, dir string) (string, exResp) {
	t.Helper()
	r := exGet(t, base+exportPath(gt, query))
	if r.Status != 200 {
		t.Fatalf("export %s?%s: %d %s", gt, query, r.Status, r.Body)
	}
	path := filepath.Join(dir, testkit.Uniq("export")+".sqlite")
	if err := os.WriteFile(path, r.Body, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, r
}

// startOffline runs `condcache reader -sqlite file` on a free port until the
// test ends, and returns its base URL. A free port can be taken by another
// test's server meanwhile: the server answering must serve this file's GT.
func startOffline(t testing.TB, file string, env ...string) string {
	t.Helper()
	rd, err := sqlite.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	gt := rd.Info().GlobalTag
	rd.Close()
	for range 5 {
		base, ok := tryOffline(t, file, env...)
		if !ok {
			continue
		}
		r := exGet(t, base+apiPrefix+"globalTag/"+url.PathEscape(gt)+"?light")
		if r.Status == 200 {
			return base
		}
	}
	t.Fatalf("no offline reader of %s started", file)
	return ""
}

func tryOffline(t testing.TB, file string, env ...string) (string, bool) {
	t.Helper()
	port, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logf, err := os.Create(filepath.Join(t.TempDir(), "offline.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "reader", "-sqlite", file, "-addr", addr, "-shutdown-delay", "0s")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return base, true
			}
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logf.Name())
			t.Logf("offline reader exited: %v\n%s", err, b)
			exited <- err
			return "", false
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("offline reader on %s not ready", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lookupHeaders are the headers a lookup, range or digest answer must
// carry alike online and offline.
var lookupHeaders = []string{"Content-Type", "Etag", "Cache-Control", "X-Valid-From", "X-Valid-Until", "X-Condcache-Digest"}

// same compares one GET on both servers: status, body byte for byte, and
// the named headers. It returns the online answer.
func same(t testing.TB, online, offline, path string, headers []string, reqHeaders ...string) exResp {
	t.Helper()
	a, b := exGet(t, online+path, reqHeaders...), exGet(t, offline+path, reqHeaders...)
	if a.Status != b.Status || !bytes.Equal(a.Body, b.Body) {
		t.Errorf("GET %s:\n online %d %.400s\noffline %d %.400s", path, a.Status, a.Body, b.Status, b.Body)
		return a
	}
	for _, h := range headers {
		if a.Header.Get(h) != b.Header.Get(h) {
			t.Errorf("GET %s: header %s online %q, offline %q", path, h, a.Header.Get(h), b.Header.Get(h))
		}
	}
	return a
}

// sameElements compares a listing whose online answer may hold more
// objects than the file: every element the offline answer has is
// byte for byte the online element with the same key, and every online
// element whose key is in keep is in the offline answer.
func sameElements(t testing.TB, online, offline, path, key string, keep func(any) bool) {
	t.Helper()
	a, b := exGet(t, online+path), exGet(t, offline+path)
	if a.Status != 200 || b.Status != 200 {
		t.Fatalf("GET %s: online %d, offline %d %s", path, a.Status, b.Status, b.Body)
	}
	index := func(body []byte) ([]string, map[string]json.RawMessage) {
		var elems []json.RawMessage
		if err := json.Unmarshal(body, &elems); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		var keys []string
		m := map[string]json.RawMessage{}
		for _, e := range elems {
			var o map[string]any
			if err := json.Unmarshal(e, &o); err != nil {
				t.Fatal(err)
			}
			k := fmt.Sprint(o[key])
			if keep == nil || keep(o[key]) {
				keys = append(keys, k)
			}
			m[k] = e
		}
		return keys, m
	}
	wantKeys, on := index(a.Body)
	gotKeys, off := index(b.Body)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("GET %s: offline holds %v, want %v", path, gotKeys, wantKeys)
	}
	for k, e := range off {
		if !bytes.Equal(e, on[k]) {
			t.Errorf("GET %s: element %s:\n online %s\noffline %s", path, k, on[k], e)
		}
	}
}

// variedGT builds, through the reader (writes proxied) and with plain SQL
// on database db, a GT with bulk loads, attached IOVs trimmed and split,
// subruns, sizes and revisions, hostile names, an empty list, a duplicate
// start and an IOV without comb_iov; and a second GT that is not
// exported. It returns the GT's name, locked at the end.
func variedGT(t *testing.T, c *client, db string) string {
	t.Helper()
	c.ensureStatus("unlocked")
	c.ensureStatus("locked")
	gt := `exp'"G <ü> 👍 ` + uniqz("")
	c.ok("POST", "gt", map[string]any{"name": gt, "status": "unlocked", "author": `au"thor ü`})
	other := uniqz("otherGT")
	c.ok("POST", "gt", map[string]any{"name": other, "status": "unlocked", "author": "e2e"})
	c.mustInsert(other, c.mkPT(), "other.root", P{0, 0}, open)

	tA, tB, tC, tD := `bulk "A" `+uniqz(""), `attach 'B' é `+uniqz(""), "subruns\tC "+uniqz(""), "empty D "+uniqz("")
	for _, pt := range []string{tA, tB, tC, tD} {
		c.ok("POST", "pt", map[string]any{"name": pt})
	}
	// A: a bulk load, open-ended, with and without sizes, two equal starts.
	plA := c.listOf(gt, tA)
	var bulk []any
	for k := range 40 {
		e := map[string]any{"payload_list": plA, "major_iov": 100 + 10*k, "minor_iov": k % 3,
			"payload_url": fmt.Sprintf("/cvmfs/a/run%06d 'q'.root", 100+10*k), "checksum": fmt.Sprintf("%032x", k)}
		if k%4 != 0 {
			e["size"] = 1000 * k
		}
		bulk = append(bulk, e)
	}
	bulk = append(bulk, map[string]any{"payload_list": plA, "major_iov": 250, "minor_iov": 0, "payload_url": "dup-250.root", "checksum": "d"})
	c.ok("POST", "bulk_piov", bulk)
	// B: attaches that trim, split and shift.
	c.mustInsert(gt, tB, "b1.root", P{100, 0}, open)
	c.mustInsert(gt, tB, "b2.root", P{200, 0}, open)
	c.mustInsert(gt, tB, "b3 split.root", P{150, 0}, P{170, 0})
	c.mustInsert(gt, tB, "b4 trim.root", P{190, 5}, P{210, 0})
	c.mustInsert(gt, tB, "b5 gap.root", P{300, 0}, P{305, 0})
	c.mustInsert(gt, tB, "b6.root", P{120, 0}, P{130, 0})
	// C: subruns.
	c.mustInsert(gt, tC, "c1.root", P{150, 3}, P{150, 7})
	c.mustInsert(gt, tC, "c2.root", P{150, 7}, open)
	c.mustInsert(gt, tC, "c0.root", P{149, maxI - 1}, P{150, 3})
	// D: a list without IOVs.
	c.listOf(gt, tD)

	// Plain SQL behind the writer's back: revisions, a size removed, an
	// IOV lookups cannot see.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := stack.Primary.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`UPDATE "PayloadIOV" SET extra = 'rev-' || id WHERE payload_list_id = (SELECT id FROM "PayloadList" WHERE name = $1)`,
		`UPDATE "PayloadIOV" SET extra = 'rev "quoted" ü' WHERE payload_url = '/cvmfs/a/run000150 ''q''.root'`,
		`UPDATE "PayloadIOV" SET size = NULL WHERE payload_url = '/cvmfs/a/run000160 ''q''.root'`,
		`UPDATE "PayloadIOV" SET comb_iov = NULL WHERE payload_url = '/cvmfs/a/run000170 ''q''.root'`,
	} {
		args := []any{}
		if strings.Contains(q, "$1") {
			args = append(args, c.gtLists(gt)[tB])
		}
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	c.setStatus(gt, "locked")
	return gt
}

// exportIOVs are the IOVs of the GT's lists, from GET globalTag/<gt>: ids
// and every start and end.
func exportIOVs(t *testing.T, c *client, gt string) (ids []int64, lists []int64, listNames []string, bounds []P) {
	t.Helper()
	full := obj(t, c.ok("GET", "globalTag/"+url.PathEscape(gt), nil).JSON)
	for _, l := range arr(t, full["payload_lists"]) {
		lm := obj(t, l)
		lists = append(lists, i64(t, lm["id"]))
		listNames = append(listNames, str(t, lm["name"]))
		for _, v := range arr(t, lm["payload_iov"]) {
			m := obj(t, v)
			ids = append(ids, i64(t, m["id"]))
			bounds = append(bounds, P{i64(t, m["major_iov"]), i64(t, m["minor_iov"])}, P{i64(t, m["major_iov_end"]), i64(t, m["minor_iov_end"])})
		}
	}
	return ids, lists, listNames, bounds
}

// neighbours are the points where an answer can change (bounds) and
// those around them, plus extreme points, sorted and unique.
func neighbours(bounds []P) []P {
	var out []P
	add := func(p P) { out = append(out, p) }
	for _, b := range bounds {
		add(b)
		if b.m > math.MinInt64 {
			add(P{b.M, b.m - 1})
		} else if b.M > math.MinInt64 {
			add(P{b.M - 1, maxI})
		}
		if b.m < maxI {
			add(P{b.M, b.m + 1})
		} else if b.M < maxI {
			add(P{b.M + 1, 0})
		}
		add(P{b.M, 0})
		if b.M > math.MinInt64 {
			add(P{b.M - 1, 0})
		}
		if b.M < maxI {
			add(P{b.M + 1, 0})
		}
	}
	add(P{0, 0})
	add(P{-1, maxI})
	add(P{math.MinInt64, 0})
	add(P{maxI, maxI})
	sort.Slice(out, func(i, j int) bool { return out[i].less(out[j]) })
	return slices.Compact(out)
}

func pointParam(p P) string { return strconv.FormatInt(p.M, 10) + "." + strconv.FormatInt(p.m, 10) }

// compareLookups compares, at every point, the compatible lookup in both
// shapes and both paths and the v2 lookup (also strict), headers included.
func compareLookups(t *testing.T, online, offline, gt string, points []P) int {
	t.Helper()
	n := 0
	for _, p := range points {
		q := url.Values{"gtName": {gt}, "majorIOV": {strconv.FormatInt(p.M, 10)}, "minorIOV": {strconv.FormatInt(p.m, 10)}}.Encode()
		a := same(t, online, offline, apiPrefix+"payloadiovs/?"+q, lookupHeaders)
		same(t, online, offline, apiPrefix+"payload-iovs/query/?"+q+"&shape=dict", lookupHeaders)
		if etag := a.Header.Get("Etag"); etag != "" {
			same(t, online, offline, apiPrefix+"payloadiovs/?"+q, lookupHeaders, "If-None-Match", etag)
		}
		v := url.Values{"gt": {gt}, "major": {strconv.FormatInt(p.M, 10)}, "minor": {strconv.FormatInt(p.m, 10)}}.Encode()
		same(t, online, offline, "/api/v2/lookup?"+v, lookupHeaders)
		same(t, online, offline, "/api/v2/lookup?"+v+"&strict=1", lookupHeaders)
		n += 5
	}
	return n
}

// compareRanges compares the v2 range (and strict) and the GT digest over
// [p_i, p_{i+1}] for consecutive points within 10^6 runs, and over the
// whole span.
func compareRanges(t *testing.T, online, offline, gt string, points []P) int {
	t.Helper()
	n := 0
	var inner []P
	for _, p := range points {
		if p.M >= -5 && p.M <= 5000 {
			inner = append(inner, p)
		}
	}
	pairs := [][2]P{{inner[0], inner[len(inner)-1]}}
	for i := 0; i+1 < len(inner); i++ {
		pairs = append(pairs, [2]P{inner[i], inner[i+1]})
	}
	for _, pr := range pairs {
		q := url.Values{"gt": {gt}, "from": {pointParam(pr[0])}, "to": {pointParam(pr[1])}}.Encode()
		same(t, online, offline, "/api/v2/range?"+q, lookupHeaders)
		same(t, online, offline, "/api/v2/range?"+q+"&strict=1", lookupHeaders)
		d := url.Values{"from": {pointParam(pr[0])}, "to": {pointParam(pr[1])}}.Encode()
		same(t, online, offline, "/api/v2/gt/"+url.PathEscape(gt)+"/digest?"+d, lookupHeaders)
		n += 3
	}
	return n
}

// TestExportOfflineMatchesOnline: the export of a varied GT, served
// offline, answers every compatible GET and the v2 lookups, ranges and
// digests byte for byte as the online reader, at every point where an
// answer can change and around it; writes are refused with 405 and leave
// the file unchanged.
func TestExportOfflineMatchesOnline(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"continuous", "discrete"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			testExportOffline(t, "CDB_IOV_MODE="+mode)
		})
	}
}

// startServersNoCache is startServersDB with a reader that reads every
// answer from the database: the readers of the package's databases share
// one Redis, whose all-scope entries (gtstatus, piov/<id>, …) are keyed by
// request URI only, so a cached reader may answer them from another
// test's database.
func startServersNoCache(t testing.TB, env ...string) (*localstack.Servers, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := fmt.Sprintf("e2e_%d", dbSeq.Add(1))
	if err := stack.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	sv, err := stack.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: db, Env: env, ReaderNoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sv.Stop() })
	return sv, db
}

func testExportOffline(t *testing.T, env ...string) {
	sv, db := startServersNoCache(t, env...)
	c := newClient(t, sv.ReaderURL)
	gt := variedGT(t, c, db)
	online := sv.ReaderURL
	path, exp := download(t, online, gt, "", t.TempDir())

	// The download's headers.
	digest := obj(t, c.ok("GET", "/api/v2/gt/"+url.PathEscape(gt)+"/digest", nil).JSON)
	if got := exp.Header.Get("X-Condcache-Digest"); got != str(t, digest["digest"]) {
		t.Errorf("export digest %s, the GT's digest %v", got, digest["digest"])
	}
	if ct := exp.Header.Get("Content-Type"); ct != sqlite.ContentType {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := exp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="exp__G`) || !strings.Contains(cd, "filename*=UTF-8''"+url.PathEscape(gt)+".sqlite") {
		t.Errorf("Content-Disposition %q", cd)
	}
	etag := exp.Header.Get("Etag")
	if want := fmt.Sprintf(`"g%d"`, i64(t, digest["generation"])); etag != want {
		t.Errorf("ETag %q, want %q", etag, want)
	}
	if cc := exp.Header.Get("Cache-Control"); cc != "public, max-age=3600" {
		t.Errorf("Cache-Control %q of a locked GT", cc)
	}
	if r := exGet(t, online+exportPath(gt, ""), "If-None-Match", etag); r.Status != 304 || len(r.Body) != 0 {
		t.Errorf("export with If-None-Match %s: %d %d bytes", etag, r.Status, len(r.Body))
	}
	sum := sha256.Sum256(exp.Body)

	off := startOffline(t, path)
	ids, lists, listNames, bounds := exportIOVs(t, c, gt)
	points := neighbours(bounds)
	n := compareLookups(t, online, off, gt, points)
	n += compareRanges(t, online, off, gt, points)
	same(t, online, off, "/api/v2/gt/"+url.PathEscape(gt)+"/digest", lookupHeaders)
	n++

	// The other compatible reads, for the file's objects.
	body := []string{"Content-Type", "Etag", "Cache-Control"}
	name := url.PathEscape(gt)
	for _, p := range []string{
		"globalTag/" + name, "global-tags/" + name, "globalTag/" + name + "?light", "globalTag/" + name + "?light=0",
		"gtPayloadLists/" + name, "global-tags/" + name + "/payload-lists",
		"gtstatus", "global-tags/statuses",
		"globalTags?page=1&search=" + url.QueryEscape(gt), "globalTags?page=1&status=locked&search=" + url.QueryEscape(gt),
		"pl?page=1&global_tag=" + url.QueryEscape(gt), "pl?page=1&global_tag=" + url.QueryEscape(gt) + "&sort=iov_count&order=desc",
		"payload-lists?page=1&page_size=2&global_tag=" + url.QueryEscape(gt) + "&sort=payload_type",
		"piov?page=1&page_size=1000&global_tag=" + url.QueryEscape(gt),
		"piov?page=2&page_size=7&global_tag=" + url.QueryEscape(gt) + "&sort=major_iov&order=desc",
		"payload-iovs?page=1&global_tag=" + url.QueryEscape(gt) + "&sort=payload_url&search=Q",
		"piov?page=1&global_tag=" + url.QueryEscape(gt) + "&sort=minor_iov_end&search=%25",
		"piov?page=99&global_tag=" + url.QueryEscape(gt),
		"payloadiovs/?gtName=no-such-gt&majorIOV=1&minorIOV=0", "payloadiovs/?gtName=" + url.QueryEscape(gt),
		"globalTag/no-such-gt", "gtPayloadLists/no-such-gt", "piov/999999999", "pl/999999999",
		"user_settings/CDB_IOV_MODE/", "settings/CDB_IOV_MODE/", "user_settings/NOPE/",
	} {
		same(t, online, off, apiPrefix+p, body)
		n++
	}
	for pt := range c.gtLists(gt) {
		same(t, online, off, apiPrefix+"pt?page=1&search="+url.QueryEscape(pt), body)
		same(t, online, off, apiPrefix+"pl?page=1&payload_type="+url.QueryEscape(pt), body)
		same(t, online, off, apiPrefix+"piov?page=1&payload_type="+url.QueryEscape(pt)+"&sort=inserted&order=desc", body)
		n += 3
	}
	for _, id := range ids {
		same(t, online, off, apiPrefix+"piov/"+strconv.FormatInt(id, 10), body)
		same(t, online, off, apiPrefix+"payload-iovs/"+strconv.FormatInt(id, 10), body)
		n += 2
	}
	for i, id := range lists {
		same(t, online, off, apiPrefix+"pl/"+strconv.FormatInt(id, 10), body)
		same(t, online, off, apiPrefix+"payload-lists/by-name/"+url.PathEscape(listNames[i]), body)
		n += 2
	}
	gtID := i64(t, obj(t, c.ok("GET", "globalTag/"+name, nil).JSON)["id"])
	same(t, online, off, apiPrefix+"gt/"+strconv.FormatInt(gtID, 10), body)
	isGT := func(v any) bool { return v == gt }
	sameElements(t, online, off, apiPrefix+"globalTags", "name", isGT)
	sameElements(t, online, off, apiPrefix+"gt", "name", isGT)
	types := map[string]bool{}
	for k := range c.gtLists(gt) {
		types[k] = true
	}
	sameElements(t, online, off, apiPrefix+"pt", "name", func(v any) bool { return types[fmt.Sprint(v)] })
	inLists := map[string]bool{}
	for _, id := range lists {
		inLists[strconv.FormatInt(id, 10)] = true
	}
	sameElements(t, online, off, apiPrefix+"pl", "id", func(v any) bool { return inLists[fmt.Sprint(v)] })
	inIOVs := map[string]bool{}
	for _, id := range ids {
		inIOVs[strconv.FormatInt(id, 10)] = true
	}
	sameElements(t, online, off, apiPrefix+"piov", "id", func(v any) bool { return inIOVs[fmt.Sprint(v)] })
	n += 7
	t.Logf("%d IOVs, %d points, %d answers compared byte for byte", len(ids), len(points), n)

	// Services the offline reader has not: 404 "not available".
	for _, p := range []string{"/api/v2/check?gt=" + url.QueryEscape(gt), "/api/v2/audit", "/api/v2/audit/1", exportPath(gt, "")} {
		r := exGet(t, off+p)
		if r.Status != 404 || !bytes.Contains(r.Body, []byte("not available on this server")) {
			t.Errorf("offline GET %s: %d %s", p, r.Status, r.Body)
		}
	}

	// Writes: 405 with a JSON detail and code; the file is unchanged.
	for _, w := range []struct{ method, path, body string }{
		{"POST", apiPrefix + "gt", `{"name":"x","status":"unlocked"}`},
		{"POST", apiPrefix + "bulk_piov", `[]`},
		{"PUT", apiPrefix + "gt_change_status/" + name + "/unlocked", `null`},
		{"PUT", apiPrefix + "piov_attach", `{}`},
		{"DELETE", apiPrefix + "deleteGlobalTag/" + name, ``},
		{"DELETE", apiPrefix + "deletePayloadIOV/" + name + "/x/1/0", ``},
		{"PATCH", apiPrefix + "gt", `{}`},
		{"POST", "/api/v2/gt", `{}`},
		{"DELETE", "/api/v2/gt/" + name, ``},
	} {
		r := exDo(t, w.method, off+w.path, []byte(w.body))
		var e struct{ Detail, Code string }
		if r.Status != 405 || json.Unmarshal(r.Body, &e) != nil || e.Code != "method_not_allowed" || !strings.Contains(e.Detail, "read-only") {
			t.Errorf("offline %s %s: %d %s", w.method, w.path, r.Status, r.Body)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(after) != sum {
		t.Error("the export file changed while served")
	}

	// A ranged export answers as online inside its range (windows at its
	// edges included) and refuses points outside it.
	from, to := P{150, 0}, P{200, 3}
	rq := url.Values{"from": {pointParam(from)}, "to": {pointParam(to)}}.Encode()
	rpath, rexp := download(t, online, gt, rq, t.TempDir())
	rd := obj(t, c.ok("GET", "/api/v2/gt/"+name+"/digest?"+rq, nil).JSON)
	if got := rexp.Header.Get("X-Condcache-Digest"); got != str(t, rd["digest"]) {
		t.Errorf("ranged export digest %s, the GT's digest over the range %v", got, rd["digest"])
	}
	if cd := rexp.Header.Get("Content-Disposition"); !strings.Contains(cd, url.PathEscape(gt+"_150.0-200.3.sqlite")) {
		t.Errorf("ranged Content-Disposition %q", cd)
	}
	roff := startOffline(t, rpath)
	var inside, outside []P
	for _, p := range points {
		if !p.less(from) && !to.less(p) {
			inside = append(inside, p)
		} else {
			outside = append(outside, p)
		}
	}
	m := compareLookups(t, online, roff, gt, inside) + compareRanges(t, online, roff, gt, inside)
	same(t, online, roff, "/api/v2/gt/"+name+"/digest?"+rq, lookupHeaders)
	for _, p := range outside {
		q := url.Values{"gtName": {gt}, "majorIOV": {strconv.FormatInt(p.M, 10)}, "minorIOV": {strconv.FormatInt(p.m, 10)}}.Encode()
		r := exGet(t, roff+apiPrefix+"payloadiovs/?"+q)
		if r.Status != 404 || !bytes.Contains(r.Body, []byte(`"code":"not_found"`)) || !bytes.Contains(r.Body, []byte("from 150.0 to 200.3 only")) {
			t.Errorf("ranged offline lookup at %v: %d %s", p, r.Status, r.Body)
		}
	}
	if r := exGet(t, roff+"/api/v2/gt/"+name+"/digest"); r.Status != 404 {
		t.Errorf("ranged offline digest of every point: %d %s", r.Status, r.Body)
	}
	t.Logf("ranged export %v-%v: %d points inside, %d answers compared, %d points outside refused", from, to, len(inside), m+1, len(outside))
}

// TestExportBadInput: an unknown GT is 404, bad bounds and a range over
// 10^6 runs are 400, all JSON with a detail, before any file is built.
func TestExportBadInput(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt := c.mkGT("unlocked")
	c.mustInsert(gt, c.mkPT(), "x.root", P{1, 0}, open)
	for _, tc := range []struct {
		gt, query string
		status    int
		code      string
	}{
		{"no-such-gt" + uniq(""), "", 404, "not_found"},
		{gt, "from=1", 400, "invalid"},
		{gt, "to=5", 400, "invalid"},
		{gt, "from=x&to=5", 400, "invalid"},
		{gt, "from=1.2.3&to=5", 400, "invalid"},
		{gt, "from=10&to=5", 400, "invalid"},
		{gt, "from=0&to=10000000", 400, "invalid"},
		{gt, "from=-5000000&to=5000001", 400, "invalid"},
	} {
		r := c.get("/api/v2/gt/" + url.PathEscape(tc.gt) + "/export?" + tc.query)
		wantErr(t, r, tc.code, "", tc.status)
	}
	r := exGet(t, servers.ReaderURL+exportPath(gt, "from=0&to=10000000"))
	if !bytes.Contains(r.Body, []byte("more than 1000000")) {
		t.Errorf("a range of 10^7 runs: %s", r.Body)
	}
	if r := exGet(t, servers.ReaderURL+exportPath(gt, "from=0&to=999999")); r.Status != 200 {
		t.Errorf("a range of 10^6 runs: %d %s", r.Status, r.Body)
	}
}

// tableDump is every row of every table of an export file but its
// export time, for comparing two exports of one state.
func tableDump(t *testing.T, path string) string {
	t.Helper()
	db, err := stdsql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, table := range []string{"condcache_export", "GlobalTagStatus", "GlobalTag", "PayloadType", "PayloadList", "PayloadIOV", "condcache_list_next"} {
		rows, err := db.Query(`SELECT * FROM "` + table + `" ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			if table == "condcache_export" && vals[0] == "exported_at" {
				continue
			}
			fmt.Fprintf(&b, "%s %q\n", table, vals)
		}
		rows.Close()
	}
	return b.String()
}

// TestExportCommand: `condcache export` against the real reader writes the
// file the HTTP download gives (exit 0); an unknown GT fails with the
// server's detail; SIGINT in the middle of a download leaves no file.
func TestExportCommand(t *testing.T) {
	t.Parallel()
	c := shared(t)
	gt := c.mkGT("unlocked")
	for i := range 3 {
		c.mustInsert(gt, c.mkPT(), fmt.Sprintf("cmd%d.root", i), P{int64(10 * i), 0}, open)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.sqlite")
	cmd := exec.Command(binary, "export", "-url", servers.ReaderURL, "-o", out, gt)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("condcache export: %v\n%s", err, msg)
	}
	if !bytes.Contains(msg, []byte("3 IOVs")) || !bytes.Contains(msg, []byte("IOVs/s")) {
		t.Errorf("condcache export said %q", msg)
	}
	got, err := sqlite.Open(out)
	if err != nil {
		t.Fatalf("the command's file: %v", err)
	}
	info := got.Info()
	got.Close()
	web, _ := download(t, servers.ReaderURL, gt, "", dir)
	if a, b := tableDump(t, out), tableDump(t, web); a != b {
		t.Errorf("the command's file and the download differ:\n%s\n%s", a, b)
	}
	if info.GlobalTag != gt || info.IOVs != 3 {
		t.Errorf("the command's file: %+v", info)
	}
	// CONDCACHE_URL, a range, and the default output name.
	cmd = exec.Command(binary, "export", "-from", "0", "-to", "15", gt)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "CONDCACHE_URL=" + servers.ReaderURL}
	cmd.Dir = t.TempDir()
	if msg, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(msg, []byte("2 IOVs")) {
		t.Errorf("condcache export -from 0 -to 15: %v %s", err, msg)
	} else if _, err := os.Stat(filepath.Join(cmd.Dir, gt+".sqlite")); err != nil {
		t.Errorf("default output: %v", err)
	}

	// An unknown GT: exit 3 (refused), the server's detail, no file.
	missing := filepath.Join(dir, "missing.sqlite")
	cmd = exec.Command(binary, "export", "-url", servers.ReaderURL, "-o", missing, "no-such-gt")
	msg, err = cmd.CombinedOutput()
	if code := exitCode(err); code != 3 || !bytes.Contains(msg, []byte("GlobalTag no-such-gt not found.")) {
		t.Errorf("export of an unknown GT: exit %d, %s", code, msg)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("export of an unknown GT left %s", missing)
	}

	// SIGINT mid-download: a server that sends part of the file and stalls.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", sqlite.ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(10<<20))
		w.WriteHeader(200)
		w.Write(make([]byte, 64<<10))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	sdir := t.TempDir()
	cmd = exec.Command(binary, "export", "-url", slow.URL, "-o", filepath.Join(sdir, "slow.sqlite"), gt)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		parts, _ := filepath.Glob(filepath.Join(sdir, ".slow.sqlite.part-*"))
		if len(parts) == 1 {
			if st, err := os.Stat(parts[0]); err == nil && st.Size() > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no partial download appeared: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if code := exitCode(err); code != 2 || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("export after SIGINT: exit %d, %s", code, stderr.String())
	}
	if left, _ := os.ReadDir(sdir); len(left) != 0 {
		t.Errorf("SIGINT left %v", left)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// TestExportOfflineClientReads: what the C++ client reads (globalTags,
// gtstatus, pt, gtPayloadLists, lookups, with its legacy paths) it reads
// alike from an offline reader of an export.
func TestExportOfflineClientReads(t *testing.T) {
	t.Parallel()
	sv, _ := startServersNoCache(t)
	c := newClient(t, sv.ReaderURL)
	c.ensureStatus("unlocked")
	c.ensureStatus("locked")
	gt := uniqz("cppOffline")
	c.ok("POST", "gt", map[string]any{"name": gt, "status": "unlocked", "author": "cppuser"})
	ptA, ptB := uniqz("cppA"), uniqz("cppB")
	for _, pt := range []string{ptA, ptB} {
		c.ok("POST", "pt", map[string]any{"name": pt})
	}
	c.mustInsert(gt, ptA, "a1", P{10, 0}, open)
	c.mustInsert(gt, ptA, "a2", P{20, 0}, open)
	c.mustInsert(gt, ptA, "a3", P{15, 0}, P{17, 0})
	c.mustInsert(gt, ptB, "b1", P{0, 0}, P{5, 0})
	c.ok("PUT", "gt_change_status/"+gt+"/locked", rawJSON("null"))
	path, _ := download(t, sv.ReaderURL, gt, "", t.TempDir())
	off := newClient(t, startOffline(t, path))
	for _, cl := range []*client{c, off} {
		if !cl.gtNames()[gt] {
			t.Errorf("%s: globalTags lacks %s", cl.base, gt)
		}
	}
	for _, p := range []string{"globalTags", "gtstatus", "pt", "gtPayloadLists/" + gt} {
		a, b := c.get(p), off.get(p)
		if p == "globalTags" || p == "pt" {
			continue // the online ones list the database's other objects too
		}
		if !bytes.Equal(a.Body, b.Body) {
			t.Errorf("GET %s: online %s, offline %s", p, a.Body, b.Body)
		}
	}
	want := func(g map[string]any) any { return g["payload_iov_count"] }
	for _, g := range arr(t, off.get("globalTags").JSON) {
		if m := obj(t, g); m["name"] == gt && fmt.Sprint(want(m)) != "5" {
			t.Errorf("offline globalTags: payload_iov_count %v", want(m))
		}
	}
	for _, p := range []P{{-1, 0}, {0, 0}, {9, 0}, {10, 3}, {16, 0}, {18, 0}, {99, 0}} {
		if a, b := c.lookupURLs(gt, p.M, p.m), off.lookupURLs(gt, p.M, p.m); !slices.Equal(keysOf(a), keysOf(b)) || fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("lookup at %v: online %v, offline %v", p, a, b)
		}
	}
}

func keysOf(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}
