package testkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/redis/go-redis/v9"
)

// recorder is a testing.TB that records a Fatalf instead of ending the
// test, as far as Eventually needs.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	// Eventually returns after Fatalf only in this fake; a real test ends.
}

func TestEventually(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		took := Eventually(t, time.Minute, "ten seconds passed", func() bool { return time.Since(start) >= 10*time.Second })
		if took < 10*time.Second || took > 10*time.Second+DefaultPoll {
			t.Errorf("took %v, want 10 s within one poll", took)
		}

		r := &recorder{TB: t}
		Eventually(r, time.Second, "never", func() bool { return false })
		if r.fatal != "never: not within 1s" {
			t.Errorf("failure %q", r.fatal)
		}
		calls := 0
		Poller(100*time.Millisecond).Eventually(r, time.Second, "never", func() bool { calls++; return false })
		if calls < 10 || calls > 12 {
			t.Errorf("%d checks in 1 s every 100 ms", calls)
		}
		EventuallyNil(r, time.Second, "ready", func() error { return errors.New("2 of 3 up") })
		if r.fatal != "ready: not within 1s: 2 of 3 up" {
			t.Errorf("failure %q", r.fatal)
		}
	})
}

func TestBuffer(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Errorf("%d bytes, want 800", n)
	}
}

func TestWaitRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	r := &recorder{TB: t}
	WaitRefused(r, addr, 100*time.Millisecond)
	if !strings.Contains(r.fatal, "a connection was accepted") {
		t.Errorf("an open listener: %q", r.fatal)
	}
	ln.Close()
	WaitRefused(t, addr, 5*time.Second)
}

func TestStartRedis(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	r, err := StartRedis(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opts, err := redis.ParseURL(r.URL(3))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("GET = %q, %v", v, err)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	WaitRefused(t, r.Addr(), 5*time.Second)
}
