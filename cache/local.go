package cache

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/condcache/condcache"
)

// The local copy. A lookup answer stored for generation g is the right
// answer for its window for as long as g is the GT's current generation,
// so a reader may keep a copy of it in memory and, instead of fetching the
// body from Redis, only ask Redis whether g is still current, with no write
// pending and no mark since the copy was taken (a mark deletes the GT's
// entries even when its publish never comes): what the full get relies on,
// in a reply of a few bytes.
// Concurrent lookups of one GT share that check, as long as it began after
// they arrived, so every lookup still sees every write acknowledged before
// it started (docs/design.md "Point 1: visible after acknowledgement").

// DefaultLocalBytes bounds the local copies' bodies.
const DefaultLocalBytes = 256 << 20

// localGT holds one GT's copied entries, all of generation gen taken after
// its marks-th mark, by shape, sorted by window start.
type localGT struct {
	gen   int64
	marks int64
	rows  []localEntry
	dicts []localEntry
	bytes int64
	used  uint64 // clock of the last hit, for eviction
	// confirmed: Redis said (gen, marks) is current at a moment when the
	// GT's version was version and the subscription epoch epoch: while
	// both hold, a reader with an active lease serves the copies without
	// asking (lease.go).
	confirmed      bool
	version, epoch uint64
}

type localEntry struct {
	from, until condcache.CombKey
	value       condcache.CachedLookup // State CacheHit, Generation gen
	size        int64
	used        uint64 // clock of the last hit
	expires     int64  // unix ns: a copy lives no longer than the cache TTL
}

// local is the bounded set of copies.
type local struct {
	mu    sync.Mutex
	gts   map[string]*localGT
	bytes int64
	max   int64
	ttl   time.Duration
	clock uint64
	// versions counts the notices received per GT, and epoch the
	// subscriptions (lease.go): a confirmation is void once either moved.
	versions map[string]uint64
	epoch    uint64
}

// maxVersions bounds the notice counts kept; past it they start over in a
// new epoch, which voids every confirmation.
const maxVersions = 1 << 20

// newLocal keeps up to maxBytes of copies, each for at most ttl (the cache
// TTL, which caps how long anything missed can be served, holds for the
// copies too).
func newLocal(maxBytes int64, ttl time.Duration) *local {
	return &local{gts: map[string]*localGT{}, max: maxBytes, ttl: ttl, versions: map[string]uint64{}}
}

// find returns the copy covering at, if any, with the GT's mark count when
// it was taken, and whether its confirmation still holds (lease.go).
func (l *local) find(gt string, at condcache.CombKey, dict bool) (v condcache.CachedLookup, marks int64, confirmed, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.gts[gt]
	if g == nil {
		return condcache.CachedLookup{}, 0, false, false
	}
	entries := g.rows
	if dict {
		entries = g.dicts
	}
	// The last entry starting at or before at.
	i, _ := searchFrom(entries, at)
	if i < len(entries) && entries[i].from == at {
		i++
	}
	if i == 0 || compareKeys(entries[i-1].until, at) <= 0 || entries[i-1].expires < time.Now().UnixNano() {
		return condcache.CachedLookup{}, 0, false, false
	}
	l.clock++
	g.used = l.clock
	entries[i-1].used = l.clock
	confirmed = g.confirmed && g.version == l.versions[gt] && g.epoch == l.epoch
	return entries[i-1].value, g.marks, confirmed, true
}

// version returns the GT's notice count and the epoch, to be taken before
// asking Redis for a confirmation.
func (l *local) version(gt string) (version, epoch uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.versions[gt], l.epoch
}

// confirm records that Redis, asked after version(gt) returned (version,
// epoch), said (gen, marks) is the GT's current state: unless a notice or
// a new subscription came since, the GT's copies of that state are
// confirmed.
func (l *local) confirm(gt string, gen, marks int64, version, epoch uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.gts[gt]
	if g == nil || g.gen != gen || g.marks != marks || l.versions[gt] != version || l.epoch != epoch {
		return
	}
	g.confirmed, g.version, g.epoch = true, version, epoch
}

// invalidate counts a notice about gt: its confirmation is void.
func (l *local) invalidate(gt string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.versions[gt]; !ok && len(l.versions) >= maxVersions {
		clear(l.versions)
		l.epoch++
	}
	l.versions[gt]++
}

// newEpoch voids every confirmation (notices may have been missed).
func (l *local) newEpoch() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.epoch++
}

