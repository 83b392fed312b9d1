package sql

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"
)

// migrationFiles are the schema migrations, applied in file-name order by
// tern. Files are never edited once released: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// VersionTable records which migrations a database has had. Its name is
// ours alone, so it cannot collide with Django's django_migrations on a
// database that Nopayloaddb shares.
const VersionTable = "condcache_schema_version"

// migrateLock is the advisory lock key that serialises Migrate runs on one
// database (advisory locks are per database).
const migrateLock int64 = 0x636f6e6463616368 // "condcach"

// migrateLockPoll is how often a Migrate waiting for another one retries.
const migrateLockPoll = 50 * time.Millisecond

// Migrate brings the database at dsn to the current schema: the Nopayloaddb
// tables (created if missing, left untouched if Nopayloaddb already created
// them) plus condcache's additive objects. It is safe to run on every start
// and from several processes at once.
func Migrate(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	// Closing the session also releases migrateLock.
	defer conn.Close(context.WithoutCancel(ctx))
	if err := lockMigrations(ctx, conn); err != nil {
		return err
	}

	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		return fmt.Errorf("migrate: load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// lockMigrations waits until this session holds migrateLock. tern has a
// lock of its own, but it waits for it in a blocking statement; a session
// blocked like that holds a snapshot, which CREATE INDEX CONCURRENTLY in the
// session that has the lock waits for: a deadlock. Polling with short
// statements never makes the concurrent build wait for long.
func lockMigrations(ctx context.Context, conn *pgx.Conn) error {
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, migrateLock).Scan(&ok); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("migrate: waiting for another migration: %w", ctx.Err())
		case <-time.After(migrateLockPoll):
		}
	}
}
