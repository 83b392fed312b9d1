package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/condcache/condcache/internal/config"
)

// LookupCommand is `condcache lookup GT RUN[.SUB]`: the v2 lookup.
func LookupCommand(env config.Env, s Streams) *cobra.Command {
	g := NewGroup("lookup GT RUN[.SUB]", "which payload holds for each type of a global tag at a run (GET /api/v2/lookup)", env)
	g.Cmd.Args = usageArgs(cobra.ExactArgs(2))
	var strict bool
	var asof, site, types string
	g.Cmd.Flags().BoolVar(&strict, "strict", false, "honour IOV ends: a type whose IOV ended before the point is missing")
	g.Cmd.Flags().StringVar(&asof, "asof", "", "what the global tag answered at this past time (RFC 3339)")
	g.Cmd.Flags().StringVar(&site, "site", "", "where each payload's file is at this site (payload repositories)")
	g.Cmd.Flags().StringVar(&types, "types", "", "only these types (comma-separated)")
	g.Cmd.RunE = func(cmd *cobra.Command, args []string) error {
		printed, err := g.Resolve(s)
		if err != nil || printed {
			return err
		}
		p, err := ParsePoint(args[1], 0)
		if err != nil {
			return Usagef("RUN: %v", err)
		}
		q := url.Values{"gt": {args[0]}, "major": {itoa(p.Major)}, "minor": {itoa(p.Minor)}}
		if strict {
			q.Set("strict", "1")
		}
		for k, v := range map[string]string{"asof": asof, "site": site, "types": types} {
			if v != "" {
				q.Set(k, v)
			}
		}
		var l V2Lookup
		if err := g.Client(s).Get(cmd.Context(), V2+"lookup", q, &l); err != nil {
			return err
		}
		if g.Conn.Output == "json" {
			return printJSON(s.Out, l)
		}
		header := []string{"TYPE", "IOV", "FROM", "TO", "URL", "CHECKSUM", "SIZE"}
		if site != "" {
			header = append(header, "AT "+strings.ToUpper(site))
		}
		var rows [][]string
		for _, pl := range l.Payloads {
			size := "-"
			if pl.Size != nil {
				size = itoa(*pl.Size)
			}
			r := []string{pl.Type, itoa(pl.ID), pl.Start.String(), pl.End.String(), pl.URL, pl.Checksum, size}
			if site != "" {
				at := "not available"
				if pl.Site != nil && pl.Site.Available {
					at = orDash(pl.Site.URL)
				}
				r = append(r, at)
			}
			rows = append(rows, r)
		}
		at := ""
		if l.AsOf != nil {
			at = " as of " + *l.AsOf
		}
		fmt.Fprintf(s.Out, "global tag %s (%s, generation %d) at %s%s\n\n", cell(l.GlobalTag), l.Status, l.Generation, l.Point, at)
		table(s.Out, header, rows)
		for _, m := range l.Missing {
			fmt.Fprintf(s.Out, "%s: no payload\n", cell(m))
		}
		fmt.Fprintf(s.Out, "\nvalid from %s until %s; digest %s\n", untilOrMin(l.Valid.From), untilText(l.Valid.Until), l.Digest)
		for _, n := range l.Notices {
			fmt.Fprintf(s.Out, "NOTICE %d [%s]: %s\n", n.ID, n.Importance, firstLine(n.Description))
		}
		return nil
	}
	return g.Cmd
}

