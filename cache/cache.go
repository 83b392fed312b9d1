package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/coalesce"
)

// Defaults of Options.
const (
	// DefaultTimeout bounds one Redis call of a reader: a slow Redis must
	// not slow lookups down more than this before PostgreSQL answers.
	DefaultTimeout = 50 * time.Millisecond
	// DefaultTTL caps how long an entry lives (counted from the first fill
	// of its generation).
	DefaultTTL = time.Hour
	// DefaultMarkTTL is how long a write's mark holds if its publish never
	// comes (the write failed to commit, or its writer died).
	DefaultMarkTTL = 10 * time.Minute
	// DefaultOpenFor is how long the circuit breaker keeps a failing Redis
	// out of the request path before probing it again.
	DefaultOpenFor = time.Second
	// tripAfter consecutive failures open the breaker.
	tripAfter = 3
)

// Options configures a Cache; zero fields take the defaults.
type Options struct {
	// URL is the Redis URL, e.g. redis://127.0.0.1:6379/0, or
	// redis-sentinel://s1:26379,s2:26379,s3:26379/mymaster for the master
	// Redis Sentinel names.
	URL     string
	Timeout time.Duration
	TTL     time.Duration
	MarkTTL time.Duration
	OpenFor time.Duration
	// LocalBytes bounds the reader's in-memory copies of answers (see
	// local.go); 0 means DefaultLocalBytes, negative none.
	LocalBytes int64
	// Lease is, for a writer, the longest lease TTL of its readers: how
	// long a write waits at most for a reader that does not acknowledge
	// (lease.go; 0 = DefaultLease). Readers pass theirs to StartLeases.
	Lease time.Duration
	// Registerer receives the cache's metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Cache is a Redis-backed condcache.LookupCache and condcache.Invalidator.
type Cache struct {
	rdb     *redis.Client
	breaker *gobreaker.CircuitBreaker[any]
	local   *local
	states  coalesce.Group[string, gtState] // shared checks of a GT's state (local.go)
	o       Options
	log     *slog.Logger
	m       metrics
	lease   atomic.Pointer[leases] // a reader's, once RunLeases runs
	channel string                 // of the invalidation notices (lease.go)
}

var (
	_ condcache.LookupCache = (*Cache)(nil)
	_ condcache.Invalidator = (*Cache)(nil)
)

// New returns a Cache on the Redis at o.URL (one server, or the master
// that Redis Sentinel names: see CheckURL). It does not connect yet.
func New(o Options) (*Cache, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.MarkTTL <= 0 {
		o.MarkTTL = DefaultMarkTTL
	}
	if o.OpenFor <= 0 {
		o.OpenFor = DefaultOpenFor
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	// Tight timeouts and no retries: a lookup that cannot get an answer
	// from Redis at once gets it from PostgreSQL.
	//
	// Every call carries a context deadline: o.Timeout for a reader's
	// call, writeTimeout for the writer's. With ContextTimeoutEnabled the
	// client's own timeouts only cap those deadlines, so they are set to
	// the longer one: a client-wide 50 ms read timeout would also cut the
	// writer's marks short under load, and refuse writes for nothing.
	rdb, err := newClient(o.URL, writeTimeout(o.Timeout))
	if err != nil {
		return nil, fmt.Errorf("cache: bad Redis URL: %w", err)
	}
	if o.LocalBytes == 0 {
		o.LocalBytes = DefaultLocalBytes
	}
	c := &Cache{rdb: rdb, o: o, log: o.Logger, m: newMetrics(o.Registerer),
		local: newLocal(o.LocalBytes, o.TTL), channel: invalidationChannel + ":" + strconv.Itoa(rdb.Options().DB)}
	c.breaker = gobreaker.NewCircuitBreaker[any](gobreaker.Settings{
		Name:        "redis",
		MaxRequests: 1,
		Timeout:     o.OpenFor,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= tripAfter },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			c.log.Warn("redis circuit breaker", "from", from.String(), "to", to.String())
			c.m.breakerOpen.Set(boolFloat(to != gobreaker.StateClosed))
		},
	})
	return c, nil
}

// Close closes the connections.
func (c *Cache) Close() error { return c.rdb.Close() }

// call runs fn through the circuit breaker under the cache's timeout. While
// the breaker is open it fails at once, so a dead Redis costs nothing.
func (c *Cache) call(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	_, err := c.breaker.Execute(func() (any, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		err := fn(ctx)
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		return nil, err
	})
	return err
}

