// Package pgdata loads load-test data sets straight into a condcache (or
// Nopayloaddb) PostgreSQL database with COPY (github.com/jackc/pgx/v5):
// global tags × payload types × IOVs per list, shaped like sPHENIX's
// calibrations, plus locked and frozen clones made by condcache's own
// clone. Lookups of the result draw from Dataset.Runs.
package pgdata

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// Preset is a data set's shape.
type Preset struct {
	Name  string
	GTs   int // unlocked GTs loaded with COPY
	Types int // payload types, one list of each per GT
	IOVs  int // IOVs per list
	// Clones of the first GT, made with condcache's clone, alternately
	// locked and frozen.
	Clones int
}

// Rows is the number of IOV rows COPY loads (clones not counted).
func (p Preset) Rows() int64 { return int64(p.GTs) * int64(p.Types) * int64(p.IOVs) }

// Presets are the shapes issue 4 names: production is the size of the
// largest known production instance, for manual runs.
var Presets = []Preset{
	{Name: "small", GTs: 1, Types: 20, IOVs: 100, Clones: 2},
	{Name: "sphenix", GTs: 1, Types: 100, IOVs: 1_000, Clones: 2},
	{Name: "large", GTs: 1, Types: 100, IOVs: 10_000, Clones: 2},
	{Name: "worst", GTs: 1, Types: 200, IOVs: 26_000, Clones: 2},
	{Name: "production", GTs: 20, Types: 200, IOVs: 9_000, Clones: 2},
}

// PresetNamed returns the preset called name.
func PresetNamed(name string) (Preset, bool) {
	for _, p := range Presets {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}

// IOV starts: list k's i-th IOV starts at run FirstRun + i·RunStride plus a
// per-type offset (types change calibrations at different runs), at subrun
// 0 or, every fifth IOV, a later subrun; each ends where the next starts,
// and the last is open-ended.
const (
	FirstRun  = 1000
	RunStride = 10
)

// Dataset describes what Load created.
type Dataset struct {
	Preset     Preset
	GlobalTags []string // the unlocked GTs, then the clones
	// FirstRun and LastRun bound the runs the IOVs start at.
	FirstRun, LastRun int64
	Rows              int64   // IOV rows loaded with COPY
	CopySeconds       float64 // time COPY took, commit included
	RowsPerSecond     float64
	CloneSeconds      float64 // per clone, on average
}

// Load creates the preset's data under GT names prefix_<n> (and
// prefix_clone_<n>) in the migrated database of pool, in one transaction
// per GT. The types are named prefix_type_<n>.
func Load(ctx context.Context, pool *pgxpool.Pool, p Preset, prefix string) (Dataset, error) {
	d := Dataset{Preset: p, FirstRun: FirstRun, LastRun: FirstRun + int64(p.IOVs-1)*RunStride + maxTypeOffset}
	if p.GTs < 1 || p.Types < 1 || p.IOVs < 1 {
		return d, fmt.Errorf("pgdata: preset %q needs at least one GT, type and IOV", p.Name)
	}
	statuses, err := ensureStatuses(ctx, pool)
	if err != nil {
		return d, err
	}
	types, err := createTypes(ctx, pool, prefix, p.Types)
	if err != nil {
		return d, err
	}
	began := time.Now()
	for g := range p.GTs {
		name := fmt.Sprintf("%s_%d", prefix, g)
		n, err := loadGT(ctx, pool, name, statuses["unlocked"], types, p.IOVs)
		if err != nil {
			return d, fmt.Errorf("pgdata: loading %s: %w", name, err)
		}
		d.Rows += n
		d.GlobalTags = append(d.GlobalTags, name)
	}
	d.CopySeconds = time.Since(began).Seconds()
	d.RowsPerSecond = float64(d.Rows) / d.CopySeconds
	if _, err := pool.Exec(ctx, `ANALYZE "PayloadIOV", "PayloadList", "GlobalTag"`); err != nil {
		return d, err
	}
	store := cdbsql.NewStore(pool, condcache.ModeContinuous)
	began = time.Now()
	for c := range p.Clones {
		name := fmt.Sprintf("%s_clone_%d", prefix, c)
		if _, err := store.CloneGlobalTag(ctx, d.GlobalTags[0], name); err != nil {
			return d, fmt.Errorf("pgdata: cloning %s: %w", d.GlobalTags[0], err)
		}
		status := []string{"locked", "frozen"}[c%2]
		if _, err := store.ChangeGlobalTagStatus(ctx, name, status); err != nil {
			return d, err
		}
		d.GlobalTags = append(d.GlobalTags, name)
	}
	if p.Clones > 0 {
		d.CloneSeconds = time.Since(began).Seconds() / float64(p.Clones)
		if _, err := pool.Exec(ctx, `ANALYZE "PayloadIOV", "PayloadList", "GlobalTag"`); err != nil {
			return d, err
		}
	}
	return d, nil
}

const maxTypeOffset = 4

func ensureStatuses(ctx context.Context, pool *pgxpool.Pool) (map[string]int64, error) {
	ids := map[string]int64{}
	for _, s := range []string{"unlocked", "locked", "frozen"} {
		var id int64
		err := pool.QueryRow(ctx, `WITH ins AS (
			INSERT INTO "GlobalTagStatus" (name, created) SELECT $1::text, now()
			WHERE NOT EXISTS (SELECT 1 FROM "GlobalTagStatus" WHERE name = $1::text) RETURNING id)
			SELECT id FROM ins UNION ALL SELECT id FROM "GlobalTagStatus" WHERE name = $1::text LIMIT 1`, s).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("pgdata: status %s: %w", s, err)
		}
		ids[s] = id
	}
	return ids, nil
}

