package cache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Leases (docs/design.md "Leases"): a reader that holds a lease serves its
// local copies without asking Redis, and a writer acknowledges a write only
// once every reader holding a lease has dropped its copies of the GTs the
// write concerns, or its lease has run out.
//
//   - Every change of a GT's state in Redis (markScript, publishScript) is
//     numbered (noticeCounterKey) and published as "<number> <gt>" on the
//     database's invalidation channel (cc:inv:<db>), atomically with the
//     change.
//   - A reader subscribes, and for each notice bumps the GT's version in its
//     copies (local.invalidate), then acknowledges the number it reached
//     (cc:lease:ack:<id>). A copy is served without asking only if it was
//     confirmed by Redis at the GT's current version and subscription
//     epoch, and the lease is active.
//   - The lease: the reader renews cc:lease:<id> (value and PX its TTL)
//     every TTL/4; a renewal sent at t makes the lease active until
//     t + TTL − TTL/10 (before Redis lets the key expire), but only once the
//     reader has processed every notice numbered before the renewal ran, so
//     that notices a writer did not wait for cannot be missed.
//   - The writer, after its marks (numbered n), waits until every lease in
//     the registry has acknowledged n or expired, for at most the longest
//     lease's TTL. A registry younger than the writer's lease TTL (a
//     restarted Redis, which lost the leases of readers that may not know
//     yet) is waited out too.

// Defaults.
const (
	// DefaultLease is the readers' lease TTL, and the longest lease a
	// writer expects: at most how long a write waits for a reader that
	// stopped answering.
	DefaultLease = time.Second
	// leasePoll is how often a waiting writer looks at the acknowledgements.
	leasePoll = 250 * time.Microsecond
)

const (
	invalidationChannel = "cc:inv"
	noticeCounterKey    = "cc:inv:n"
	leaseRegistryKey    = "cc:leases"
	leaseSinceKey       = "cc:leases:since"
	leaseKeyPrefix      = "cc:lease:"
	leaseAckPrefix      = "cc:lease:ack:"
)

// renewScript: KEYS registry, lease key, notice counter, since; ARGV id,
// ttl ms. Registers and renews the lease; returns the notices numbered so
// far.
var renewScript = redis.NewScript(`
if not redis.call('GET', KEYS[4]) then
	local t = redis.call('TIME')
	redis.call('SET', KEYS[4], t[1] * 1000 + math.floor(t[2] / 1000))
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
return tonumber(redis.call('GET', KEYS[3]) or '0')
`)

// awaitScript: KEYS registry, since, notice counter; ARGV notice number,
// writer's lease ttl ms. Returns {leases that have not acknowledged the
// notice, ms the registry is still younger than the ttl, the longest ttl
// among the former, expired leases that had not acknowledged it}; forgets
// expired leases. An acknowledgement above the counter was counted by an
// earlier Redis (restarted, or the master before a failover) and
// acknowledges nothing here.
var awaitScript = redis.NewScript(`
local counter = tonumber(redis.call('GET', KEYS[3]) or '0')
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local since = tonumber(redis.call('GET', KEYS[2]) or '-1')
if since < 0 then
	redis.call('SET', KEYS[2], now)
	since = now
end
local young = math.max(0, since + tonumber(ARGV[2]) - now)
local waiting, longest, lapsed = 0, 0, 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	local ttl = redis.call('GET', '` + leaseKeyPrefix + `' .. id)
	local ack = tonumber(redis.call('GET', '` + leaseAckPrefix + `' .. id) or '0')
	local acked = ack >= tonumber(ARGV[1]) and ack <= counter
	if not ttl then
		redis.call('SREM', KEYS[1], id)
		redis.call('DEL', '` + leaseAckPrefix + `' .. id)
		if not acked then lapsed = lapsed + 1 end
	elseif not acked then
		waiting = waiting + 1
		longest = math.max(longest, tonumber(ttl))
	end
end
return {waiting, young, longest, lapsed}
`)

