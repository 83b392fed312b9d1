// Command condcache runs the condcache conditions database: the writer, the
// readers, schema migrations, and a complete local stack for development.
//
//	condcache run       # local stack: PostgreSQL primary + replica, writer, reader, demo data
//	condcache writer    # the single writer process (PostgreSQL primary)
//	condcache reader    # a stateless reader (replicas, fallback to the primary)
//	condcache migrate   # apply the schema migrations and exit
//	condcache check     # list stored states that make lookups ambiguous (read-only)
//	condcache loadtest  # drive running servers: freshness checks, load workloads and reports
//
// Every flag has an environment variable as its default (see -h of each
// subcommand), including Nopayloaddb's own variable names.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "run":
		err = runStack(ctx, args, logger)
	case "writer":
		err = runWriter(ctx, args, logger)
	case "reader":
		err = runReader(ctx, args, logger)
	case "migrate":
		err = runMigrate(ctx, args, logger)
	case "loadtest":
		err = runLoadtest(ctx, args)
	case "check":
		// Its exit status says whether anything was found.
		code := runCheck(ctx, args, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "condcache: unknown command %q\n", cmd)
		usage()
		os.Exit(2)
	}
	if err != nil {
		logger.Error("condcache "+os.Args[1]+" failed", "err", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: condcache <command> [flags]

commands:
  run      start a local stack (PostgreSQL primary + streaming replica, writer,
           reader, demo data) and stop it all on Ctrl-C
  writer   serve the write API against the PostgreSQL primary
  reader   serve the read API from replicas (proxying writes to the writer)
  migrate  apply the schema migrations to the primary and exit
  check    list the stored states that make lookups ambiguous or surprising
           (duplicate starts, overlaps, empty or inverted IOVs, missing or
           wrong comb_iov, two lists of one type), per global tag and list;
           read-only; exit status 1 when anything is found
  loadtest drive running servers: "loadtest freshness" (write-then-read
           rounds, no stale answer allowed), "loadtest run" (workloads,
           side by side, rate sweeps; reports with charts)

Run "condcache <command> -h" for its flags.
`)
}
