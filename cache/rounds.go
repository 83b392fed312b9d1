package cache

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Fill rounds across readers (docs/design.md "Farm bursts"): the reader
// leading a round of a GT's misses holds cc:round:{N}:<generation> for at most
// roundHold; the other readers wait until it is gone, then ask the cache
// again (the leader filled it). The bound means a leader that died or
// whose query is slow holds the others for at most that long, after which
// they query themselves.
const (
	roundHold = 250 * time.Millisecond
	roundPoll = 2 * time.Millisecond
)

func roundKey(gt string, generation int64) string {
	return "cc:round:{" + gt + "}:" + strconv.FormatInt(generation, 10)
}

// releaseRoundScript: KEYS round; ARGV token. Deletes the round if it is
// still the caller's.
var releaseRoundScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// LeadFill implements condcache.FillRounds.
func (c *Cache) LeadFill(ctx context.Context, gt string, generation int64) (release func(), lead bool) {
	token := newToken()
	rctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	ok, err := c.rdb.SetNX(rctx, roundKey(gt, generation), token, roundHold).Result()
	cancel()
	if err != nil || ok {
		// Leading, or Redis cannot tell: query (at worst one more query).
		return func() {
			if ok {
				rctx, cancel := context.WithTimeout(context.Background(), c.o.Timeout)
				_ = releaseRoundScript.Run(rctx, c.rdb, []string{roundKey(gt, generation)}, token).Err()
				cancel()
			}
		}, true
	}
	return func() {}, false
}

// AwaitFill implements condcache.FillRounds.
func (c *Cache) AwaitFill(ctx context.Context, gt string, generation int64) {
	deadline := time.Now().Add(roundHold)
	for time.Now().Before(deadline) {
		rctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
		n, err := c.rdb.Exists(rctx, roundKey(gt, generation)).Result()
		cancel()
		if err != nil || n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(roundPoll):
		}
	}
}
