package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
)

// TestRedisMasterFailover: Redis behind Sentinel (three sentinels, a master
// and a replica; docs/design.md "Redis failover"). Under a mixed load
// (lookups of two cached GTs, a writer inserting IOVs into one of them) the
// master dies before replicating its last writes: its link to the replica
// is cut (CLIENT KILL TYPE replica, the replica frozen meanwhile so that it
// cannot reconnect), a write to the other GT is acknowledged by the master
// alone, and the master is SIGKILLed. Sentinel promotes the replica, which
// lacks that write's mark and publish but holds the epoch and the GT's
// cached answer. Every lookup must be answered, none stale (each answer
// holds at least the newest write acknowledged before the lookup was sent);
// writes may be refused (503) only until the failover is over and resume by
// themselves. Protection: the epoch is bound to the master's replication ID,
// so the promoted replica is unknown until the relay resynchronises it.
// Seen failing with the epoch checked by EXISTS (cache/scripts.go
// syncedLua): every lookup of the quiet GT after the failover was stale.
func TestRedisMasterFailover(t *testing.T) {
	sentinelBin := findSentinel(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	master, err := testkit.StartRedis(ctx, filepath.Join(dir, "master"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = master.Stop() })
	replica, err := testkit.StartRedis(ctx, filepath.Join(dir, "replica"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = replica.Stop() })
	mc := redis.NewClient(&redis.Options{Addr: master.Addr()})
	defer mc.Close()
	rc := redis.NewClient(&redis.Options{Addr: replica.Addr()})
	defer rc.Close()
	if err := mc.ConfigSet(ctx, "repl-diskless-sync-delay", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.ReplicaOf(ctx, "127.0.0.1", strconv.Itoa(master.Port)).Err(); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "the replica is in sync", func() bool {
		info, _ := rc.Info(ctx, "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	var sentinels []string
	for i := range 3 {
		sentinels = append(sentinels, startSentinel(t, sentinelBin, filepath.Join(dir, fmt.Sprintf("sentinel%d", i+1)), master.Port))
	}
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinels[0]})
	defer sc.Close()
	poll.Eventually(t, 30*time.Second, "the sentinels know each other and the replica", func() bool {
		m, err := sc.Master(ctx, "condcache").Result()
		return err == nil && m["num-other-sentinels"] == "2" && m["num-slaves"] == "1"
	})

	url := "redis-sentinel://" + strings.Join(sentinels, ",") + "/condcache/0"
	tp := start(t, localstack.Options{Replicas: 1}, localstack.ServerOptions{Env: []string{"CONDCACHE_REDIS_URL=" + url}})
	reader, writer := tp.servers.ReaderURL, tp.servers.WriterURL
	busy, quiet := newFixture(t, writer), newFixture(t, writer)
	busy.mustInsert(t, "w000000.root", 0)
	quiet.mustInsert(t, "q000000.root", 0)
	var busyAcked, quietAcked atomic.Int64 // index of the newest acknowledged write

	// Lookups at run 1,000,000 answer the IOV with the greatest start,
	// which is the newest write: an answer is stale when its index is below
	// the newest acknowledged before the lookup was sent.
	var lookups, failed, stale, hits atomic.Int64
	var firstProblem atomic.Pointer[string]
	note := func(s string) { firstProblem.CompareAndSwap(nil, &s) }
	index := regexp.MustCompile(`"[wq](\d{6})\.root"`)
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for i := range 8 {
		f, acked := busy, &busyAcked
		if i%2 == 1 {
			f, acked = quiet, &quietAcked
		}
		wg.Go(func() {
			for loadCtx.Err() == nil {
				want := acked.Load()
				res, err := client.Get(f.lookupURL(reader, 1_000_000))
				if err != nil {
					if loadCtx.Err() == nil {
						failed.Add(1)
						note("lookup: " + err.Error())
					}
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				lookups.Add(1)
				m := index.FindSubmatch(b)
				switch {
				case res.StatusCode != 200 || m == nil:
					failed.Add(1)
					note(fmt.Sprintf("lookup: HTTP %d %s", res.StatusCode, b))
				default:
					if n, _ := strconv.ParseInt(string(m[1]), 10, 64); n < want {
						if stale.Add(1) == 1 {
							note(fmt.Sprintf("stale lookup of %s: %s, want index ≥ %d", f.gt, b, want))
						}
					}
				}
			}
		})
	}
	poll.Eventually(t, 20*time.Second, "lookups are answered by Redis", func() bool {
		return metric(reader, redisLookups) > 100
	})
	hits.Store(int64(metric(reader, redisLookups)))

	// The writer: one insert after another into the busy GT.
	var (
		mu       sync.Mutex
		refusals []time.Time
		accepted []time.Time
		unexpect []string
	)
	wg.Go(func() {
		for i := int64(1); loadCtx.Err() == nil; i++ {
			status, v, err := busy.insert(fmt.Sprintf("w%06d.root", i), i)
			now := time.Now()
			mu.Lock()
			switch {
			case err == nil && status == 200:
				busyAcked.Store(i)
				accepted = append(accepted, now)
			case err == nil && status == 503:
				refusals = append(refusals, now)
			default:
				unexpect = append(unexpect, fmt.Sprintf("insert %d: %d %v %v", i, status, v, err))
			}
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	})
	time.Sleep(2 * time.Second)

	// The master dies before replicating: cut its link to the (frozen)
	// replica, acknowledge a write to the quiet GT, then kill it.
	if err := syscall.Kill(replica.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := mc.ClientKillByFilter(ctx, "TYPE", "replica").Err(); err != nil {
		_ = syscall.Kill(replica.Pid(), syscall.SIGCONT)
		t.Fatal(err)
	}
	quiet.mustInsert(t, "q000001.root", 1)
	quietAcked.Store(1)
	time.Sleep(300 * time.Millisecond) // and some busy writes
	if err := master.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := syscall.Kill(replica.Pid(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	promotedAddr := replica.Addr()
	poll.Eventually(t, 60*time.Second, "Sentinel promotes the replica", func() bool {
		a, err := sc.GetMasterAddrByName(ctx, "condcache").Result()
		return err == nil && len(a) == 2 && a[0]+":"+a[1] == promotedAddr
	})
	promoted := time.Now()
	// Writes resume by themselves; then the load goes on for 3 s.
	poll.Eventually(t, 60*time.Second, "writes are accepted again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted) > 0 && accepted[len(accepted)-1].After(promoted)
	})
	time.Sleep(3 * time.Second)
	stopLoad()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	var firstRefused, lastRefused, resumed time.Time
	for _, r := range refusals {
		if r.After(killed) {
			if firstRefused.IsZero() {
				firstRefused = r
			}
			lastRefused = r
		}
	}
	for _, a := range accepted {
		if a.After(killed) && (lastRefused.IsZero() || a.After(lastRefused)) {
			resumed = a
			break
		}
	}
	refusedFor := resumed.Sub(killed)
	resyncs := metric(writer, "condcache_cache_resyncs_total")
	problem := ""
	if p := firstProblem.Load(); p != nil {
		problem = "; first problem: " + *p
	}
	t.Logf("Redis master killed before replicating (Sentinel promoted its replica %v after the kill): "+
		"%d lookups (%d Redis hits before the fault), %d failed, %d stale; %d writes acknowledged, %d refused with 503, "+
		"writes refused for %v after the kill (first refusal +%v, last +%v), resumed by themselves; %v resyncs by the relay%s",
		promoted.Sub(killed).Round(10*time.Millisecond), lookups.Load(), hits.Load(), failed.Load(), stale.Load(),
		len(accepted), len(refusals), refusedFor.Round(10*time.Millisecond),
		firstRefused.Sub(killed).Round(10*time.Millisecond), lastRefused.Sub(killed).Round(10*time.Millisecond), resyncs, problem)
	if failed.Load() != 0 || stale.Load() != 0 {
		t.Errorf("want every lookup answered and none stale: %d failed, %d stale%s", failed.Load(), stale.Load(), problem)
	}
	if len(unexpect) > 0 {
		t.Errorf("writes answered neither 200 nor 503: %s", strings.Join(unexpect[:min(3, len(unexpect))], "; "))
	}
	if resumed.IsZero() {
		t.Errorf("writes did not resume after the failover")
	} else if limit := promoted.Sub(killed) + 5*time.Second; refusedFor > limit {
		t.Errorf("writes were refused for %v, more than the failover time + 5 s (%v)", refusedFor, limit)
	}
	if resyncs < 2 {
		t.Errorf("the relay resynchronised %v times, want the first one and one after the failover", resyncs)
	}
}

// findSentinel returns Debian's redis-sentinel, else redis-server (which
// runs as a sentinel with --sentinel).
func findSentinel(t *testing.T) []string {
	if p, err := exec.LookPath("redis-sentinel"); err == nil {
		return []string{p}
	}
	p, err := localstack.FindRedis()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return []string{p, "--sentinel"}
}

// startSentinel starts a sentinel watching the master "condcache" on
// loopback and returns its address. Sentinel rewrites its configuration
// file, which lives in dir.
func startSentinel(t *testing.T, bin []string, dir string, masterPort int) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		port, err := localstack.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
			"sentinel monitor condcache 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds condcache 1000\n"+
			"sentinel failover-timeout condcache 5000\n"+
			"sentinel parallel-syncs condcache 1\n", port, dir, masterPort)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(filepath.Join(dir, "sentinel.log"))
		if err != nil {
			t.Fatal(err)
		}
		args := append([]string{conf}, bin[1:]...)
		cmd := exec.Command(bin[0], args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
		t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); <-done })
		addr := "127.0.0.1:" + strconv.Itoa(port)
		c := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1})
		err = errors.New("not started")
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if err = c.Ping(context.Background()).Err(); err == nil {
				break
			}
			select {
			case <-done:
				deadline = time.Time{}
			default:
			}
		}
		c.Close()
		if err == nil {
			return addr
		}
		if attempt == 4 {
			b, _ := os.ReadFile(filepath.Join(dir, "sentinel.log"))
			t.Fatalf("sentinel on %s did not start: %v\n%s", addr, err, b)
		}
	}
}
