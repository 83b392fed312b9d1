package faults

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/condcache/condcache/internal/localstack"
)

// TestRedisRestartedUnderLease (docs/design.md "Leases", Redis restarted;
// "Point 3: no lost invalidations"): Redis killed and restarted empty while
// the reader serves local copies under its lease and a lookup load runs.
// What must hold: no lookup fails or is stale (every lookup begun after a
// write was acknowledged shows it); the first write on the new Redis is
// acknowledged no earlier than the young lease registry's start
// (cc:leases:since) plus the writer's lease, because readers may still
// believe in leases the new Redis forgot; and once the relay has
// resynchronised Redis the reader acknowledges writes again (none waits
// out its lease) and serves under its lease again.
func TestRedisRestartedUnderLease(t *testing.T) {
	const lease = time.Second // the default -cache-lease of writer and reader
	tp := start(t, localstack.Options{Redis: true}, localstack.ServerOptions{})
	reader, writer := tp.servers.ReaderURL, tp.servers.WriterURL
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: tp.stack.Redis.Addr()})
	defer rdb.Close()
	f := newFixture(t, writer)
	f.mustInsert(t, "v0.root", 0)

	load := startLeasedLoad(t, reader, f.lookupURL(reader, 5), "v0.root")

	// Lookups that begin from now on may see v1.root: wait out those in
	// flight, which must not.
	load.expect("v0.root", "v1.root")
	time.Sleep(500 * time.Millisecond)
	if err := tp.stack.Redis.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := tp.stack.Redis.Start(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	// The first write on the new Redis (the IOV's creation) must wait out
	// the young registry; the attach after it makes v1.root current.
	status, v, err := call("POST", f.api+"/piov", map[string]any{"payload_url": "v1.root", "checksum": "c", "major_iov": 1, "minor_iov": 0})
	if err != nil || status != 200 {
		t.Fatalf("creating v1.root: %d %v %v", status, v, err)
	}
	acked, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	must(t, "PUT", f.api+"/piov_attach", map[string]any{"payload_list": f.list, "piov_id": int64(v.(map[string]any)["id"].(float64))})
	load.expect("v1.root", "")
	since, err := rdb.Get(ctx, "cc:leases:since").Result()
	if err != nil {
		t.Fatalf("cc:leases:since on the new Redis: %v", err)
	}
	sinceMs, _ := strconv.ParseInt(since, 10, 64)
	young := acked.Sub(time.UnixMilli(sinceMs))
	if young < lease {
		t.Errorf("the first write on the restarted Redis was acknowledged %v after its lease registry began, want at least the lease (%v)", young, lease)
	}
	// Writes after it, while Redis is resynchronised and the reader
	// takes its lease again: the reader acknowledges them on the new Redis
	// (none waits out its lease: the reader counts notices from the new
	// counter, docs/design.md "Leases").
	const timeouts = `condcache_cache_lease_timeouts_total`
	timedOut := metric(writer, timeouts)
	for major := int64(2); major <= 4; major++ {
		url := "v" + strconv.FormatInt(major, 10) + ".root"
		load.expect(load.want.Load().want, url)
		time.Sleep(200 * time.Millisecond) // lookups in flight end
		f.mustInsert(t, url, major)
		load.expect(url, "")
		time.Sleep(300 * time.Millisecond)
	}
	if n := metric(writer, timeouts) - timedOut; n > 0 {
		t.Errorf("%v writes after the restart (3 IOVs created and attached) waited out the reader's lease instead of its acknowledgement", n)
	}
	atLastWrite := metric(reader, leaseHits)
	poll.Eventually(t, 10*time.Second, "the reader serves copies under its lease again", func() bool {
		return metric(reader, leaseHits) > atLastWrite
	})
	figures := load.stop()
	figures.wantClean(t)
	t.Logf("Redis restarted under leases: first write acknowledged %v after the new registry began (lease %v), %v after the restart; lease hits resumed; load: %s",
		young.Round(time.Millisecond), lease, time.Since(restarted).Round(time.Millisecond), figures)
}
