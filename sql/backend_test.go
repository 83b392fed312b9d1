package sql_test

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
	cdbsql "github.com/condcache/condcache/sql"
	"github.com/condcache/condcache/sql/replica"
)

// ownStack starts a private primary + replica for a test that kills or
// delays servers, with one migrated database; it returns the stack and
// pools on that database.
func ownStack(t *testing.T, o localstack.Options) (st *localstack.Stack, db string, primary, replica *pgxpool.Pool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o.Replicas = 1
	st = testkit.StartStack(t, o)
	db = "condcache"
	if err := st.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := cdbsql.Migrate(ctx, st.Primary.DSN(db)); err != nil {
		t.Fatal(err)
	}
	connect := func(dsn string) *pgxpool.Pool {
		p, err := cdbsql.Connect(ctx, dsn, 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	return st, db, connect(st.Primary.DSN(db)), connect(st.Replicas[0].DSN(db))
}

// testLogger sends the reader's log to the test's.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// backendStatus returns the status of the backend named name.
func backendStatus(t *testing.T, rd *cdbsql.Reader, name string) replica.BackendStatus {
	t.Helper()
	for _, b := range rd.Backends() {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("no backend %q in %+v", name, rd.Backends())
	return replica.BackendStatus{}
}

func mustLookup(t *testing.T, rd *cdbsql.Reader, gt string, at condcache.Point) []string {
	t.Helper()
	rows, err := rd.Lookup(context.Background(), gt, at)
	if err != nil {
		t.Fatalf("Lookup(%q, %v): %v", gt, at, err)
	}
	return lookupURLs(rows)
}

// TestReaderReplicaMatchesPrimary: reads served by the replica equal the
// same reads on the primary.
func TestReaderReplicaMatchesPrimary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t)
	p := primaryPool(t, db)
	newLookupFixture(newSeed(t, p))
	if err := stack.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	onPrimary := cdbsql.NewReader(p, nil, cdbsql.ReaderOptions{})
	// A generous MaxLag: other tests write to the shared cluster meanwhile,
	// and this test is about answers, not lag.
	onReplica := cdbsql.NewReader(p, []*pgxpool.Pool{replicaPool(t, db)}, cdbsql.ReaderOptions{MaxLag: time.Minute, Logger: testLogger(t)})
	onReplica.Start(ctx)
	defer onReplica.Close()
	testkit.Eventually(t, 10*time.Second, "replica usable", func() bool { return backendStatus(t, onReplica, "replica1").Usable })

	points := []condcache.Point{pt(-6, 0), pt(-3, 7), pt(0, 0), pt(0, 25), pt(0, 40), pt(1e9, 1), condcache.OpenEnd}
	for _, at := range points {
		want, err := onPrimary.Lookup(ctx, "GT", at)
		if err != nil {
			t.Fatal(err)
		}
		got, err := onReplica.Lookup(ctx, "GT", at)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || len(got) == 0 {
			t.Errorf("Lookup(%v) on the replica = %v, on the primary %v", at, lookupURLs(got), lookupURLs(want))
		}
	}
	wantGT, err1 := onPrimary.GlobalTagByName(ctx, "GT")
	gotGT, err2 := onReplica.GlobalTagByName(ctx, "GT")
	if err1 != nil || err2 != nil || !reflect.DeepEqual(gotGT, wantGT) || len(gotGT.PayloadLists) != 4 {
		t.Errorf("GlobalTagByName on the replica = %+v, %v; on the primary %+v, %v", gotGT, err2, wantGT, err1)
	}
	q := condcache.BrowseQuery{Page: 1, PageSize: 3, Sort: "inserted", Desc: true}
	wantPage, err1 := onPrimary.BrowsePayloadIOVs(ctx, q)
	gotPage, err2 := onReplica.BrowsePayloadIOVs(ctx, q)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(gotPage, wantPage) {
		t.Errorf("BrowsePayloadIOVs on the replica = %+v, %v; on the primary %+v, %v", gotPage, err2, wantPage, err1)
	}

	// Lookups go to the replica. The other reads must see every write
	// committed before them, so they go to the replica only when its last
	// check saw it replay the primary's current position; other tests keep
	// writing to the shared cluster, so either backend may serve them.
	r, pr := backendStatus(t, onReplica, "replica1"), backendStatus(t, onReplica, "primary")
	if r.Reads < uint64(len(points)) || r.Failures != 0 || !r.Healthy || r.LagBytes < 0 || r.Lag < 0 {
		t.Errorf("replica status = %+v, want at least the %d lookups served", r, len(points))
	}
	if total := r.Reads + pr.Reads; total != uint64(len(points)+2) || !pr.Primary || !pr.Usable {
		t.Errorf("primary status = %+v, replica %+v: want %d reads in all", pr, r, len(points)+2)
	}
	if err := onReplica.Ready(ctx); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

// TestReaderFailover: a read that finds its replica dead is answered by the
// primary, and the replica is taken out of rotation at once; the monitor
// notices a dead replica by itself and brings it back when it returns; and
// when the primary dies, the replica carries the reads.
func TestReaderFailover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _, primary, replica := ownStack(t, localstack.Options{})
	r := newSeed(t, primary)
	gt := r.gt("GT", r.status("unlocked"), nil)
	list, _ := r.list(r.ptype("Beam"), &gt)
	r.iov(&list, "beam.root", pt(1, 0))
	if err := st.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"Beam:beam.root"}

	// slow: no check after Start's, so only reads can mark the replica
	// down. fast: checks every 50ms.
	slow := cdbsql.NewReader(primary, []*pgxpool.Pool{replica}, cdbsql.ReaderOptions{CheckInterval: time.Hour, MaxLag: time.Hour, Logger: testLogger(t)})
	fast := cdbsql.NewReader(primary, []*pgxpool.Pool{replica}, cdbsql.ReaderOptions{CheckInterval: 50 * time.Millisecond, MaxLag: time.Hour, Logger: testLogger(t)})
	for _, rd := range []*cdbsql.Reader{slow, fast} {
		rd.Start(ctx)
		defer rd.Close()
		if got := mustLookup(t, rd, "GT", pt(2, 0)); !slices.Equal(got, want) {
			t.Fatalf("Lookup = %v, want %v", got, want)
		}
		if s := backendStatus(t, rd, "replica1"); s.Reads != 1 || !s.Usable {
			t.Fatalf("replica = %+v, want usable and serving", s)
		}
	}

	if err := st.Replicas[0].Kill(); err != nil {
		t.Fatal(err)
	}
	if got := mustLookup(t, slow, "GT", pt(2, 0)); !slices.Equal(got, want) {
		t.Errorf("Lookup with the replica dead = %v, want %v", got, want)
	}
	s := backendStatus(t, slow, "replica1")
	if s.Healthy || s.Usable || s.Failures != 1 || s.Error == "" {
		t.Errorf("replica after a failed read = %+v, want unhealthy with the failure", s)
	}
	if p := backendStatus(t, slow, "primary"); p.Reads != 1 {
		t.Errorf("primary = %+v, want the retried read", p)
	}
	// Later reads go straight to the primary.
	if _, err := slow.GlobalTagSummaries(ctx); err != nil {
		t.Fatal(err)
	}
	if s := backendStatus(t, slow, "replica1"); s.Failures != 1 {
		t.Errorf("replica tried again while down: %+v", s)
	}

	took := testkit.Eventually(t, 10*time.Second, "replica seen down by the monitor", func() bool {
		return !backendStatus(t, fast, "replica1").Healthy
	})
	t.Logf("monitor saw the dead replica after %v", took)
	if got := mustLookup(t, fast, "GT", pt(2, 0)); !slices.Equal(got, want) {
		t.Errorf("Lookup with the replica dead = %v", got)
	}
	if err := fast.Ready(ctx); err != nil {
		t.Errorf("Ready with the primary up: %v", err)
	}

	if err := st.Replicas[0].Start(ctx); err != nil {
		t.Fatal(err)
	}
	took = testkit.Eventually(t, 20*time.Second, "replica back in rotation", func() bool {
		return backendStatus(t, fast, "replica1").Usable
	})
	t.Logf("monitor brought the replica back %v after its restart", took)
	reads := backendStatus(t, fast, "replica1").Reads
	if got := mustLookup(t, fast, "GT", pt(2, 0)); !slices.Equal(got, want) {
		t.Errorf("Lookup after the replica's return = %v", got)
	}
	if s := backendStatus(t, fast, "replica1"); s.Reads != reads+1 {
		t.Errorf("replica after its return = %+v, want it to serve", s)
	}

	// With the primary down, a replica that has replayed everything it
	// received keeps serving, well beyond MaxLag; also for a reader that
	// never saw the primary.
	if err := st.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	short := cdbsql.ReaderOptions{CheckInterval: 50 * time.Millisecond, MaxLag: 200 * time.Millisecond, Logger: testLogger(t)}
	before := cdbsql.NewReader(primary, []*pgxpool.Pool{replica}, short)
	before.Start(ctx)
	defer before.Close()
	if err := st.Primary.Kill(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "primary seen down", func() bool { return !backendStatus(t, before, "primary").Healthy })
	time.Sleep(3 * short.MaxLag)
	after := cdbsql.NewReader(primary, []*pgxpool.Pool{replica}, short)
	after.Start(ctx)
	defer after.Close()
	for name, rd := range map[string]*cdbsql.Reader{"started before": before, "started after": after} {
		if s := backendStatus(t, rd, "replica1"); !s.Usable || s.Lag > short.MaxLag {
			t.Errorf("%s the primary died: replica = %+v, want usable", name, s)
		}
		if got := mustLookup(t, rd, "GT", pt(2, 0)); !slices.Equal(got, want) {
			t.Errorf("%s the primary died: Lookup = %v", name, got)
		}
		if err := rd.Ready(ctx); err != nil {
			t.Errorf("%s the primary died: Ready: %v", name, err)
		}
	}
}

