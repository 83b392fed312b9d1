package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/condcache/condcache/internal/config"
)

// writeFlags are the flags of every write: --dry-run, and for the
// destructive ones --yes and --force.
type writeFlags struct {
	dryRun, yes, force bool
}

func (w *writeFlags) addDryRun(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&w.dryRun, "dry-run", false, "make the write and roll it back: show what it would change, write nothing")
}

func (w *writeFlags) addDestructive(cmd *cobra.Command) {
	w.addDryRun(cmd)
	cmd.Flags().BoolVarP(&w.yes, "yes", "y", false, "apply without asking (needed when standard input is not a terminal)")
	cmd.Flags().BoolVar(&w.force, "force", false, "delete protected objects too (needs the admin permission; docs/design.md \"Protection\")")
}

// write makes one write, or its dry run, and prints the answer: show
// prints a real answer as a table (out holds it).
func write(ctx context.Context, c *Client, g *Group, s Streams, w writeFlags, method, path string, body, out any, show func()) error {
	d, err := c.Write(ctx, method, path, body, w.dryRun, w.force, out)
	if err != nil {
		return err
	}
	if d != nil {
		if g.Conn.Output == "json" {
			return printJSON(s.Out, d)
		}
		printDryRun(s.Out, d)
		return nil
	}
	if g.Conn.Output == "json" {
		return printJSON(s.Out, out)
	}
	show()
	return nil
}

