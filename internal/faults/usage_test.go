package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/condcache/condcache/internal/localstack"
)

// usageLoad reads the fixture's GT from clients c0..c<n-1>, each its own
// identity, and keeps the time of every answered read.
type usageLoad struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	ok     map[string][]time.Time // client → times of the 200 answers
}

func startUsageLoad(url string, clients int) *usageLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &usageLoad{cancel: cancel, ok: map[string][]time.Time{}}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 5 * time.Second}
	for i := range clients {
		client := fmt.Sprintf("usage-c%d", i)
		l.wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				req.Header.Set("X-Condcache-Client", client)
				res, err := hc.Do(req)
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 200 {
					l.mu.Lock()
					l.ok[client] = append(l.ok[client], time.Now())
					l.mu.Unlock()
				}
			}
		})
	}
	return l
}

func (l *usageLoad) stop() map[string][]time.Time {
	l.cancel()
	l.wg.Wait()
	return l.ok
}

// countedReads reads condcache_usage for the GT, per client.
func countedReads(t *testing.T, tp *topology, gt string) map[string]int64 {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), tp.stack.Primary.DSN(tp.db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT client, reads FROM condcache_usage WHERE global_tag = $1`, gt)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	var client string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&client, &n}, func() error { out[client] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUsageReaderKilled (docs/design.md "Access accounting"): a reader
// SIGKILLed under a lookup load loses at most the reads of its last flush
// interval (5 s) and never counts a read twice; one stopped gracefully
// (SIGTERM) loses none. Protection: the flush every -usage-flush, and the
// last flush after the drain.
func TestUsageReaderKilled(t *testing.T) {
	tp := start(t, localstack.Options{Redis: true}, localstack.ServerOptions{})
	f := newFixture(t, tp.servers.WriterURL)
	f.mustInsert(t, "usage.root", 0)
	url := f.lookupURL(tp.servers.ReaderURL, 5)
	const interval = 5 * time.Second

	// Graceful: every answered read is counted.
	load := startUsageLoad(url, 4)
	time.Sleep(2 * time.Second)
	if err := tp.servers.Reader.Stop(); err != nil {
		t.Fatal(err)
	}
	answered := load.stop()
	counted := countedReads(t, tp, f.gt)
	var total int
	for client, times := range answered {
		total += len(times)
		if counted[client] != int64(len(times)) {
			t.Errorf("after a graceful stop, %s: %d reads counted, %d answered", client, counted[client], len(times))
		}
	}
	t.Logf("graceful stop: %d reads answered, all counted", total)

	// Killed: the reads since the last flush are lost, no more.
	if err := tp.servers.Reader.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := countedReads(t, tp, f.gt)
	load = startUsageLoad(url, 4)
	time.Sleep(interval + 3*time.Second)
	killed := time.Now()
	if err := tp.servers.Reader.Kill(); err != nil {
		t.Fatal(err)
	}
	answered = load.stop()
	after := countedReads(t, tp, f.gt)
	var lost, sent, allowed int64
	for client, times := range answered {
		got := after[client] - before[client]
		sent += int64(len(times))
		lost += int64(len(times)) - got
		if got > int64(len(times)) {
			t.Errorf("%s: %d reads counted, only %d answered", client, got, len(times))
		}
		// The last flush began at most one interval (plus its own time)
		// before the kill: reads answered before that are counted.
		cutoff := killed.Add(-interval - time.Second)
		allowed += int64(len(times) - slices.IndexFunc(times, func(at time.Time) bool { return at.After(cutoff) }))
	}
	rate := float64(sent) / (interval + 3*time.Second).Seconds()
	t.Logf("reader SIGKILLed after %v under 4 clients: %d reads answered, %d counted, %d lost (%.1f s of reads at %.0f reads/s; flush every %v)",
		interval+3*time.Second, sent, sent-lost, lost, float64(lost)/rate, rate, interval)
	if lost > allowed {
		t.Errorf("%d reads lost, more than the %d answered in the last flush interval", lost, allowed)
	}
	if lost == 0 {
		t.Errorf("nothing lost: the kill came right after a flush, or the test measures nothing")
	}
}
