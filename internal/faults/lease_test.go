package faults

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
)

// TestReaderPausedUnderLease (docs/design.md "Leases"): a reader frozen
// (SIGSTOP) while it holds a lease and local copies holds each write for
// at most its lease, never longer and never for good; once thawed it
// serves no copy older than a write acknowledged before the lookup began.
// Protection: the writer's wait for the leases (awaitLeases), the lease's
// expiry before Redis forgets it, and a thawed reader's copies needing the
// notices it missed before its lease is active again.
// leaseHits counts the lookups a reader answered from a copy under its lease.
const leaseHits = `condcache_cache_lookups_total{result="lease_hit"}`

// startLeasedLoad starts a lookup load of url that must show want, stopped
// when the test ends, and waits until reader serves copies under its lease.
func startLeasedLoad(t *testing.T, reader, url, want string) *lookupLoad {
	t.Helper()
	load := startLoad(url, want, 4, false)
	t.Cleanup(func() { load.stop() })
	poll.Eventually(t, 10*time.Second, "the reader serves copies under its lease", func() bool {
		return metric(reader, leaseHits) > 0
	})
	return load
}

func TestReaderPausedUnderLease(t *testing.T) {
	const lease = time.Second
	tp := start(t, localstack.Options{Redis: true}, localstack.ServerOptions{
		ReaderArgs: []string{"-cache-lease", lease.String()},
	})
	reader, writer := tp.servers.ReaderURL, tp.servers.WriterURL
	f := newFixture(t, writer)
	f.mustInsert(t, "v0.root", 0)
	url := f.lookupURL(reader, 5)

	// Warm the reader's copies until it serves them under its lease.
	load := startLoad(url, "v0.root", 4, false)
	warm := time.Now().Add(10 * time.Second)
	for metric(reader, leaseHits) <= 0 && time.Now().Before(warm) {
		time.Sleep(100 * time.Millisecond)
	}
	load.stop().wantClean(t)
	if metric(reader, leaseHits) <= 0 {
		t.Fatal("the reader never served a copy under its lease")
	}

	if err := tp.servers.Reader.Pause(); err != nil {
		t.Fatal(err)
	}
	thawed := false
	defer func() {
		if !thawed {
			_ = tp.servers.Reader.Resume()
		}
	}()
	var waits []time.Duration
	for major := int64(1); major <= 5; major++ {
		began := time.Now()
		f.mustInsert(t, fmt.Sprintf("v%d.root", major), major)
		waits = append(waits, time.Since(began))
	}
	t.Logf("writes while the reader was frozen took %v (lease %v)", waits, lease)
	for i, w := range waits {
		// An insert is two writes (piov, piov_attach): each may wait one lease.
		if w > 2*lease+time.Second {
			t.Errorf("write %d took %v: a frozen reader held it longer than its lease (%v)", i+1, w, lease)
		}
	}
	if last := waits[len(waits)-1]; last > lease/2 {
		t.Errorf("the last write still took %v: the frozen reader's lease was not forgotten after it ran out", last)
	}
	if n := metric(writer, "condcache_cache_lease_timeouts_total"); n < 1 {
		t.Errorf("lease timeouts on the writer: %v, want at least 1", n)
	}

	if err := tp.servers.Reader.Resume(); err != nil {
		t.Fatal(err)
	}
	thawed = true
	// Every lookup from now on began after v5.root was acknowledged.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var stale []string
	hc := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(3 * lease)
	for range 4 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				res, err := hc.Get(url)
				if err != nil {
					mu.Lock()
					stale = append(stale, err.Error())
					mu.Unlock()
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || !strings.Contains(string(b), `"v5.root"`) {
					mu.Lock()
					stale = append(stale, fmt.Sprintf("HTTP %d %.200s", res.StatusCode, b))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(stale) > 0 {
		t.Errorf("%d lookups after the thaw did not answer v5.root; first: %s", len(stale), stale[0])
	}
	if n := metric(reader, leaseHits); n <= 0 {
		t.Errorf("lease hits after the thaw: %v", n)
	}
}