type payloadType struct {
	id   int64
	name string
}

func createTypes(ctx context.Context, pool *pgxpool.Pool, prefix string, n int) ([]payloadType, error) {
	rows, err := pool.Query(ctx, `INSERT INTO "PayloadType" (name, created)
		SELECT $1::text || '_type_' || i, now() FROM generate_series(0, $2::int - 1) i RETURNING id, name`, prefix, n)
	if err != nil {
		return nil, err
	}
	types, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (payloadType, error) {
		var t payloadType
		return t, r.Scan(&t.id, &t.name)
	})
	if err != nil {
		return nil, fmt.Errorf("pgdata: creating types: %w", err)
	}
	return types, nil
}

// loadGT creates the GT, one list per type and the IOVs, in one
// transaction.
func loadGT(ctx context.Context, pool *pgxpool.Pool, name string, status int64, types []payloadType, iovs int) (int64, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	var gt int64
	var now time.Time
	if err := tx.QueryRow(ctx, `INSERT INTO "GlobalTag" (name, author, created, updated, status_id)
		VALUES ($1, 'loadtest', now(), now(), $2) RETURNING id, now()`, name, status).Scan(&gt, &now); err != nil {
		return 0, err
	}
	lists := make([]int64, len(types))
	for i, t := range types {
		if err := tx.QueryRow(ctx, `WITH s AS (INSERT INTO "PayloadListIdSequence" DEFAULT VALUES RETURNING id)
			INSERT INTO "PayloadList" (id, name, created, updated, global_tag_id, payload_type_id)
			SELECT s.id, $1::text || '_' || s.id, now(), now(), $2, $3 FROM s RETURNING id`, t.name, gt, t.id).Scan(&lists[i]); err != nil {
			return 0, err
		}
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"PayloadIOV"},
		[]string{"payload_url", "checksum", "size", "major_iov", "minor_iov", "major_iov_end", "minor_iov_end",
			"created", "updated", "comb_iov", "payload_list_id"},
		&iovRows{types: types, lists: lists, iovs: iovs, now: now, gt: name, t: 0, i: -1})
	if err != nil {
		return 0, err
	}
	return n, tx.Commit(ctx)
}

// iovRows generates the IOVs of every list for COPY.
type iovRows struct {
	types []payloadType
	lists []int64
	iovs  int
	now   time.Time
	gt    string
	t, i  int
	row   [11]any
}

var tenPow19 = new(big.Int).Exp(big.NewInt(10), big.NewInt(19), nil)

// start is the i-th IOV start of type t.
func start(t, i int) condcache.Point {
	p := condcache.Point{Major: FirstRun + int64(i)*RunStride + int64(t%(maxTypeOffset+1))}
	if i%5 == 4 {
		p.Minor = int64(1 + i%7)
	}
	return p
}

func (r *iovRows) Next() bool {
	r.i++
	if r.i == r.iovs {
		r.i, r.t = 0, r.t+1
	}
	return r.t < len(r.types)
}

func (r *iovRows) Values() ([]any, error) {
	s := start(r.t, r.i)
	end := condcache.Point{Major: math.MaxInt64, Minor: math.MaxInt64}
	if r.i+1 < r.iovs {
		end = start(r.t, r.i+1)
	}
	url := fmt.Sprintf("/cvmfs/sphenix.sdcc.bnl.gov/calibrations/%s/%s/run%08d_%04d.root", r.gt, r.types[r.t].name, s.Major, s.Minor)
	sum := md5.Sum([]byte(url))
	comb := new(big.Int).Mul(big.NewInt(s.Major), tenPow19)
	comb.Add(comb, big.NewInt(s.Minor))
	r.row = [11]any{url, hex.EncodeToString(sum[:]), int64(1<<20 + (r.i*7919)%(1<<22)), s.Major, s.Minor, end.Major, end.Minor,
		r.now, r.now, pgtype.Numeric{Int: comb, Exp: -19, Valid: true}, r.lists[r.t]}
	return r.row[:], nil
}

func (r *iovRows) Err() error { return nil }
