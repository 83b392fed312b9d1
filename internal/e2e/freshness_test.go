package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
	"github.com/condcache/condcache/loadtest"
)

// The freshness contract (docs/design.md "Freshness contract") against real processes, on a stack of
// its own whose replica applies WAL 2 s late (recovery_min_apply_delay), so
// replica lag is certain. The reader accepts replicas up to a minute behind,
// so it does read the late replica: only the generation checks keep stale
// answers out.

const applyDelay = 2 * time.Second

type lateStack struct {
	stack   *localstack.Stack
	servers *localstack.Servers
}

var (
	lateOnce sync.Once
	late     *lateStack
	lateErr  error
)

// lateTopology starts (once) the delayed-replica stack with Redis.
func lateTopology(t *testing.T) *lateStack {
	t.Helper()
	lateOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		st, err := testkit.NewStack(ctx, localstack.Options{Dir: filepath.Join(os.TempDir(), fmt.Sprintf("condcache-late-%d", os.Getpid())),
			Replicas: 1, ReplicaApplyDelay: applyDelay, Redis: true, Fast: true})
		if err != nil {
			lateErr = err
			return
		}
		if err := st.CreateDatabase(ctx, "fresh"); err != nil {
			lateErr = err
			return
		}
		sv, err := st.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: "fresh",
			ReaderArgs: []string{"-max-lag", "1m", "-redis-timeout", "50ms"}})
		if err != nil {
			lateErr = err
			return
		}
		late = &lateStack{stack: st, servers: sv}
		stopLate = func() { _ = sv.Stop(); _ = st.Stop(); _ = os.RemoveAll(st.Dir) }
		lateErr = waitReplicaUsable(ctx, sv.ReaderURL)
	})
	if lateErr != nil {
		t.Fatalf("starting the delayed-replica stack: %v", lateErr)
	}
	return late
}

