package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
)

// TestMain lets a test run this binary as the condcache command: with
// CONDCACHE_TEST_MAIN=1 it runs main with the arguments it was given.
func TestMain(m *testing.M) {
	if os.Getenv("CONDCACHE_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestWriterLifecycle runs the writer command as a process against a
// PostgreSQL that is down when it starts: it waits for the primary (saying
// so, without the password), migrates and serves once PostgreSQL is up. On
// SIGTERM /readyz fails at once while connections are still accepted for
// -shutdown-delay, then new connections are refused, a write in flight all
// along completes, and the process exits 0.
func TestWriterLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stack, err := localstack.Start(ctx, localstack.Options{Dir: t.TempDir(), Fast: true})
	if err != nil {
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	defer stack.Stop()
	const db = "lifecycle"
	if err := stack.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := stack.Primary.Stop(); err != nil {
		t.Fatal(err)
	}

	u, err := url.Parse(stack.Primary.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "hunter2") // trust auth ignores it; logs must too
	addr := freeAddr(t)
	var logs testkit.Buffer
	cmd := exec.CommandContext(ctx, os.Args[0], "writer", "-addr", addr, "-primary", u.String(),
		"-shutdown-delay", "1s", "-drain", "20s")
	cmd.Env = append(os.Environ(), "CONDCACHE_TEST_MAIN=1", "CONDCACHE_REDIS_URL=")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		if t.Failed() || testing.Verbose() {
			t.Logf("writer output:\n%s", logs.String())
		}
	}()

	want := fmt.Sprintf("waiting for the primary at %s:%d", stack.Primary.Host, stack.Primary.Port)
	waitUntil(t, "the writer to wait for the primary", 30*time.Second, func() bool { return strings.Contains(logs.String(), want) })
	if err := stack.Primary.Start(ctx); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	waitUntil(t, "the writer to be ready", 60*time.Second, func() bool {
		status, _, err := do(client, "GET", "http://"+addr+"/readyz", "")
		return err == nil && status == 200
	})

	// A write that waits for a table lock is in flight when SIGTERM comes.
	conn, err := pgx.Connect(ctx, stack.Primary.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE "GlobalTagStatus" IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	type result struct {
		status int
		body   string
		err    error
	}
	slow := make(chan result, 1)
	go func() {
		status, body, err := do(client, "POST", "http://"+addr+"/api/cdb_rest/gtstatus", `{"name":"during-shutdown"}`)
		slow <- result{status, body, err}
	}()
	waitUntil(t, "the write to wait for the lock", 30*time.Second, func() bool {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'condcache' AND wait_event_type = 'Lock'`).Scan(&n)
		return err == nil && n > 0
	})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "/readyz to fail", 10*time.Second, func() bool {
		status, _, err := do(client, "GET", "http://"+addr+"/readyz", "")
		if err != nil {
			t.Fatalf("/readyz refused before it failed: %v", err)
		}
		return status == 503
	})
	waitUntil(t, "new connections to be refused", 10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return errors.Is(err, syscall.ECONNREFUSED)
		}
		c.Close()
		return false
	})
	select {
	case err := <-exited:
		t.Fatalf("the writer exited (%v) with a write in flight", err)
	default:
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-slow; r.err != nil || r.status != 200 {
		t.Errorf("the write in flight: %d %s %v", r.status, r.body, r.err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the writer exited with %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the writer did not exit after SIGTERM")
	}
	out := logs.String()
	if strings.Contains(out, "hunter2") {
		t.Error("the password leaked into the writer's logs")
	}
	if !strings.Contains(out, "writer stopped") {
		t.Error(`the writer did not log "writer stopped"`)
	}
}

// TestWriterStopsWhileWaiting: SIGTERM while the writer waits for its
// primary ends it at once, with status 0.
func TestWriterStopsWhileWaiting(t *testing.T) {
	port := freeAddr(t)
	var logs testkit.Buffer
	cmd := exec.Command(os.Args[0], "writer", "-addr", freeAddr(t), "-primary", "postgres://u:hunter2@"+port+"/x?sslmode=disable")
	cmd.Env = append(os.Environ(), "CONDCACHE_TEST_MAIN=1", "CONDCACHE_REDIS_URL=")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("writer output:\n%s", logs.String())
		}
	}()
	waitUntil(t, "the writer to wait for the primary", 30*time.Second,
		func() bool { return strings.Contains(logs.String(), "waiting for the primary at "+port) })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the writer exited with %v, want 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the writer did not stop on SIGTERM while waiting")
	}
	if strings.Contains(logs.String(), "hunter2") {
		t.Error("the password leaked into the logs")
	}
}

func do(c *http.Client, method, url, body string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// freeAddr returns a local address nothing listens on (for now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