// TestReaderSkipsLaggingReplica: a replica that has not replayed a
// committed write is skipped (after about MaxLag plus a check interval,
// logged), so the write is visible through the reader while the replica
// still lacks it.
func TestReaderSkipsLaggingReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const applyDelay = 2 * time.Second
	st, _, primary, replica := ownStack(t, localstack.Options{ReplicaApplyDelay: applyDelay})
	r := newSeed(t, primary)
	gt := r.gt("GT", r.status("unlocked"), nil)
	list, _ := r.list(r.ptype("Beam"), &gt)
	r.iov(&list, "old.root", pt(1, 0))
	if err := st.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}

	o := cdbsql.ReaderOptions{CheckInterval: 50 * time.Millisecond, MaxLag: 300 * time.Millisecond, Logger: testLogger(t)}
	rd := cdbsql.NewReader(primary, []*pgxpool.Pool{replica}, o)
	rd.Start(ctx)
	defer rd.Close()
	testkit.Eventually(t, 5*time.Second, "replica usable", func() bool { return backendStatus(t, rd, "replica1").Usable })
	if got := mustLookup(t, rd, "GT", pt(5, 0)); !slices.Equal(got, []string{"Beam:old.root"}) {
		t.Fatalf("Lookup = %v", got)
	}
	if s := backendStatus(t, rd, "replica1"); s.Reads != 1 {
		t.Fatalf("replica = %+v, want it to serve while caught up", s)
	}

	committed := time.Now()
	r.iov(&list, "new.root", pt(3, 0))
	// The bound that matters is the apply delay: the replica must be
	// skipped while it still lacks the write. How soon within it is a
	// figure, not a pass mark.
	took := testkit.Eventually(t, applyDelay, "lagging replica skipped", func() bool { return !backendStatus(t, rd, "replica1").Usable })
	t.Logf("replica skipped %v after the commit (MaxLag %v, checks every %v)", took, o.MaxLag, o.CheckInterval)

	if got := mustLookup(t, rd, "GT", pt(5, 0)); !slices.Equal(got, []string{"Beam:new.root"}) {
		t.Errorf("Lookup after the commit = %v, want the new IOV", got)
	}
	var onReplica int
	if err := replica.QueryRow(ctx, `SELECT count(*) FROM "PayloadIOV" WHERE payload_url = 'new.root'`).Scan(&onReplica); err != nil {
		t.Fatal(err)
	}
	if since := time.Since(committed); onReplica != 0 && since < applyDelay {
		t.Fatalf("the replica already has the row %v after the commit: it does not lag", since)
	}
	s := backendStatus(t, rd, "replica1")
	if s.Healthy != true || s.Usable || s.Lag <= o.MaxLag || s.LagBytes <= 0 {
		t.Errorf("lagging replica = %+v, want healthy, not usable, lag > %v and bytes behind", s, o.MaxLag)
	}
	if p := backendStatus(t, rd, "primary"); p.Reads != 1 {
		t.Errorf("primary = %+v, want it to have served the read", p)
	}

	// Once it has replayed the write, it serves again.
	if err := st.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "replica usable again", func() bool { return backendStatus(t, rd, "replica1").Usable })
	if got := mustLookup(t, rd, "GT", pt(5, 0)); !slices.Equal(got, []string{"Beam:new.root"}) {
		t.Errorf("Lookup on the caught-up replica = %v", got)
	}
	if s := backendStatus(t, rd, "replica1"); s.Reads != 2 {
		t.Errorf("replica = %+v, want it to serve again", s)
	}
}

