package sql

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/coalesce"
	"github.com/condcache/condcache/sql/replica"
)

// The GT index (docs/design.md "The GT index"): a reader's copy of every
// visible IOV start of one GT at one generation, read in one snapshot, so
// that a lookup at that generation is resolved in memory with the same
// rows, window, status and notices lookupSQL would return. It is used only
// when the generation is known to satisfy the lookup's Freshness, exactly
// as LookupAt judges an answer read from a backend.

// gtIndex is one GT at one generation.
type gtIndex struct {
	generation int64
	status     string
	lists      []indexList // in answer order: type name, then list id
	notices    []condcache.Notice
	bytes      int64
	source     string // the backend it was read from
	used       atomic.Int64
}

// indexList is one attached list's IOVs with a comb_iov, ordered as the
// lookup breaks ties: by comb_iov, then id.
type indexList struct {
	keys []condcache.CombKey
	rows []condcache.LookupRow
}

// resolve is lookup() in memory: for each list the last IOV at or before
// at (the highest id among equal starts) and the first start after it.
// The comparisons and their order are those of lookup(), so the window's
// bounding points are picked from the same rows.
func (x *gtIndex) resolve(at condcache.Point, source string) condcache.LookupResult {
	pk := at.CombKey()
	res := condcache.LookupResult{Rows: make([]condcache.LookupRow, 0, len(x.lists)), Found: true,
		Status: x.status, Generation: x.generation, Source: source}
	res.Window.From, res.Window.Until = condcache.MinCombKey, condcache.MaxCombKey
	for i := range x.lists {
		l := &x.lists[i]
		j := sort.Search(len(l.keys), func(i int) bool { return string(l.keys[i][:]) > string(pk[:]) })
		if j < len(l.keys) {
			if k := l.keys[j]; string(k[:]) < string(res.Window.Until[:]) {
				res.Window.Until, res.Window.HasUntil, res.Window.UntilPoint = k, true, l.rows[j].Start
			}
		}
		if j == 0 {
			continue
		}
		k, row := l.keys[j-1], l.rows[j-1]
		if !res.Window.HasFrom || string(k[:]) > string(res.Window.From[:]) {
			res.Window.From, res.Window.HasFrom, res.Window.FromPoint = k, true, row.Start
		}
		res.Rows = append(res.Rows, row)
	}
	if x.notices != nil {
		res.Notices = append(make([]condcache.Notice, 0, len(x.notices)), x.notices...)
	}
	return res
}

// gtIndexes holds a reader's GT indexes within a memory bound.
type gtIndexes struct {
	maxBytes int64
	log      func(msg string, args ...any)

	checks coalesce.Group[string, genCheck]

	mu       sync.Mutex
	byGT     map[string]*gtIndex
	total    int64
	building map[string]bool
	last     map[string]buildRecord
}

// buildRecord paces builds of one GT: a build starts after the GT's
// fourth lookup by SQL (a GT looked up once is not worth reading whole),
// and the next once the time since the last began is 4× what it took, so
// a GT written to all the time costs its reader at most a fifth of one
// backend's time in builds; a GT over the bound is not tried again for
// tooBigRetry.
type buildRecord struct {
	sqlLookups int
	began      time.Time
	took       time.Duration
	tooBigAt   time.Time
}

const (
	buildAfterLookups = 4
	tooBigRetry       = 10 * time.Minute
)

func newGTIndexes(maxBytes int64, log func(string, ...any)) *gtIndexes {
	if maxBytes <= 0 {
		return nil
	}
	return &gtIndexes{maxBytes: maxBytes, log: log, byGT: map[string]*gtIndex{},
		building: map[string]bool{}, last: map[string]buildRecord{}}
}

func (s *gtIndexes) get(gt string) *gtIndex {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	x := s.byGT[gt]
	s.mu.Unlock()
	if x != nil {
		x.used.Store(time.Now().UnixNano())
	}
	return x
}

// drop forgets gt's index (the GT no longer exists).
func (s *gtIndexes) drop(gt string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if x := s.byGT[gt]; x != nil {
		s.total -= x.bytes
		delete(s.byGT, gt)
	}
}