// GTCommand is `condcache gt`: global tags.
func GTCommand(env config.Env, s Streams) *cobra.Command {
	g := NewGroup("gt", "global tags: list, show, create, clone, lock, freeze, unlock, delete, diff, check", env)
	root := g.Cmd

	var search, status string
	list := &cobra.Command{Use: "list", Short: "list the global tags with their status and counts"}
	list.Flags().StringVar(&search, "search", "", "only names or authors containing this (any case)")
	list.Flags().StringVar(&status, "status", "", "only global tags of this status")
	g.Leaf(root, list, s, func(ctx context.Context, c *Client, _ []string) error {
		var gts []GTSummary
		var err error
		if search != "" || status != "" {
			gts, err = All[GTSummary](ctx, c, Compat+"globalTags", values("search", search, "status", status, "sort", "id"))
		} else {
			err = c.Get(ctx, Compat+"globalTags", nil, &gts)
		}
		if err != nil {
			return err
		}
		if g.Conn.Output == "json" {
			return printJSON(s.Out, nonNil(gts))
		}
		var rows [][]string
		for _, t := range gts {
			rows = append(rows, []string{t.Name, t.Status, orDash(t.Author), itoa(t.Lists), itoa(t.IOVs), shortTime(t.Updated)})
		}
		table(s.Out, []string{"NAME", "STATUS", "AUTHOR", "LISTS", "IOVS", "UPDATED"}, rows)
		return nil
	})

	var iovs bool
	show := &cobra.Command{Use: "show GT", Short: "show a global tag: its status and lists (with --iovs, their IOVs)", Args: cobra.ExactArgs(1)}
	show.Flags().BoolVar(&iovs, "iovs", false, "list every IOV of every list")
	g.Leaf(root, show, s, func(ctx context.Context, c *Client, args []string) error {
		gt, err := c.GlobalTag(ctx, args[0])
		if err != nil {
			return err
		}
		if g.Conn.Output == "json" {
			return printJSON(s.Out, gt)
		}
		fmt.Fprintf(s.Out, "global tag %s: %s, author %s, created %s, updated %s\n\n", cell(gt.Name), gt.Status.Name, orDash(gt.Author), shortTime(gt.Created), shortTime(gt.Updated))
		var rows [][]string
		for _, l := range gt.Lists {
			rows = append(rows, []string{l.PayloadType, l.Name, itoa(int64(len(l.IOVs)))})
		}
		table(s.Out, []string{"TYPE", "LIST", "IOVS"}, rows)
		if iovs {
			rows = nil
			for _, l := range gt.Lists {
				for _, v := range l.IOVs {
					rows = append(rows, []string{l.PayloadType, itoa(v.ID), FormatPoint(v.Major, v.Minor), FormatPoint(v.MajorEnd, v.MinorEnd), v.URL, v.Checksum})
				}
			}
			fmt.Fprintln(s.Out)
			table(s.Out, []string{"TYPE", "IOV", "FROM", "TO", "URL", "CHECKSUM"}, rows)
		}
		return nil
	})

	var cw writeFlags
	var author, createStatus string
	create := &cobra.Command{Use: "create GT", Short: "create a global tag (and its status, when the server has none of that name)", Args: cobra.ExactArgs(1)}
	create.Flags().StringVar(&author, "author", "", "the author")
	create.Flags().StringVar(&createStatus, "status", "unlocked", "its status")
	cw.addDryRun(create)
	g.Leaf(root, create, s, func(ctx context.Context, c *Client, args []string) error {
		if err := ensureStatus(ctx, c, g, s, createStatus, cw.dryRun); err != nil {
			return noStatusOK(err)
		}
		body := map[string]any{"name": args[0], "status": createStatus}
		if author != "" {
			body["author"] = author
		}
		var out GTSummary
		return write(ctx, c, g, s, cw, http.MethodPost, Compat+"gt", body, &out, func() {
			fmt.Fprintf(s.Out, "Created global tag %s (%s).\n", cell(out.Name), out.Status)
		})
	})

	var clw writeFlags
	clone := &cobra.Command{Use: "clone SRC DST", Short: "copy a global tag with its lists and IOVs under a new name (unlocked)", Args: cobra.ExactArgs(2)}
	clw.addDryRun(clone)
	g.Leaf(root, clone, s, func(ctx context.Context, c *Client, args []string) error {
		var out GTSummary
		return write(ctx, c, g, s, clw, http.MethodPost, Compat+"cloneGlobalTag/"+esc(args[0])+"/"+esc(args[1]), nil, &out, func() {
			fmt.Fprintf(s.Out, "Cloned %s into %s: %s, %s.\n", cell(args[0]), cell(out.Name), plural(out.Lists, "list"), plural(out.IOVs, "IOV"))
		})
	})

	for _, st := range []struct{ verb, status, short string }{
		{"lock", "locked", "lock a global tag: attaches may only fill gaps, nothing answered changes"},
		{"freeze", "frozen", "freeze a global tag: no write changes it"},
		{"unlock", "unlocked", "unlock a global tag"},
	} {
		var w writeFlags
		cmd := &cobra.Command{Use: st.verb + " GT", Short: st.short, Args: cobra.ExactArgs(1)}
		w.addDryRun(cmd)
		status := st.status
		g.Leaf(root, cmd, s, func(ctx context.Context, c *Client, args []string) error {
			if err := ensureStatus(ctx, c, g, s, status, w.dryRun); err != nil {
				return noStatusOK(err)
			}
			var out map[string]any
			return write(ctx, c, g, s, w, http.MethodPut, Compat+"gt_change_status/"+esc(args[0])+"/"+esc(status), nil, &out, func() {
				fmt.Fprintf(s.Out, "Global tag %s is %s.\n", cell(args[0]), status)
			})
		})
	}

	var dw writeFlags
	del := &cobra.Command{Use: "delete GT", Short: "delete a global tag with its lists and their IOVs (asks first)", Args: cobra.ExactArgs(1)}
	dw.addDestructive(del)
	g.Leaf(root, del, s, func(ctx context.Context, c *Client, args []string) error {
		path := Compat + "deleteGlobalTag/" + esc(args[0])
		return destructive(ctx, c, g, s, dw, http.MethodDelete, path, nil, "Delete global tag "+cell(args[0])+"?")
	})

	var from, to, at string
	diff := &cobra.Command{Use: "diff A B", Short: "where two global tags answer differently, run range by run range (exit 1 when they do)", Args: cobra.ExactArgs(2)}
	diff.Flags().StringVar(&from, "from", "", "first run of the range (R or R.S; default: the first run)")
	diff.Flags().StringVar(&to, "to", "", "last run of the range (R is the whole run; default: the last)")
	diff.Flags().StringVar(&at, "at", "", "compare at this one point instead (R or R.S)")
	g.Leaf(root, diff, s, func(ctx context.Context, c *Client, args []string) error {
		return gtDiff(ctx, c, g, s, args[0], args[1], from, to, at)
	})

	check := &cobra.Command{Use: "check GT", Short: "the consistency check of a global tag (GET /api/v2/check; exit 1 on a warning)", Args: cobra.ExactArgs(1)}
	g.Leaf(root, check, s, func(ctx context.Context, c *Client, args []string) error {
		var r CheckReport
		if err := c.Get(ctx, V2+"check", url.Values{"gt": {args[0]}}, &r); err != nil {
			return err
		}
		warn := false
		for _, f := range r.Findings {
			warn = warn || f.Severity != "info"
		}
		if g.Conn.Output == "json" {
			if err := printJSON(s.Out, r); err != nil {
				return err
			}
		} else {
			var rows [][]string
			for _, f := range r.Findings {
				ids := ""
				for i, id := range f.IDs {
					if i > 0 {
						ids += " "
					}
					ids += itoa(id)
				}
				rows = append(rows, []string{f.Kind, f.Severity, f.PayloadType, orDash(f.PayloadList), ids, f.Detail})
			}
			if len(rows) > 0 {
				table(s.Out, []string{"KIND", "SEVERITY", "TYPE", "LIST", "IDS", "DETAIL"}, rows)
				fmt.Fprintln(s.Out)
			}
			fmt.Fprintf(s.Out, "%s in global tag %s.\n", plural(int64(r.Count), "finding"), cell(args[0]))
		}
		if warn {
			return Exit(ExitFound, nil)
		}
		return nil
	})
	return root
}

// errNoStatus ends a dry run that needs a status the server lacks: the
// dry run of creating it was shown instead.
var errNoStatus = errors.New("no such status")

