package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"

	"github.com/condcache/condcache/internal/cli"
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
			cli.URLSetting(&s.url, "url", "base URL of a condcache reader"),
			{Flag: "o", DefaultText: "<GT>.sqlite", Help: "output file", Value: config.String(&s.out)},
			{Flag: "from", DefaultText: "the whole GT", Help: `first point of the range: a run "R" or run and subrun "R.m"`, Value: config.String(&s.from)},
			{Flag: "to", DefaultText: "the whole GT", Help: `last point of the range ("R" is the whole run)`, Value: config.String(&s.to)},
		}}
}

// runExport is `condcache export`: wiring only, the download is
// internal/download's. Exit status 3 when the server refuses (an unknown
// GT), 4 when it cannot be reached, 2 when interrupted.
func runExport(ctx context.Context, s *exportSettings, c *config.Config) error {
	if len(c.Args) != 1 {
		return cli.Usagef("name one global tag (see \"condcache export -h\")")
	}
	o := download.Options{URL: s.url, GlobalTag: c.Args[0], From: s.from, To: s.to, Out: s.out, Log: stderr}
	if cli.Terminal(stderr) {
		o.Progress = stderr
	}
	_, err := download.Export(ctx, o)
	var se *download.StatusError
	var ne net.Error
	var ue *url.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return cli.Exit(cli.ExitUsage, errors.New("interrupted: nothing written"))
	case errors.As(err, &se) && se.Status < 500:
		return cli.Exit(cli.ExitRefused, err)
	case errors.As(err, &se), errors.As(err, &ne), errors.As(err, &ue), errors.Is(err, io.ErrUnexpectedEOF):
		// A 5xx, no connection, or one broken mid-file.
		return cli.Exit(cli.ExitUnreachable, err)
	}
	return cli.Exit(cli.ExitUsage, err)
}
