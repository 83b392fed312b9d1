package admission

import (
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// rateBuckets is how many token buckets the per-client rate limits hash
// clients into. Memory stays fixed however many clients there are; two
// clients that hash alike share a budget, which at this size is rare for
// the hundreds of clients a server sees.
const rateBuckets = 4096

// clientRates limits each client to rate requests per second with bursts
// of burst, in hashed token buckets. (A dozen lines instead of
// golang.org/x/time/rate and a map of limiters per client, which would
// need an eviction scheme of its own.)
type clientRates struct {
	rate, burst float64
	seed        maphash.Seed
	buckets     [rateBuckets]tokenBucket
}

type tokenBucket struct {
	mu     sync.Mutex
	tokens float64
	last   int64 // unix ns of the last refill; 0 = never used (full)
}

func newClientRates(rate float64, burst int) *clientRates {
	if burst < 1 {
		burst = max(1, int(math.Ceil(rate)))
	}
	return &clientRates{rate: rate, burst: float64(burst), seed: maphash.MakeSeed()}
}

// take spends one token of client's bucket at now (unix ns). When there is
// none it reports how long until there is one.
func (r *clientRates) take(client string, now int64) (ok bool, retryIn time.Duration) {
	b := &r.buckets[maphash.String(r.seed, client)%rateBuckets]
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == 0 {
		b.tokens = r.burst
	} else if now > b.last {
		b.tokens = min(r.burst, b.tokens+float64(now-b.last)/1e9*r.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / r.rate * 1e9)
}
