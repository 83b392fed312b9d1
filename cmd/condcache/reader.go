package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/reader"
	cdbsql "github.com/condcache/condcache/sql"
	"github.com/condcache/condcache/sql/replica"
)

func runReader(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("reader", flag.ExitOnError)
	addr := fs.String("addr", envOr("CONDCACHE_READER_ADDR", "127.0.0.1:8000"), "listen address (env CONDCACHE_READER_ADDR)")
	primary := fs.String("primary", primaryDSN(), "PostgreSQL primary URL, the fallback backend (env CONDCACHE_PRIMARY_DSN, else POSTGRES_*_W)")
	replicas := fs.String("replicas", replicaDSNs(), "comma-separated replica URLs (env CONDCACHE_REPLICA_DSNS, else POSTGRES_*_R1/_R2)")
	writerURL := fs.String("writer", envOr("CONDCACHE_WRITER_URL", "http://127.0.0.1:8001"), "writer base URL that write requests are proxied to (env CONDCACHE_WRITER_URL)")
	mode := fs.String("iov-mode", envOr("CDB_IOV_MODE", "continuous"), "IOV mode, reported by the settings endpoint and used by the consistency check (env CDB_IOV_MODE)")
	maxLag := fs.Duration("max-lag", envDuration("CONDCACHE_MAX_LAG", time.Second), "skip a replica that has not caught up with the primary for this long (env CONDCACHE_MAX_LAG)")
	attemptTimeout := fs.Duration("attempt-timeout", envDuration("CONDCACHE_ATTEMPT_TIMEOUT", replica.DefaultAttemptTimeout),
		"give up a read on a replica that has not answered within this, and fail over (env CONDCACHE_ATTEMPT_TIMEOUT)")
	maxConns := fs.Int("max-conns", envInt("CONDCACHE_READER_MAX_CONNS", 16), "PostgreSQL pool size per backend (env CONDCACHE_READER_MAX_CONNS)")
	pprofAddr := addPprofFlag(fs)
	sf := addServeFlags(fs, "reader")
	cacheOpts := addCacheFlags(fs)
	_ = fs.Parse(args)
	if err := startPprof(*pprofAddr, logger); err != nil {
		return err
	}

	iovMode, err := condcache.ParseIOVMode(*mode)
	if err != nil {
		return err
	}
	poolOpts := cdbsql.PoolOptions{MaxConns: int32(*maxConns), AcquireWait: *sf.poolWait}
	primaryPool, err := cdbsql.ConnectPool(ctx, *primary, poolOpts)
	if err != nil {
		return fmt.Errorf("connect to the primary %s: %w", redactDSN(*primary), err)
	}
	defer primaryPool.Close()
	var replicaPools []*pgxpool.Pool
	for _, dsn := range splitList(*replicas) {
		p, err := cdbsql.ConnectPool(ctx, dsn, poolOpts)
		if err != nil {
			return fmt.Errorf("connect to the replica %s: %w", redactDSN(dsn), err)
		}
		defer p.Close()
		replicaPools = append(replicaPools, p)
	}
	rd := cdbsql.NewReader(primaryPool, replicaPools, cdbsql.ReaderOptions{MaxLag: *maxLag, AttemptTimeout: *attemptTimeout, IOVMode: iovMode})
	rd.Start(ctx)
	defer rd.Close()

	reg := newRegistry()
	rd.RegisterMetrics(reg)
	var lookupCache condcache.LookupCache
	var responses condcache.ResponseCache
	c, err := cacheOpts.open(reg, logger)
	if err != nil {
		return err
	}
	if c != nil {
		defer c.Close()
		lookupCache, responses = c, c
	}
	sources := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "condcache_lookups_total",
		Help: "Lookups answered, by source: redis, replica or primary.",
	}, []string{"source"})
	reg.MustRegister(sources)

	srv := reader.New(rd, reader.Config{
		Addr:          *addr,
		WriterURL:     *writerURL,
		IOVMode:       iovMode,
		Settings:      cdbSettings(),
		Logger:        logger,
		Cache:         lookupCache,
		Responses:     responses,
		Audit:         rd,
		Ranges:        rd,
		Checker:       rd,
		Metrics:       api.NewHTTPMetrics(reg),
		Gatherer:      reg,
		LookupSources: sources,
		Admission:     sf.admission(*maxConns * (1 + len(replicaPools))),
		ShutdownDelay: *sf.shutdownDelay,
	})
	return serve(ctx, srv, *addr, *sf.shutdownDelay, *sf.drain, logger, "reader")
}
