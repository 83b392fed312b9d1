package localstack

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

// startStack starts a stack for a test and stops it at cleanup. A missing
// binary skips the test locally but fails it in CI, where the binaries are
// supposed to be installed.
func startStack(t *testing.T, ctx context.Context, o Options) *Stack {
	t.Helper()
	o.Dir = t.TempDir()
	o.Fast = true
	o.Log = testWriter{t}
	began := time.Now()
	s, err := Start(ctx, o)
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skipf("skipping, binaries missing: %v", err)
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("stack with %d replica(s), redis=%v started in %v", o.Replicas, o.Redis, time.Since(began))
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func TestStack(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	s := startStack(t, ctx, Options{Replicas: 1, Redis: true})
	replica := s.Replicas[0]

	if err := s.CreateDatabase(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	primary, err := s.Primary.Connect(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(ctx)
	mustExec(t, ctx, primary, "CREATE TABLE t (id int PRIMARY KEY, v text)")
	mustExec(t, ctx, primary, "INSERT INTO t VALUES (1, 'one')")
	if err := s.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(t, ctx, replica); got != 1 {
		t.Fatalf("replica has %d rows, want 1", got)
	}

	// The replica must refuse writes.
	rconn, err := replica.Connect(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	_, err = rconn.Exec(ctx, "INSERT INTO t VALUES (99, 'nope')")
	rconn.Close(ctx)
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Fatalf("insert on replica: got %v, want read_only_sql_transaction (25006)", err)
	}

	// Redis answers, and comes back after a crash.
	rdb := redis.NewClient(&redis.Options{Addr: s.Redis.Addr()})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis PING: %v", err)
	}
	if err := s.Redis.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := s.Redis.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis PING after restart: %v", err)
	}

	// A crashed replica catches up with what it missed.
	if err := replica.Kill(); err != nil {
		t.Fatal(err)
	}
	if replica.Running() {
		t.Fatal("replica still running after Kill")
	}
	mustExec(t, ctx, primary, "INSERT INTO t VALUES (2, 'two')")
	if err := replica.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(t, ctx, replica); got != 2 {
		t.Fatalf("replica has %d rows after restart, want 2", got)
	}
	primary.Close(ctx)

	// Stop leaves no process behind, servers nor their children.
	var procs []procID
	for _, pid := range []int{s.Primary.Pid(), replica.Pid(), s.Redis.Pid()} {
		st, ok := readStat(pid)
		if !ok {
			t.Fatalf("pid %d not running before Stop", pid)
		}
		procs = append(procs, procID{pid: pid, start: st.start})
		procs = append(procs, descendants(pid)...)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if alive(p) {
			t.Errorf("pid %d still alive after Stop", p.pid)
		}
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestReplicaApplyDelay(t *testing.T) {
	const delay = 2 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	s := startStack(t, ctx, Options{Replicas: 1, ReplicaApplyDelay: delay})

	primary, err := s.Primary.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(ctx)
	mustExec(t, ctx, primary, "CREATE TABLE t (id int PRIMARY KEY)")
	if err := s.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}

	mustExec(t, ctx, primary, "INSERT INTO t VALUES (1)")
	committed := time.Now()
	replica := s.Replicas[0]
	if got := countIn(t, ctx, replica, "postgres"); got != 0 {
		t.Fatalf("replica sees %d rows right after commit, want 0 (apply delay %v)", got, delay)
	}
	if err := s.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countIn(t, ctx, replica, "postgres"); got != 1 {
		t.Fatalf("replica sees %d rows after WaitReplicated, want 1", got)
	}
	if lag := time.Since(committed); lag < delay-100*time.Millisecond {
		t.Errorf("row visible on replica after %v, before the %v apply delay", lag, delay)
	}
}

func TestFindPGBinMissing(t *testing.T) {
	t.Setenv("PG_BIN_DIR", t.TempDir())
	_, err := FindPGBin()
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "apt-get install postgresql-15") {
		t.Fatalf("FindPGBin with empty PG_BIN_DIR: %v", err)
	}
}

func mustExec(t *testing.T, ctx context.Context, conn interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, sql string) {
	t.Helper()
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, ctx context.Context, p *Postgres) int {
	t.Helper()
	return countIn(t, ctx, p, "app")
}

func countIn(t *testing.T, ctx context.Context, p *Postgres, db string) int {
	t.Helper()
	conn, err := p.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatalf("%s: count: %v", p.Name, err)
	}
	return n
}
