package main

import (
	"context"

	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
	cdbsql "github.com/condcache/condcache/sql"
)

func migrateTable(primary *string) *config.Table {
	return &config.Table{Command: "condcache migrate", Synopsis: "[-primary URL]",
		About:    "Applies the schema migrations to the primary and exits.",
		Settings: []config.Setting{primaryRow(primary, "PostgreSQL primary URL or keyword/value string")}}
}

func runMigrate(ctx context.Context, primary string) error {
	logger := newLogger(dsnPassword(primary))
	logger.Info("applying migrations", "primary", redact.DSN(primary))
	if err := cdbsql.Migrate(ctx, primary); err != nil {
		return err
	}
	logger.Info("migrations applied")
	return nil
}
