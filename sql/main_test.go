package sql_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testkit"
	cdbsql "github.com/condcache/condcache/sql"
)

// stack is the one PostgreSQL primary + replica shared by this package's
// tests; tests isolate themselves with a database each.
var stack *localstack.Stack

func TestMain(m *testing.M) {
	testkit.Main(m, testkit.Options{Name: "sql", Stack: &localstack.Options{Replicas: 1}},
		func(_ context.Context, env *testkit.Env) error {
			stack = env.Stack
			return nil
		})
}

var dbSeq atomic.Int64

// testDB creates a fresh, migrated database on the shared primary and
// returns its name; it goes with the stack's directory after the tests.
func testDB(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := stack.CreateDatabase(ctx, name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	if err := cdbsql.Migrate(ctx, stack.Primary.DSN(name)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return name
}

// primaryPool returns a pool on database db of the primary, closed with the test.
func primaryPool(t testing.TB, db string) *pgxpool.Pool {
	t.Helper()
	return pool(t, stack.Primary.DSN(db))
}

// replicaPool returns a pool on database db of the replica, closed with the test.
func replicaPool(t testing.TB, db string) *pgxpool.Pool {
	t.Helper()
	return pool(t, stack.Replicas[0].DSN(db))
}

func pool(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatalf("pool %s: %v", dsn, err)
	}
	t.Cleanup(p.Close)
	return p
}
