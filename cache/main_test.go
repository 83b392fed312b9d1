package cache_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/condcache/condcache/internal/localstack"
)

// One real Redis for the package (and, since localstack always has one, a
// PostgreSQL primary nobody uses here). Tests isolate themselves by GT name,
// or by Redis database number when they touch the epoch, which is global to
// a database.
var redisAddr string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "condcache-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := localstack.Start(ctx, localstack.Options{Dir: dir, Redis: true, Fast: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting Redis:", err)
		return 1
	}
	defer st.Stop()
	redisAddr = st.Redis.Addr()
	return m.Run()
}

var seq atomic.Int64

func uniq(prefix string) string { return fmt.Sprintf("%s_%d", prefix, seq.Add(1)) }

var dbSeq atomic.Int64

// freshDB returns the URL of a Redis database no other test uses (1..15;
// database 0 is shared by tests that never touch the epoch).
func freshDB(t *testing.T) string {
	t.Helper()
	n := dbSeq.Add(1)
	if n > 15 {
		t.Fatal("out of Redis databases: give this test a shared one")
	}
	return fmt.Sprintf("redis://%s/%d", redisAddr, n)
}

// restartRedis empties the Redis database at url, as a restart of a Redis
// without persistence does, as far as the cache can tell.
func restartRedis(t *testing.T, url string) {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(opts)
	defer admin.Close()
	if err := admin.FlushDB(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
}