func genKeys(gt string) (gen, w, v string) {
	return "cc:gen:{" + gt + "}", "cc:w:{" + gt + "}", "cc:v:{" + gt + "}"
}

// responsesKey holds a GT's cached answers of reads other than the lookup.
func responsesKey(gt string) string { return "cc:r:{" + gt + "}" }

const (
	epochKey  = "cc:epoch"
	resyncKey = "cc:resync"
	// The all scope (condcache.AllScope): its counter, its pending writes
	// and its cached answers.
	allCounterKey   = "cc:all:g"
	allPendingKey   = "cc:all:p"
	allResponsesKey = "cc:all:r"
)

func nowMs() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) }

func shapeByte(dict bool) byte {
	if dict {
		return 'd'
	}
	return 'r'
}

// LeaseHit implements condcache.LeasedLookups: a copy confirmed at the
// GT's current version while the lease is active.
func (c *Cache) LeaseHit(gt string, at condcache.Point, dict bool) (condcache.CachedLookup, bool) {
	if !c.lease.Load().active() {
		return condcache.CachedLookup{}, false
	}
	v, _, confirmed, ok := c.local.find(gt, at.CombKey(), dict)
	if !ok || !confirmed {
		return condcache.CachedLookup{}, false
	}
	c.m.leaseHits.Inc()
	return v, true
}

// GetLookup implements condcache.LookupCache. An answer this reader
// already holds a copy of costs only a (shared) check of the GT's
// generation; any other is read from Redis, and a hit is copied.
func (c *Cache) GetLookup(ctx context.Context, gt string, at condcache.Point, dict bool) (condcache.CachedLookup, error) {
	var out condcache.CachedLookup
	k := at.CombKey()
	if v, marks, confirmed, ok := c.local.find(gt, k, dict); ok {
		if confirmed && c.lease.Load().active() {
			c.m.leaseHits.Inc()
			return v, nil
		}
		version, epoch := c.local.version(gt)
		st := c.checkState(ctx, gt)
		switch {
		case st.err != nil:
			c.m.results.WithLabelValues("error").Inc()
			return out, st.err
		case st.state == condcache.CacheMiss && st.gen == v.Generation && st.marks == marks:
			c.local.confirm(gt, st.gen, st.marks, version, epoch)
			c.m.results.WithLabelValues("local_hit").Inc()
			return v, nil
		case st.state != condcache.CacheMiss:
			c.m.results.WithLabelValues(stateLabels[st.state]).Inc()
			return condcache.CachedLookup{State: st.state, Generation: st.gen}, nil
		}
		c.local.dropOlder(gt, st.gen, st.marks) // moved on: read Redis afresh
	}
	version, epoch := c.local.version(gt)
	gen, w, v := genKeys(gt)
	pointHex := string(k.AppendHex(nil))
	shape := string(shapeByte(dict))
	var res []any
	err := c.call(ctx, c.o.Timeout, func(ctx context.Context) error {
		var err error
		res, err = getScript.Run(ctx, c.rdb, []string{epochKey, gen, w, v},
			nowMs(), "["+shape+pointHex+"~", "["+shape, pointHex).Slice()
		return err
	})
	if err != nil {
		c.m.results.WithLabelValues("error").Inc()
		return out, err
	}
	r, err := parseReply(res)
	if err != nil {
		return out, err
	}
	out.State, out.Generation = r.state, r.gen
	if r.state == condcache.CacheHit {
		switch err := decodeEntry([]byte(r.str(0)), &out); {
		case errors.Is(err, errOldEntry):
			// Written by an older condcache: a miss, which the fill
			// replaces.
			out = condcache.CachedLookup{State: condcache.CacheMiss, Generation: r.gen}
		case err != nil:
			return condcache.CachedLookup{}, err
		default:
			if marks, ok := c.copyHit(gt, dict, out, r.str(1), r.str(2)); ok {
				c.local.confirm(gt, r.gen, marks, version, epoch)
			}
		}
	}
	c.m.results.WithLabelValues(stateLabels[out.State]).Inc()
	return out, nil
}