// waitReplicaUsable waits until the reader routes reads to its replica,
// which takes the apply delay after the reader starts: a test that wrote
// and looked up before that would only ever read the primary, and so would
// prove nothing about stale replicas.
func waitReplicaUsable(ctx context.Context, readerURL string) error {
	for {
		if v, err := readMetric(readerURL, replicaUsable); err == nil && v == 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the reader never routed reads to its delayed replica: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopLate stops the delayed-replica stack at the end of TestMain.
var stopLate = func() {}

// writeIOV writes an open-ended IOV through the writer itself (not through
// the reader, which would route its own reads past the write), using r for
// the list lookup.
func writeIOV(r, w *client, gt, pt, u string, start P) {
	r.t.Helper()
	pl := r.listOf(gt, pt)
	if res := w.piovAttach(pl, w.mkPIOV(u, start, open)); res.Status != 200 {
		r.t.Fatalf("%s", res)
	}
}

// TestFreshWriteThenRead (freshness points 1 and 2): a write acknowledged
// by the writer is reflected by the very next lookup through the reader,
// although the replica is 2 s behind and Redis held the old answer; and the
// old answer is never stored afterwards (repeated lookups keep the new one,
// also once the replica catches up).
func TestFreshWriteThenRead(t *testing.T) {
	ls := lateTopology(t)
	r := newClient(t, ls.servers.ReaderURL)
	w := newClient(t, ls.servers.WriterURL)
	gt, pt := w.mkGT("unlocked"), w.mkPT()
	behind := metric(t, ls.servers.ReaderURL, replicaBehind)
	prev := ""
	for i := range 25 {
		// Warm the cache with the current answer (served by the replica or
		// Redis once the generation allows).
		for range 3 {
			if got := r.lookupURLs(gt, 1, 0)[pt]; got != prev {
				t.Fatalf("round %d before the write: %q, want %q", i, got, prev)
			}
		}
		u := fmt.Sprintf("%s_%d", uniqz("fresh"), i)
		writeIOV(r, w, gt, pt, u, P{0, int64(i)})
		for k := range 5 {
			if got := r.lookupURLs(gt, 1, 0)[pt]; got != u {
				t.Fatalf("round %d, lookup %d right after the acknowledged write: %q, want %q", i, k, got, u)
			}
		}
		prev = u
	}
	// The replica must have been asked and found behind: otherwise the
	// answers above came from the primary and the generation check that
	// skips a late replica went untested.
	if skipped := metric(t, ls.servers.ReaderURL, replicaBehind) - behind; skipped == 0 {
		t.Errorf("no lookup found the delayed replica behind the generation: the test did not exercise it")
	} else {
		t.Logf("%.0f lookups found the replica behind and moved on", skipped)
	}
	time.Sleep(applyDelay + 500*time.Millisecond)
	if got := r.lookupURLs(gt, 1, 0)[pt]; got != prev {
		t.Fatalf("after the replica caught up: %q, want %q", got, prev)
	}
}

// TestFreshRecreatedGT (point 4): a GT deleted and re-created under the same
// name never answers with the old GT's cached payloads, and an ETag of an
// old incarnation never earns a 304 from the new one.
func TestFreshRecreatedGT(t *testing.T) {
	ls := lateTopology(t)
	r := newClient(t, ls.servers.ReaderURL)
	w := newClient(t, ls.servers.WriterURL)
	w.ensureStatus("unlocked")
	gt, pt := uniqz("recreated"), w.mkPT()
	path := fmt.Sprintf("payloadiovs/?gtName=%s&majorIOV=5&minorIOV=0", gt)
	var oldTags []string
	for i := range 5 {
		w.ok("POST", "gt", map[string]any{"name": gt, "status": "unlocked"})
		u := fmt.Sprintf("%s_%d", uniqz("gen"), i)
		writeIOV(r, w, gt, pt, u, P{0, 0})
		for range 3 {
			if got := r.lookupURLs(gt, 5, 0)[pt]; got != u {
				t.Fatalf("incarnation %d: %q, want %q", i, got, u)
			}
		}
		for _, tag := range oldTags {
			if res := r.do("GET", path, nil, "If-None-Match", tag); res.Status != 200 {
				t.Fatalf("incarnation %d answers %d to the ETag %s of an earlier one", i, res.Status, tag)
			}
		}
		oldTags = append(oldTags, r.ok("GET", path, nil).Header.Get("ETag"))
		w.ok("DELETE", "deleteGlobalTag/"+gt, nil)
		if got := r.lookupURLs(gt, 5, 0); len(got) != 0 {
			t.Fatalf("incarnation %d deleted, still answers %v", i, got)
		}
	}
}

// TestFreshRedisRestart (point 3): Redis restarting empty right after an
// acknowledged write loses what it knew of generations, and the late
// replica still holds the old answer: until the relay has rebuilt the
// generations, lookups must not trust Redis's silence.
func TestFreshRedisRestart(t *testing.T) {
	ls := lateTopology(t)
	r := newClient(t, ls.servers.ReaderURL)
	w := newClient(t, ls.servers.WriterURL)
	gt, pt := w.mkGT("unlocked"), w.mkPT()
	for i := range 3 {
		u := fmt.Sprintf("%s_%d", uniqz("restart"), i)
		writeIOV(r, w, gt, pt, u, P{0, int64(i)})
		if got := r.lookupURLs(gt, 1, 0)[pt]; got != u {
			t.Fatalf("round %d before the restart: %q, want %q", i, got, u)
		}
		if err := ls.stack.Redis.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := ls.stack.Redis.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		for k := range 5 {
			if got := r.lookupURLs(gt, 1, 0)[pt]; got != u {
				t.Fatalf("round %d, lookup %d after Redis restarted: %q, want %q", i, k, got, u)
			}
		}
	}
}

// TestFreshHTTPCaching: the lookup carries an ETag that a conditional GET
// turns into a 304, a write changes it, and Cache-Control follows the status.
func TestFreshHTTPCaching(t *testing.T) {
	ls := lateTopology(t)
	r := newClient(t, ls.servers.ReaderURL)
	w := newClient(t, ls.servers.WriterURL)
	gt, pt := w.mkGT("unlocked"), w.mkPT()
	writeIOV(r, w, gt, pt, uniqz("a"), P{10, 0})
	path := fmt.Sprintf("payloadiovs/?gtName=%s&majorIOV=12&minorIOV=0", gt)
	first := r.ok("GET", path, nil)
	etag := first.Header.Get("ETag")
	if etag == "" || first.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("unlocked GT: ETag %q, Cache-Control %q", etag, first.Header.Get("Cache-Control"))
	}
	if got := first.Header.Get("X-Valid-From"); got != "10.0" {
		t.Errorf("X-Valid-From = %q, want 10.0", got)
	}
	if got := r.do("GET", path, nil, "If-None-Match", etag); got.Status != 304 {
		t.Fatalf("If-None-Match with the current ETag: %d, want 304", got.Status)
	}
	writeIOV(r, w, gt, pt, uniqz("b"), P{20, 0})
	second := r.ok("GET", path, nil)
	if second.Header.Get("X-Valid-Until") != "20.0" {
		t.Errorf("X-Valid-Until = %q, want 20.0", second.Header.Get("X-Valid-Until"))
	}
	if got := r.do("GET", path, nil, "If-None-Match", etag); got.Status != 200 || second.Header.Get("ETag") == etag {
		t.Fatalf("after a write: status %d with the old ETag, new ETag %q (old %q)", got.Status, second.Header.Get("ETag"), etag)
	}
	w.setStatus(gt, "frozen")
	if cc := r.ok("GET", path, nil).Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("frozen GT: Cache-Control %q", cc)
	}
}

