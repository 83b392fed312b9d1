// Command condcache runs the condcache conditions database: the writer, the
// readers, schema migrations, a complete local stack for development, and
// the client commands a calibration expert uses against any server.
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
//	condcache ping|gt|pt|pl|iov|lookup|notice|audit|payload|repo   # client commands (internal/cli)
//
// The commands are cobra commands. The server commands read their
// settings from one table each (internal/config), bound to the command's
// flags: every flag has an environment variable as its default, including
// Nopayloaddb's own variable names; -h lists them, -print-config shows the
// effective configuration with secrets masked, and an invalid value stops
// the command with exit status 2. Long flags take one dash or two.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/condcache/condcache/internal/cli"
	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/localstack"
)

func main() { os.Exit(runMain(os.Args[1:], os.LookupEnv)) }

// runMain runs the command args name and returns the exit status
// (docs/operations.md "Exit codes"): 0; 1 when a server command failed or
// a command found problems; 2 for a usage error or an invalid
// configuration (which names the flag or variable and its value); 3 when
// a server refused a request; 4 when it could not be reached.
func runMain(args []string, e config.Env) int {
	st := cli.Streams{In: os.Stdin, Out: stdout, Err: stderr}
	root := rootCommand(e, st)
	if len(args) < 1 {
		_ = root.Usage()
		return cli.ExitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Execute(ctx, root, args, st, func(name string, err error) int {
		// The command's logger hides its secrets and any credential in
		// the message (internal/redact).
		logger := processLogger
		if logger == nil {
			logger = newLogger()
		}
		logger.Error(name+" failed", "err", err)
		return 1
	})
}

// rootCommand is the command tree: the server commands, each read from its
// table, and the client commands of internal/cli.
func rootCommand(e config.Env, st cli.Streams) *cobra.Command {
	root := &cobra.Command{Use: "condcache", Short: "the condcache conditions database: servers, tools and a client",
		Long: `condcache: a conditions database speaking Nopayloaddb's API.

Servers and tools: run, writer, reader, migrate, check, usage, export,
verify, healthcheck, loadtest. Client commands against any compatible server (--url,
CONDCACHE_URL, or the config file): ping, gt, pt, pl, iov, lookup, notice,
audit, payload, repo. Exit status: 0 ok, 1 problems found, 2 usage, 3 the
server refused, 4 unreachable. Long flags take one dash or two (-addr or
--addr).
Run "condcache <command> -h" for a command's flags.`}
	root.CompletionOptions.HiddenDefaultCmd = false
	table := func(use, short string, t *config.Table, run func(ctx context.Context, c *config.Config) error) *cobra.Command {
		return cli.TableCommand(use, short, t, e, st, run)
	}
	noArgs := func(name string, c *config.Config) error {
		if len(c.Args) > 0 {
			return cli.Usagef("unexpected arguments %q (see \"condcache %s -h\")", c.Args, name)
		}
		return nil
	}

	var o localstack.RunOptions
	var demo bool
	var readerPprof string
	ws, rs, cs, us, es, vs, hs := &writerSettings{}, &readerSettings{}, &checkSettings{}, &usageSettings{}, &exportSettings{}, &verifySettings{}, &healthSettings{}
	var primary string
	var dropIndexes, restoreIndexes bool
	root.AddCommand(
		table("run", "start a local stack (PostgreSQL primary + replica, Redis, writer, reader, demo data); Ctrl-C stops it",
			runTable(&o, &demo, &readerPprof), func(ctx context.Context, c *config.Config) error {
				if err := noArgs("run", c); err != nil {
					return err
				}
				return runStack(ctx, o, demo, readerPprof)
			}),
		table("writer", "serve the write API against the PostgreSQL primary", writerTable(ws), func(ctx context.Context, c *config.Config) error {
			if err := noArgs("writer", c); err != nil {
				return err
			}
			return runWriter(ctx, ws)
		}),
		table("reader", "serve the read API from replicas (proxying writes to the writer), or an export file offline", readerTable(rs),
			func(ctx context.Context, c *config.Config) error {
				if err := noArgs("reader", c); err != nil {
					return err
				}
				return runReader(ctx, rs, c, e)
			}),
		table("migrate", "apply the schema migrations to the primary and exit", migrateTable(&primary, &dropIndexes, &restoreIndexes), func(ctx context.Context, c *config.Config) error {
			if err := noArgs("migrate", c); err != nil {
				return err
			}
			return runMigrate(ctx, primary, dropIndexes, restoreIndexes)
		}),
		table("check", "list the stored states that make lookups ambiguous (read-only; exit 1 when a warning is found)", checkTable(cs),
			func(ctx context.Context, c *config.Config) error { return runCheck(ctx, cs, c) }),
		table("usage", "access accounting: reads per global tag and client, or the global tags nobody read since a time", usageTable(us),
			func(ctx context.Context, c *config.Config) error { return runUsage(ctx, us, c) }),
		table("export", "download a global tag's export file (SQLite), which \"condcache reader -sqlite FILE\" serves offline", exportTable(es),
			func(ctx context.Context, c *config.Config) error { return runExport(ctx, es, c) }),
		table("verify", "check every file of a payload repository against its IOV and record what was found", verifyTable(vs),
			func(ctx context.Context, c *config.Config) error { return runVerify(ctx, vs, c) }),
		table("healthcheck", "exit 0 when a probe URL answers 200, else 1 (the container image's HEALTHCHECK, which has no shell)", healthcheckTable(hs),
			func(ctx context.Context, c *config.Config) error {
				if err := noArgs("healthcheck", c); err != nil {
					return err
				}
				return runHealthcheck(ctx, hs)
			}),
		loadtestCommand(e, st),
		cli.GTCommand(e, st),
		cli.PTCommand(e, st),
		cli.PLCommand(e, st),
		cli.IOVCommand(e, st),
		cli.LookupCommand(e, st),
		cli.NoticeCommand(e, st),
		cli.AuditCommand(e, st),
		cli.PayloadCommand(e, st),
		cli.RepoCommand(e, st),
		cli.PingCommand(e, st),
	)
	return root
}
