package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
	"github.com/condcache/condcache/internal/wire"
	cdbsql "github.com/condcache/condcache/sql"
)

// usageSettings is the configuration of `condcache usage`.
type usageSettings struct {
	unusedSince, gt, client, since, format, primary string
}

func usageTable(s *usageSettings) *config.Table {
	return &config.Table{Command: "condcache usage", Synopsis: "[-unused-since AGE|TIME] [-gt NAME] [-client ID] [-since AGE|TIME] [-o text|json] [-primary URL]",
		About: `Access accounting (docs/design.md "Access accounting"): with -unused-since,
the global tags nobody read since then (never-read ones first), candidates
to retire; otherwise the reads per global tag and client, most recent
first. AGE is "90d", "12h" or "30m"; TIME is RFC 3339. Counts reach the
database every few seconds (the readers' -usage-flush). Read-only.`,
		Settings: []config.Setting{
			{Flag: "unused-since", DefaultText: "list reads instead", Help: "list the global tags with no read since this age or time", Value: config.String(&s.unusedSince)},
			{Flag: "gt", DefaultText: "every global tag", Help: "reads of this global tag only", Value: config.String(&s.gt)},
			{Flag: "client", DefaultText: "every client", Help: "reads by this client identity only", Value: config.String(&s.client)},
			{Flag: "since", DefaultText: "any time", Help: "reads with a last read at or after this age or time", Value: config.String(&s.since)},
			{Flag: "o", Default: "text", Help: `output: "text" (a table) or "json" (the answer of the v2 endpoint)`, Value: config.OneOf(&s.format, "text", "json")},
			primaryRow(&s.primary, "PostgreSQL URL or keyword/value string"),
		}}
}

// runUsage is `condcache usage`.
func runUsage(ctx context.Context, args []string, e config.Env, stdout, stderr io.Writer) int {
	var s usageSettings
	c, err := usageTable(&s).Parse(args, e, stderr)
	if err != nil {
		if errors.Is(err, config.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, err)
		return 2
	}
	if c.PrintConfig {
		if err := c.Print(stdout); err != nil {
			return 2
		}
		return 0
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "condcache usage: "+format+"\n", args...)
		return 2
	}
	if len(c.Args) > 0 {
		return fail("unexpected arguments %q", c.Args)
	}
	unused, err := ageOrTime("unused-since", s.unusedSince)
	if err != nil {
		return fail("%s", err)
	}
	since, err := ageOrTime("since", s.since)
	if err != nil {
		return fail("%s", err)
	}
	hide := redact.Values(dsnPassword(s.primary))
	pool, err := cdbsql.ConnectPool(ctx, s.primary, cdbsql.PoolOptions{MaxConns: 1})
	if err != nil {
		return fail("%s", hide(err.Error()))
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return fail("cannot connect to %s: %s", redact.DSN(s.primary), hide(err.Error()))
	}
	rd := cdbsql.NewReader(pool, nil, cdbsql.ReaderOptions{Logger: slog.New(slog.DiscardHandler)})
	defer rd.Close()
	if !unused.IsZero() {
		gts, err := rd.UnusedSince(ctx, unused)
		if err != nil {
			return fail("reading %s: %s", redact.DSN(s.primary), hide(err.Error()))
		}
		if s.format == "json" {
			fmt.Fprintf(stdout, "%s\n", wire.Marshal(wire.NewV2Unused(unused, gts)))
			return 0
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
		return 0
	}
	q := condcache.UsageQuery{GlobalTag: s.gt, Client: s.client, Since: since, Page: 1, PageSize: 1000}
	var all []condcache.UsageCount
	for {
		page, err := rd.Usage(ctx, q)
		if err != nil {
			return fail("reading %s: %s", redact.DSN(s.primary), hide(err.Error()))
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
		return 0
	}
	fmt.Fprintf(stdout, "%-40s  %-24s  %10s  %-20s  %s\n", "GLOBAL TAG", "CLIENT", "READS", "FIRST READ", "LAST READ")
	for _, u := range all {
		fmt.Fprintf(stdout, "%-40s  %-24s  %10d  %-20s  %s\n", nameText(u.GlobalTag), nameText(u.Client), u.Reads,
			u.First.UTC().Format(time.DateTime), u.Last.UTC().Format(time.DateTime))
	}
	fmt.Fprintf(stdout, "%s.\n", plural(len(all), "global tag and client pair"))
	return 0
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