// put installs x for gt unless a newer one is there, evicting the least
// recently used indexes of other GTs beyond the bound.
func (s *gtIndexes) put(gt string, x *gtIndex) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.byGT[gt]; old != nil {
		if old.generation >= x.generation {
			return
		}
		s.total -= old.bytes
	}
	x.used.Store(time.Now().UnixNano())
	s.byGT[gt] = x
	s.total += x.bytes
	for s.total > s.maxBytes {
		var victim string
		var oldest int64
		for name, y := range s.byGT {
			if name != gt && (victim == "" || y.used.Load() < oldest) {
				victim, oldest = name, y.used.Load()
			}
		}
		if victim == "" {
			break
		}
		s.total -= s.byGT[victim].bytes
		delete(s.byGT, victim)
	}
}

// claim reports whether a build of gt at generation want may start now,
// and if so marks it as building.
func (s *gtIndexes) claim(gt string, want int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.building[gt] {
		return false
	}
	if x := s.byGT[gt]; x != nil && x.generation >= want {
		return false
	}
	rec := s.last[gt]
	rec.sqlLookups++
	s.last[gt] = rec
	switch {
	case rec.sqlLookups < buildAfterLookups:
		return false
	case !rec.tooBigAt.IsZero() && time.Since(rec.tooBigAt) < tooBigRetry:
		return false
	case !rec.began.IsZero() && time.Since(rec.began) < 4*rec.took:
		return false
	}
	s.building[gt] = true
	s.last[gt] = buildRecord{began: time.Now(), took: rec.took, tooBigAt: rec.tooBigAt}
	return true
}

func (s *gtIndexes) done(gt string, took time.Duration, tooBig bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.building, gt)
	rec := s.last[gt]
	rec.took = took
	if tooBig {
		rec.tooBigAt = time.Now()
	}
	s.last[gt] = rec
}

// errIndexTooBig stops a build that would exceed the memory bound.
var errIndexTooBig = errors.New("GT index over the memory bound")

// indexHeadSQL reads the GT's generation and status; indexRowsSQL every
// IOV of its lists that a lookup can see (comb_iov not NULL), in answer
// order and, within a list, in the lookup's tie order.
const (
	indexHeadSQL = `SELECT coalesce((SELECT generation FROM condcache_generation WHERE global_tag = $1), 0),
	(SELECT s.name FROM "GlobalTag" g JOIN "GlobalTagStatus" s ON s.id = g.status_id WHERE g.name = $1)`
	indexRowsSQL = `SELECT l.id, t.name, i.id, i.payload_url, i.checksum, i.size, i.major_iov, i.minor_iov,
	i.major_iov_end, i.minor_iov_end, i.extra, i.comb_iov::text
FROM "GlobalTag" g
JOIN "PayloadList" l ON l.global_tag_id = g.id
JOIN "PayloadType" t ON t.id = l.payload_type_id
JOIN "PayloadIOV" i ON i.payload_list_id = l.id AND i.comb_iov IS NOT NULL
WHERE g.name = $1
ORDER BY t.name, l.id, i.comb_iov, i.id`
	// generationSQL is what a lookup served from an index reads.
	generationSQL = `SELECT coalesce((SELECT generation FROM condcache_generation WHERE global_tag = $1), 0)`
)

// rowCost is what one row costs in memory besides its strings (the
// LookupRow, its key, slice headroom).
const rowCost = 160

// buildGTIndex reads gt's index in one read-only snapshot on a backend at
// generation want or later (the primary is always accepted). A GT that
// does not exist gives nil.
func (r *Reader) buildGTIndex(ctx context.Context, gt string, want int64) (*gtIndex, error) {
	var out *gtIndex
	err := r.rt.DoAt(ctx, 0, func(ctx context.Context, db *pgxpool.Pool) error {
		onPrimary := r.rt.IsPrimary(db)
		return pgx.BeginTxFunc(ctx, db, snapshotOptions, func(tx pgx.Tx) error {
			x := &gtIndex{source: "replica"}
			if onPrimary {
				x.source = "primary"
			}
			var status *string
			if err := tx.QueryRow(ctx, indexHeadSQL, gt).Scan(&x.generation, &status); err != nil {
				return err
			}
			if x.generation < want && !onPrimary {
				return replica.ErrBehind
			}
			if status == nil {
				out = nil
				return nil
			}
			x.status = *status
			if err := x.readRows(ctx, tx, gt, r.idx.maxBytes); err != nil {
				return err
			}
			notices, err := tx.Query(ctx, candidateSQL, gt)
			if err != nil {
				return err
			}
			x.notices, err = pgx.CollectRows(notices, func(row pgx.CollectableRow) (condcache.Notice, error) { return scanNotice(row) })
			if err != nil {
				return err
			}
			out = x
			return nil
		})
	})
	return out, err
}

