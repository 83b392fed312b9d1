package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
	"github.com/condcache/condcache/verify"
)

// Exit codes of `condcache verify`.
const (
	verifyClean   = 0 // every file there and matching
	verifyFound   = 1 // a file missing or different
	verifyTrouble = 2 // bad usage, unknown repository, a file that could not be checked, a failed API call, interrupted
)

// verifySettings is the configuration of `condcache verify`.
type verifySettings struct {
	o verify.Options
}

// httpURLValue stores an http(s) base URL ("" only when allowEmpty).
func httpURLValue(p *string, allowEmpty bool) config.Value {
	return config.Func("URL", func(s string) error {
		if s != "" || !allowEmpty {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return errors.New("not an http(s) URL")
			}
		}
		*p = s
		return nil
	})
}

func verifyTable(s *verifySettings) *config.Table {
	return &config.Table{Command: "condcache verify", Synopsis: "-repo NAME [flags]",
		About: `Checks every file record of a file:// or http(s):// payload repository: the file
exists at its URL, and has its IOV's size and checksum (md5: 32 hex digits;
sha256: 64, or "sha256:" and 64). Records what it found (exists, problem,
verification time) through the writer's API. A progress bar shows on a
terminal. Exit status: 0 all good, 1 a file missing or different, 2 usage
error or failure (a file that could not be checked, interrupted).`,
		Settings: []config.Setting{
			{Flag: "repo", DefaultText: "required", Help: "name of the repository to verify", Value: config.String(&s.o.Repository)},
			{Flag: "reader", Env: env("CONDCACHE_READER_URL"), Default: "http://127.0.0.1:8000", Show: redact.Credentials,
				Help: "reader base URL the records are read from", Value: httpURLValue(&s.o.Reader, false)},
			{Flag: "writer", Env: env("CONDCACHE_WRITER_URL"), DefaultText: "the reader, which forwards writes", Show: redact.Credentials,
				Help: "writer base URL the results are recorded through", Value: httpURLValue(&s.o.Writer, true)},
			{Flag: "token", Env: env("CONDCACHE_TOKEN"), DefaultText: "none", Secret: true,
				Help:  "JWT sent as a bearer token with the updates, when the writer authenticates (role admin on GlobalTag \"\")",
				Value: config.String(&s.o.Token)},
			{Flag: "workers", Default: fmt.Sprint(verify.DefaultWorkers), Help: "files checked at once", Value: config.Int(&s.o.Workers)},
			{Flag: "batch", Default: fmt.Sprint(verify.DefaultBatch), Help: "records per update request", Value: config.Int(&s.o.Batch)},
			{Flag: "timeout", Default: verify.DefaultTimeout.String(), Help: "bound on the check of one file, and on each API request",
				Value: config.Duration(&s.o.Timeout)},
			{Flag: "dry-run", Default: "false", Help: "check only: record nothing", Value: config.Bool(&s.o.DryRun)},
		}}
}

// runVerify is `condcache verify` (docs/operations.md "verify"); the work
// is verify.Run's. It prints the problems and a summary on stdout and
// returns the exit code.
func runVerify(ctx context.Context, args []string, e config.Env, stdout, stderr io.Writer) int {
	var s verifySettings
	c, err := verifyTable(&s).Parse(args, e, stderr)
	if err != nil {
		if errors.Is(err, config.ErrHelp) {
			return verifyClean
		}
		fmt.Fprintln(stderr, err)
		return verifyTrouble
	}
	if c.PrintConfig {
		if err := c.Print(stdout); err != nil {
			return verifyTrouble
		}
		return verifyClean
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintln(stderr, redact.Values(s.o.Token)(fmt.Sprintf("condcache verify: "+format, args...)))
		return verifyTrouble
	}
	switch {
	case len(c.Args) > 0:
		return fail("unexpected arguments %q (the repository is given with -repo)", c.Args)
	case s.o.Repository == "":
		return fail("-repo is required: the name of the repository to verify")
	case s.o.Workers < 1 || s.o.Batch < 1 || s.o.Timeout < time.Millisecond:
		return fail("-workers and -batch must be at least 1, -timeout positive")
	}
	if isTerminal(stderr) {
		s.o.Progress = stderr
	}
	rep, err := verify.Run(ctx, s.o)
	if rep != nil {
		rep.WriteText(stdout)
	}
	switch {
	case err != nil:
		return fail("%v", err)
	case rep.Interrupted:
		return fail("interrupted: %d of %d records checked (their results are recorded)", rep.Checked, rep.Total)
	case rep.Counts[verify.Failed] > 0:
		return fail("%d files could not be checked", rep.Counts[verify.Failed])
	case rep.Counts[verify.Missing]+rep.Counts[verify.Differs] > 0:
		return verifyFound
	}
	return verifyClean
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
