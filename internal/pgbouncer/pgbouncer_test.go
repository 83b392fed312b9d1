package pgbouncer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
	"github.com/condcache/condcache/loadtest"
)

// Debian's pgbouncer (1.18 on Debian 12) in transaction pooling mode in
// front of the primary and of the replica. What these tests establish is
// in docs/operations.md "PgBouncer".

var (
	stack  *localstack.Stack
	binary string
)

func TestMain(m *testing.M) {
	testkit.Main(m, testkit.Options{Name: "pgbouncer", Build: true, Stack: &localstack.Options{Replicas: 1, Redis: true}},
		func(ctx context.Context, env *testkit.Env) error {
			stack, binary = env.Stack, env.Binary
			return nil
		})
}

// bouncer is a pgbouncer process; databases maps its database names to
// libpq connection strings of the servers.
type bouncer struct {
	port int
	dir  string
}

func findPgbouncer(t *testing.T) string {
	for _, p := range []string{"pgbouncer", "/usr/sbin/pgbouncer"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("pgbouncer is not installed (apt-get install pgbouncer; .ci/install-deps --test does)")
	}
	t.Skip("pgbouncer is not installed (apt-get install pgbouncer)")
	return ""
}

func startBouncer(t *testing.T, databases map[string]string, extra string) *bouncer {
	t.Helper()
	bin := findPgbouncer(t)
	dir, err := os.MkdirTemp("", "condcache-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	var dbs strings.Builder
	for name, conn := range databases {
		fmt.Fprintf(&dbs, "%s = %s\n", name, conn)
	}
	for attempt := 0; ; attempt++ {
		port, err := localstack.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ini := fmt.Sprintf(`[databases]
%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
server_reset_query =
logfile = %s/pgbouncer.log
pidfile = %s/pgbouncer.pid
%s
`, dbs.String(), port, dir, dir, dir, extra)
		must(t, os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644))
		must(t, os.WriteFile(filepath.Join(dir, "userlist.txt"), []byte(`"condcache" ""`+"\n"), 0o644))
		args := []string{filepath.Join(dir, "pgbouncer.ini")}
		if os.Geteuid() == 0 {
			// PgBouncer refuses to run as root.
			u, err := user.Lookup("postgres")
			if err != nil {
				t.Fatalf("pgbouncer does not run as root and there is no postgres user: %v", err)
			}
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			must(t, os.Chown(dir, uid, gid))
			must(t, os.Chmod(dir, 0o755))
			args = append([]string{"-u", "postgres"}, args...)
		}
		cmd := exec.Command(bin, args...)
		out := &testkit.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		must(t, cmd.Start())
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGINT); <-done })
		b := &bouncer{port: port, dir: dir}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			select {
			case <-done:
				log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
				if attempt < 3 && strings.Contains(string(log)+out.String(), "in use") {
					goto retry
				}
				t.Fatalf("pgbouncer exited: %s\n%s", out, log)
			default:
			}
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				c.Close()
				return b
			}
		}
		t.Fatalf("pgbouncer did not answer on port %d", port)
	retry:
	}
}