func (x *gtIndex) readRows(ctx context.Context, tx pgx.Tx, gt string, maxBytes int64) error {
	rows, err := tx.Query(ctx, indexRowsSQL, gt)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		listID, iovID   int64
		typ, url, cksum string
		size            *int64
		start, end      nullPoint
		extra           *string
		comb            string
		cur             = int64(-1)
	)
	for rows.Next() {
		if err := rows.Scan(&listID, &typ, &iovID, &url, &cksum, &size, &start.major, &start.minor,
			&end.major, &end.minor, &extra, &comb); err != nil {
			return err
		}
		k, err := condcache.ParseCombKey(comb)
		if err != nil {
			return err
		}
		if listID != cur || len(x.lists) == 0 {
			x.lists = append(x.lists, indexList{})
			cur = listID
			x.bytes += int64(len(typ))
		}
		l := &x.lists[len(x.lists)-1]
		if n := len(l.rows); n > 0 && l.rows[n-1].PayloadType == typ {
			typ = l.rows[n-1].PayloadType // share one string per list
		}
		x.bytes += rowCost + int64(len(url)+len(cksum))
		if extra != nil {
			x.bytes += int64(len(*extra))
		}
		if x.bytes > maxBytes {
			return errIndexTooBig
		}
		l.keys = append(l.keys, k)
		l.rows = append(l.rows, condcache.LookupRow{PayloadType: typ, PayloadURL: url, Checksum: cksum, Size: size,
			Start: start.point(), End: end.point(), Revision: extra, ID: iovID, ListID: listID})
		size, extra = nil, nil
	}
	return rows.Err()
}

// wantIndex starts a build of gt's index in the background when its
// generation gen (read by a lookup) is newer than the index held, and
// the pacing allows. Lookups keep using SQL meanwhile.
func (r *Reader) wantIndex(gt string, gen int64) {
	if r.idx == nil || !r.idx.claim(gt, gen) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		began := time.Now()
		x, err := r.buildGTIndex(ctx, gt, gen)
		took := time.Since(began)
		tooBig := errors.Is(err, errIndexTooBig)
		switch {
		case tooBig:
			r.idx.log("GT index over the memory bound: lookups of this GT use SQL", "gt", gt, "generation", gen,
				"retry_in", tooBigRetry)
		case err != nil:
			r.idx.log("GT index build failed: lookups of this GT use SQL", "gt", gt, "err", err)
		case x == nil:
			r.idx.drop(gt)
		default:
			r.idx.put(gt, x)
		}
		r.idx.done(gt, took, tooBig)
	}()
}

// genCheck is one read of a GT's generation at the latest state.
type genCheck struct {
	generation int64
	source     string
	err        error
}

// latestGeneration reads gt's generation on a backend that holds every
// write committed before the call. Concurrent lookups of one GT share one
// read, but only one that began after they arrived (internal/coalesce), so
// the answer is no older than what each of them must see.
func (r *Reader) latestGeneration(ctx context.Context, gt string) (genCheck, error) {
	return r.idx.checks.Do(ctx, gt, func() genCheck {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var c genCheck
		c.err = r.rt.DoAt(ctx, r.rt.LatestLSN(ctx), func(ctx context.Context, db *pgxpool.Pool) error {
			c.source = "replica"
			if r.rt.IsPrimary(db) {
				c.source = "primary"
			}
			return db.QueryRow(ctx, generationSQL, gt).Scan(&c.generation)
		})
		return c
	})
}

// indexAnswer answers a lookup from x when that is as fresh as need asks
// (docs/design.md "The GT index"): without a query when need names a
// generation x has reached, after the GT's latest generation is read
// (shared among concurrent lookups) when need asks for the latest state.
// false: run the SQL lookup.
func (r *Reader) indexAnswer(ctx context.Context, x *gtIndex, gt string, at condcache.Point, need condcache.Freshness) (condcache.LookupResult, bool, error) {
	if !need.Latest {
		if need.MinGeneration > 0 && x.generation >= need.MinGeneration {
			return x.resolve(at, x.source), true, nil
		}
		return condcache.LookupResult{}, false, nil
	}
	c, err := r.latestGeneration(ctx, gt)
	if err != nil {
		return condcache.LookupResult{}, false, err
	}
	if c.err != nil || c.generation != x.generation || c.generation < need.MinGeneration {
		return condcache.LookupResult{}, false, nil // the SQL lookup decides, and reports its own errors
	}
	return x.resolve(at, c.source), true, nil
}