// metric reads one series of a server's /metrics, e.g.
// `condcache_lookups_total{source="redis"}`; 0 when absent.
func metric(t testing.TB, baseURL, series string) float64 {
	t.Helper()
	v, err := readMetric(baseURL, series)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// readMetric is metric for callers without a test at hand.
func readMetric(baseURL, series string) (float64, error) { return loadtest.Metric(baseURL, series) }

const (
	redisLookups  = `condcache_lookups_total{source="redis"}`
	replicaBehind = `condcache_backend_behind_total{backend="replica1"}`
	replicaUsable = `condcache_backend_usable{backend="replica1"}`
)

// TestFreshRedisDown (points 3 and 5): with Redis killed under a steady
// lookup load no lookup fails and none is stale; a write while Redis is
// down is refused before commit (nothing written); after Redis restarts
// (empty), the answers stay right and the cache serves again by itself.
func TestFreshRedisDown(t *testing.T) {
	ls := lateTopology(t)
	r := newClient(t, ls.servers.ReaderURL)
	w := newClient(t, ls.servers.WriterURL)
	gt, pt := w.mkGT("unlocked"), w.mkPT()
	want := uniqz("before")
	writeIOV(r, w, gt, pt, want, P{0, 0})
	// The answers in the order they become current; wantNow is the index
	// of the newest acknowledged one. A lookup that began after an
	// acknowledgement must show that answer or a newer one.
	after := uniqz("after")
	versions := []string{want, after}
	var wantNow atomic.Int64

	ctx, cancel := context.WithCancel(context.Background())
	var failed, stale, total atomic.Int64
	var wg sync.WaitGroup
	url := fmt.Sprintf("%s/api/cdb_rest/payloadiovs/?gtName=%s&majorIOV=1&minorIOV=0", ls.servers.ReaderURL, gt)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				expect := int(wantNow.Load())
				res, err := http.Get(url)
				total.Add(1)
				if err != nil {
					failed.Add(1)
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					failed.Add(1)
				} else if !slices.ContainsFunc(versions[expect:], func(v string) bool { return bytes.Contains(b, []byte(v)) }) {
					if stale.Add(1) == 1 {
						t.Logf("stale answer (want %s or newer): %s", versions[expect], b)
					}
				}
			}
		}()
	}
	// An IOV to attach while Redis is down (created before).
	list := r.listOf(gt, pt)
	id := w.mkPIOV(uniqz("refused"), P{0, 5}, open)
	time.Sleep(time.Second)
	if err := ls.stack.Redis.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	// A write now cannot tell Redis before commit: refused, nothing written.
	if res := w.piovAttach(list, id); res.Status != 503 {
		t.Errorf("attach with Redis down: %s, want 503", res)
	}
	unwritten := uniqz("unwritten")
	if res := w.do("POST", "piov", map[string]any{"payload_url": unwritten, "checksum": "c", "major_iov": 0, "minor_iov": 0}); res.Status != 503 {
		t.Errorf("IOV creation with Redis down: %s, want 503", res)
	}
	if err := ls.stack.Redis.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Right after the restart, a write goes through and is seen at once.
	writeIOV(r, w, gt, pt, after, P{0, 10})
	if n := r.countPIOVs(unwritten); n != 0 {
		t.Errorf("the IOV refused while Redis was down exists %d times", n)
	}
	wantNow.Store(1)
	hitsAtRestart := metric(t, ls.servers.ReaderURL, redisLookups)
	deadline := time.Now().Add(15 * time.Second)
	for metric(t, ls.servers.ReaderURL, redisLookups) < hitsAtRestart+50 {
		if time.Now().After(deadline) {
			t.Errorf("the cache did not resume within 15 s after Redis restarted")
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	t.Logf("%d lookups under the Redis outage: %d failed, %d stale", total.Load(), failed.Load(), stale.Load())
	if failed.Load() != 0 || stale.Load() != 0 {
		t.Errorf("%d failed and %d stale lookups of %d, want none", failed.Load(), stale.Load(), total.Load())
	}
}

// TestFreshLoadtestRounds runs the loadtest freshness workload (as
// `condcache loadtest freshness` does against make run) on the late stack,
// writing through the reader, which forwards writes to the writer.
func TestFreshLoadtestRounds(t *testing.T) {
	ls := lateTopology(t)
	c := loadtest.NewClient(ls.servers.ReaderURL)
	rep, err := loadtest.CheckFreshness(t.Context(), loadtest.FreshnessOptions{Writer: c, Reader: c, Rounds: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	if !rep.OK() || rep.Rounds != 50 || rep.Lookups != 150 {
		t.Errorf("freshness workload failed:\n%s", rep)
	}
}

// TestStalenessColumn: the loadtest's staleness measurement, the "stale"
// column of `loadtest run -compare`, counts what a TTL
// cache in front of a reader gets wrong after each write, and condcache
// gets none wrong: through the reader every round shows its write;
// through nginx caching the reader for 300 s (the nginx-ttl target) every
// round misses it.
func TestStalenessColumn(t *testing.T) {
	ls := lateTopology(t)
	const rounds = 10
	direct, err := loadtest.MeasureStaleness(t.Context(), loadtest.NewClient(ls.servers.ReaderURL), ls.servers.ReaderURL, rounds)
	if err != nil {
		t.Fatal(err)
	}
	if direct.Rounds != rounds || direct.Stale != 0 {
		t.Errorf("through the reader: %v stale, want 0 of %d", direct, rounds)
	}
	ngx, err := loadtest.StartNginxTTL(ls.servers.ReaderURL, 300*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ngx.Close()
	cached, err := loadtest.MeasureStaleness(t.Context(), loadtest.NewClient(ngx.URL), ngx.URL, rounds)
	if err != nil {
		t.Fatal(err)
	}
	if cached.Rounds != rounds || cached.Stale != rounds {
		t.Errorf("through nginx with a 300 s TTL: %v stale, want %d of %d", cached, rounds, rounds)
	}
}

// TestFreshOtherReads: the cached GET endpoints besides the lookup, about
// one GT (gtPayloadLists, globalTag/<name>) or not (type, GT and IOV
// listings), are served from Redis when warm and reflect every write the
// moment it is acknowledged.
func TestFreshOtherReads(t *testing.T) {
	ls := lateTopology(t)
	r := newClient(t, ls.servers.ReaderURL)
	w := newClient(t, ls.servers.WriterURL)
	gt := w.mkGT("unlocked")
	prefix := uniqz("other")
	const hitSeries = `condcache_cache_responses_total{result="hit"}`
	hitsBefore := metric(t, ls.servers.ReaderURL, hitSeries)
	gtPath, listsPath := "globalTag/"+gt, "gtPayloadLists/"+gt
	searchPath := "piov?page=1&search=" + prefix
	for i := range 5 {
		for range 2 { // the second read of each is a hit
			for _, p := range []string{gtPath, listsPath, "pt", "globalTags", searchPath} {
				r.ok("GET", p, nil)
			}
		}
		pt := w.mkPT()
		pl, _ := w.mkPL(pt)
		if res := w.plAttach(gt, pl); res.Status != 200 {
			t.Fatalf("%s", res)
		}
		w.mkPIOV(fmt.Sprintf("%s_%d", prefix, i), P{1, 0}, open)
		newGT := w.mkGT("unlocked")

		if got := r.gtLists(gt)[pt]; got != pl {
			t.Errorf("round %d: gtPayloadLists right after the attach: %q for %s, want %q", i, got, pt, pl)
		}
		if body := r.ok("GET", gtPath, nil).Body; !bytes.Contains(body, []byte(`"`+pl+`"`)) {
			t.Errorf("round %d: globalTag/<gt> right after the attach lacks %s: %s", i, pl, body)
		}
		if body := r.ok("GET", "pt", nil).Body; !bytes.Contains(body, []byte(`"`+pt+`"`)) {
			t.Errorf("round %d: the type listing right after the creation lacks %s", i, pt)
		}
		if body := r.ok("GET", "globalTags", nil).Body; !bytes.Contains(body, []byte(`"`+newGT+`"`)) {
			t.Errorf("round %d: the GT listing right after the creation lacks %s", i, newGT)
		}
		if n := i64(t, obj(t, r.ok("GET", searchPath, nil).JSON)["count"]); n != int64(i+1) {
			t.Errorf("round %d: the IOV search right after a creation counts %d, want %d", i, n, i+1)
		}
	}
	if hits := metric(t, ls.servers.ReaderURL, hitSeries) - hitsBefore; hits < 5*5 {
		t.Errorf("only %.0f cached answers served; every warm second read should have been one", hits)
	} else {
		t.Logf("%.0f answers served from Redis", hits)
	}
}

// TestFreshGTResponseETag: a GT's own answers (globalTag/<name>,
// gtPayloadLists/<name>) carry the GT's generation as ETag, honoured with
// 304 until a write to the GT changes it.
func TestFreshGTResponseETag(t *testing.T) {
	ls := lateTopology(t)
	r := newClient(t, ls.servers.ReaderURL)
	w := newClient(t, ls.servers.WriterURL)
	gt := w.mkGT("unlocked")
	for _, path := range []string{"globalTag/" + gt, "gtPayloadLists/" + gt} {
		first := r.ok("GET", path, nil)
		tag := first.Header.Get("ETag")
		if tag == "" {
			t.Fatalf("%s: no ETag", path)
		}
		if res := r.do("GET", path, nil, "If-None-Match", tag); res.Status != 304 {
			t.Errorf("%s with If-None-Match %s: %d, want 304", path, tag, res.Status)
		}
		pl, _ := w.mkPL(w.mkPT())
		if res := w.plAttach(gt, pl); res.Status != 200 {
			t.Fatalf("%s", res)
		}
		res := r.do("GET", path, nil, "If-None-Match", tag)
		if res.Status != 200 || !bytes.Contains(res.Body, []byte(pl)) || res.Header.Get("ETag") == tag {
			t.Errorf("%s after a write, with the old ETag: %d, ETag %q (old %q), body %s", path, res.Status, res.Header.Get("ETag"), tag, res.Body)
		}
	}
}

// TestFreshPlainSQLWrite (deliverable 3): a change made with plain SQL on
// the primary, behind the writer's back, reaches the cached answers too:
// the triggers queue it and the relay publishes it, so lookups and
// listings show it within moments, and never the old answer afterwards.
func TestFreshPlainSQLWrite(t *testing.T) {
	ls := lateTopology(t)
	r := newClient(t, ls.servers.ReaderURL)
	w := newClient(t, ls.servers.WriterURL)
	gt, pt := w.mkGT("unlocked"), w.mkPT()
	old, renamed := uniqz("sqlold"), uniqz("sqlnew")
	writeIOV(r, w, gt, pt, old, P{0, 0})
	searchPath := "piov?page=1&search=" + renamed
	for range 3 { // warm Redis with the old answers
		if got := r.lookupURLs(gt, 1, 0)[pt]; got != old {
			t.Fatalf("before: %q, want %q", got, old)
		}
		r.ok("GET", searchPath, nil)
	}
	conn, err := ls.stack.Primary.Connect(t.Context(), "fresh")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `UPDATE "PayloadIOV" SET payload_url = $1 WHERE payload_url = $2`, renamed, old); err != nil {
		t.Fatal(err)
	}
	seen := testkit.Eventually(t, 5*time.Second, "the lookup answers the URL of the plain-SQL update", func() bool {
		return r.lookupURLs(gt, 1, 0)[pt] == renamed
	})
	for i := range 20 {
		if got := r.lookupURLs(gt, 1, 0)[pt]; got != renamed {
			t.Fatalf("lookup %d after the new URL was seen: %q", i, got)
		}
	}
	testkit.Eventually(t, 5*time.Second, "the IOV search finds the renamed IOV", func() bool {
		return i64(t, obj(t, r.ok("GET", searchPath, nil).JSON)["count"]) == 1
	})
	t.Logf("the plain-SQL update reached the lookup after %v", seen.Round(time.Millisecond))
}

// TestFreshMixedWorkload: the loadtest mixed workload (reads at random runs
// while a writer inserts IOVs through the reader) on the late stack finds
// no read older than an acknowledged write, and its visibility probes
// (one lookup of each write's run right after its acknowledgement) see
// every write on their first answer.
func TestFreshMixedWorkload(t *testing.T) {
	ls := lateTopology(t)
	w := newClient(t, ls.servers.WriterURL)
	gt := w.mkGT("unlocked")
	reco := loadtest.Reco{GlobalTag: gt, Runs: loadtest.RunRange{First: 0, Last: 2000}}
	// Slices of 3 s until 20 writes were checked: on a loaded machine
	// writes come slower than the workload's 20/s.
	var reads, writes int64
	for slice := 0; writes < 20 && slice < 10; slice++ {
		m := loadtest.NewMixed(reco, loadtest.NewClient(ls.servers.ReaderURL), 20)
		m.Probes = []*loadtest.Client{loadtest.NewClient(ls.servers.ReaderURL)}
		res, err := loadtest.Run(t.Context(), loadtest.RunOptions{Target: ls.servers.ReaderURL, Workload: m,
			Connections: 4, Duration: 3 * time.Second, Warmup: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("slice %d: %d reads, %.0f writes, errors %v", slice, res.Requests, res.Extra["writes"], res.Errors)
		if res.Failed() != 0 || res.Extra["write_errors"] != 0 {
			t.Errorf("errors %v, write errors %v", res.Errors, res.Extra["write_errors"])
		}
		if late, ok := res.Extra["visible_late"]; !ok || late != 0 {
			t.Errorf("visibility probes whose first answer missed the write: %v (measured: %v)", late, ok)
		}
		if _, ok := res.Extra["visible_p99_ms"]; res.Extra["writes"] > 0 && !ok {
			t.Errorf("writes acknowledged but no visibility measured: %v", res.Extra)
		}
		reads, writes = reads+res.Requests, writes+int64(res.Extra["writes"])
	}
	if writes < 20 || reads < 100 {
		t.Errorf("too little load to tell: %d reads, %d writes", reads, writes)
	}
}

// TestFreshV2Reads (points 1 and 2 for the v2 reads): after a write
// acknowledged by the writer, the very next range, GT digest, diff and v2
// lookup through the reader reflect it, although the replica is 2 s behind
// and Redis held the previous answers of the range and the digest.
func TestFreshV2Reads(t *testing.T) {
	ls := lateTopology(t)
	r := newClient(t, ls.servers.ReaderURL)
	w := newClient(t, ls.servers.WriterURL)
	gt, pt := w.mkGT("unlocked"), w.mkPT()
	writeIOV(r, w, gt, pt, uniqz("first"), P{0, 0})
	frozen := uniqz("frozen")
	w.ok("POST", "cloneGlobalTag/"+gt+"/"+frozen, rawJSON("null"))
	g := url.QueryEscape(gt)
	paths := map[string]string{
		"range":  "/api/v2/range?gt=" + g + "&from=0&to=0",
		"digest": "/api/v2/gt/" + url.PathEscape(gt) + "/digest",
		"diff":   "/api/v2/diff?a=" + url.QueryEscape(frozen) + "&b=" + g,
		"lookup": "/api/v2/lookup?gt=" + g + "&major=0&minor=1000",
	}
	prev := map[string]string{}
	for i := range 10 {
		for name, path := range paths {
			for range 3 { // warm Redis and the replica
				if b := string(r.ok("GET", path, nil).Body); prev[name] != "" && b != prev[name] {
					t.Fatalf("round %d: %s changed without a write", i, name)
				}
			}
			prev[name] = string(r.ok("GET", path, nil).Body)
		}
		u := fmt.Sprintf("%s_%d", uniqz("fresh"), i)
		writeIOV(r, w, gt, pt, u, P{0, int64(i + 1)})
		for name, path := range paths {
			b := string(r.ok("GET", path, nil).Body)
			if b == prev[name] || !strings.Contains(b, u) && name != "digest" {
				t.Fatalf("round %d: %s right after the acknowledged write of %s: %s", i, name, u, b)
			}
			prev[name] = b
		}
	}
}

// TestFreshNotices (points 1 and 2 for notices, docs/design.md "Notices"):
// once the writer acknowledged a notice's creation, replacement or
// deletion, the very next compatible lookup (its X-Condcache-Notices), v2
// lookup and range through the reader carry the change, although Redis
// held those answers and the replica is 2 s behind.
func TestFreshNotices(t *testing.T) {
	ls := lateTopology(t)
	r := newClient(t, ls.servers.ReaderURL)
	w := newClient(t, ls.servers.WriterURL)
	gt, pt := w.mkGT("unlocked"), w.mkPT()
	writeIOV(r, w, gt, pt, uniqz("fresh"), P{0, 0})
	compat := lookupPath("payloadiovs/", gt, 0, 5)
	lookup := v2LookupPath(gt, P{0, 5}, "")
	rng := "/api/v2/range?gt=" + url.QueryEscape(gt) + "&from=0&to=0"
	warm := func() {
		t.Helper()
		before := metric(t, ls.servers.ReaderURL, redisLookups)
		testkit.Eventually(t, 10*time.Second, "the lookup answered from Redis", func() bool {
			r.ok("GET", compat, nil)
			r.ok("GET", lookup, nil)
			r.ok("GET", rng, nil)
			return metric(t, ls.servers.ReaderURL, redisLookups) > before
		})
	}
	check := func(what, header string, want []int64) {
		t.Helper()
		if got := r.ok("GET", compat, nil).Header.Get("X-Condcache-Notices"); got != header {
			t.Errorf("%s: X-Condcache-Notices %q, want %q", what, got, header)
		}
		if got := noticesOf(v2Get[v2LookupAnswer](t, r, lookup).Notices); !slices.Equal(got, want) {
			t.Errorf("%s: v2 lookup notices %v, want %v", what, got, want)
		}
		if got := noticesOf(v2Get[struct {
			Notices []v2Notice `json:"notices"`
		}](t, r, rng).Notices); !slices.Equal(got, want) {
			t.Errorf("%s: range notices %v, want %v", what, got, want)
		}
	}
	warm()
	check("before", "", []int64{})
	n := w.postNotice(map[string]any{"description": "bad", "importance": "CRITICAL", "payload_types": []string{pt}})
	check("created", "1; max-importance=CRITICAL", []int64{n.ID})
	warm()
	w.ok("PUT", fmt.Sprintf("/api/v2/notices/%d", n.ID), map[string]any{"description": "fine after all", "importance": "MINOR", "global_tags": []string{gt}})
	check("replaced", "1; max-importance=MINOR", []int64{n.ID})
	warm()
	w.ok("PUT", fmt.Sprintf("/api/v2/notices/%d", n.ID), map[string]any{"description": "another GT", "importance": "MINOR", "global_tags": []string{w.mkGT("unlocked")}})
	check("moved away", "", []int64{})
	warm()
	w.ok("PUT", fmt.Sprintf("/api/v2/notices/%d", n.ID), map[string]any{"description": "back", "importance": "MAJOR", "global_tags": []string{gt}})
	check("moved back", "1; max-importance=MAJOR", []int64{n.ID})
	warm()
	w.ok("DELETE", fmt.Sprintf("/api/v2/notices/%d", n.ID), nil)
	check("deleted", "", []int64{})
}
