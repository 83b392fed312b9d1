package pgdata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/condcache/condcache/internal/localstack"
	cdbsql "github.com/condcache/condcache/sql"
)

// BenchOptions configures StartBench.
type BenchOptions struct {
	// Binary is the condcache executable; "" = this process's own.
	Binary string
	Preset Preset
	// Settings are extra PostgreSQL settings.
	Settings map[string]string
	// Progress receives progress messages; nil = os.Stderr.
	Progress io.Writer
}

// BenchStack is the stack `condcache loadtest bench` measures
// (loadtest.Bench): PostgreSQL primary and replica, Redis, a writer, a
// reader with the cache and one without, in a temporary directory on
// free ports, with a preset loaded by COPY and replicated. Stop it when
// done.
type BenchStack struct {
	dir              string
	stack            *localstack.Stack
	cached, uncached *localstack.Servers
	uncounted        *localstack.Servers // cached, no access accounting
	sqlOnly          *localstack.Servers // uncached, no GT index: every lookup runs lookupSQL
	data             Dataset
	pgBin            string
	db               string
}

// StartBench starts a BenchStack.
func StartBench(ctx context.Context, o BenchOptions) (_ *BenchStack, err error) {
	progress := o.Progress
	if progress == nil {
		progress = os.Stderr
	}
	binary := o.Binary
	if binary == "" {
		if binary, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	pgBin, err := localstack.FindPGBin()
	if err != nil {
		return nil, err
	}
	b := &BenchStack{pgBin: pgBin, db: "bench"}
	if b.dir, err = os.MkdirTemp("", "condcache-bench-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = b.Stop()
		}
	}()
	b.stack, err = localstack.Start(ctx, localstack.Options{Dir: b.dir, PGBinDir: pgBin, Replicas: 1, Redis: true, Fast: true,
		Settings: o.Settings, Log: progress})
	if err != nil {
		return nil, err
	}
	if err := b.stack.CreateDatabase(ctx, b.db); err != nil {
		return nil, err
	}
	if b.cached, err = b.stack.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: b.db}); err != nil {
		return nil, err
	}
	uncachedLogs := filepath.Join(b.dir, "uncached")
	if err := os.MkdirAll(uncachedLogs, 0o755); err != nil {
		return nil, err
	}
	if b.uncached, err = b.stack.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: b.db, ReaderNoCache: true,
		LogDir: uncachedLogs}); err != nil {
		return nil, err
	}
	uncountedLogs := filepath.Join(b.dir, "uncounted")
	if err := os.MkdirAll(uncountedLogs, 0o755); err != nil {
		return nil, err
	}
	if b.uncounted, err = b.stack.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: b.db,
		ReaderArgs: []string{"-usage-flush", "0"}, LogDir: uncountedLogs}); err != nil {
		return nil, err
	}
	sqlOnlyLogs := filepath.Join(b.dir, "sqlonly")
	if err := os.MkdirAll(sqlOnlyLogs, 0o755); err != nil {
		return nil, err
	}
	if b.sqlOnly, err = b.stack.StartServers(ctx, localstack.ServerOptions{Binary: binary, Database: b.db, ReaderNoCache: true,
		ReaderArgs: []string{"-gt-index-mb", "0"}, LogDir: sqlOnlyLogs}); err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, b.stack.Primary.DSN(b.db))
	if err != nil {
		return nil, err
	}
	b.data, err = Load(ctx, pool, o.Preset, o.Preset.Name)
	pool.Close()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "loaded %s: %d rows at %.0f rows/s, clone %.2f s\n", o.Preset.Name, b.data.Rows, b.data.RowsPerSecond, b.data.CloneSeconds)
	if err := b.stack.WaitReplicated(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// CachedReaderURL is the reader with Redis, UncachedReaderURL the one
// without (every lookup from the replica, through its GT index).
func (b *BenchStack) CachedReaderURL() string   { return b.cached.ReaderURL }
func (b *BenchStack) UncachedReaderURL() string { return b.uncached.ReaderURL }

// SQLReaderURL is a reader without Redis and without GT indexes: every
// lookup runs the lookup statement on the replica.
func (b *BenchStack) SQLReaderURL() string { return b.sqlOnly.ReaderURL }

// UncountedReaderURL is a reader with Redis and without access accounting.
func (b *BenchStack) UncountedReaderURL() string { return b.uncounted.ReaderURL }

// GlobalTag is the loaded GT the lookups read, Runs its run range.
func (b *BenchStack) GlobalTag() string         { return b.data.GlobalTags[0] }
func (b *BenchStack) Runs() (first, last int64) { return b.data.FirstRun, b.data.LastRun }

// Pgbench is how to run the lookup statement with pgbench on the replica.
func (b *BenchStack) Pgbench() (binary, dsn, statement string) {
	return filepath.Join(b.pgBin, "pgbench"), b.stack.Replicas[0].DSN(b.db), cdbsql.LookupSQL
}

// Stop stops the servers and the stack and removes the directory.
func (b *BenchStack) Stop() error {
	var errs []error
	for _, s := range []*localstack.Servers{b.sqlOnly, b.uncounted, b.uncached, b.cached} {
		if s != nil {
			errs = append(errs, s.Stop())
		}
	}
	if b.stack != nil {
		errs = append(errs, b.stack.Stop())
	}
	if b.dir != "" {
		errs = append(errs, os.RemoveAll(b.dir))
	}
	return errors.Join(errs...)
}

// Generate is `condcache loadtest generate`: p loaded into the database
// at dsn under prefix ("" = the preset's name and the time), with what was
// loaded and a load test to try printed to stdout.
func Generate(ctx context.Context, dsn string, p Preset, prefix string, stdout, progress io.Writer) error {
	if prefix == "" {
		prefix = fmt.Sprintf("%s_%s", p.Name, time.Now().Format("150405"))
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	fmt.Fprintf(progress, "loading %s: %d GT(s) × %d types × %d IOVs = %d rows, then %d clone(s)\n",
		p.Name, p.GTs, p.Types, p.IOVs, p.Rows(), p.Clones)
	d, err := Load(ctx, pool, p, prefix)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "loaded %d IOV rows in %.1f s: %.0f rows/s; clone of %s: %.2f s each\n",
		d.Rows, d.CopySeconds, d.RowsPerSecond, d.GlobalTags[0], d.CloneSeconds)
	fmt.Fprintf(stdout, "global tags: %s\n", strings.Join(d.GlobalTags, " "))
	fmt.Fprintf(stdout, "try: condcache loadtest run -gt %s -runs %d-%d\n", d.GlobalTags[0], d.FirstRun, d.LastRun)
	return nil
}
