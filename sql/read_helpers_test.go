package sql_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// seed inserts Nopayloaddb rows with plain SQL, the way Django (or anyone
// behind the API's back) writes them, so the read side is tested
// independently of the Store.
type seed struct {
	t   testing.TB
	ctx context.Context
	db  *pgxpool.Pool
	// clock hands out distinct, increasing timestamps with microseconds,
	// so that created/updated are predictable and sortable.
	clock time.Time
}

func newSeed(t testing.TB, db *pgxpool.Pool) *seed {
	return &seed{t: t, ctx: context.Background(), db: db,
		clock: time.Date(2022, 2, 21, 15, 0, 0, 0, time.UTC)}
}

// tick returns the next timestamp: one second and one microsecond later.
func (r *seed) tick() time.Time {
	r.clock = r.clock.Add(time.Second + time.Microsecond)
	return r.clock
}

func (r *seed) id(sql string, args ...any) int64 {
	r.t.Helper()
	var id int64
	if err := r.db.QueryRow(r.ctx, sql, args...).Scan(&id); err != nil {
		r.t.Fatalf("%s %v: %v", sql, args, err)
	}
	return id
}

func (r *seed) exec(sql string, args ...any) {
	r.t.Helper()
	if _, err := r.db.Exec(r.ctx, sql, args...); err != nil {
		r.t.Fatalf("%s %v: %v", sql, args, err)
	}
}

func (r *seed) status(name string) int64 {
	r.t.Helper()
	return r.id(`INSERT INTO "GlobalTagStatus" (name, created) VALUES ($1, $2) RETURNING id`, name, r.tick())
}

func (r *seed) gt(name string, status int64, author *string) int64 {
	r.t.Helper()
	ts := r.tick()
	return r.id(`INSERT INTO "GlobalTag" (name, author, created, updated, status_id)
		VALUES ($1, $2, $3, $3, $4) RETURNING id`, name, author, ts, status)
}

func (r *seed) ptype(name string) int64 {
	r.t.Helper()
	return r.id(`INSERT INTO "PayloadType" (name, created) VALUES ($1, $2) RETURNING id`, name, r.tick())
}

// list creates a list of type typeID named <type>_<id> with an id from
// "PayloadListIdSequence", attached to gt (nil: detached).
func (r *seed) list(typeID int64, gt *int64) (int64, string) {
	r.t.Helper()
	id := r.id(`INSERT INTO "PayloadListIdSequence" DEFAULT VALUES RETURNING id`)
	var name string
	ts := r.tick()
	err := r.db.QueryRow(r.ctx, `INSERT INTO "PayloadList" (id, name, created, updated, global_tag_id, payload_type_id)
		SELECT $1::bigint, t.name || '_' || $1::bigint, $2, $2, $3, t.id FROM "PayloadType" t WHERE t.id = $4
		RETURNING name`, id, ts, gt, typeID).Scan(&name)
	if err != nil {
		r.t.Fatalf("insert list: %v", err)
	}
	return id, name
}

// iovOpt adjusts an IOV before it is inserted.
type iovOpt func(*iovRow)

type iovRow struct {
	list       *int64
	url        string
	checksum   string
	size       *int64
	start, end condcache.Point
	comb       *string // default: start.CombIOV()
	extra      *string
}

func withComb(c *string) iovOpt        { return func(v *iovRow) { v.comb = c } }
func withSize(n int64) iovOpt          { return func(v *iovRow) { v.size = &n } }
func withExtra(s string) iovOpt        { return func(v *iovRow) { v.extra = &s } }
func withEnd(e condcache.Point) iovOpt { return func(v *iovRow) { v.end = e } }

// iov inserts an open-ended IOV starting at start into list (nil:
// detached), with checksum "ck-<url>".
func (r *seed) iov(list *int64, url string, start condcache.Point, opts ...iovOpt) int64 {
	r.t.Helper()
	comb := start.CombIOV()
	v := iovRow{list: list, url: url, checksum: "ck-" + url, start: start, end: condcache.OpenEnd, comb: &comb}
	for _, o := range opts {
		o(&v)
	}
	ts := r.tick()
	return r.id(`INSERT INTO "PayloadIOV" (payload_url, checksum, size, major_iov, minor_iov,
			major_iov_end, minor_iov_end, extra, created, updated, comb_iov, payload_list_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10::text::numeric, $11) RETURNING id`,
		v.url, v.checksum, v.size, v.start.Major, v.start.Minor, v.end.Major, v.end.Minor,
		v.extra, ts, v.comb, v.list)
}

func pt(major, minor int64) condcache.Point { return condcache.Point{Major: major, Minor: minor} }

func ptr[T any](v T) *T { return &v }

// primaryReader returns a Reader on db that reads from the primary only.
func primaryReader(t testing.TB, db string) (*cdbsql.Reader, *pgxpool.Pool) {
	t.Helper()
	p := primaryPool(t, db)
	r := cdbsql.NewReader(p, nil, cdbsql.ReaderOptions{})
	t.Cleanup(r.Close)
	return r, p
}

// wantCode fails unless err is an application error with code and detail.
func wantCode(t testing.TB, err error, code condcache.ErrorCode, detail string) {
	t.Helper()
	var e *condcache.Error
	if !errors.As(err, &e) || e.Code != code || (detail != "" && e.Detail != detail) {
		t.Fatalf("error = %v, want %s %q", err, code, detail)
	}
}

// lookupURLs renders lookup rows compactly: "type:url" each.
func lookupURLs(rs []condcache.LookupRow) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s:%s", r.PayloadType, r.PayloadURL)
	}
	return out
}

func itoa(n int64) string { return fmt.Sprint(n) }
