package main

import (
	"context"

	"github.com/condcache/condcache/internal/cli"

	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
	cdbsql "github.com/condcache/condcache/sql"
)

func migrateTable(primary *string, drop, restore *bool) *config.Table {
	return &config.Table{Command: "condcache migrate", Synopsis: "[-primary URL] [-drop-reference-indexes | -restore-reference-indexes]",
		About: "Applies the schema migrations to the primary and exits.",
		Settings: []config.Setting{primaryRow(primary, "PostgreSQL primary URL or keyword/value string"),
			{Flag: "drop-reference-indexes", Default: "false", Value: config.Bool(drop),
				Help: "opt-in, after migrating: drop Nopayloaddb's covering_idx and foreign-key index on PayloadIOV,\nwhich condcache's indexes make redundant (faster bulk loads and clones; see docs/operations.md)"},
			{Flag: "restore-reference-indexes", Default: "false", Value: config.Bool(restore),
				Help: "after migrating: build those two indexes again"},
		}}
}

// runMigrate applies the migrations, then the opt-in index step if asked.
func runMigrate(ctx context.Context, primary string, drop, restore bool) error {
	if drop && restore {
		return cli.Usagef("migrate: -drop-reference-indexes and -restore-reference-indexes exclude each other")
	}
	logger := newLogger(dsnPassword(primary))
	logger.Info("applying migrations", "primary", redact.DSN(primary))
	if err := cdbsql.Migrate(ctx, primary); err != nil {
		return err
	}
	logger.Info("migrations applied")
	switch {
	case drop:
		if err := cdbsql.DropReferenceIndexes(ctx, primary); err != nil {
			return err
		}
		logger.Info("reference indexes dropped", "indexes", "covering_idx, PayloadIOV_payload_list_id_37321d74")
	case restore:
		if err := cdbsql.RestoreReferenceIndexes(ctx, primary); err != nil {
			return err
		}
		logger.Info("reference indexes restored", "indexes", "covering_idx, PayloadIOV_payload_list_id_37321d74")
	}
	return nil
}
