package sql_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	cdbsql "github.com/condcache/condcache/sql"
)

// TestLatestReadsUseACaughtUpReplica: a read that must see every committed
// write (here, with no cache, every read) is served by a replica that has
// replayed the primary's current position, even when the last background
// check of that replica predates the newest write. Before, such reads all
// went to the primary until the next check.
func TestLatestReadsUseACaughtUpReplica(t *testing.T) {
	ctx := context.Background()
	db := testDB(t)
	p := primaryPool(t, db)
	s := newSeed(t, p)
	newLookupFixture(s)
	if err := stack.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	// Checks every hour: only the first one ever runs.
	rd := cdbsql.NewReader(p, []*pgxpool.Pool{replicaPool(t, db)}, cdbsql.ReaderOptions{MaxLag: 2 * time.Hour, CheckInterval: time.Hour})
	rd.Start(ctx)
	defer rd.Close()
	before := backendStatus(t, rd, "replica1").Reads
	for i := range 10 {
		s.status(uniqStatus(i)) // a write after the check: the replica's checked position is behind it
		if err := stack.WaitReplicated(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := rd.GlobalTagStatuses(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := backendStatus(t, rd, "replica1").Reads - before; got < 8 {
		t.Errorf("the caught-up replica answered %d of 10 reads that must see the latest write", got)
	}
}

func uniqStatus(i int) string {
	return "latest_" + time.Now().Format("150405.000000") + "_" + string(rune('a'+i))
}
