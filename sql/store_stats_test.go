package sql_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/testkit"
	cdbsql "github.com/condcache/condcache/sql"
)

// TestLargeCloneRefreshesStatistics: a clone adding at least LargeWriteRows
// IOVs is followed by VACUUM (ANALYZE) of "PayloadIOV" by the writer itself
// (last_analyze and last_vacuum are set only by explicit runs, never by
// autovacuum), and a small clone is not.
func TestLargeCloneRefreshesStatistics(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	e.statuses()
	e.gt("Small", condcache.StatusUnlocked)
	small := e.attachedPL("Small", "Beam")
	e.gt("Big", condcache.StatusUnlocked)
	big := e.attachedPL("Big", "Beam")
	fill := func(list int64, n int) {
		t.Helper()
		if _, err := e.db.Exec(e.ctx, `INSERT INTO "PayloadIOV" (payload_url, checksum, size,
				major_iov, minor_iov, major_iov_end, minor_iov_end, created, updated, comb_iov, payload_list_id)
			SELECT 'u' || i, 'c', 1, i, 0, i + 1, 0, now(), now(), i, $1
			FROM generate_series(1, $2::int) i`, list, n); err != nil {
			t.Fatal(err)
		}
	}
	fill(small.ID, 10)
	fill(big.ID, cdbsql.LargeWriteRows)
	analyzed := func() (analyze, vacuum time.Time) {
		t.Helper()
		// Statistics reach the shared view at most a second or so after
		// the VACUUM's transaction: poll for a while.
		var a, v *time.Time
		if err := e.db.QueryRow(e.ctx, `SELECT pg_stat_clear_snapshot(), last_analyze, last_vacuum
			FROM pg_stat_user_tables WHERE relname = 'PayloadIOV'`).Scan(nil, &a, &v); err != nil {
			t.Fatal(err)
		}
		if a != nil {
			analyze = *a
		}
		if v != nil {
			vacuum = *v
		}
		return analyze, vacuum
	}

	if _, err := e.store.CloneGlobalTag(e.ctx, "Small", "SmallClone"); err != nil {
		t.Fatal(err)
	}
	e.store.WaitStatistics()
	time.Sleep(1500 * time.Millisecond)
	if a, v := analyzed(); !a.IsZero() || !v.IsZero() {
		t.Fatalf("a 10-row clone was followed by ANALYZE at %v / VACUUM at %v", a, v)
	}

	before := time.Now()
	if _, err := e.store.CloneGlobalTag(e.ctx, "Big", "BigClone"); err != nil {
		t.Fatal(err)
	}
	e.store.WaitStatistics()
	testkit.Poller(100*time.Millisecond).EventuallyNil(t, 10*time.Second, "ANALYZE and VACUUM after the large clone", func() error {
		if a, v := analyzed(); !a.After(before) || !v.After(before) {
			return fmt.Errorf("after a %d-row clone: last ANALYZE %v, last VACUUM %v; want both after %v",
				cdbsql.LargeWriteRows, a, v, before)
		}
		return nil
	})
}

// TestStatisticsRefreshWaitsForAPause: a bulk load sent as many large
// bodies in a row gets one VACUUM (ANALYZE) pass after its last body, not
// one per body running alongside the load.
func TestStatisticsRefreshWaitsForAPause(t *testing.T) {
	e := newStoreEnv(t, condcache.ModeContinuous)
	passes := func() int64 {
		return e.count(`SELECT coalesce((SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'PayloadIOV'), 0)`)
	}
	before := passes()
	for range 5 {
		e.store.AfterLargeWrite(e.ctx, cdbsql.LargeWriteRows)
		time.Sleep(200 * time.Millisecond)
	}
	if n := passes(); n != before {
		t.Fatalf("%d passes ran while the writes went on", n-before)
	}
	e.store.WaitStatistics()
	if n := passes(); n != before+1 {
		t.Fatalf("%d passes after the writes, want 1", n-before)
	}
}
