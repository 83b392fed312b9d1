package main

import (
	"context"
	"errors"
	"net/url"
	"os"

	"golang.org/x/term"

	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/download"
)

// exportSettings is the configuration of `condcache export`
// (docs/operations.md "export").
type exportSettings struct {
	url, out, from, to string
}

func exportTable(s *exportSettings) *config.Table {
	return &config.Table{Command: "condcache export", Synopsis: "[-url URL] [-o FILE] [-from R[.m] -to R[.m]] GT",
		About: `Downloads the export file of global tag GT (GET /api/v2/gt/GT/export): a SQLite
database that "condcache reader -sqlite FILE" serves offline. The file is
written under a temporary name and renamed when complete.`,
		Settings: []config.Setting{
			{Flag: "url", Env: env("CONDCACHE_URL"), Default: "http://127.0.0.1:8000", Help: "base URL of a condcache reader",
				Value: config.Func("URL", func(v string) error {
					if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
						return errors.New("not an http(s) URL")
					}
					s.url = v
					return nil
				})},
			{Flag: "o", DefaultText: "<GT>.sqlite", Help: "output file", Value: config.String(&s.out)},
			{Flag: "from", DefaultText: "the whole GT", Help: `first point of the range: a run "R" or run and subrun "R.m"`, Value: config.String(&s.from)},
			{Flag: "to", DefaultText: "the whole GT", Help: `last point of the range ("R" is the whole run)`, Value: config.String(&s.to)},
		}}
}

// runExport is `condcache export`: wiring only, the download is
// internal/download's.
func runExport(ctx context.Context, args []string, e config.Env) error {
	var s exportSettings
	c, err := exportTable(&s).Parse(args, e, stderr)
	if err != nil {
		return err
	}
	if c.PrintConfig {
		return printConfig(c)
	}
	if len(c.Args) != 1 {
		return &config.Error{Command: "condcache export", Problems: []string{"name one global tag after the flags (see \"condcache export -h\")"}}
	}
	o := download.Options{URL: s.url, GlobalTag: c.Args[0], From: s.from, To: s.to, Out: s.out, Log: stderr}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		o.Progress = stderr
	}
	_, err = download.Export(ctx, o)
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted: nothing written")
	}
	return err
}