// copyHit keeps a local copy of a hit read from Redis, under the window
// its member names (shape byte + two 32-hex-digit keys), taken after the
// GT's marks-th mark.
func (c *Cache) copyHit(gt string, dict bool, hit condcache.CachedLookup, member, marks string) (int64, bool) {
	m, err := strconv.ParseInt(marks, 10, 64)
	if err != nil || len(member) != 65 {
		return 0, false
	}
	from, err1 := condcache.ParseCombKeyHex(member[1:33])
	until, err2 := condcache.ParseCombKeyHex(member[33:])
	if err1 != nil || err2 != nil {
		return 0, false
	}
	c.local.put(gt, dict, from, until, hit, m)
	return m, true
}

// FillLookup implements condcache.LookupCache.
func (c *Cache) FillLookup(ctx context.Context, gt string, dict bool, res *condcache.LookupResult, body []byte) (bool, error) {
	version, epoch := c.local.version(gt)
	gen, w, v := genKeys(gt)
	member := make([]byte, 0, 65)
	member = append(member, shapeByte(dict))
	member = res.Window.From.AppendHex(member)
	member = res.Window.Until.AppendHex(member)
	value := encodeEntry(res, body)
	var stored int64
	err := c.call(ctx, c.o.Timeout, func(ctx context.Context) error {
		var err error
		stored, err = fillScript.Run(ctx, c.rdb, []string{epochKey, gen, w, v},
			strconv.FormatInt(res.Generation, 10), nowMs(), member, value, c.o.TTL.Milliseconds()).Int64()
		return err
	})
	switch {
	case err != nil:
		c.m.fills.WithLabelValues("error").Inc()
	case stored > 0:
		c.m.fills.WithLabelValues("stored").Inc()
		// The copy's body is the tail of the encoded value, which nothing
		// else holds (body itself is the caller's pooled buffer).
		copied := condcache.CachedLookup{State: condcache.CacheHit, Generation: res.Generation, Status: res.Status,
			Window: res.Window, Digest: res.Digest, NoticeSummary: res.NoticeSummary, Answering: answering(res.Rows),
			Body: value[len(value)-len(body):]}
		c.local.put(gt, dict, res.Window.From, res.Window.Until, copied, stored-1)
		c.local.confirm(gt, res.Generation, stored-1, version, epoch)
	default:
		c.m.fills.WithLabelValues("skipped").Inc()
	}
	return stored > 0, err
}

// writeTimeout bounds the writer's calls: more generous than a lookup's,
// since a write waits for them anyway.
func (c *Cache) writeTimeout() time.Duration { return writeTimeout(c.o.Timeout) }

func writeTimeout(timeout time.Duration) time.Duration { return max(10*timeout, time.Second) }

// Mark implements condcache.Invalidator. It bypasses the breaker: a write
// must know whether this very call reached Redis.
func (c *Cache) Mark(parent context.Context, invs []condcache.Invalidation) error {
	ctx, cancel := context.WithTimeout(parent, c.writeTimeout())
	defer cancel()
	deadline := strconv.FormatInt(time.Now().Add(c.o.MarkTTL).UnixMilli(), 10)
	cmds, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, inv := range invs {
			generation := strconv.FormatInt(inv.Generation, 10)
			if inv.GlobalTag == condcache.AllScope {
				markAllScript.Eval(ctx, p, []string{allPendingKey, allResponsesKey}, generation, deadline)
				continue
			}
			gen, w, v := genKeys(inv.GlobalTag)
			markScript.Eval(ctx, p, []string{gen, w, v, responsesKey(inv.GlobalTag), noticeCounterKey}, generation, deadline, inv.GlobalTag, c.channel)
		}
		return nil
	})
	if err != nil {
		c.m.invalidations.WithLabelValues("mark_failed").Add(float64(len(invs)))
		return fmt.Errorf("cache: mark: %w", err)
	}
	var notice int64
	for _, cmd := range cmds {
		if n, err := cmd.(*redis.Cmd).Int64(); err == nil {
			notice = max(notice, n)
		}
	}
	// Readers' leased copies of these GTs must be gone before the write
	// can be acknowledged (docs/design.md "Leases").
	if notice > 0 {
		if err := c.awaitLeases(parent, notice); err != nil {
			c.m.invalidations.WithLabelValues("mark_failed").Add(float64(len(invs)))
			return fmt.Errorf("cache: mark: %w", err)
		}
	}
	c.m.invalidations.WithLabelValues("marked").Add(float64(len(invs)))
	return nil
}

