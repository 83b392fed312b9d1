package main

import (
	"context"
	"flag"
	"log/slog"

	cdbsql "github.com/condcache/condcache/sql"
)

func runMigrate(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("migrate", flag.ExitOnError)
	primary := fs.String("primary", primaryDSN(), "PostgreSQL primary URL (env CONDCACHE_PRIMARY_DSN, else POSTGRES_*_W)")
	_ = fs.Parse(args)
	logger.Info("applying migrations", "primary", redactDSN(*primary))
	return cdbsql.Migrate(ctx, *primary)
}