// put keeps a copy of v (State CacheHit, generation v.Generation), taken
// after the GT's marks-th mark, for the window [from, until). Copies of a
// newer (generation, marks) replace the GT's older ones.
func (l *local) put(gt string, dict bool, from, until condcache.CombKey, v condcache.CachedLookup, marks int64) {
	if l.max <= 0 {
		return
	}
	size := int64(len(v.Body) + len(v.Status) + 96)
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.gts[gt]
	if g != nil && (g.gen != v.Generation || g.marks != marks) {
		if g.gen > v.Generation || g.gen == v.Generation && g.marks > marks {
			return // an older answer arriving late
		}
		l.dropLocked(gt)
		g = nil
	}
	if g == nil {
		g = &localGT{gen: v.Generation, marks: marks}
		l.gts[gt] = g
	}
	entries := &g.rows
	if dict {
		entries = &g.dicts
	}
	i, found := searchFrom(*entries, from)
	l.clock++
	if found { // refilled after expiring
		e := &(*entries)[i]
		g.bytes += size - e.size
		l.bytes += size - e.size
		e.value, e.size, e.used, e.expires = v, size, l.clock, time.Now().Add(l.ttl).UnixNano()
		return
	}
	*entries = slices.Insert(*entries, i, localEntry{from: from, until: until, value: v, size: size, used: l.clock,
		expires: time.Now().Add(l.ttl).UnixNano()})
	g.bytes += size
	l.bytes += size
	g.used = l.clock
	for l.bytes > l.max && len(l.gts) > 0 {
		l.evictLocked()
	}
}

// dropOlder forgets a GT's copies older than (gen, marks), the state Redis
// reported; copies another lookup just took at that state stay.
func (l *local) dropOlder(gt string, gen, marks int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if g := l.gts[gt]; g != nil && (g.gen < gen || g.gen == gen && g.marks < marks) {
		l.dropLocked(gt)
	}
}

func (l *local) dropLocked(gt string) {
	if g := l.gts[gt]; g != nil {
		l.bytes -= g.bytes
		delete(l.gts, gt)
	}
}

// evictLocked makes room: it drops the GT used least recently, or, when
// only one GT is held, that GT's less recently used half.
func (l *local) evictLocked() {
	var oldest string
	var at uint64
	first := true
	for name, g := range l.gts {
		if first || g.used < at {
			oldest, at, first = name, g.used, false
		}
	}
	if len(l.gts) > 1 {
		l.dropLocked(oldest)
		return
	}
	g := l.gts[oldest]
	if len(g.rows)+len(g.dicts) <= 1 {
		l.dropLocked(oldest)
		return
	}
	var used []uint64
	for _, e := range slices.Concat(g.rows, g.dicts) {
		used = append(used, e.used)
	}
	slices.Sort(used)
	cut := used[len(used)/2]
	keep := func(entries []localEntry) []localEntry {
		return slices.DeleteFunc(entries, func(e localEntry) bool {
			if e.used < cut {
				g.bytes -= e.size
				l.bytes -= e.size
				return true
			}
			return false
		})
	}
	g.rows, g.dicts = keep(g.rows), keep(g.dicts)
}

// searchFrom is slices.BinarySearchFunc over the entries' starts, by
// index: that one's comparison takes each entry by value, and copying the
// entries cost most of a leased hit's search (BenchmarkLocalFind).
func searchFrom(entries []localEntry, k condcache.CombKey) (int, bool) {
	i := sort.Search(len(entries), func(i int) bool { return compareKeys(entries[i].from, k) >= 0 })
	return i, i < len(entries) && entries[i].from == k
}

// compareKeys orders keys as their bytes, compared as two big-endian
// halves: it runs a dozen times per copy served, and a byte-by-byte
// comparison was a third of the search.
func compareKeys(a, b condcache.CombKey) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}

// gtState is what the state check says of a GT.
type gtState struct {
	state condcache.CacheState // Unknown, Pending or Miss (= current, nothing pending)
	gen   int64
	marks int64 // when Miss
	err   error
}

// checkState returns the GT's state as of a moment after the call began;
// concurrent lookups of a GT share one check (coalesce.Group).
func (c *Cache) checkState(ctx context.Context, gt string) gtState {
	st, err := c.states.Do(ctx, gt, func() gtState {
		ctx, cancel := context.WithTimeout(context.Background(), c.o.Timeout)
		defer cancel()
		return c.fetchState(ctx, gt)
	})
	if err != nil {
		return gtState{err: err}
	}
	return st
}

var errStateReply = errors.New("cache: bad state reply")

func (c *Cache) fetchState(ctx context.Context, gt string) gtState {
	gen, _, _ := genKeys(gt)
	var res []any
	err := c.call(ctx, c.o.Timeout, func(ctx context.Context) error {
		var err error
		res, err = stateScript.Run(ctx, c.rdb, []string{epochKey, gen}, nowMs()).Slice()
		return err
	})
	if err != nil {
		return gtState{err: err}
	}
	r, err := parseReply(res)
	if err != nil || r.state == condcache.CacheHit {
		return gtState{err: errors.Join(errStateReply, err)}
	}
	st := gtState{state: r.state, gen: r.gen}
	if r.state == condcache.CacheMiss {
		if st.marks, err = strconv.ParseInt(r.str(0), 10, 64); err != nil {
			return gtState{err: errStateReply}
		}
	}
	return st
}