// awaitLeases returns once every lease has acknowledged notice n or
// expired (and the registry is old enough), or with an error when Redis
// cannot tell: then the write must not be acknowledged.
func (c *Cache) awaitLeases(parent context.Context, n int64) error {
	ttl := c.o.Lease
	if ttl <= 0 {
		ttl = DefaultLease
	}
	began := time.Now()
	var deadline time.Time
	waited := false // some lease had not acknowledged n
	for {
		ctx, cancel := context.WithTimeout(parent, c.writeTimeout())
		res, err := awaitScript.Run(ctx, c.rdb, []string{leaseRegistryKey, leaseSinceKey, noticeCounterKey}, n, ttl.Milliseconds()).Int64Slice()
		cancel()
		if err != nil {
			return fmt.Errorf("leases: %w", err)
		}
		if len(res) != 4 {
			return errors.New("leases: bad reply")
		}
		waiting, young, longest := res[0], time.Duration(res[1])*time.Millisecond, time.Duration(res[2])*time.Millisecond
		if waited && res[3] > 0 {
			// Waited out: the lease ran out before its reader answered.
			c.m.leaseTimeouts.Add(float64(res[3]))
		}
		waited = waited || waiting > 0
		if waiting == 0 && young == 0 {
			c.m.leaseWait.Observe(time.Since(began).Seconds())
			return nil
		}
		if deadline.IsZero() {
			// A lease renewed after the notice becomes active only once
			// its reader processed it, so the longest lease's ttl from
			// now is enough, whatever the acknowledgements do.
			deadline = began.Add(max(longest, young) + leasePoll)
		}
		if time.Now().After(deadline) {
			c.m.leaseWait.Observe(time.Since(began).Seconds())
			if waiting > 0 {
				c.m.leaseTimeouts.Inc()
			}
			return nil
		}
		wait := leasePoll
		if waiting == 0 {
			wait = young
		}
		select {
		case <-parent.Done():
			return parent.Err()
		case <-time.After(wait):
		}
	}
}

// leases is a reader's side: its lease and its subscription.
type leases struct {
	c   *Cache
	id  string
	ttl time.Duration

	// processed is the highest notice number handled; activeUntil (unix
	// ns) is when the lease stops letting copies be served unasked.
	processed   atomic.Int64
	activeUntil atomic.Int64

	mu          sync.Mutex
	subscribed  bool
	pendingFrom int64 // notice number a renewal needs processed to activate
	pendingTill int64 // unix ns the renewal would make it active until

	acks chan struct{} // signals the acknowledger
}

// RunLeases makes the Cache, a reader's, hold a lease of ttl (0:
// DefaultLease) and follow the invalidation channel until ctx is done,
// then gives the lease up; local copies are served without asking Redis
// while the lease is active.
func (c *Cache) RunLeases(ctx context.Context, ttl time.Duration) {
	if ttl <= 0 {
		ttl = DefaultLease
	}
	l := &leases{c: c, id: newToken(), ttl: ttl, acks: make(chan struct{}, 1)}
	c.lease.Store(l)
	var wg sync.WaitGroup
	wg.Go(func() { l.subscribe(ctx) })
	wg.Go(func() { l.acknowledge(ctx) })
	l.renew(ctx)
	wg.Wait()
}

// active reports whether copies may be served without asking Redis.
func (l *leases) active() bool {
	return l != nil && time.Now().UnixNano() < l.activeUntil.Load()
}

// subscribe follows the invalidation channel. Any gap (an error, a
// reconnection) may have lost notices: the lease stops and every copy's
// confirmation is void (local.newEpoch) until resubscribed.
func (l *leases) subscribe(ctx context.Context) {
	ps := l.c.rdb.Subscribe(ctx, l.c.channel)
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() }) // unblocks Receive
	defer stop()
	// last is the number of the last notice this subscription delivered:
	// Redis numbers and publishes in one script, so a subscription's
	// notices come in rising order unless the counter started again.
	var last int64
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			last = 0
			l.lost()
			if ctx.Err() != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && l.startEpoch(ctx) != nil {
				l.lost()
			}
		case *redis.Message:
			num, gt, ok := strings.Cut(m.Payload, " ")
			n, err := strconv.ParseInt(num, 10, 64)
			if !ok || err != nil {
				continue
			}
			l.c.local.invalidate(gt)
			if n < last {
				l.rebase(n)
			} else if n > l.processed.Load() {
				l.processed.Store(n)
			}
			last = n
			l.mu.Lock()
			l.activateLocked()
			l.mu.Unlock()
			l.signalAck()
		}
	}
}

