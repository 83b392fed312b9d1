package sql_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/testkit"
	cdbsql "github.com/condcache/condcache/sql"
)

// storeEnv is a Store on a fresh database with a pool for checking rows.
type storeEnv struct {
	t     *testing.T
	ctx   context.Context
	db    *pgxpool.Pool
	store *cdbsql.Store
}

func newStoreEnv(t *testing.T, mode condcache.IOVMode) *storeEnv {
	t.Helper()
	db := primaryPool(t, testDB(t))
	return &storeEnv{t: t, ctx: context.Background(), db: db, store: cdbsql.NewStore(db, mode)}
}

// fixtures: statuses unlocked/locked/frozen, as a real deployment has.
func (e *storeEnv) statuses() {
	e.t.Helper()
	for _, s := range []string{condcache.StatusUnlocked, condcache.StatusLocked, condcache.StatusFrozen} {
		if _, err := e.store.CreateGlobalTagStatus(e.ctx, s); err != nil {
			e.t.Fatalf("CreateGlobalTagStatus(%q): %v", s, err)
		}
	}
}

func (e *storeEnv) gt(name, status string) condcache.GlobalTag {
	e.t.Helper()
	g, err := e.store.CreateGlobalTag(e.ctx, name, status, nil)
	if err != nil {
		e.t.Fatalf("CreateGlobalTag(%q, %q): %v", name, status, err)
	}
	return g
}

func (e *storeEnv) pt(name string) condcache.PayloadType {
	e.t.Helper()
	p, err := e.store.CreatePayloadType(e.ctx, name)
	if err != nil {
		e.t.Fatalf("CreatePayloadType(%q): %v", name, err)
	}
	return p
}

func (e *storeEnv) pl(payloadType string) condcache.PayloadList {
	e.t.Helper()
	l, err := e.store.CreatePayloadList(e.ctx, payloadType)
	if err != nil {
		e.t.Fatalf("CreatePayloadList(%q): %v", payloadType, err)
	}
	return l
}

// attachedPL creates a list of a new or existing type and attaches it to gt.
func (e *storeEnv) attachedPL(gt, payloadType string) condcache.PayloadList {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(e.ctx, `SELECT count(*) FROM "PayloadType" WHERE name = $1`, payloadType).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	if n == 0 {
		e.pt(payloadType)
	}
	l := e.pl(payloadType)
	l, err := e.store.AttachPayloadList(e.ctx, gt, l.Name)
	if err != nil {
		e.t.Fatalf("AttachPayloadList(%q, %q): %v", gt, l.Name, err)
	}
	return l
}

func (e *storeEnv) iov(url string, start, end condcache.Point) condcache.PayloadIOV {
	e.t.Helper()
	v, err := e.store.CreatePayloadIOV(e.ctx, condcache.NewPayloadIOV{PayloadURL: url, Checksum: "ck-" + url, Start: start, End: end})
	if err != nil {
		e.t.Fatalf("CreatePayloadIOV(%q %v %v): %v", url, start, end, err)
	}
	return v
}

// attach creates an IOV and attaches it to list, failing the test on error.
func (e *storeEnv) attach(list, url string, start, end condcache.Point) condcache.PayloadIOV {
	e.t.Helper()
	v := e.iov(url, start, end)
	out, err := e.store.AttachPayloadIOV(e.ctx, list, v.ID, nil)
	if err != nil {
		e.t.Fatalf("AttachPayloadIOV(%q, %q %v→%v): %v", list, url, start, end, err)
	}
	return out
}

func (e *storeEnv) setStatus(gt, status string) {
	e.t.Helper()
	if _, err := e.store.ChangeGlobalTagStatus(e.ctx, gt, status); err != nil {
		e.t.Fatalf("ChangeGlobalTagStatus(%q, %q): %v", gt, status, err)
	}
}

// storeSpan is an IOV as the tests write expectations: url and bounds.
type storeSpan struct {
	url        string
	start, end condcache.Point
}

func (s storeSpan) String() string { return fmt.Sprintf("%s[%v→%v)", s.url, s.start, s.end) }

func iovPt(major, minor int64) condcache.Point { return condcache.Point{Major: major, Minor: minor} }

var storeOpen = condcache.OpenEnd

// spans returns the IOVs attached to list, ordered by (start, id), and checks
// that each one's stored comb_iov is the exact value of its start.
func (e *storeEnv) spans(list string) []storeSpan {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT i.payload_url, i.major_iov, i.minor_iov, i.major_iov_end, i.minor_iov_end,
			i.comb_iov::text
		FROM "PayloadIOV" i JOIN "PayloadList" l ON l.id = i.payload_list_id
		WHERE l.name = $1 ORDER BY i.major_iov, i.minor_iov, i.id`, list)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []storeSpan
	var s storeSpan
	var comb *string
	if _, err := pgx.ForEachRow(rows, []any{&s.url, &s.start.Major, &s.start.Minor, &s.end.Major, &s.end.Minor, &comb}, func() error {
		if comb == nil || *comb != s.start.CombIOV() {
			return fmt.Errorf("%v: comb_iov %v, want %s", s, comb, s.start.CombIOV())
		}
		out = append(out, s)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *storeEnv) wantSpans(list string, want ...storeSpan) {
	e.t.Helper()
	if got := e.spans(list); !slices.Equal(got, want) {
		e.t.Errorf("list %s:\n got  %v\n want %v", list, got, want)
	}
}

// count runs a count(*) query.
func (e *storeEnv) count(query string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.QueryRow(e.ctx, query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitForLockWait waits until a session on the test's database waits for
// a lock: what, whose outcome done gets, is held up. It fails the test when
// what ends first.
func (e *storeEnv) waitForLockWait(what string, done <-chan error) {
	e.t.Helper()
	testkit.Eventually(e.t, 20*time.Second, what+" waits for a lock", func() bool {
		select {
		case err := <-done:
			e.t.Fatalf("%s did not wait for the lock: %v", what, err)
		default:
		}
		return e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) > 0
	})
}

// snapshot is the full content of every table, to prove a failed write
// changed nothing.
func (e *storeEnv) snapshot() string {
	e.t.Helper()
	var b strings.Builder
	for _, table := range []string{"GlobalTagStatus", "GlobalTag", "PayloadType", "PayloadListIdSequence", "PayloadList", "PayloadIOV"} {
		rows, err := e.db.Query(e.ctx, `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t ORDER BY id`)
		if err != nil {
			e.t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			e.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:\n%s\n", table, strings.Join(lines, "\n"))
	}
	return b.String()
}

// unchanged fails the test if the database differs from before.
func (e *storeEnv) unchanged(before string) {
	e.t.Helper()
	if after := e.snapshot(); after != before {
		e.t.Errorf("a failed write changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// wantStoreErr checks err's code and detail.
func wantStoreErr(t *testing.T, err error, code condcache.ErrorCode, detail string) {
	t.Helper()
	var e *condcache.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *condcache.Error %s %q", err, err, code, detail)
	}
	if e.Code != code || e.Detail != detail {
		t.Errorf("error = %s %q, want %s %q", e.Code, e.Detail, code, detail)
	}
}

// wantStoreFieldErr checks err is a DRF-style field error.
func wantStoreFieldErr(t *testing.T, err error, code condcache.ErrorCode, field, message string) {
	t.Helper()
	wantStoreErr(t, err, code, field+": "+message)
	var e *condcache.Error
	if errors.As(err, &e) && !slices.Equal(e.Fields[field], []string{message}) {
		t.Errorf("fields = %v, want %s: [%s]", e.Fields, field, message)
	}
}