// dsn is a URL of database db through the bouncer, with extra query
// parameters.
func (b *bouncer) dsn(db, params string) string {
	u := fmt.Sprintf("postgres://condcache@127.0.0.1:%d/%s?sslmode=disable", b.port, db)
	if params != "" {
		u += "&" + params
	}
	return u
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// server maps a bouncer database onto database db of p.
func server(p *localstack.Postgres, db string) string {
	return fmt.Sprintf("host=%s port=%d dbname=%s user=condcache", p.Host, p.Port, db)
}

var dbSeq sync.Mutex
var dbNum int

func newDatabase(t *testing.T) string {
	t.Helper()
	dbSeq.Lock()
	dbNum++
	name := fmt.Sprintf("bouncer_%d", dbNum)
	dbSeq.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must(t, stack.CreateDatabase(ctx, name))
	return name
}

// TestQueryExecModes: which of pgx's query execution modes survive
// transaction pooling, under concurrency (statements of one client
// connection land on different server connections). The ones condcache
// may use through PgBouncer are those that pass here.
func TestQueryExecModes(t *testing.T) {
	db := newDatabase(t)
	b := startBouncer(t, map[string]string{"db": server(stack.Primary, db)}, "")
	want := map[string]bool{"cache_statement": false, "cache_describe": true, "describe_exec": false, "exec": true, "simple_protocol": true}
	for _, mode := range []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			pool, err := pgxpool.New(t.Context(), b.dsn("db", "default_query_exec_mode="+mode))
			must(t, err)
			defer pool.Close()
			var mu sync.Mutex
			var failures int
			var first error
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := range 100 {
						var n int64
						err := pool.QueryRow(t.Context(), "SELECT $1::bigint + count(*) FROM pg_class WHERE relname <> $2", int64(i), fmt.Sprint(w)).Scan(&n)
						if err == nil {
							err = pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
								if _, err := tx.Exec(t.Context(), "SELECT set_config('condcache.actor', $1, true)", "t"); err != nil {
									return err
								}
								var s string
								return tx.QueryRow(t.Context(), "SELECT current_setting('condcache.actor')").Scan(&s)
							})
						}
						if err != nil {
							mu.Lock()
							failures++
							if first == nil {
								first = err
							}
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			t.Logf("default_query_exec_mode=%s through transaction pooling: %d of 800 rounds failed (%v)", mode, failures, first)
			if want[mode] && failures > 0 {
				t.Errorf("%s must work through transaction pooling: %d failures, first %v", mode, failures, first)
			}
		})
	}
}

// process is a condcache server this test runs.
type process struct {
	url  string
	log  *testkit.Buffer
	stop func()
}

func startCondcache(t *testing.T, role string, args ...string) *process {
	t.Helper()
	port, err := localstack.FreePort()
	must(t, err)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(binary, append([]string{role, "-addr", addr}, args...)...)
	log := &testkit.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	must(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p := &process{url: "http://" + addr, log: log, stop: func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", role, log)
		}
	})
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get(p.url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-done:
			t.Fatalf("%s exited:\n%s", role, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready:\n%s", role, log)
		}
	}
}