// Unmark implements condcache.Invalidator.
func (c *Cache) Unmark(ctx context.Context, invs []condcache.Invalidation) error {
	var members []any
	for _, inv := range invs {
		if inv.GlobalTag == condcache.AllScope {
			members = append(members, strconv.FormatInt(inv.Generation, 10))
		}
	}
	if len(members) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.writeTimeout())
	defer cancel()
	if err := c.rdb.ZRem(ctx, allPendingKey, members...).Err(); err != nil {
		return fmt.Errorf("cache: unmark: %w", err)
	}
	return nil
}

// errRefused: Redis holds neither the epoch nor a resync (it restarted).
var errRefused = errors.New("cache: Redis has restarted and is not resynchronised yet")

// Publish implements condcache.Invalidator.
func (c *Cache) Publish(ctx context.Context, invs []condcache.Invalidation) error {
	err := c.publish(ctx, invs, "")
	if err != nil {
		c.m.invalidations.WithLabelValues("publish_failed").Add(float64(len(invs)))
		return err
	}
	c.m.invalidations.WithLabelValues("published").Add(float64(len(invs)))
	return nil
}

func (c *Cache) publish(ctx context.Context, invs []condcache.Invalidation, token string) error {
	ctx, cancel := context.WithTimeout(ctx, c.writeTimeout())
	defer cancel()
	// Eval, not EvalSha: a pipeline cannot fall back on NOSCRIPT.
	now := nowMs()
	cmds, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, inv := range invs {
			generation := strconv.FormatInt(inv.Generation, 10)
			if inv.GlobalTag == condcache.AllScope {
				publishAllScript.Eval(ctx, p, []string{epochKey, resyncKey, allCounterKey, allPendingKey, allResponsesKey},
					generation, token, now)
				continue
			}
			gen, w, v := genKeys(inv.GlobalTag)
			publishScript.Eval(ctx, p, []string{epochKey, resyncKey, gen, w, v, responsesKey(inv.GlobalTag), noticeCounterKey},
				generation, token, inv.GlobalTag, c.channel)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache: publish: %w", err)
	}
	for _, cmd := range cmds {
		if n, err := cmd.(*redis.Cmd).Int64(); err != nil || n < 0 {
			return errRefused
		}
	}
	return nil
}

// Synced reports whether Redis holds the epoch, that is, every GT's
// generation (false after a restart or a failover, until Resync).
func (c *Cache) Synced(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.writeTimeout())
	defer cancel()
	n, err := syncedScript.Run(ctx, c.rdb, []string{epochKey}).Int64()
	return n == 1, err
}

// Resync rebuilds Redis's generations from the database: it opens a resync,
// then reads every GT's generation with generations (which must read the
// database after this call began), publishes them, and sets the epoch if
// Redis did not restart meanwhile. Only then do readers trust Redis again.
func (c *Cache) Resync(ctx context.Context, generations func(context.Context) ([]condcache.Invalidation, error)) error {
	token := newToken()
	sctx, cancel := context.WithTimeout(ctx, c.writeTimeout())
	err := startResyncScript.Run(sctx, c.rdb, []string{resyncKey}, token, c.o.MarkTTL.Milliseconds()).Err()
	cancel()
	if err != nil {
		return fmt.Errorf("cache: resync: %w", err)
	}
	invs, err := generations(ctx)
	if err != nil {
		return fmt.Errorf("cache: resync: read generations: %w", err)
	}
	for start := 0; start < len(invs); start += 1000 {
		if err := c.publish(ctx, invs[start:min(start+1000, len(invs))], token); err != nil {
			return fmt.Errorf("cache: resync: %w", err)
		}
	}
	sctx, cancel = context.WithTimeout(ctx, c.writeTimeout())
	defer cancel()
	n, err := finishResyncScript.Run(sctx, c.rdb, []string{epochKey, resyncKey, allCounterKey}, token, nowMs()).Int64()
	if err != nil {
		return fmt.Errorf("cache: resync: %w", err)
	}
	if n < 0 {
		return errors.New("cache: resync: Redis restarted or failed over during the resync")
	}
	c.m.resyncs.Inc()
	return nil
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// answering keeps the ids of rows, as a cache entry does.
func answering(rows []condcache.LookupRow) []condcache.AnsweringIOV {
	out := make([]condcache.AnsweringIOV, len(rows))
	for i, r := range rows {
		out[i] = condcache.AnsweringIOV{ID: r.ID, ListID: r.ListID}
	}
	return out
}
