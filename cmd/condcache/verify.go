package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/condcache/condcache/internal/cli"
	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
	"github.com/condcache/condcache/verify"
)

// verifySettings is the configuration of `condcache verify`.
type verifySettings struct {
	o verify.Options
}

func verifyTable(s *verifySettings) *config.Table {
	reader := cli.URLSetting(&s.o.Reader, "reader", "reader base URL the records are read from", "CONDCACHE_READER_URL")
	reader.Aliases = []string{"url"}
	return &config.Table{Command: "condcache verify", Synopsis: "-repo NAME [flags]",
		About: `Checks every file record of a file:// or http(s):// payload repository: the file
exists at its URL, and has its IOV's size and checksum (md5: 32 hex digits;
sha256: 64, or "sha256:" and 64). Records what it found (exists, problem,
verification time) through the writer's API. A progress bar shows on a
terminal. Exit status: 0 all good, 1 a file missing or different, 2 usage
error, a file that could not be checked, or interrupted; 3 the server
refused (an unknown repository, a token without permission), 4 it could
not be reached.`,
		Settings: []config.Setting{
			{Flag: "repo", DefaultText: "required", Help: "name of the repository to verify", Value: config.String(&s.o.Repository)},
			reader,
			{Flag: "writer", Env: env("CONDCACHE_WRITER_URL"), DefaultText: "the reader, which forwards writes", Show: redact.Credentials,
				Help: "writer base URL the results are recorded through", Value: cli.HTTPURL(&s.o.Writer, true)},
			cli.TokenSetting(&s.o.Token),
			{Flag: "workers", Default: fmt.Sprint(verify.DefaultWorkers), Help: "files checked at once", Value: config.Int(&s.o.Workers)},
			{Flag: "batch", Default: fmt.Sprint(verify.DefaultBatch), Help: "records per update request", Value: config.Int(&s.o.Batch)},
			{Flag: "timeout", Default: verify.DefaultTimeout.String(), Help: "bound on the check of one file, and on each API request",
				Value: config.Duration(&s.o.Timeout)},
			{Flag: "dry-run", Default: "false", Help: "check only: record nothing", Value: config.Bool(&s.o.DryRun)},
		}}
}

// runVerify is `condcache verify` (docs/operations.md "verify"); the work
// is verify.Run's. It prints the problems and a summary on stdout.
func runVerify(ctx context.Context, s *verifySettings, c *config.Config) error {
	switch {
	case len(c.Args) > 0:
		return cli.Usagef("unexpected arguments %q (the repository is given with -repo)", c.Args)
	case s.o.Repository == "":
		return cli.Usagef("-repo is required: the name of the repository to verify")
	case s.o.Workers < 1 || s.o.Batch < 1 || s.o.Timeout < time.Millisecond:
		return cli.Usagef("-workers and -batch must be at least 1, -timeout positive")
	}
	if cli.Terminal(stderr) {
		s.o.Progress = stderr
	}
	rep, err := verify.Run(ctx, s.o)
	if rep != nil {
		rep.WriteText(stdout)
	}
	var api *verify.APIError
	var ne net.Error
	var ue *url.Error
	switch {
	case errors.As(err, &api) && api.Status >= 500, errors.As(err, &ne), errors.As(err, &ue):
		return cli.Exit(cli.ExitUnreachable, err)
	case errors.As(err, &api):
		return cli.Exit(cli.ExitRefused, err)
	case err != nil:
		return cli.Exit(cli.ExitUsage, err)
	case rep.Interrupted:
		return cli.Exit(cli.ExitUsage, fmt.Errorf("interrupted: %d of %d records checked (their results are recorded)", rep.Checked, rep.Total))
	case rep.Counts[verify.Failed] > 0:
		return cli.Exit(cli.ExitUsage, fmt.Errorf("%d files could not be checked", rep.Counts[verify.Failed]))
	case rep.Counts[verify.Missing]+rep.Counts[verify.Differs] > 0:
		return cli.Exit(cli.ExitFound, nil)
	}
	return nil
}
