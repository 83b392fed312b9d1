package cache_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/cache"
	"github.com/condcache/condcache/internal/testkit"
)

// Freshness point 3 across a failover (docs/design.md "Redis failover"): a
// replica promoted to master holds the epoch it copied from its old
// master, but not what the old master acknowledged and never replicated.
// It must count as a restarted Redis: unknown, refusing fills and plain
// publishes, until a resync on it sets an epoch of its own. Seen failing
// with the epoch checked by EXISTS (the old scripts): the promoted replica
// answered "hit" with the entry the lost mark had deleted.
func TestPromotedReplicaIsUnknownUntilResync(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
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
	admin := redis.NewClient(&redis.Options{Addr: replica.Addr()})
	defer admin.Close()
	m := redis.NewClient(&redis.Options{Addr: master.Addr()})
	defer m.Close()
	for _, c := range []*redis.Client{m, admin} {
		// No waiting: for the first replica's sync, nor, at shutdown, for
		// replicas to catch up (Redis 7's shutdown-timeout).
		for k, v := range map[string]string{"repl-diskless-sync-delay": "0", "shutdown-timeout": "0"} {
			if err := c.ConfigSet(ctx, k, v).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := admin.ReplicaOf(ctx, "127.0.0.1", strconv.Itoa(master.Port)).Err(); err != nil {
		t.Fatal(err)
	}
	// A master changes its replication ID when its first replica attaches
	// (it starts a new history): attach first, then resynchronise.
	waitReplicated(t, ctx, master, admin)

	c := open(t, master.URL(0), cache.Options{})
	gt := testkit.Uniq("failover")
	publish(t, c, gt, 5)
	if !fill(t, c, gt, result(5, pt(1, 0), condcache.Point{}), `"old"`) {
		t.Fatal("fill refused on the master")
	}
	wantState(t, get(t, c, gt, pt(2, 0)), condcache.CacheHit, 5)

	// Everything so far reaches the replica; then the link is cut and the
	// master acknowledges a write's mark that the replica never gets.
	waitReplicated(t, ctx, master, admin)
	if err := admin.ReplicaOf(ctx, "no", "one").Err(); err != nil { // promoted
		t.Fatal(err)
	}
	mark(t, c, gt, 6)
	wantState(t, get(t, c, gt, pt(2, 0)), condcache.CachePending, 5)

	p := open0(t, replica.URL(0))
	if ok, err := p.Synced(ctx); err != nil || ok {
		t.Fatalf("Synced on the promoted replica = %v, %v; want false", ok, err)
	}
	wantState(t, get(t, p, gt, pt(2, 0)), condcache.CacheUnknown, 0)
	if fill(t, p, gt, result(5, pt(1, 0), condcache.Point{}), `"old"`) {
		t.Fatal("the promoted replica took a fill before any resync")
	}
	if err := p.Publish(ctx, []condcache.Invalidation{{GlobalTag: gt, Generation: 6}}); err == nil {
		t.Fatal("the promoted replica took a publish before any resync")
	}
	err = p.Resync(ctx, func(context.Context) ([]condcache.Invalidation, error) {
		return []condcache.Invalidation{{GlobalTag: gt, Generation: 6}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, get(t, p, gt, pt(2, 0)), condcache.CacheMiss, 6)
}

// open0 is a cache on url that is not resynchronised.
func open0(t *testing.T, url string) *cache.Cache {
	t.Helper()
	c, err := cache.New(cache.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitReplicated waits until the replica has processed all the master has
// written.
func waitReplicated(t *testing.T, ctx context.Context, master *testkit.Redis, replica *redis.Client) {
	t.Helper()
	m := redis.NewClient(&redis.Options{Addr: master.Addr()})
	defer m.Close()
	field := func(c *redis.Client, name string) string {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				return v
			}
		}
		return ""
	}
	offset := func(c *redis.Client, name string) int64 {
		n, err := strconv.ParseInt(field(c, name), 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	for {
		want := offset(m, "master_repl_offset")
		if field(replica, "master_link_status") == "up" && offset(replica, "slave_repl_offset") >= want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("the replica did not catch up")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
