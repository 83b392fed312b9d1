package main

import (
	"context"
	"errors"
	"os"

	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/loadtest"
)

// loadStackSettings tune the PostgreSQL servers that `run` and the
// load-test commands start: the default 128 MB of shared buffers makes a
// 1M-row clone write out most of what it touches.
var loadStackSettings = map[string]string{"shared_buffers": "1GB"}

func runTable(o *localstack.RunOptions, demo *bool, readerPprof *string) *config.Table {
	return &config.Table{Command: "condcache run", Synopsis: "[flags]",
		About: "Starts a local stack (PostgreSQL primary + streaming replica, Redis, writer, reader, demo data)\nfrom local binaries, and stops it all on Ctrl-C.",
		Settings: []config.Setting{
			{Flag: "dir", Env: env("CONDCACHE_STATE_DIR"), Default: ".condcache", Help: "state directory (databases and logs)", Value: config.String(&o.Dir)},
			{Flag: "keep", Default: "false", Help: "keep the databases of the previous run instead of starting fresh", Value: config.Bool(&o.Keep)},
			{Flag: "reader-addr", Env: env("CONDCACHE_READER_ADDR"), Default: "127.0.0.1:8000", Help: "reader address", Value: addrValue(&o.ReaderAddr)},
			{Flag: "writer-addr", Env: env("CONDCACHE_WRITER_ADDR"), Default: "127.0.0.1:8001", Help: "writer address", Value: addrValue(&o.WriterAddr)},
			{Flag: "pg-port", Env: env("CONDCACHE_PG_PORT"), Default: "15432", Help: "PostgreSQL primary port; the replica uses the next one", Value: portValue(&o.PGPort)},
			{Flag: "redis-port", Env: env("CONDCACHE_REDIS_PORT"), Default: "16379", Help: "Redis port", Value: portValue(&o.RedisPort)},
			{Flag: "demo", Default: "true", Help: "load the demo data set", Value: config.Bool(demo)},
			{Flag: "reader-pprof", DefaultText: "off", Help: "serve the reader's net/http/pprof on this address, e.g. 127.0.0.1:6060", Value: addrOrEmpty(readerPprof)},
			{Env: env("PG_BIN_DIR"), DefaultText: "pg_config --bindir, else the newest /usr/lib/postgresql/*/bin",
				Help: "directory of the PostgreSQL server binaries", Value: dirValue(&o.PGBinDir)},
		}}
}

// dirValue is the path of a directory that exists, or "".
func dirValue(p *string) config.Value {
	return config.Func("directory", func(s string) error {
		if s != "" {
			if fi, err := os.Stat(s); err != nil || !fi.IsDir() {
				return errors.New("not a directory")
			}
		}
		*p = s
		return nil
	})
}

// runStack is `condcache run` (make run): localstack.Run.
func runStack(ctx context.Context, o localstack.RunOptions, demo bool, readerPprof string) error {
	o.Settings, o.Demo, o.Lookup = loadStackSettings, loadtest.LoadDemoAt, loadtest.DemoLookup
	if !demo {
		o.Demo = nil
	}
	if readerPprof != "" {
		o.ReaderArgs = []string{"-pprof", readerPprof}
	}
	return localstack.Run(ctx, o)
}
