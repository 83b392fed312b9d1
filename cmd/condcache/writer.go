package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/auth"
	"github.com/condcache/condcache/internal/relay"
	cdbsql "github.com/condcache/condcache/sql"
	"github.com/condcache/condcache/writer"
)

func runWriter(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("writer", flag.ExitOnError)
	addr := fs.String("addr", envOr("CONDCACHE_WRITER_ADDR", "127.0.0.1:8001"), "listen address (env CONDCACHE_WRITER_ADDR)")
	primary := fs.String("primary", primaryDSN(), "PostgreSQL primary URL (env CONDCACHE_PRIMARY_DSN, else Nopayloaddb's POSTGRES_*_W)")
	mode := fs.String("iov-mode", envOr("CDB_IOV_MODE", "continuous"), "IOV mode: continuous or discrete (env CDB_IOV_MODE)")
	migrate := fs.Bool("migrate", envOr("CONDCACHE_MIGRATE", "true") == "true", "apply schema migrations at start-up (env CONDCACHE_MIGRATE)")
	maxConns := fs.Int("max-conns", envInt("CONDCACHE_WRITER_MAX_CONNS", 16), "PostgreSQL pool size (env CONDCACHE_WRITER_MAX_CONNS)")
	pprofAddr := addPprofFlag(fs)
	sf := addServeFlags(fs, "writer")
	cacheOpts := addCacheFlags(fs)
	_ = fs.Parse(args)
	if err := startPprof(*pprofAddr, logger); err != nil {
		return err
	}

	iovMode, err := condcache.ParseIOVMode(*mode)
	if err != nil {
		return err
	}
	authCfg, err := auth.ConfigFromEnv()
	if err != nil {
		return err
	}
	pool, err := cdbsql.ConnectPool(ctx, *primary, cdbsql.PoolOptions{MaxConns: int32(*maxConns), AcquireWait: *sf.poolWait})
	if err != nil {
		return fmt.Errorf("connect to the primary %s: %w", redactDSN(*primary), err)
	}
	defer pool.Close()
	// The writer is useless without its primary, which an orchestrator may
	// start at the same time: wait for it, then migrate.
	if *migrate {
		logger.Info("applying migrations", "primary", redactDSN(*primary))
	}
	err = cdbsql.Await(ctx, "primary", *primary, logger, func(ctx context.Context) error {
		if *migrate {
			return cdbsql.Migrate(ctx, *primary)
		}
		return pool.Ping(ctx)
	})
	if err != nil {
		if ctx.Err() != nil {
			logger.Info("writer stopped before the primary was reachable")
			return nil // told to stop: not a failure
		}
		return fmt.Errorf("start-up: %w", err)
	}

	reg := newRegistry()
	store := cdbsql.NewStore(pool, iovMode)
	c, err := cacheOpts.open(reg, logger)
	if err != nil {
		return err
	}
	// The relay delivers invalidations the writer could not, and those of
	// writes made behind its back; without a cache it only empties the
	// outbox.
	var relayCache relay.Cache
	if c != nil {
		defer c.Close()
		relayCache = c
	}
	rl := relay.New(cdbsql.NewOutbox(pool), relayCache, logger, reg)
	if c != nil {
		store.SetInvalidator(c, func(err error) {
			logger.Warn("invalidation left to the relay", "err", err)
			rl.Kick()
		})
	}
	go rl.Run(ctx)

	srv, err := writer.New(store, writer.Config{
		Addr:     *addr,
		Auth:     authCfg,
		IOVMode:  iovMode,
		Logger:   logger,
		Metrics:  api.NewHTTPMetrics(reg),
		Gatherer: reg,
		Ready:    pool.Ping,

		Admission:     sf.admission(*maxConns),
		ShutdownDelay: *sf.shutdownDelay,
	})
	if err != nil {
		return err
	}
	return serve(ctx, srv, *addr, *sf.shutdownDelay, *sf.drain, logger, "writer")
}
