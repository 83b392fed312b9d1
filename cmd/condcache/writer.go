package main

import (
	"context"
	"fmt"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/auth"
	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
	"github.com/condcache/condcache/internal/relay"
	cdbsql "github.com/condcache/condcache/sql"
	"github.com/condcache/condcache/writer"
)

// writerSettings is the writer's configuration (docs/operations.md
// "Writer").
type writerSettings struct {
	addr     string
	primary  string
	mode     condcache.IOVMode
	migrate  bool
	maxConns int
	pprof    string
	serve    serveSettings
	cache    cacheSettings
	auth     auth.Settings
	authCfg  auth.Config // built from auth by load
}

func writerTable(s *writerSettings) *config.Table {
	rows := []config.Setting{
		{Flag: "addr", Env: env("CONDCACHE_WRITER_ADDR"), Default: "127.0.0.1:8001", Help: "listen address", Value: addrValue(&s.addr)},
		primaryRow(&s.primary, "PostgreSQL primary URL or keyword/value string"),
		iovModeRow(&s.mode, "IOV mode: continuous ([start, end)) or discrete ([start, end])"),
		{Flag: "migrate", Env: env("CONDCACHE_MIGRATE"), Default: "true", Help: "apply the schema migrations at start-up", Value: config.Bool(&s.migrate)},
		maxConnsRow(&s.maxConns, "writer", "PostgreSQL pool size"),
		pprofRow(&s.pprof),
	}
	rows = append(rows, serveRows(&s.serve, "writer")...)
	rows = append(rows, cacheRows(&s.cache)...)
	rows = append(rows, authRows(&s.auth)...)
	return &config.Table{Command: "condcache writer", Synopsis: "[flags]", Settings: rows,
		About: "Serves the write API against the PostgreSQL primary: every write one transaction; migrates at start-up;\nruns the invalidation relay."}
}

// loadWriter reads the writer's configuration from args and env, and
// checks it whole: start-up stops on any invalid value.
func loadWriter(args []string, e config.Env) (*writerSettings, *config.Config, error) {
	s := &writerSettings{}
	c, err := writerTable(s).Parse(args, e, stderr)
	if err != nil {
		return nil, nil, err
	}
	if err := s.load(); err != nil {
		return nil, nil, err
	}
	return s, c, nil
}

// load checks what the table cannot check row by row: the authentication
// settings together.
func (s *writerSettings) load() error {
	var err error
	if s.authCfg, err = auth.Load(s.auth); err != nil {
		return &config.Error{Command: "condcache writer", Problems: []string{err.Error()}}
	}
	return nil
}

// secrets are the values the writer's logs must never show.
func (s *writerSettings) secrets() []string {
	return []string{dsnPassword(s.primary), redisPassword(s.cache.url), s.auth.Secret}
}

// runWriter is `condcache writer` once its table is read.
func runWriter(ctx context.Context, s *writerSettings) error {
	if err := s.load(); err != nil {
		return err
	}
	logger := newLogger(s.secrets()...)
	if err := startPprof(s.pprof, logger); err != nil {
		return err
	}
	pool, err := cdbsql.ConnectPool(ctx, s.primary, cdbsql.PoolOptions{MaxConns: int32(s.maxConns), AcquireWait: s.serve.poolWait})
	if err != nil {
		return fmt.Errorf("connect to the primary %s: %w", redact.DSN(s.primary), err)
	}
	defer pool.Close()
	// The writer is useless without its primary, which an orchestrator may
	// start at the same time: wait for it, then migrate.
	if s.migrate {
		logger.Info("applying migrations", "primary", redact.DSN(s.primary))
	}
	err = cdbsql.Await(ctx, "primary", s.primary, logger, func(ctx context.Context) error {
		if s.migrate {
			return cdbsql.Migrate(ctx, s.primary)
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
	store := cdbsql.NewStore(pool, s.mode)
	ch, err := s.cache.open(reg, logger)
	if err != nil {
		return err
	}
	// The relay delivers invalidations the writer could not, and those of
	// writes made behind its back; without a cache it only empties the
	// outbox.
	var relayCache relay.Cache
	if ch != nil {
		defer ch.Close()
		relayCache = ch
	}
	rl := relay.New(cdbsql.NewOutbox(pool), relayCache, logger, reg)
	if ch != nil {
		store.SetInvalidator(ch, func(err error) {
			logger.Warn("invalidation left to the relay", "err", err)
			rl.Kick()
		})
	}
	go rl.Run(ctx)

	srv, err := writer.New(store, writer.Config{
		Addr:     s.addr,
		Auth:     s.authCfg,
		IOVMode:  s.mode,
		Logger:   logger,
		Metrics:  api.NewHTTPMetrics(reg),
		Gatherer: reg,
		Ready:    pool.Ping,
		Notices:  store,

		Repositories: store,

		HeaderTimeout:      s.serve.headerTimeout,
		ReadTimeout:        s.serve.bodyTimeout,
		MaxRequestBodySize: s.serve.maxBody,
		Admission:          s.serve.admission(s.maxConns),
		ShutdownDelay:      s.serve.shutdownDelay,
	})
	if err != nil {
		return err
	}
	return serve(ctx, srv, s.addr, s.serve.shutdownDelay, s.serve.drain, logger, "writer")
}
