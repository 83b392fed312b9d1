package reader

import (
	"bufio"
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/testkit"
)

func TestTimeoutEndsOnShutdown(t *testing.T) {
	r := newTestReader(t, &fakeService{}, Config{TimeoutEndpointWait: time.Hour})
	done := make(chan *answer, 1)
	go func() { done <- r.get(api.Prefix + "timeout") }()
	testkit.Eventually(t, 5*time.Second, "the timeout call to wait", func() bool { return r.srv.timeoutWaiters.Load() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case a := <-done:
		if a.status != 200 || a.body != `{}` {
			t.Errorf("timeout answered %d %s", a.status, a.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("GET timeout still waits after Shutdown")
	}
}

func TestTimeoutEndsWhenClientDisconnects(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("no socket peek on", runtime.GOOS)
	}
	defer func(d time.Duration) { disconnectPoll = d }(disconnectPoll)
	disconnectPoll = 10 * time.Millisecond

	srv := New(&fakeService{}, Config{TimeoutEndpointWait: time.Hour})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()

	// A pipelined second request must not make the first look disconnected.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	req := "GET " + api.Prefix + "timeout HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := conn.Write([]byte(req + req)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "the timeout call to wait", func() bool { return srv.timeoutWaiters.Load() == 1 })
	time.Sleep(50 * time.Millisecond)
	if srv.timeoutWaiters.Load() != 1 {
		t.Fatal("a connected client was taken for gone")
	}
	conn.Close()
	testkit.Eventually(t, 5*time.Second, "the timeout call to notice the disconnect", func() bool { return srv.timeoutWaiters.Load() == 0 })
}

func TestTimeoutAnswersAfterItsWait(t *testing.T) {
	srv := New(&fakeService{}, Config{TimeoutEndpointWait: 20 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Shutdown(context.Background())
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET " + api.Prefix + "timeout HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := readRaw(conn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp, "HTTP/1.1 200 OK") || !strings.HasSuffix(resp, "\r\n\r\n{}") || !strings.Contains(resp, "Content-Type: application/json") {
		t.Errorf("timeout answered %q", resp)
	}
}

func TestTimeoutCapsWaiters(t *testing.T) {
	r := newTestReader(t, &fakeService{}, Config{TimeoutEndpointWait: time.Hour, MaxTimeoutWaiters: 1})
	first := make(chan *answer, 1)
	go func() { first <- r.get(api.Prefix + "timeout") }()
	testkit.Eventually(t, 5*time.Second, "the first timeout call to wait", func() bool { return r.srv.timeoutWaiters.Load() == 1 })
	a := r.get(api.Prefix + "timeout")
	if _, code := a.detail(t); a.status != 503 || code != "unavailable" {
		t.Errorf("second timeout call answered %d %s", a.status, a.body)
	}
	// docs/compatibility.md "Timeout": come back in a minute, not a second.
	if got := string(a.header.Peek("Retry-After")); got != "60" {
		t.Errorf("second timeout call: Retry-After %q, want 60", got)
	}
	if err := r.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a := <-first; a.status != 200 {
		t.Errorf("first timeout call answered %d %s", a.status, a.body)
	}
}

// readRaw reads one HTTP response with a Content-Length from conn.
func readRaw(conn net.Conn) (string, error) {
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	var head strings.Builder
	length := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return head.String(), err
		}
		head.WriteString(line)
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			for _, c := range strings.TrimSpace(v) {
				length = length*10 + int(c-'0')
			}
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, length)
	_, err := io.ReadFull(br, body)
	return head.String() + string(body), err
}
