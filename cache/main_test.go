package cache_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/condcache/condcache/internal/testkit"
)

// One real Redis of its own for the package, and no PostgreSQL. Tests
// isolate themselves by GT name, or by Redis database number when they
// touch the epoch, which is global to a database.
var redisServer *testkit.Redis

func TestMain(m *testing.M) {
	testkit.Main(m, testkit.Options{Name: "cache", Redis: true}, func(_ context.Context, env *testkit.Env) error {
		redisServer = env.Redis
		return nil
	})
}

var dbSeq atomic.Int64

// freshDB returns the URL of a Redis database no other test uses (1..15;
// database 0 is shared by tests that never touch the epoch).
func freshDB(t *testing.T) string {
	t.Helper()
	n := dbSeq.Add(1)
	if n > 15 {
		t.Fatal("out of Redis databases: give this test a shared one")
	}
	return redisServer.URL(int(n))
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
