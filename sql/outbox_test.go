package sql_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache"
	cdbsql "github.com/condcache/condcache/sql"
)

// generation returns the generation of GT name (0 when it has none).
func generation(t *testing.T, db *pgxpool.Pool, name string) int64 {
	t.Helper()
	var g int64
	err := db.QueryRow(context.Background(),
		`SELECT coalesce((SELECT generation FROM condcache_generation WHERE global_tag = $1), 0)`, name).Scan(&g)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func allScopeRows(t *testing.T, db *pgxpool.Pool) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM condcache_outbox WHERE global_tag = ''`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTriggersBumpGenerations: every kind of change made with plain SQL
// (as Django or anyone behind the writer's back makes it) raises the
// generation of exactly the GTs whose reads it can change, and queues an
// all-scope invalidation (migrations 004 and 005).
func TestTriggersBumpGenerations(t *testing.T) {
	db := primaryPool(t, testDB(t))
	s := newSeed(t, db)
	st := s.status("unlocked")
	g1, g2 := s.gt("G1", st, nil), s.gt("G2", st, nil)
	typ := s.ptype("T")
	l1, _ := s.list(typ, &g1)
	l2, _ := s.list(typ, &g2)
	iov := s.iov(&l1, "u1", pt(1, 0))
	other := s.gt("Other", st, nil)

	for _, tc := range []struct {
		name    string
		sql     string
		args    []any
		bumped  []string // GTs whose generation must rise
		spared  []string // GTs whose generation must not
		created []string // GT names that must get a first generation
	}{
		{"IOV insert", `INSERT INTO "PayloadIOV" (payload_url, checksum, major_iov, minor_iov, major_iov_end, minor_iov_end, created, updated, comb_iov, payload_list_id)
			VALUES ('u2', 'c', 2, 0, 3, 0, now(), now(), 2, $1)`, []any{l1}, []string{"G1"}, []string{"G2", "Other"}, nil},
		{"IOV update", `UPDATE "PayloadIOV" SET payload_url = 'u1b' WHERE id = $1`, []any{iov}, []string{"G1"}, []string{"G2"}, nil},
		{"IOV moved to another GT's list", `UPDATE "PayloadIOV" SET payload_list_id = $2 WHERE id = $1`, []any{iov, l2}, []string{"G1", "G2"}, []string{"Other"}, nil},
		{"IOV delete", `DELETE FROM "PayloadIOV" WHERE id = $1`, []any{iov}, []string{"G2"}, []string{"G1"}, nil},
		{"detached IOV insert", `INSERT INTO "PayloadIOV" (payload_url, checksum, major_iov, minor_iov, major_iov_end, minor_iov_end, created, updated, comb_iov)
			VALUES ('u3', 'c', 2, 0, 3, 0, now(), now(), 2)`, nil, nil, []string{"G1", "G2", "Other"}, nil},
		{"list detached", `UPDATE "PayloadList" SET global_tag_id = NULL WHERE id = $1`, []any{l2}, []string{"G2"}, []string{"G1"}, nil},
		{"list attached", `UPDATE "PayloadList" SET global_tag_id = $2 WHERE id = $1`, []any{l2, other}, []string{"Other"}, []string{"G1", "G2"}, nil},
		{"list deleted", `DELETE FROM "PayloadList" WHERE id = $1`, []any{l2}, []string{"Other"}, []string{"G1", "G2"}, nil},
		{"type renamed", `UPDATE "PayloadType" SET name = 'T2' WHERE id = $1`, []any{typ}, []string{"G1"}, []string{"G2", "Other"}, nil},
		{"type created", `INSERT INTO "PayloadType" (name, created) VALUES ('T3', now())`, nil, nil, []string{"G1", "G2", "Other"}, nil},
		{"status renamed", `UPDATE "GlobalTagStatus" SET name = 'open' WHERE id = $1`, []any{st}, []string{"G1", "G2", "Other"}, nil, nil},
		{"GT updated", `UPDATE "GlobalTag" SET author = 'x' WHERE id = $1`, []any{g2}, []string{"G2"}, []string{"G1"}, nil},
		{"GT created", `INSERT INTO "GlobalTag" (name, created, updated, status_id) VALUES ('New', now(), now(), $1)`, []any{st}, nil, []string{"G1"}, []string{"New"}},
		{"GT deleted", `DELETE FROM "GlobalTag" WHERE id = $1`, []any{g2}, []string{"G2"}, []string{"G1"}, nil},
	} {
		before := map[string]int64{}
		for _, n := range slices.Concat(tc.bumped, tc.spared) {
			before[n] = generation(t, db, n)
		}
		allBefore := allScopeRows(t, db)
		s.exec(tc.sql, tc.args...)
		for _, n := range tc.bumped {
			if g := generation(t, db, n); g <= before[n] {
				t.Errorf("%s: generation of %s stayed %d", tc.name, n, g)
			}
		}
		for _, n := range tc.spared {
			if g := generation(t, db, n); g != before[n] {
				t.Errorf("%s: generation of %s moved %d → %d", tc.name, n, before[n], g)
			}
		}
		for _, n := range tc.created {
			if generation(t, db, n) == 0 {
				t.Errorf("%s: %s has no generation", tc.name, n)
			}
		}
		if allScopeRows(t, db) <= allBefore {
			t.Errorf("%s: no all-scope invalidation queued", tc.name)
		}
	}
	if g := generation(t, db, "G2"); g == 0 {
		t.Error("a deleted GT's generation row is gone: a re-created one could repeat old generations")
	}
}

// TestOutboxDelivery: pending invalidations come as the newest generation
// per GT but one per all-scope row, and delivering removes a GT's rows up
// to the delivered generation but only the delivered all-scope row.
func TestOutboxDelivery(t *testing.T) {
	db := primaryPool(t, testDB(t))
	s := newSeed(t, db)
	s.exec(`DELETE FROM condcache_outbox`)
	s.exec(`INSERT INTO condcache_outbox (global_tag, generation) VALUES ('A', 10), ('', 11), ('A', 12), ('', 13), ('B', 14)`)
	ob := cdbsql.NewOutbox(db)
	got, err := ob.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []condcache.Invalidation{{GlobalTag: "", Generation: 11}, {GlobalTag: "", Generation: 13},
		{GlobalTag: "A", Generation: 12}, {GlobalTag: "B", Generation: 14}}
	if !slices.Equal(got, want) {
		t.Fatalf("pending %v, want %v", got, want)
	}
	if err := ob.Delivered(context.Background(), []condcache.Invalidation{{GlobalTag: "", Generation: 13}, {GlobalTag: "A", Generation: 12}}); err != nil {
		t.Fatal(err)
	}
	got, err = ob.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want = []condcache.Invalidation{{GlobalTag: "", Generation: 11}, {GlobalTag: "B", Generation: 14}}
	if !slices.Equal(got, want) {
		t.Fatalf("after delivery: pending %v, want %v", got, want)
	}
}
