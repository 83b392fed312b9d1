package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/cli"
	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
	"github.com/condcache/condcache/internal/wire"
	cdbsql "github.com/condcache/condcache/sql"
)

// usageSettings is the configuration of `condcache usage`.
type usageSettings struct {
	unusedSince, gt, client, since, format, primary, url string
}

func usageTable(s *usageSettings) *config.Table {
	return &config.Table{Command: "condcache usage", Synopsis: "[-unused-since AGE|TIME] [-gt NAME] [-client ID] [-since AGE|TIME] [-o text|json] [-primary URL | -url URL]",
		About: `Access accounting (docs/design.md "Access accounting"): with -unused-since,
the global tags nobody read since then (never-read ones first), candidates
to retire; otherwise the reads per global tag and client, most recent
first. AGE is "90d", "12h" or "30m"; TIME is RFC 3339. Counts reach the
database every few seconds (the readers' -usage-flush). Read-only.
It reads a server's GET /api/v2/usage when -url is given (or, without
-primary, when CONDCACHE_URL or the config file names a server), else
the primary.`,
		Settings: []config.Setting{
			{Flag: "unused-since", DefaultText: "list reads instead", Help: "list the global tags with no read since this age or time", Value: config.String(&s.unusedSince)},
			{Flag: "gt", DefaultText: "every global tag", Help: "reads of this global tag only", Value: config.String(&s.gt)},
			{Flag: "client", DefaultText: "every client", Help: "reads by this client identity only", Value: config.String(&s.client)},
			{Flag: "since", DefaultText: "any time", Help: "reads with a last read at or after this age or time", Value: config.String(&s.since)},
			{Flag: "o", Default: "text", Help: `output: "text" (a table) or "json" (the answer of the v2 endpoint)`, Value: config.OneOf(&s.format, "text", "json")},
			primaryRow(&s.primary, "PostgreSQL URL or keyword/value string"),
			{Flag: "url", Env: env("CONDCACHE_URL"), EnvText: "CONDCACHE_URL, else the config file's url", DefaultText: "none: read the primary",
				Help: "base URL of a condcache reader to read the counts from instead of the primary", Show: redact.Credentials,
				Value: cli.HTTPURL(&s.url, true), From: cli.URLSetting(new(string), "url", "").From},
		}}
}

// runUsage is `condcache usage`: from a server (cli.Usage) or the primary.
func runUsage(ctx context.Context, s *usageSettings, c *config.Config) error {
	fail := func(code int, format string, args ...any) error { return cli.Exit(code, fmt.Errorf(format, args...)) }
	if len(c.Args) > 0 {
		return cli.Usagef("unexpected arguments %q", c.Args)
	}
	primaryFlag := strings.HasPrefix(c.Source("primary"), "flag")
	urlFlag := strings.HasPrefix(c.Source("url"), "flag")
	if primaryFlag && urlFlag {
		return cli.Usagef("give -primary or -url, not both")
	}
	if s.url != "" && !primaryFlag {
		format := "table"
		if s.format == "json" {
			format = "json"
		}
		return cli.Usage(ctx, cli.NewClient(s.url, "", time.Minute), cli.UsageQuery{UnusedSince: s.unusedSince, GlobalTag: s.gt, Client: s.client, Since: s.since}, format, stdout)
	}
	unused, err := ageOrTime("unused-since", s.unusedSince)
	if err != nil {
		return cli.Usagef("%s", err)
	}
	since, err := ageOrTime("since", s.since)
	if err != nil {
		return cli.Usagef("%s", err)
	}
	hide := redact.Values(dsnPassword(s.primary))
	pool, err := cdbsql.ConnectPool(ctx, s.primary, cdbsql.PoolOptions{MaxConns: 1})
	if err != nil {
		return fail(cli.ExitUsage, "%s", hide(err.Error()))
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return fail(cli.ExitUnreachable, "cannot connect to %s: %s", redact.DSN(s.primary), hide(err.Error()))
	}
	rd := cdbsql.NewReader(pool, nil, cdbsql.ReaderOptions{Logger: slog.New(slog.DiscardHandler)})
	defer rd.Close()
	if !unused.IsZero() {
		gts, err := rd.UnusedSince(ctx, unused)
		if err != nil {
			return fail(cli.ExitUnreachable, "reading %s: %s", redact.DSN(s.primary), hide(err.Error()))
		}
		if s.format == "json" {
			fmt.Fprintf(stdout, "%s\n", wire.Marshal(wire.NewV2Unused(unused, gts)))
			return nil
		}
		fmt.Fprintf(stdout, "%-40s  %-10s  %-20s  %s\n", "GLOBAL TAG", "STATUS", "LAST READ", "READS")
		for _, g := range gts {
			last := "never"
			if g.LastRead != nil {
				last = g.LastRead.UTC().Format(time.DateTime)
			}
			fmt.Fprintf(stdout, "%-40s  %-10s  %-20s  %d\n", nameText(g.GlobalTag), g.Status, last, g.Reads)
		}
		fmt.Fprintf(stdout, "%s not read since %s.\n", plural(len(gts), "global tag"), unused.UTC().Format(time.DateTime))
		return nil
	}
	q := condcache.UsageQuery{GlobalTag: s.gt, Client: s.client, Since: since, Page: 1, PageSize: 1000}
	var all []condcache.UsageCount
	for {
		page, err := rd.Usage(ctx, q)
		if err != nil {
			return fail(cli.ExitUnreachable, "reading %s: %s", redact.DSN(s.primary), hide(err.Error()))
		}
		all = append(all, page.Results...)
		if int64(q.Page) >= page.TotalPages {
			break
		}
		q.Page++
	}
	if s.format == "json" {
		fmt.Fprintf(stdout, "%s\n", wire.Marshal(wire.NewV2UsagePage(condcache.Page[condcache.UsageCount]{
			Count: int64(len(all)), Page: 1, PageSize: len(all), TotalPages: 1, Results: all})))
		return nil
	}
	fmt.Fprintf(stdout, "%-40s  %-24s  %10s  %-20s  %s\n", "GLOBAL TAG", "CLIENT", "READS", "FIRST READ", "LAST READ")
	for _, u := range all {
		fmt.Fprintf(stdout, "%-40s  %-24s  %10d  %-20s  %s\n", nameText(u.GlobalTag), nameText(u.Client), u.Reads,
			u.First.UTC().Format(time.DateTime), u.Last.UTC().Format(time.DateTime))
	}
	fmt.Fprintf(stdout, "%s.\n", plural(len(all), "global tag and client pair"))
	return nil
}

// ageOrTime reads an RFC 3339 time or an age before now ("" is zero).
func ageOrTime(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	age, err := condcache.ParseAge(v)
	if err != nil {
		return time.Time{}, fmt.Errorf(`-%s %q: want an age ("90d", "12h", "30m") or an RFC 3339 time`, flag, v)
	}
	return time.Now().Add(-age), nil
}