// closedPortPool returns a pool on a port nothing listens on.
func closedPortPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	port, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cdbsql.Connect(context.Background(), fmt.Sprintf("postgres://nobody@127.0.0.1:%d/x?sslmode=disable&connect_timeout=2", port), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestReaderUnreachableReplica: a replica that cannot be reached at start
// is never used; reads and readiness rest on the primary.
func TestReaderUnreachableReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := primaryPool(t, testDB(t))
	newSeed(t, p).status("unlocked")
	rd := cdbsql.NewReader(p, []*pgxpool.Pool{closedPortPool(t)}, cdbsql.ReaderOptions{Logger: testLogger(t)})
	rd.Start(ctx)
	defer rd.Close()
	s := backendStatus(t, rd, "replica1")
	if s.Healthy || s.Usable || s.Error == "" || s.Lag != -1 || s.Addr == "" {
		t.Errorf("unreachable replica = %+v", s)
	}
	if st, err := rd.GlobalTagStatuses(ctx); err != nil || len(st) != 1 {
		t.Errorf("GlobalTagStatuses = %v, %v", st, err)
	}
	if s := backendStatus(t, rd, "replica1"); s.Failures != 0 {
		t.Errorf("unusable replica was tried: %+v", s)
	}
	if err := rd.Ready(ctx); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

// TestReaderNoBackend: with nothing reachable, reads and readiness fail as
// unavailable, not as internal errors.
func TestReaderNoBackend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rd := cdbsql.NewReader(closedPortPool(t), []*pgxpool.Pool{closedPortPool(t)}, cdbsql.ReaderOptions{Logger: testLogger(t)})
	rd.Start(ctx)
	defer rd.Close()
	_, err := rd.Lookup(ctx, "GT", pt(1, 0))
	if code := condcache.ErrorCodeOf(err); code != condcache.EUnavailable {
		t.Errorf("Lookup error = %v (%s), want unavailable", err, code)
	}
	if code := condcache.ErrorCodeOf(rd.Ready(ctx)); code != condcache.EUnavailable {
		t.Errorf("Ready = %s, want unavailable", code)
	}
	if p := backendStatus(t, rd, "primary"); p.Healthy || p.Error == "" || !p.Usable {
		t.Errorf("unreachable primary = %+v, want unhealthy but still the last resort", p)
	}
	// An application error is not a backend failure.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := rd.Lookup(cctx, "GT", pt(1, 0)); condcache.ErrorCodeOf(err) == condcache.EUnavailable {
		t.Errorf("Lookup with a cancelled context = %v, want the cancellation", err)
	}
}

// TestConnect: sessions are named condcache and run in UTC, whatever the
// database's default; settings in the DSN win.
func TestConnect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t)
	if _, err := primaryPool(t, db).Exec(ctx, `ALTER DATABASE `+db+` SET timezone = 'Asia/Tokyo'`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ query, app, tz string }{
		{"", "condcache", "UTC"},
		{"&application_name=mine&TimeZone=Europe/Paris", "mine", "Europe/Paris"},
	} {
		p, err := cdbsql.Connect(ctx, stack.Primary.DSN(db)+tc.query, 2)
		if err != nil {
			t.Fatal(err)
		}
		var app, tz string
		err = p.QueryRow(ctx, `SELECT current_setting('application_name'), current_setting('TimeZone')`).Scan(&app, &tz)
		p.Close()
		if err != nil || app != tc.app || tz != tc.tz {
			t.Errorf("DSN %q: application_name %q, TimeZone %q, %v; want %q, %q", tc.query, app, tz, err, tc.app, tc.tz)
		}
		if p.Config().MaxConns != 2 {
			t.Errorf("MaxConns = %d, want 2", p.Config().MaxConns)
		}
	}
}
