package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/cli"
	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
	"github.com/condcache/condcache/internal/wire"
	cdbsql "github.com/condcache/condcache/sql"
)

// checkPoolSize: the check reads one snapshot, on one connection.
const checkPoolSize = 1

// checkSettings is the configuration of `condcache check`.
type checkSettings struct {
	gt, format, primary string
	iovMode             condcache.IOVMode
}

func checkTable(s *checkSettings) *config.Table {
	return &config.Table{Command: "condcache check", Synopsis: "[-gt NAME] [-o text|json] [-primary URL] [-iov-mode continuous|discrete]",
		About: `Lists the stored states that make lookups ambiguous or surprising, per global
tag and payload list. Read-only. Exit status: 0 nothing found, 1 findings
listed, 2 usage error, 3 an unknown global tag, 4 the database unreachable.`,
		Settings: []config.Setting{
			{Flag: "gt", DefaultText: "every global tag", Help: "check only the global tag of this name", Value: config.String(&s.gt)},
			{Flag: "o", Default: "text", Help: `output: "text" (a table by global tag and list) or "json" (the answer of GET /api/v2/check)`,
				Value: config.OneOf(&s.format, "text", "json")},
			primaryRow(&s.primary, "PostgreSQL URL or keyword/value string"),
			iovModeRow(&s.iovMode, "IOV mode the ends are judged by"),
		}}
}

// runCheck is `condcache check`, the consistency check (docs/design.md
// "Consistency check") of one GT or of every GT, read from the primary by
// sql.Reader.Check, whose snapshot is read-only: it never writes. It
// prints the findings to stdout; exit status 1 when one is a warning, 3
// for an unknown GT, 4 when the database cannot be read.
func runCheck(ctx context.Context, s *checkSettings, c *config.Config) error {
	fail := func(code int, format string, args ...any) error {
		return cli.Exit(code, fmt.Errorf(format, args...))
	}
	if len(c.Args) > 0 {
		return cli.Usagef("unexpected arguments %q (the GT is given with -gt)", c.Args)
	}
	gt, format, primary, iovMode := s.gt, s.format, s.primary, s.iovMode
	hide := redact.Values(dsnPassword(primary))

	pool, err := cdbsql.ConnectPool(ctx, primary, cdbsql.PoolOptions{MaxConns: checkPoolSize})
	if err != nil {
		return fail(cli.ExitUsage, "%s", hide(err.Error()))
	}
	defer pool.Close()
	// The pool connects lazily: ask now, for a message about the
	// connection rather than about the check.
	if err := pool.Ping(ctx); err != nil {
		return fail(cli.ExitUnreachable, "cannot connect to %s: %s", redact.DSN(primary), hide(err.Error()))
	}
	rd := cdbsql.NewReader(pool, nil, cdbsql.ReaderOptions{IOVMode: iovMode, Logger: slog.New(slog.DiscardHandler)})
	defer rd.Close()
	findings, err := rd.Check(ctx, gt)
	if err != nil {
		if condcache.ErrorCodeOf(err) == condcache.ENotFound {
			return fail(cli.ExitRefused, "%s", condcache.ErrorDetail(err))
		}
		return fail(cli.ExitUnreachable, "reading %s: %s", redact.DSN(primary), hide(err.Error()))
	}

	var checked *string // null in JSON: every GT
	if gt != "" {
		checked = &gt
	}
	if format == "json" {
		fmt.Fprintf(stdout, "%s\n", wire.Marshal(wire.NewCheckReport(checked, findings)))
	} else {
		writeCheckText(stdout, checked, findings)
	}
	if slices.ContainsFunc(findings, func(f condcache.Finding) bool { return !f.Kind.Informational() }) {
		return cli.Exit(cli.ExitFound, nil)
	}
	return nil
}

// writeCheckText prints findings (in SortFindings order) as a table: a
// heading per GT and list (per GT and type for duplicate types), a line per
// finding with its kind, ids and detail, then a summary line.
func writeCheckText(w io.Writer, gt *string, findings []condcache.Finding) {
	kindWidth, idsWidth := 0, 0
	for _, f := range findings {
		kindWidth = max(kindWidth, len(f.Kind))
		idsWidth = max(idsWidth, len(idsText(f.IDs)))
	}
	heading := ""
	for _, f := range findings {
		h := "global tag " + nameText(f.GlobalTag) + ", type " + nameText(f.PayloadType)
		if f.PayloadList != "" {
			h += ", list " + nameText(f.PayloadList)
		}
		if h != heading {
			fmt.Fprintln(w, h)
			heading = h
		}
		fmt.Fprintf(w, "  %-*s  %-*s  %s\n", kindWidth, f.Kind, idsWidth, idsText(f.IDs), f.Detail)
	}
	if len(findings) > 0 {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, checkSummary(gt, findings))
}

// checkSummary is the last line of the text output, e.g. "3 findings in 2
// global tags: 1 duplicate_start, 2 overlap".
func checkSummary(gt *string, findings []condcache.Finding) string {
	if len(findings) == 0 {
		if gt != nil {
			return "No findings in global tag " + nameText(*gt) + "."
		}
		return "No findings in any global tag."
	}
	perKind := map[condcache.FindingKind]int{}
	var kinds []condcache.FindingKind
	gts := map[string]bool{}
	for _, f := range findings {
		if perKind[f.Kind] == 0 {
			kinds = append(kinds, f.Kind)
		}
		perKind[f.Kind]++
		gts[f.GlobalTag] = true
	}
	slices.Sort(kinds)
	counts := make([]string, len(kinds))
	for i, k := range kinds {
		counts[i] = fmt.Sprintf("%d %s", perKind[k], k)
	}
	return fmt.Sprintf("%s in %s: %s", plural(len(findings), "finding"), plural(len(gts), "global tag"), strings.Join(counts, ", "))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func idsText(ids []int64) string {
	words := make([]string, len(ids))
	for i, id := range ids {
		words[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(words, " ")
}

// nameText prints a stored name as is, quoted when it is empty or holds
// spaces or characters a terminal would not show as themselves.
func nameText(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r == ' ' || !strconv.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}
