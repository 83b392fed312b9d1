// Command condcache runs the condcache conditions database: the writer, the
// readers, schema migrations, and a complete local stack for development.
//
//	condcache run       # local stack: PostgreSQL primary + replica, writer, reader, demo data
//	condcache writer    # the single writer process (PostgreSQL primary)
//	condcache reader    # a stateless reader (replicas, fallback to the primary)
//	condcache migrate   # apply the schema migrations and exit
//	condcache check     # list stored states that make lookups ambiguous (read-only)
//	condcache export    # download a GT's export file, served offline by reader -sqlite
//	condcache verify    # check the files of a payload repository against their IOVs
//	condcache loadtest  # drive running servers: freshness checks, load workloads and reports
//	condcache healthcheck # exit 0 when a probe URL answers 200 (the container image's HEALTHCHECK)
//
// Each command reads its settings from one table (internal/config): every
// flag has an environment variable as its default, including Nopayloaddb's
// own variable names; -h lists them, -print-config shows the effective
// configuration with secrets masked, and an invalid value stops the
// command with exit status 2.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/condcache/condcache/internal/config"
)

func main() { os.Exit(runMain(os.Args[1:], os.LookupEnv)) }

// runMain runs the command named by args[0] and returns the exit status:
// 0, 1 when the command failed, 2 for a usage error or an invalid
// configuration (which names the flag or variable and its value).
func runMain(args []string, e config.Env) int {
	if len(args) < 1 {
		usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := args[0], args[1:]; cmd {
	case "run":
		err = runStack(ctx, args, e)
	case "writer":
		err = runWriter(ctx, args, e)
	case "reader":
		err = runReader(ctx, args, e)
	case "migrate":
		err = runMigrate(ctx, args, e)
	case "loadtest":
		err = runLoadtestCommand(ctx, args, e)
	case "export":
		err = runExport(ctx, args, e)
	case "check":
		// Its exit status says whether anything was found.
		return runCheck(ctx, args, e, stdout, stderr)
	case "usage":
		return runUsage(ctx, args, e, stdout, stderr)
	case "verify":
		// Its exit status says whether a file is missing or different.
		return runVerify(ctx, args, e, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args, e)
	case "-h", "-help", "--help", "help":
		usage()
		return 0
	default:
		fmt.Fprintf(stderr, "condcache: unknown command %q\n", cmd)
		usage()
		return 2
	}
	var cerr *config.Error
	switch {
	case err == nil, errors.Is(err, config.ErrHelp):
		return 0
	case errors.As(err, &cerr):
		fmt.Fprintln(stderr, cerr)
		return 2
	}
	// The command's logger hides its secrets and any credential in the
	// message (internal/redact).
	logger := processLogger
	if logger == nil {
		logger = newLogger()
	}
	logger.Error("condcache "+args[0]+" failed", "err", err)
	return 1
}

func usage() {
	fmt.Fprint(stderr, `usage: condcache <command> [flags]

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
  usage    access accounting: reads per global tag and client, or with
           -unused-since 90d the global tags nobody read since then
  export   download a global tag's export file (SQLite) from a reader, which
           "condcache reader -sqlite FILE" serves offline
  verify   check every file record of a file:// or http(s):// payload
           repository (exists, size, md5 or sha256 checksum) and record
           what it found; exit status 1 when a file is missing or differs
  healthcheck  exit 0 when a probe URL answers 200 (the container image's
           HEALTHCHECK, which has no shell)
  loadtest drive running servers: "loadtest freshness" (write-then-read
           rounds, no stale answer allowed), "loadtest run" (workloads,
           side by side, rate sweeps; reports with charts)

Run "condcache <command> -h" for its flags.
`)
}
