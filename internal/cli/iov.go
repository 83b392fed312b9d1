package cli

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/condcache/condcache/internal/config"
)

// IOVCommand is `condcache iov`: payload IOVs.
func IOVCommand(env config.Env, s Streams) *cobra.Command {
	g := NewGroup("iov", "payload IOVs: list, add (with the preview of what it changes), bulk, rm", env)

	var lgt, lpt, llist, lsearch string
	list := &cobra.Command{Use: "list", Short: "list IOVs, by global tag, type or list"}
	list.Flags().StringVar(&lgt, "gt", "", "only the IOVs of this global tag's lists")
	list.Flags().StringVar(&lpt, "type", "", "only the IOVs of lists of this type")
	list.Flags().StringVar(&llist, "list", "", "only the IOVs of this payload list")
	list.Flags().StringVar(&lsearch, "search", "", "only IOVs whose payload URL or list name holds this (any case)")
	g.Leaf(g.Cmd, list, s, func(ctx context.Context, c *Client, _ []string) error {
		iovs, err := All[PIOVBrowse](ctx, c, Compat+"piov", values("global_tag", lgt, "payload_type", lpt, "payload_list", llist, "search", lsearch, "sort", "id"))
		if err != nil {
			return err
		}
		if g.Conn.Output == "json" {
			return printJSON(s.Out, nonNil(iovs))
		}
		var rows [][]string
		for _, v := range iovs {
			rows = append(rows, []string{itoa(v.ID), orDash(v.GlobalTag), orDash(v.PayloadType), orDash(v.PayloadList),
				FormatPoint(v.Major, v.Minor), FormatPoint(v.MajorEnd, v.MinorEnd), v.URL, v.Checksum})
		}
		table(s.Out, []string{"ID", "GLOBAL TAG", "TYPE", "LIST", "FROM", "TO", "URL", "CHECKSUM"}, rows)
		return nil
	})

	var a attachSpec
	var size int64 = -1
	add := &cobra.Command{Use: "add", Short: "create an IOV and attach it to a list, showing first what it changes (asks unless --yes)"}
	a.flags(add)
	add.Flags().StringVar(&a.url, "url", "", "the payload URL (required)")
	add.Flags().StringVar(&a.checksum, "checksum", "", "the payload's checksum (required)")
	add.Flags().Int64Var(&size, "size", -1, "the payload's size in bytes")
	g.Leaf(g.Cmd, add, s, func(ctx context.Context, c *Client, _ []string) error {
		if a.url == "" || a.checksum == "" {
			return Usagef("--url and --checksum are required")
		}
		if size >= 0 {
			a.size = &size
		}
		return a.run(ctx, c, g, s, nil)
	})

	var b bulkSpec
	bulk := &cobra.Command{Use: "bulk FILE.csv|FILE.json", Short: "load many attached IOVs (bulk_piov) in chunks, each one transaction; Ctrl-C stops after the chunk in flight", Args: cobra.ExactArgs(1)}
	b.flags(bulk)
	g.Leaf(g.Cmd, bulk, s, func(ctx context.Context, c *Client, args []string) error {
		return b.run(ctx, c, g, s, args[0])
	})

	var rw writeFlags
	var rmTo string
	var rmIDs []int64
	rm := &cobra.Command{Use: "rm GT TYPE FROM | rm --id ID…", Short: "delete an IOV by its GT, type and start (and --to end), or IOVs by id (asks first)",
		Args: cobra.MaximumNArgs(3)}
	rw.addDestructive(rm)
	rm.Flags().StringVar(&rmTo, "to", "", "the IOV's end R.S (default: open-ended, max.max)")
	rm.Flags().Int64SliceVar(&rmIDs, "id", nil, "delete the IOVs of these ids instead, attached or not, all or none (POST /api/v2/iovs/delete)")
	g.Leaf(g.Cmd, rm, s, func(ctx context.Context, c *Client, args []string) error {
		if len(rmIDs) > 0 {
			if len(args) > 0 || rmTo != "" {
				return Usagef("give GT TYPE FROM, or --id, not both")
			}
			return destructive(ctx, c, g, s, rw, http.MethodPost, V2+"iovs/delete", map[string]any{"ids": rmIDs}, fmt.Sprintf("Delete %s?", plural(int64(len(rmIDs)), "IOV")))
		}
		if len(args) != 3 {
			return Usagef("name the IOV: GT TYPE FROM (see \"condcache iov rm --help\")")
		}
		start, err := ParsePoint(args[2], 0)
		if err != nil {
			return Usagef("FROM: %v", err)
		}
		path := Compat + "deletePayloadIOV/" + esc(args[0]) + "/" + esc(args[1]) + "/" + itoa(start.Major) + "/" + itoa(start.Minor)
		if rmTo != "" {
			end, err := ParsePoint(rmTo, 0)
			if err != nil {
				return Usagef("--to: %v", err)
			}
			path += "/" + itoa(end.Major) + "/" + itoa(end.Minor)
		}
		return destructive(ctx, c, g, s, rw, http.MethodDelete, path, nil, "Delete the IOV of "+cell(args[1])+" starting at "+start.String()+" in "+cell(args[0])+"?")
	})
	return g.Cmd
}

