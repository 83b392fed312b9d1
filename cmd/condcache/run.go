package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/loadtest"
)

// runStack is `make run`: a PostgreSQL primary and a streaming replica from
// local binaries, the writer and a reader as child processes of this one,
// demo data, and a clean stop of everything on Ctrl-C.
func runStack(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	dir := fs.String("dir", envOr("CONDCACHE_STATE_DIR", ".condcache"), "state directory (env CONDCACHE_STATE_DIR)")
	keep := fs.Bool("keep", false, "keep the databases of the previous run instead of starting fresh")
	readerAddr := fs.String("reader-addr", envOr("CONDCACHE_READER_ADDR", "127.0.0.1:8000"), "reader address (env CONDCACHE_READER_ADDR)")
	writerAddr := fs.String("writer-addr", envOr("CONDCACHE_WRITER_ADDR", "127.0.0.1:8001"), "writer address (env CONDCACHE_WRITER_ADDR)")
	pgPort := fs.Int("pg-port", envInt("CONDCACHE_PG_PORT", 15432), "PostgreSQL primary port; the replica uses the next one (env CONDCACHE_PG_PORT)")
	redisPort := fs.Int("redis-port", envInt("CONDCACHE_REDIS_PORT", 16379), "Redis port (env CONDCACHE_REDIS_PORT)")
	demo := fs.Bool("demo", true, "load the demo data set")
	readerPprof := fs.String("reader-pprof", "", "serve the reader's net/http/pprof on this address, e.g. 127.0.0.1:6060 (default off)")
	_ = fs.Parse(args)

	start := time.Now()
	state, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	fresh := !*keep
	if fresh {
		if err := os.RemoveAll(state); err != nil {
			return fmt.Errorf("clearing %s: %w", state, err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	stack, err := localstack.Start(ctx, localstack.Options{
		Dir:          filepath.Join(state, "postgres"),
		Replicas:     1,
		PrimaryPort:  *pgPort,
		ReplicaPorts: []int{*pgPort + 1},
		Redis:        true,
		RedisPort:    *redisPort,
		// make run is what the README's load tests target.
		Settings: loadStackSettings,
		Log:      os.Stderr,
	})
	if err != nil {
		return err
	}
	defer stack.Stop()
	const database = "condcache"
	if err := stack.CreateDatabase(ctx, database); err != nil && fresh {
		return err
	}
	servers, err := stack.StartServers(ctx, localstack.ServerOptions{
		Binary:     exe,
		Database:   database,
		WriterAddr: *writerAddr,
		ReaderAddr: *readerAddr,
		LogDir:     state,
		ReaderArgs: pprofArgs(*readerPprof),
	})
	if err != nil {
		return err
	}
	defer servers.Stop()
	if *demo && fresh {
		if err := loadtest.LoadDemo(ctx, loadtest.NewClient(servers.ReaderURL)); err != nil {
			return fmt.Errorf("loading the demo data: %w", err)
		}
	}
	q := url.Values{"gtName": {loadtest.DemoGlobalTag}, "majorIOV": {"150"}, "minorIOV": {"0"}}
	fmt.Printf(`
condcache is up (%.1fs):
  reader      %s   (Nopayloaddb clients' default address)
  writer      %s
  primary     %s
  replica     %s
  redis       %s
  metrics     %s/metrics
  state, logs %s

Try a lookup:
  curl '%s/api/cdb_rest/payloadiovs/?%s'

Ctrl-C stops everything.
`, time.Since(start).Seconds(), servers.ReaderURL, servers.WriterURL,
		stack.Primary.DSN(database), stack.Replicas[0].DSN(database),
		"redis://"+stack.Redis.Addr()+"/0", servers.ReaderURL, state,
		servers.ReaderURL, q.Encode())
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nstopping condcache...")
	if err := errors.Join(servers.Stop(), stack.Stop()); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "stopped.")
	return nil
}

func pprofArgs(addr string) []string {
	if addr == "" {
		return nil
	}
	return []string{"-pprof", addr}
}
