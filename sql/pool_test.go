package sql_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/testkit"
	cdbsql "github.com/condcache/condcache/sql"
)

func TestErrSaturatedIsShedLoad(t *testing.T) {
	if cdbsql.ErrSaturated.Code != condcache.EOverloaded {
		t.Errorf("ErrSaturated has code %q; the HTTP layer sheds %q", cdbsql.ErrSaturated.Code, condcache.EOverloaded)
	}
}

// TestAcquireWait: with every connection of the pool taken, a read or a
// write waits AcquireWait and fails with ErrSaturated, instead of queueing
// until its own deadline; the reader does not take the backend for down.
func TestAcquireWait(t *testing.T) {
	db := testDB(t)
	const wait = 100 * time.Millisecond
	pool, err := cdbsql.ConnectPool(context.Background(), stack.Primary.DSN(db), cdbsql.PoolOptions{MaxConns: 1, AcquireWait: wait})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rd := cdbsql.NewReader(pool, nil, cdbsql.ReaderOptions{})
	store := cdbsql.NewStore(pool, condcache.ModeContinuous)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// While a pool has room, opening a connection is not bounded, however
	// long it takes (here longer than a nanosecond).
	eager, err := cdbsql.ConnectPool(ctx, stack.Primary.DSN(db), cdbsql.PoolOptions{MaxConns: 1, AcquireWait: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer eager.Close()
	if err := eager.Ping(ctx); err != nil {
		t.Errorf("first use of a pool with room: %v", err)
	}
	if _, err := rd.GlobalTagStatuses(ctx); err != nil {
		t.Fatalf("read on an idle pool: %v", err)
	}
	held, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	_, err = rd.GlobalTagStatuses(ctx)
	took := time.Since(start)
	if !errors.Is(err, cdbsql.ErrSaturated) {
		t.Errorf("read on a saturated pool: %v, want ErrSaturated", err)
	}
	if took < wait || took > 5*time.Second {
		t.Errorf("the read gave up after %v, want about %v", took, wait)
	}
	if b := rd.Backends()[0]; !b.Healthy {
		t.Errorf("a saturated primary was taken for down: %+v", b)
	}
	if _, err := store.CreateGlobalTagStatus(ctx, "busy"); !errors.Is(err, cdbsql.ErrSaturated) {
		t.Errorf("write on a saturated pool: %v, want ErrSaturated", err)
	}

	held.Release()
	if _, err := store.CreateGlobalTagStatus(ctx, "free"); err != nil {
		t.Errorf("write once a connection is free: %v", err)
	}
	if ctx.Err() != nil {
		t.Error("the caller's context ran out")
	}
}

// TestAwaitClosedPortThenListener: Await logs that it waits for the primary
// (with its address, never the password) while nothing listens at the
// DSN's port, and succeeds once the database is reachable there.
func TestAwaitClosedPortThenListener(t *testing.T) {
	db := testDB(t)
	port := testkit.FreePort(t)
	u, err := url.Parse(stack.Primary.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	u.Host = fmt.Sprintf("127.0.0.1:%d", port)
	u.User = url.UserPassword(u.User.Username(), "hunter2")
	dsn := u.String()

	var logs testkit.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- cdbsql.Await(ctx, "primary", dsn, log, func(ctx context.Context) error { return cdbsql.Migrate(ctx, dsn) })
	}()

	want := fmt.Sprintf("waiting for the primary at 127.0.0.1:%d", port)
	testkit.Eventually(t, time.Minute, "Await logs "+want, func() bool {
		select {
		case err := <-done:
			t.Fatalf("Await returned %v before the database was reachable; logs:\n%s", err, logs.String())
		default:
		}
		return strings.Contains(logs.String(), want)
	})
	forward(t, port, target)
	if err := <-done; err != nil {
		t.Fatalf("Await: %v\n%s", err, logs.String())
	}
	if strings.Contains(logs.String(), "hunter2") {
		t.Errorf("the password leaked into the logs:\n%s", logs.String())
	}
}

// TestAwaitGivesUp: a refusal that waiting will not fix (a database that
// does not exist) ends Await at once; a context that ends ends it too.
func TestAwaitGivesUp(t *testing.T) {
	var logs testkit.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dsn := stack.Primary.DSN("no_such_database")
	calls := 0
	err := cdbsql.Await(ctx, "primary", dsn, log, func(ctx context.Context) error {
		calls++
		return cdbsql.Migrate(ctx, dsn)
	})
	if err == nil || calls != 1 {
		t.Errorf("missing database: %d calls, %v; want one failed call", calls, err)
	}

	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	closed := fmt.Sprintf("postgres://u@127.0.0.1:%d/x?sslmode=disable&connect_timeout=1", testkit.FreePort(t))
	err = cdbsql.Await(short, "primary", closed, log, func(ctx context.Context) error { return cdbsql.Migrate(ctx, closed) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Await past its context: %v", err)
	}
}

// forward listens on port and relays every connection to target, until
// the test ends.
func forward(t *testing.T, port int, target string) {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, d)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(d, c); d.Close() })
			wg.Go(func() { _, _ = io.Copy(c, d); c.Close() })
		}
	})
}
