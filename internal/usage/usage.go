// Package usage counts reads per GT and client identity in memory and
// flushes the counts every few seconds to a condcache.UsageRecorder
// (docs/design.md "Access accounting"). Counting is a map increment under
// one of many locks, without allocating once a (GT, client) pair is known;
// it never waits on the database, and a failed flush keeps its counts for
// the next one.
package usage

import (
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/condcache/condcache"
)

// Defaults of Options.
const (
	DefaultInterval     = 5 * time.Second
	DefaultMaxPairs     = 100_000
	DefaultFlushTimeout = 10 * time.Second
	// flushChunk bounds the counts sent in one statement.
	flushChunk = 10_000
	shards     = 64
)

// Options tunes a Counter; zero fields take the defaults.
type Options struct {
	// Interval between flushes: at most this much counting is lost when
	// the process dies.
	Interval time.Duration
	// MaxPairs bounds the (GT, client) pairs held between flushes; reads
	// of new pairs beyond it are dropped (and counted as dropped), so a
	// flood of made-up names cannot grow memory.
	MaxPairs     int
	FlushTimeout time.Duration
	Logger       *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Counter counts reads. Create it with New.
type Counter struct {
	o      Options
	rec    condcache.UsageRecorder
	seed   maphash.Seed
	shards [shards]shard
	pairs  atomic.Int64 // pairs held in the shards

	// pending are counts whose flush failed, retried with the next one.
	mu      sync.Mutex
	pending map[pairKey]*condcache.UsageCount

	counted, flushed, dropped prometheus.Counter
	flushErrors               prometheus.Counter
}

type shard struct {
	mu sync.Mutex
	m  map[string]*entry
}

type entry struct {
	gt, client  string
	n           int64
	first, last int64 // unix ns
}

type pairKey struct{ gt, client string }

// New returns a Counter flushing to rec.
func New(rec condcache.UsageRecorder, o Options) *Counter {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.MaxPairs <= 0 {
		o.MaxPairs = DefaultMaxPairs
	}
	if o.FlushTimeout <= 0 {
		o.FlushTimeout = DefaultFlushTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Counter{o: o, rec: rec, seed: maphash.MakeSeed(), pending: map[pairKey]*condcache.UsageCount{},
		counted: prometheus.NewCounter(prometheus.CounterOpts{Name: "condcache_usage_reads_counted_total",
			Help: "Reads counted by the access accounting."}),
		flushed: prometheus.NewCounter(prometheus.CounterOpts{Name: "condcache_usage_reads_flushed_total",
			Help: "Counted reads written to the database."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "condcache_usage_reads_dropped_total",
			Help: "Reads not counted: too many GT and client pairs between flushes, or flushes failing that long."}),
		flushErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "condcache_usage_flush_errors_total",
			Help: "Flushes of the access accounting that failed (their counts are retried)."}),
	}
	for i := range c.shards {
		c.shards[i].m = map[string]*entry{}
	}
	return c
}

// Register adds the Counter's metrics to reg.
func (c *Counter) Register(reg prometheus.Registerer) {
	reg.MustRegister(c.counted, c.flushed, c.dropped, c.flushErrors)
}

// Add counts one read of GT gt by client.
func (c *Counter) Add(gt, client []byte) {
	var buf [192]byte
	k := append(buf[:0], gt...)
	k = append(k, 0)
	k = append(k, client...)
	now := c.o.Now().UnixNano()
	sh := &c.shards[maphash.Bytes(c.seed, k)%shards]
	sh.mu.Lock()
	e, ok := sh.m[string(k)]
	if ok {
		e.n++
		e.last = now
		sh.mu.Unlock()
		return
	}
	if c.pairs.Add(1) > int64(c.o.MaxPairs) {
		c.pairs.Add(-1)
		sh.mu.Unlock()
		c.dropped.Inc()
		return
	}
	sh.m[string(k)] = &entry{gt: string(gt), client: string(client), n: 1, first: now, last: now}
	sh.mu.Unlock()
}

// Run flushes every Interval until ctx is done, then once more (bounded
// by FlushTimeout) so that a graceful stop loses nothing.
func (c *Counter) Run(ctx context.Context) {
	t := time.NewTicker(c.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.Flush(context.WithoutCancel(ctx))
		case <-ctx.Done():
			c.Flush(context.WithoutCancel(ctx))
			return
		}
	}
}

// Flush writes the counts taken since the last flush, and those of failed
// flushes; on failure it keeps them (up to MaxPairs pairs) for the next.
func (c *Counter) Flush(ctx context.Context) {
	batch := c.take()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.FlushTimeout)
	defer cancel()
	for start := 0; start < len(batch); start += flushChunk {
		chunk := batch[start:min(start+flushChunk, len(batch))]
		if err := c.rec.RecordUsage(ctx, chunk); err != nil {
			c.flushErrors.Inc()
			c.o.Logger.Warn("access accounting: flush failed, retrying with the next one", "err", err, "pairs", len(batch)-start)
			c.keep(batch[start:])
			return
		}
		for _, u := range chunk {
			c.flushed.Add(float64(u.Reads))
		}
	}
}

// take empties the shards and the pending counts into one batch.
func (c *Counter) take() []condcache.UsageCount {
	c.mu.Lock()
	merged := c.pending
	c.pending = map[pairKey]*condcache.UsageCount{}
	c.mu.Unlock()
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		m := sh.m
		sh.m = make(map[string]*entry, len(m))
		c.pairs.Add(-int64(len(m)))
		sh.mu.Unlock()
		for _, e := range m {
			c.counted.Add(float64(e.n)) // here, not in Add: one atomic less per read
			k := pairKey{e.gt, e.client}
			first, last := time.Unix(0, e.first).UTC(), time.Unix(0, e.last).UTC()
			if u, ok := merged[k]; ok {
				u.Reads += e.n
				u.First, u.Last = minTime(u.First, first), maxTime(u.Last, last)
				continue
			}
			merged[k] = &condcache.UsageCount{GlobalTag: e.gt, Client: e.client, Reads: e.n, First: first, Last: last}
		}
	}
	out := make([]condcache.UsageCount, 0, len(merged))
	for _, u := range merged {
		out = append(out, *u)
	}
	return out
}

// keep holds counts of a failed flush for the next one, up to MaxPairs
// pairs; the reads of the rest are dropped.
func (c *Counter) keep(counts []condcache.UsageCount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range counts {
		k := pairKey{u.GlobalTag, u.Client}
		if p, ok := c.pending[k]; ok {
			p.Reads += u.Reads
			p.First, p.Last = minTime(p.First, u.First), maxTime(p.Last, u.Last)
			continue
		}
		if len(c.pending) >= c.o.MaxPairs {
			c.dropped.Add(float64(u.Reads))
			continue
		}
		u := u
		c.pending[k] = &u
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