// attachSpec is an IOV to create and attach: where (a list, or a GT and
// type), its range, and its payload.
type attachSpec struct {
	writeFlags
	list, gt, pt  string
	from, to      string
	url, checksum string
	size          *int64
}

func (a *attachSpec) flags(cmd *cobra.Command) {
	a.addDryRun(cmd)
	cmd.Flags().BoolVarP(&a.yes, "yes", "y", false, "attach without asking (needed when standard input is not a terminal)")
	cmd.Flags().StringVar(&a.list, "list", "", "the payload list (or --gt and --type)")
	cmd.Flags().StringVar(&a.gt, "gt", "", "the global tag whose list of --type gets the IOV")
	cmd.Flags().StringVar(&a.pt, "type", "", "the payload type")
	cmd.Flags().StringVar(&a.from, "from", "", "first point, R or R.S (required)")
	cmd.Flags().StringVar(&a.to, "to", "", "end point, R or R.S (excluded in continuous mode; default: open-ended)")
}

// apply, when set, runs once the person said yes and before the attach
// (payload put copies the file and records it there): the IOV id is
// known then.
type applyFunc func(ctx context.Context, iov int64) (undo func(), err error)

// run creates the IOV detached, previews the attach (its dry run: the
// answers it would change), asks, and attaches it; declined or a dry run,
// the detached IOV is deleted again.
func (a *attachSpec) run(ctx context.Context, c *Client, g *Group, s Streams, apply applyFunc) error {
	if a.from == "" {
		return Usagef("--from is required")
	}
	start, err := ParsePoint(a.from, 0)
	if err != nil {
		return Usagef("--from: %v", err)
	}
	body := map[string]any{"payload_url": a.url, "checksum": a.checksum, "major_iov": start.Major, "minor_iov": start.Minor}
	if a.to != "" {
		end, err := ParsePoint(a.to, 0)
		if err != nil {
			return Usagef("--to: %v", err)
		}
		body["major_iov_end"], body["minor_iov_end"] = end.Major, end.Minor
	}
	if a.size != nil {
		body["size"] = *a.size
	}
	list := a.list
	switch {
	case list != "" && (a.gt != "" || a.pt != ""):
		return Usagef("give --list, or --gt and --type, not both")
	case list == "" && (a.gt == "" || a.pt == ""):
		return Usagef("say where the IOV goes: --list LIST, or --gt GT and --type TYPE")
	case list == "":
		if list, err = listOf(ctx, c, a.gt, a.pt); err != nil {
			return err
		}
	}
	// The attach can be previewed only for an IOV that exists: create it
	// detached (no lookup answers it), preview, then attach or delete it.
	var iov PIOV
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: Compat + "piov", Body: body}, &iov); err != nil {
		return err
	}
	discard := func() {
		if err := c.Do(ctxNoCancel(ctx), Request{Method: http.MethodPost, Path: V2 + "iovs/delete", Body: map[string]any{"ids": []int64{iov.ID}}}, nil); err != nil {
			fmt.Fprintf(s.Err, "warning: the detached IOV %d made for the preview could not be deleted (%v); no lookup answers it\n", iov.ID, hideSecrets(err.Error()))
		}
	}
	attach := map[string]any{"payload_list": list, "piov_id": iov.ID}
	d, err := c.Write(ctx, http.MethodPut, Compat+"piov_attach", attach, true, false, nil)
	if err != nil {
		discard()
		return err
	}
	if a.dryRun {
		discard()
		if g.Conn.Output == "json" {
			return printJSON(s.Out, d)
		}
		printDryRun(s.Out, d)
		fmt.Fprintf(s.Out, "(IOV %d was created detached for the preview and deleted again.)\n", iov.ID)
		return nil
	}
	if !a.yes {
		printDryRun(s.Err, d)
		ok, err := confirm(s, fmt.Sprintf("Attach %s [%s, %s) to %s?", a.url, start, a.toText(), list), false)
		if err != nil || !ok {
			discard()
			if err == nil {
				fmt.Fprintln(s.Err, "Nothing attached.")
			}
			return err
		}
	}
	undo := func() {}
	if apply != nil {
		if undo, err = apply(ctx, iov.ID); err != nil {
			discard()
			return err
		}
	}
	var out PIOV
	if err := c.Do(ctxNoCancel(ctx), Request{Method: http.MethodPut, Path: Compat + "piov_attach", Body: attach}, &out); err != nil {
		undo()
		discard()
		return err
	}
	if g.Conn.Output == "json" {
		return printJSON(s.Out, out)
	}
	fmt.Fprintf(s.Out, "Attached IOV %d (%s, [%s, %s)) to %s.\n", out.ID, out.URL, FormatPoint(out.Major, out.Minor), FormatPoint(out.MajorEnd, out.MinorEnd), orDash(out.PayloadList))
	return nil
}

func (a *attachSpec) toText() string {
	if p, err := ParsePoint(a.to, 0); err == nil {
		return p.String()
	}
	return "max"
}

// ctxNoCancel keeps ctx's values but not its cancellation: a write the
// person said yes to is finished after Ctrl-C, so that nothing is left
// half-done (its own timeout still bounds it).
func ctxNoCancel(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
