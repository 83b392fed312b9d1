package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// RunOptions configures Run, the local stack of `condcache run` (make run).
type RunOptions struct {
	// Binary is the condcache executable the writer and reader run;
	// "" = this process's own.
	Binary string
	// Dir is the state directory; cleared first unless Keep.
	Dir  string
	Keep bool
	// ReaderAddr and WriterAddr are the servers' listen addresses.
	ReaderAddr, WriterAddr string
	// PGPort is the primary's port; the replica takes the next one.
	PGPort, RedisPort int
	// PGBinDir holds the PostgreSQL server binaries; "" = FindPGBin.
	PGBinDir string
	// ReaderArgs are extra reader flags, e.g. "-pprof", "127.0.0.1:6060".
	ReaderArgs []string
	// Settings are extra PostgreSQL settings.
	Settings map[string]string
	// Demo, if set, loads a demo data set through the reader at readerURL
	// into a fresh stack; Lookup is the path and query of a lookup to
	// show.
	Demo   func(ctx context.Context, readerURL string) error
	Lookup string
	// Out receives the banner, Log the progress; nil = os.Stdout, os.Stderr.
	Out, Log io.Writer
}

// Run is `make run`: a PostgreSQL primary and a streaming replica from
// local binaries, Redis, the writer and a reader as child processes, demo
// data, a banner with the URLs and a lookup to try; then it waits for ctx
// (Ctrl-C) and stops everything.
func Run(ctx context.Context, o RunOptions) error {
	out, log := o.Out, o.Log
	if out == nil {
		out = os.Stdout
	}
	if log == nil {
		log = os.Stderr
	}
	start := time.Now()
	state, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	fresh := !o.Keep
	if fresh {
		if err := os.RemoveAll(state); err != nil {
			return fmt.Errorf("clearing %s: %w", state, err)
		}
	}
	binary := o.Binary
	if binary == "" {
		if binary, err = os.Executable(); err != nil {
			return err
		}
	}
	stack, err := Start(ctx, Options{
		Dir:          filepath.Join(state, "postgres"),
		PGBinDir:     o.PGBinDir,
		Replicas:     1,
		PrimaryPort:  o.PGPort,
		ReplicaPorts: []int{o.PGPort + 1},
		Redis:        true,
		RedisPort:    o.RedisPort,
		Settings:     o.Settings,
		Log:          log,
	})
	if err != nil {
		return err
	}
	defer stack.Stop()
	const database = "condcache"
	if err := stack.CreateDatabase(ctx, database); err != nil && fresh {
		return err
	}
	servers, err := stack.StartServers(ctx, ServerOptions{
		Binary:     binary,
		Database:   database,
		WriterAddr: o.WriterAddr,
		ReaderAddr: o.ReaderAddr,
		LogDir:     state,
		ReaderArgs: o.ReaderArgs,
	})
	if err != nil {
		return err
	}
	defer servers.Stop()
	if o.Demo != nil && fresh {
		if err := o.Demo(ctx, servers.ReaderURL); err != nil {
			return fmt.Errorf("loading the demo data: %w", err)
		}
	}
	fmt.Fprintf(out, `
condcache is up (%.1fs):
  reader      %s   (Nopayloaddb clients' default address)
  writer      %s
  primary     %s
  replica     %s
  redis       %s
  web UI      %s/ui/
  metrics     %s/metrics
  state, logs %s
`, time.Since(start).Seconds(), servers.ReaderURL, servers.WriterURL,
		stack.Primary.DSN(database), stack.Replicas[0].DSN(database),
		"redis://"+stack.Redis.Addr()+"/0", servers.ReaderURL, servers.ReaderURL, state)
	if o.Lookup != "" {
		fmt.Fprintf(out, "\nTry a lookup:\n  curl '%s%s'\n", servers.ReaderURL, o.Lookup)
	}
	fmt.Fprint(out, "\nCtrl-C stops everything.\n")
	<-ctx.Done()
	fmt.Fprintln(log, "\nstopping condcache...")
	if err := errors.Join(servers.Stop(), stack.Stop()); err != nil {
		return err
	}
	fmt.Fprintln(log, "stopped.")
	return nil
}