// ensureStatus makes sure the server has the status: a new database has
// none (README: the first write creates "unlocked"). A dry run cannot
// preview a write needing a status that does not exist: it shows the dry
// run of creating the status, and returns errNoStatus.
func ensureStatus(ctx context.Context, c *Client, g *Group, s Streams, name string, dryRun bool) error {
	if dryRun {
		sts, err := c.Statuses(ctx)
		if err != nil {
			return err
		}
		for _, st := range sts {
			if st.Name == name {
				return nil
			}
		}
		fmt.Fprintf(s.Err, "note: the server has no status %q: the write would create it first, which is all a dry run can show\n", name)
		var out Status
		err = write(ctx, c, g, s, writeFlags{dryRun: true}, http.MethodPost, Compat+"gtstatus", map[string]string{"name": name}, &out, nil)
		if err != nil {
			return err
		}
		return errNoStatus
	}
	created, err := c.EnsureStatus(ctx, name)
	if created {
		fmt.Fprintf(s.Err, "Created status %q.\n", name)
	}
	return err
}

// noStatusOK is the end of a dry run that showed the status's creation.
func noStatusOK(err error) error {
	if errors.Is(err, errNoStatus) {
		return nil
	}
	return err
}

// destructive previews a delete (its dry run), asks, and makes it.
func destructive(ctx context.Context, c *Client, g *Group, s Streams, w writeFlags, method, path string, body any, question string) error {
	d, err := c.Write(ctx, method, path, body, true, w.force, nil)
	if err != nil {
		return err
	}
	if w.dryRun {
		if g.Conn.Output == "json" {
			return printJSON(s.Out, d)
		}
		printDryRun(s.Out, d)
		return nil
	}
	if !w.yes {
		printDryRun(s.Err, d)
		ok, err := confirm(s, question, false)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(s.Err, "Nothing deleted.")
			return nil
		}
	}
	var out map[string]any
	if _, err := c.Write(ctx, method, path, body, false, w.force, &out); err != nil {
		return err
	}
	if g.Conn.Output == "json" {
		return printJSON(s.Out, out)
	}
	if det, ok := out["detail"].(string); ok {
		fmt.Fprintln(s.Out, det)
	} else {
		fmt.Fprintln(s.Out, "Deleted.")
	}
	return nil
}

func gtDiff(ctx context.Context, c *Client, g *Group, s Streams, a, b, from, to, at string) error {
	q := url.Values{"a": {a}, "b": {b}}
	if at != "" {
		if from != "" || to != "" {
			return Usagef("give --at, or --from and --to, not both")
		}
		p, err := ParsePoint(at, 0)
		if err != nil {
			return Usagef("--at: %v", err)
		}
		q.Set("major", itoa(p.Major))
		q.Set("minor", itoa(p.Minor))
		var d struct {
			A           string `json:"a"`
			B           string `json:"b"`
			Point       Point  `json:"point"`
			Differences []struct {
				Type string     `json:"type"`
				A    *V2Payload `json:"a"`
				B    *V2Payload `json:"b"`
			} `json:"differences"`
		}
		if err := c.Get(ctx, V2+"diff", q, &d); err != nil {
			return err
		}
		if g.Conn.Output == "json" {
			if err := printJSON(s.Out, d); err != nil {
				return err
			}
		} else {
			var rows [][]string
			for _, x := range d.Differences {
				rows = append(rows, []string{x.Type, payloadText(x.A), payloadText(x.B)})
			}
			if len(rows) > 0 {
				table(s.Out, []string{"TYPE", cell(a), cell(b)}, rows)
			} else {
				fmt.Fprintf(s.Out, "%s and %s answer the same at %s.\n", cell(a), cell(b), d.Point)
			}
		}
		if len(d.Differences) > 0 {
			return Exit(ExitFound, nil)
		}
		return nil
	}
	if from != "" {
		q.Set("from", from)
	}
	if to != "" {
		q.Set("to", to)
	}
	var d V2Diff
	if err := c.Get(ctx, V2+"diff", q, &d); err != nil {
		return err
	}
	n := 0
	for _, t := range d.Types {
		n += len(t.Intervals)
	}
	differ := n > 0 || len(d.OnlyInA) > 0 || len(d.OnlyInB) > 0
	if g.Conn.Output == "json" {
		if err := printJSON(s.Out, d); err != nil {
			return err
		}
	} else {
		var rows [][]string
		for _, t := range d.Types {
			for _, iv := range t.Intervals {
				rows = append(rows, []string{t.Type, iv.From.String(), untilText(iv.Until), payloadText(iv.A), payloadText(iv.B)})
			}
		}
		if len(rows) > 0 {
			table(s.Out, []string{"TYPE", "FROM", "UNTIL", cell(a), cell(b)}, rows)
		}
		for _, t := range d.OnlyInA {
			fmt.Fprintf(s.Out, "type %s only in %s\n", cell(t), cell(a))
		}
		for _, t := range d.OnlyInB {
			fmt.Fprintf(s.Out, "type %s only in %s\n", cell(t), cell(b))
		}
		if !differ {
			fmt.Fprintf(s.Out, "%s and %s answer the same from %s to %s.\n", cell(a), cell(b), d.From, d.To)
		}
	}
	if differ {
		return Exit(ExitFound, nil)
	}
	return nil
}

// nonNil makes a nil slice an empty one, so that JSON shows [].
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