// startEpoch starts a subscription's epoch: confirmations made before
// are void, and notices numbered up to the counter read now are taken as
// processed (those this reader missed changed Redis before any
// confirmation it makes from now on reads it).
func (l *leases) startEpoch(ctx context.Context) error {
	l.c.local.newEpoch()
	gctx, cancel := context.WithTimeout(ctx, l.c.writeTimeout())
	n, err := l.c.rdb.Get(gctx, noticeCounterKey).Int64()
	cancel()
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	// The counter read now, even when below what was processed before: a
	// restarted Redis counts from 0 again (rebase).
	l.processed.Store(n)
	l.mu.Lock()
	l.subscribed = true
	l.activateLocked()
	l.mu.Unlock()
	l.signalAck()
	return nil
}

// rebase starts counting again from notice number n, which is below what
// this reader processed: Redis lost its counter (restarted or flushed with
// the subscription standing, or a failover promoted a replica that had not
// counted as far). Numbers of the old counter would vouch for notices of
// the new one this reader has not handled: writers would never see an
// acknowledgement they wait for (the old number was written to the old
// Redis), and a renewal would activate the lease at once. As at the start
// of a subscription, the confirmations made before are void.
func (l *leases) rebase(n int64) {
	l.c.local.newEpoch()
	l.processed.Store(n)
	l.signalAck()
}

// signalAck has the acknowledger write the processed number now.
func (l *leases) signalAck() {
	select {
	case l.acks <- struct{}{}:
	default:
	}
}

func (l *leases) lost() {
	l.activeUntil.Store(0)
	l.c.local.newEpoch()
	l.mu.Lock()
	l.subscribed = false
	l.mu.Unlock()
	l.c.m.leaseLost.Inc()
}

// activateLocked extends the lease by the last renewal once every notice
// numbered before it has been processed.
func (l *leases) activateLocked() {
	if l.subscribed && l.pendingTill > 0 && l.processed.Load() >= l.pendingFrom {
		if l.pendingTill > l.activeUntil.Load() {
			l.activeUntil.Store(l.pendingTill)
		}
		l.pendingTill = 0
	}
}

// renew renews the lease every ttl/4.
func (l *leases) renew(ctx context.Context) {
	t := time.NewTicker(l.ttl / 4)
	defer t.Stop()
	defer func() {
		// Let writers stop waiting for this reader at once.
		ctx, cancel := context.WithTimeout(context.Background(), l.c.writeTimeout())
		defer cancel()
		l.activeUntil.Store(0)
		_ = l.c.rdb.Del(ctx, leaseKeyPrefix+l.id).Err()
	}()
	for {
		sent := time.Now()
		// Read before the renewal runs: notices numbered after it may be
		// processed by the time it answers, and only a counter that
		// started again can read below what was processed before.
		before := l.processed.Load()
		rctx, cancel := context.WithTimeout(ctx, l.c.o.Timeout*4)
		n, err := renewScript.Run(rctx, l.c.rdb, []string{leaseRegistryKey, leaseKeyPrefix + l.id, noticeCounterKey, leaseSinceKey},
			l.id, l.ttl.Milliseconds()).Int64()
		cancel()
		if err == nil {
			if n < before {
				l.rebase(n)
			}
			l.mu.Lock()
			l.pendingFrom, l.pendingTill = n, sent.Add(l.ttl-l.ttl/10).UnixNano()
			l.activateLocked()
			l.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// acknowledge writes the highest processed notice number whenever it
// moved (down too, after a rebase), and again every ttl/4 until one write
// of it succeeded.
func (l *leases) acknowledge(ctx context.Context) {
	var sent int64
	t := time.NewTicker(l.ttl / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.acks:
		case <-t.C:
		}
		n := l.processed.Load()
		if n == sent {
			continue
		}
		actx, cancel := context.WithTimeout(ctx, l.c.writeTimeout())
		if err := l.c.rdb.Set(actx, leaseAckPrefix+l.id, n, 2*l.ttl).Err(); err == nil {
			sent = n
		}
		cancel()
	}
}
