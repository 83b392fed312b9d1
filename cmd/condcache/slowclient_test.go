package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
)

// TestSlowClients runs the reader and the writer as processes with a
// header timeout of 2 s and a body timeout of 3 s: a client trickling its
// headers (slowloris) is disconnected after about the header timeout, one
// trickling its body after about the body timeout, other clients are
// served meanwhile, and a Content-Length over -max-body gets 413 with a
// JSON detail and code at once, without the server waiting for the body.
func TestSlowClients(t *testing.T) {
	const headerTimeout, bodyTimeout = 2 * time.Second, 3 * time.Second
	flags := []string{"-header-timeout", headerTimeout.String(), "-body-timeout", bodyTimeout.String(), "-max-body", "1MiB"}
	servers := map[string]string{}

	readerAddr := freeAddr(t)
	startCommand(t, nil, append([]string{"reader", "-addr", readerAddr, "-primary", "postgres://u@" + freeAddr(t) + "/x?sslmode=disable"}, flags...)...)
	servers["reader"] = readerAddr
	if !testing.Short() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		stack, err := localstack.Start(ctx, localstack.Options{Dir: t.TempDir(), Fast: true})
		if err != nil {
			t.Fatalf("starting PostgreSQL: %v", err)
		}
		defer stack.Stop()
		if err := stack.CreateDatabase(ctx, "slow"); err != nil {
			t.Fatal(err)
		}
		writerAddr := freeAddr(t)
		startCommand(t, nil, append([]string{"writer", "-addr", writerAddr, "-primary", stack.Primary.DSN("slow")}, flags...)...)
		servers["writer"] = writerAddr
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for name, addr := range servers {
		waitUntil(t, name+" to answer", 60*time.Second, func() bool {
			res, err := client.Get("http://" + addr + "/healthz")
			if err == nil {
				res.Body.Close()
			}
			return err == nil && res.StatusCode == 200
		})
	}

	for name, addr := range servers {
		t.Run(name, func(t *testing.T) {
			head := "POST /api/cdb_rest/gtstatus HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			body := `{"name":"slow"}`
			slowHead := []byte(head + strings.Repeat("X-Slow: drip\r\n", 40) + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body)
			slowBody := []byte(head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)+200) + body + strings.Repeat(" ", 200))

			var wg sync.WaitGroup
			results := make(chan string, 16)
			for i := range 8 {
				req, fast, want := slowHead, 0, headerTimeout
				if i%2 == 1 {
					req, fast, want = slowBody, len(slowBody)-len(body)-200, bodyTimeout
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					closedAfter, answer, err := trickle(addr, req, fast, 200*time.Millisecond, want+10*time.Second)
					what := map[bool]string{true: "headers", false: "body"}[fast == 0]
					switch {
					case err != nil:
						t.Errorf("slow %s: %v", what, err)
					case closedAfter < want-300*time.Millisecond || closedAfter > want+3*time.Second:
						t.Errorf("slow %s: closed after %v, want about %v", what, closedAfter.Round(time.Millisecond), want)
					case answer != "" && (!strings.HasPrefix(answer, "HTTP/1.1 408") || !strings.Contains(answer, `"code":"timeout"`)):
						t.Errorf("slow %s: answered %q, want nothing or a 408 JSON", what, answer)
					default:
						results <- fmt.Sprintf("slow %s closed after %v", what, closedAfter.Round(time.Millisecond))
					}
				}()
			}
			// Others are served meanwhile.
			var slowest time.Duration
			for deadline := time.Now().Add(bodyTimeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				start := time.Now()
				res, err := client.Get("http://" + addr + "/healthz")
				if err != nil {
					t.Fatalf("GET /healthz while slow clients hang on: %v", err)
				}
				res.Body.Close()
				slowest = max(slowest, time.Since(start))
			}
			wg.Wait()
			close(results)
			for r := range results {
				t.Log(r)
			}
			t.Logf("slowest of the other clients' requests meanwhile: %v", slowest.Round(time.Microsecond))
			if slowest > time.Second {
				t.Errorf("another client waited %v while slow clients were connected", slowest)
			}

			// An oversized Content-Length is refused before the body.
			for _, length := range []int64{2 << 20, 1 << 40} {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				_ = conn.SetDeadline(start.Add(10 * time.Second))
				if _, err := fmt.Fprintf(conn, "%sContent-Length: %d\r\n\r\n{\"na", head, length); err != nil {
					t.Fatal(err)
				}
				answer, _ := io.ReadAll(conn)
				took := time.Since(start)
				conn.Close()
				t.Logf("Content-Length %d: answered in %v", length, took.Round(time.Microsecond))
				if !strings.HasPrefix(string(answer), "HTTP/1.1 413") || !strings.Contains(string(answer), `"detail":"Request body too large."`) ||
					!strings.Contains(string(answer), `"code":"too_large"`) || !strings.Contains(string(answer), "application/json") {
					t.Errorf("Content-Length %d: answered %q, want 413 with a JSON detail and code", length, answer)
				}
				if took > headerTimeout {
					t.Errorf("Content-Length %d: the answer took %v: the server waited for the body", length, took)
				}
			}
		})
	}
}

// trickle sends req to addr, its first fast bytes at once and the rest one
// byte every interval, until the server closes the connection, and says
// how long after the first slow byte that was (after the connection for
// fast = 0) and what the server answered. It gives up after limit.
func trickle(addr string, req []byte, fast int, every, limit time.Duration) (time.Duration, string, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(limit))
	type result struct {
		after  time.Duration
		answer string
		err    error
	}
	closed := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(conn)
		if ne := (net.Error)(nil); errors.As(err, &ne) && ne.Timeout() {
			closed <- result{err: fmt.Errorf("not closed within %v (answer so far %q)", limit, b)}
			return
		}
		closed <- result{after: time.Since(start), answer: string(b)} // a reset after the answer is a close too
	}()
	if _, err := conn.Write(req[:fast]); err != nil {
		return 0, "", err
	}
	start = time.Now()
	for i := fast; i < len(req); i++ {
		select {
		case r := <-closed:
			return r.after - 0, r.answer, r.err
		case <-time.After(every):
		}
		if _, err := conn.Write(req[i : i+1]); err != nil {
			r := <-closed
			return r.after, r.answer, r.err
		}
	}
	r := <-closed
	if r.err == nil {
		r.err = fmt.Errorf("the server read the whole request (%d bytes) without cutting it off", len(req))
	}
	return r.after, r.answer, r.err
}
