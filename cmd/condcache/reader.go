package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
	accounting "github.com/condcache/condcache/internal/usage"
	"github.com/condcache/condcache/reader"
	cdbsql "github.com/condcache/condcache/sql"
	"github.com/condcache/condcache/sql/replica"
	"github.com/condcache/condcache/sqlite"
)

// readerSettings is the reader's configuration (docs/operations.md
// "Reader").
type readerSettings struct {
	addr           string
	primary        string
	replicas       []string
	writerURL      string
	mode           condcache.IOVMode
	maxLag         time.Duration
	attemptTimeout time.Duration
	maxConns       int
	pprof          string
	sqlite         string
	exportDir      string
	usageFlush     time.Duration
	serve          serveSettings
	cache          cacheSettings
}

func readerTable(s *readerSettings) *config.Table {
	rows := []config.Setting{
		{Flag: "addr", Env: env("CONDCACHE_READER_ADDR"), Default: "127.0.0.1:8000", Help: "listen address", Value: addrValue(&s.addr)},
		primaryRow(&s.primary, "PostgreSQL primary URL or keyword/value string: the last-resort backend, and the source of the current WAL position"),
		replicasRow(&s.replicas),
		writerURLRow(&s.writerURL),
		iovModeRow(&s.mode, "IOV mode, reported by the settings endpoint and used by the consistency check: keep it equal to the writer's"),
		{Flag: "max-lag", Env: env("CONDCACHE_MAX_LAG"), Default: "1s", Value: config.Duration(&s.maxLag),
			Help: "skip a replica that has not caught up with the primary for this long"},
		{Flag: "attempt-timeout", Env: env("CONDCACHE_ATTEMPT_TIMEOUT"), Default: replica.DefaultAttemptTimeout.String(), Value: config.Duration(&s.attemptTimeout),
			Help: "give up a read on a replica that has not answered within this, and fail over"},
		maxConnsRow(&s.maxConns, "reader", "PostgreSQL pool size per backend"),
		pprofRow(&s.pprof),
		{Flag: "sqlite", Env: env("CONDCACHE_SQLITE"), DefaultText: "none: serve the database", Value: config.String(&s.sqlite),
			Help: "serve this export file (GET /api/v2/gt/NAME/export) read-only, offline: no PostgreSQL, Redis or writer;\n-primary, -replicas, -writer and -redis are not used, the IOV mode is the file's, and writes get 405"},
		{Flag: "export-dir", Env: env("CONDCACHE_EXPORT_DIR"), DefaultText: "the system's temporary directory", Value: config.String(&s.exportDir),
			Help: "where export files are built before they are sent"},
		{Flag: "usage-flush", Env: env("CONDCACHE_USAGE_FLUSH"), Default: accounting.DefaultInterval.String(), Value: config.Duration(&s.usageFlush),
			Help: "count reads per GT and client, and write the counts to the primary this often (0: no access accounting);\nat most this much counting is lost if the reader dies"},
	}
	rows = append(rows, serveRows(&s.serve, "reader")...)
	rows = append(rows, cacheRows(&s.cache)...)
	return &config.Table{Command: "condcache reader", Synopsis: "[flags]", Settings: rows,
		About: "Serves the read API from the replicas, falling back to the primary; proxies writes to the writer.\nEvery CDB_* variable is answered by the settings endpoint, unless it looks secret."}
}

func loadReader(args []string, e config.Env) (*readerSettings, *config.Config, error) {
	s := &readerSettings{}
	c, err := readerTable(s).Parse(args, e, stderr)
	if err != nil {
		return nil, nil, err
	}
	return s, c, nil
}

// secrets are the values the reader's logs must never show.
func (s *readerSettings) secrets() []string {
	out := []string{dsnPassword(s.primary), redisPassword(s.cache.url)}
	for _, r := range s.replicas {
		out = append(out, dsnPassword(r))
	}
	return out
}

func runReader(ctx context.Context, args []string, e config.Env) error {
	s, c, err := loadReader(args, e)
	if err != nil {
		return err
	}
	if c.PrintConfig {
		return printConfig(c)
	}
	logger := newLogger(s.secrets()...)
	if err := startPprof(s.pprof, logger); err != nil {
		return err
	}
	if s.sqlite != "" {
		return runOfflineReader(ctx, s, c, e, logger)
	}
	poolOpts := cdbsql.PoolOptions{MaxConns: int32(s.maxConns), AcquireWait: s.serve.poolWait}
	primaryPool, err := cdbsql.ConnectPool(ctx, s.primary, poolOpts)
	if err != nil {
		return fmt.Errorf("connect to the primary %s: %w", redact.DSN(s.primary), err)
	}
	defer primaryPool.Close()
	var replicaPools []*pgxpool.Pool
	for _, dsn := range s.replicas {
		p, err := cdbsql.ConnectPool(ctx, dsn, poolOpts)
		if err != nil {
			return fmt.Errorf("connect to the replica %s: %w", redact.DSN(dsn), err)
		}
		defer p.Close()
		replicaPools = append(replicaPools, p)
	}
	rd := cdbsql.NewReader(primaryPool, replicaPools, cdbsql.ReaderOptions{MaxLag: s.maxLag, AttemptTimeout: s.attemptTimeout, IOVMode: s.mode, Logger: logger})
	rd.Start(ctx)
	defer rd.Close()

	reg := newRegistry()
	rd.RegisterMetrics(reg)
	var lookupCache condcache.LookupCache
	var responses condcache.ResponseCache
	ch, err := s.cache.open(reg, logger)
	if err != nil {
		return err
	}
	if ch != nil {
		defer ch.Close()
		lookupCache, responses = ch, ch
		if s.cache.lease > 0 && s.cache.localMB > 0 {
			stop := runUntilStopped(func(ctx context.Context) { ch.RunLeases(ctx, s.cache.lease) })
			defer stop()
		}
	}
	sources := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "condcache_lookups_total",
		Help: "Lookups answered, by source: redis, replica or primary.",
	}, []string{"source"})
	reg.MustRegister(sources)

	var counter reader.UsageCounter
	if s.usageFlush > 0 {
		c := accounting.New(cdbsql.NewUsageStore(primaryPool), accounting.Options{Interval: s.usageFlush, Logger: logger})
		c.Register(reg)
		stop := runUntilStopped(c.Run) // after the server drained: its last reads are counted
		defer stop()
		counter = c
	}
	srv := reader.New(rd, reader.Config{
		Addr:               s.addr,
		WriterURL:          s.writerURL,
		IOVMode:            s.mode,
		Settings:           cdbSettings(e),
		Logger:             logger,
		Cache:              lookupCache,
		Responses:          responses,
		Audit:              rd,
		Checker:            rd,
		Ranges:             rd,
		Notices:            rd,
		Usage:              counter,
		UsageReader:        rd,
		Exports:            &sqlite.Exporter{Source: rd},
		ExportMeta:         condcache.ExportMeta{Source: exportSource(s.addr), Version: buildVersion()},
		ExportDir:          s.exportDir,
		Repositories:       rd,
		Metrics:            api.NewHTTPMetrics(reg),
		Gatherer:           reg,
		LookupSources:      sources,
		HeaderTimeout:      s.serve.headerTimeout,
		ReadTimeout:        s.serve.bodyTimeout,
		MaxRequestBodySize: s.serve.maxBody,
		Admission:          s.serve.admission(s.maxConns * (1 + len(replicaPools))),
		ShutdownDelay:      s.serve.shutdownDelay,
	})
	return serve(ctx, srv, s.addr, s.serve.shutdownDelay, s.serve.drain, logger, "reader")
}