// TestWriterAndReaderThroughPgbouncer: the writer and a reader reach the
// primary and the replica only through PgBouncer (transaction pooling,
// default_query_exec_mode=exec); migrations ran directly on the primary.
// Every write-then-read round is fresh; bulk loads (COPY) and clones work;
// a write made behind the writer's back reaches the cache although the
// relay's LISTEN cannot work through transaction pooling (its 1 s poll
// delivers it).
func TestWriterAndReaderThroughPgbouncer(t *testing.T) {
	db := newDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, binary, "migrate", "-primary", stack.Primary.DSN(db)).CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	b := startBouncer(t, map[string]string{"primary": server(stack.Primary, db), "replica": server(stack.Replicas[0], db)}, "")
	const mode = "default_query_exec_mode=exec"
	redisURL := "redis://" + stack.Redis.Addr() + "/0"
	w := startCondcache(t, "writer", "-primary", b.dsn("primary", mode), "-migrate=false", "-redis", redisURL)
	r := startCondcache(t, "reader", "-primary", b.dsn("primary", mode), "-replicas", b.dsn("replica", mode),
		"-writer", w.url, "-redis", redisURL)

	c := loadtest.NewClient(r.url)
	rep, err := loadtest.CheckFreshness(ctx, loadtest.FreshnessOptions{Reader: c, Writer: c, Rounds: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("through PgBouncer: %s", strings.TrimSpace(rep.String()))
	if !rep.OK() {
		t.Errorf("freshness through PgBouncer: %s", rep)
	}

	// A bulk load (COPY) and a clone of its GT, through the reader's proxy.
	gt, pt := fmt.Sprintf("bulk_%d", time.Now().UnixNano()), fmt.Sprintf("bulkT_%d", time.Now().UnixNano())
	must(t, c.CreateStatus(ctx, "unlocked"))
	must(t, c.CreateGlobalTag(ctx, gt, "pgbouncer"))
	must(t, c.CreatePayloadType(ctx, pt))
	list, err := c.CreateAttachedList(ctx, gt, pt)
	must(t, err)
	var iovs []map[string]any
	for i := range 5000 {
		iovs = append(iovs, map[string]any{"payload_url": fmt.Sprintf("bulk%d.root", i), "checksum": "c",
			"major_iov": i, "minor_iov": 0, "payload_list": list})
	}
	must(t, c.Do(ctx, http.MethodPost, "bulk_piov", iovs, nil))
	must(t, c.Do(ctx, http.MethodPost, "cloneGlobalTag/"+gt+"/"+gt+"_clone", nil, nil))
	for _, g := range []string{gt, gt + "_clone"} {
		if got := lookupURL(t, r.url, g, 4999); got != "bulk4999.root" {
			t.Errorf("lookup of %s at run 4999 after the bulk load: %q", g, got)
		}
	}

	// Behind the writer's back: plain SQL on the primary. The relay hears
	// no NOTIFY through PgBouncer; its poll publishes within about a second.
	direct, err := pgx.Connect(ctx, stack.Primary.DSN(db))
	must(t, err)
	defer direct.Close(context.Background())
	before := lookupURL(t, r.url, gt, 10) // cached
	began := time.Now()
	if _, err := direct.Exec(ctx, `UPDATE "PayloadIOV" SET payload_url = 'sql.root' WHERE payload_url = $1`, before); err != nil {
		t.Fatal(err)
	}
	for lookupURL(t, r.url, gt, 10) != "sql.root" {
		if time.Since(began) > 10*time.Second {
			t.Fatalf("a plain SQL write did not reach the readers within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("a plain SQL write reached the cache %v after its commit (relay poll; LISTEN does not pass transaction pooling)",
		time.Since(began).Round(10*time.Millisecond))
}

func lookupURL(t *testing.T, reader, gt string, run int64) string {
	t.Helper()
	rows, err := loadtest.NewClient(reader).Lookup(t.Context(), gt, run, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return ""
	}
	u, _ := rows[0][1].(string)
	return u
}

// TestMigrateThroughPgbouncer: condcache migrate through transaction
// pooling, to document whether it may (its advisory lock is a session
// lock; a DDL migration wants one connection).
func TestMigrateThroughPgbouncer(t *testing.T) {
	db := newDatabase(t)
	b := startBouncer(t, map[string]string{"primary": server(stack.Primary, db)}, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 2 {
		out, err := exec.CommandContext(ctx, binary, "migrate", "-primary", b.dsn("primary", "default_query_exec_mode=exec")).CombinedOutput()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("migrate %d through PgBouncer hung", i+1)
		}
		t.Logf("migrate %d through PgBouncer (transaction pooling): err %v; %s", i+1, err, lastLine(string(out)))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestListenThroughPgbouncer: what the relay's LISTEN gets through
// transaction pooling. The LISTEN runs on whichever server connection the
// statement was given, which goes back to the pool right after it: the
// NOTIFY of a write is not delivered to the client (or, worse, reaches
// another client). The relay copes by polling every second.
func TestListenThroughPgbouncer(t *testing.T) {
	db := newDatabase(t)
	b := startBouncer(t, map[string]string{"db": server(stack.Primary, db)}, "")
	ctx := t.Context()
	l, err := pgx.Connect(ctx, b.dsn("db", "default_query_exec_mode=exec"))
	must(t, err)
	defer l.Close(context.Background())
	_, err = l.Exec(ctx, "LISTEN condcache_probe")
	must(t, err)
	direct, err := pgx.Connect(ctx, stack.Primary.DSN(db))
	must(t, err)
	defer direct.Close(context.Background())
	_, err = direct.Exec(ctx, "NOTIFY condcache_probe, 'x'")
	must(t, err)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	n, err := l.WaitForNotification(wctx)
	if err == nil {
		t.Logf("LISTEN through transaction pooling delivered %q (by chance: the LISTEN's server connection was not reused)", n.Payload)
	} else {
		t.Logf("LISTEN through transaction pooling: no notification within 2 s (%v)", err)
	}
}