func untilOrMin(p *Point) string {
	if p == nil {
		return "the first run"
	}
	return p.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// NoticeCommand is `condcache notice`: notices on global tags, types,
// lists and IOVs (docs/design.md "Notices").
func NoticeCommand(env config.Env, s Streams) *cobra.Command {
	g := NewGroup("notice", "notices: add, list, rm", env)
	var w writeFlags
	var importance, description, file, version, runs string
	var gts, pts, pls []string
	var iovs []int64
	add := &cobra.Command{Use: "add", Short: "add a notice (markdown) to global tags, types, lists or IOVs"}
	w.addDryRun(add)
	add.Flags().StringVar(&importance, "importance", "", "CRITICAL, MAJOR, MINOR or INSIGNIFICANT (required)")
	add.Flags().StringVar(&description, "description", "", "the text, in markdown (or --file)")
	add.Flags().StringVar(&file, "file", "", "read the text from this file (- for standard input)")
	add.Flags().StringVar(&version, "version", "", "software version affected")
	add.Flags().StringVar(&runs, "runs", "", "affected run range FROM-TO (R or R.S each, both included)")
	add.Flags().StringSliceVar(&gts, "gt", nil, "global tags it concerns")
	add.Flags().StringSliceVar(&pts, "type", nil, "payload types it concerns")
	add.Flags().StringSliceVar(&pls, "list", nil, "payload lists it concerns")
	add.Flags().Int64SliceVar(&iovs, "iov", nil, "IOV ids it concerns")
	g.Leaf(g.Cmd, add, s, func(ctx context.Context, c *Client, _ []string) error {
		if file != "" {
			if description != "" {
				return Usagef("give --description or --file, not both")
			}
			b, err := readFileOrStdin(file, s)
			if err != nil {
				return err
			}
			description = string(b)
		}
		if importance == "" || description == "" {
			return Usagef("--importance and --description (or --file) are required")
		}
		body := map[string]any{"description": description, "importance": importance,
			"global_tags": nonNil(gts), "payload_types": nonNil(pts), "payload_lists": nonNil(pls), "iovs": nonNil(iovs)}
		if version != "" {
			body["version_affected"] = version
		}
		if runs != "" {
			a, b, ok := strings.Cut(runs, "-")
			from, err1 := ParsePoint(a, 0)
			to, err2 := ParsePoint(b, Max)
			if !ok || err1 != nil || err2 != nil {
				return Usagef("--runs %q: want FROM-TO, e.g. 120-180 or 120.5-180", runs)
			}
			body["runs"] = map[string]any{"from": from, "to": to}
		}
		var out Notice
		return write(ctx, c, g, s, w, http.MethodPost, V2+"notices", body, &out, func() {
			fmt.Fprintf(s.Out, "Added notice %d (%s).\n", out.ID, out.Importance)
		})
	})

	var lgt, lpt, limp, ltext string
	list := &cobra.Command{Use: "list", Short: "list notices, most important first"}
	list.Flags().StringVar(&lgt, "gt", "", "only those of this global tag")
	list.Flags().StringVar(&lpt, "type", "", "only those of this payload type")
	list.Flags().StringVar(&limp, "importance", "", "only those at least this important")
	list.Flags().StringVar(&ltext, "text", "", "only those whose text holds this (any case)")
	g.Leaf(g.Cmd, list, s, func(ctx context.Context, c *Client, _ []string) error {
		ns, err := All[Notice](ctx, c, V2+"notices", values("gt", lgt, "type", lpt, "importance", limp, "text", ltext))
		if err != nil {
			return err
		}
		if g.Conn.Output == "json" {
			return printJSON(s.Out, nonNil(ns))
		}
		var rows [][]string
		for _, n := range ns {
			var on []string
			for _, x := range n.GlobalTags {
				on = append(on, "gt "+x)
			}
			for _, x := range n.PayloadTypes {
				on = append(on, "type "+x)
			}
			for _, x := range n.PayloadLists {
				on = append(on, "list "+x)
			}
			for _, x := range n.IOVs {
				on = append(on, "iov "+strconv.FormatInt(x, 10))
			}
			r := "-"
			if n.Runs != nil {
				r = n.Runs.From.String() + "-" + n.Runs.To.String()
			}
			rows = append(rows, []string{itoa(n.ID), n.Importance, strings.Join(on, ", "), r, firstLine(n.Description)})
		}
		table(s.Out, []string{"ID", "IMPORTANCE", "ON", "RUNS", "DESCRIPTION"}, rows)
		return nil
	})

	var rw writeFlags
	rm := &cobra.Command{Use: "rm ID", Short: "delete a notice", Args: cobra.ExactArgs(1)}
	rw.addDryRun(rm)
	g.Leaf(g.Cmd, rm, s, func(ctx context.Context, c *Client, args []string) error {
		if _, err := parseInt(args[0]); err != nil {
			return Usagef("ID %q: not a notice id", args[0])
		}
		var out Notice
		return write(ctx, c, g, s, rw, http.MethodDelete, V2+"notices/"+esc(args[0]), nil, &out, func() {
			fmt.Fprintf(s.Out, "Deleted notice %d.\n", out.ID)
		})
	})
	return g.Cmd
}

// AuditCommand is `condcache audit`: the audit trail, newest first.
func AuditCommand(env config.Env, s Streams) *cobra.Command {
	g := NewGroup("audit", "the audit trail: who changed what, newest first (GET /api/v2/audit)", env)
	g.Cmd.Args = usageArgs(cobra.NoArgs)
	var gt, pt, actor, since, until string
	var limit int
	g.Cmd.Flags().StringVar(&gt, "gt", "", "only entries of this global tag")
	g.Cmd.Flags().StringVar(&pt, "type", "", "only entries of this payload type")
	g.Cmd.Flags().StringVar(&actor, "actor", "", "only entries of this actor (jwt:SUBJECT, a client, sql)")
	g.Cmd.Flags().StringVar(&since, "since", "", "entries at or after this time (RFC 3339)")
	g.Cmd.Flags().StringVar(&until, "until", "", "entries before this time (RFC 3339)")
	g.Cmd.Flags().IntVar(&limit, "limit", 50, "at most this many entries (1 to 1000)")
	g.Cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		printed, err := g.Resolve(s)
		if err != nil || printed {
			return err
		}
		if limit < 1 || limit > 1000 {
			return Usagef("--limit %d: give 1 to 1000", limit)
		}
		q := values("gt", gt, "type", pt, "actor", actor, "since", since, "until", until)
		q.Set("page", "1")
		q.Set("page_size", strconv.Itoa(limit))
		var p Page[AuditEntry]
		if err := g.Client(s).Get(cmd.Context(), V2+"audit", q, &p); err != nil {
			return err
		}
		if g.Conn.Output == "json" {
			p.Results = nonNil(p.Results)
			return printJSON(s.Out, p)
		}
		var rows [][]string
		for _, e := range p.Results {
			var ch []string
			for _, c := range e.Changes {
				ch = append(ch, fmt.Sprintf("%s %s %d", c.Op, c.Table, c.Rows))
			}
			rows = append(rows, []string{itoa(e.ID), shortTime(e.Time), e.Actor, e.Endpoint, strings.Join(ch, ", ")})
		}
		table(s.Out, []string{"ID", "TIME", "ACTOR", "ENDPOINT", "CHANGES"}, rows)
		if p.Count > int64(len(p.Results)) {
			fmt.Fprintf(s.Out, "(%d of %d entries; --limit for more)\n", len(p.Results), p.Count)
		}
		return nil
	}
	return g.Cmd
}
