package cli

import (
	"context"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/condcache/condcache/internal/config"
)

// PTCommand is `condcache pt`: payload types.
func PTCommand(env config.Env, s Streams) *cobra.Command {
	g := NewGroup("pt", "payload types: list, create", env)
	list := &cobra.Command{Use: "list", Short: "list the payload types"}
	g.Leaf(g.Cmd, list, s, func(ctx context.Context, c *Client, _ []string) error {
		var pts []PT
		if err := c.Get(ctx, Compat+"pt", nil, &pts); err != nil {
			return err
		}
		if g.Conn.Output == "json" {
			return printJSON(s.Out, nonNil(pts))
		}
		var rows [][]string
		for _, p := range pts {
			rows = append(rows, []string{p.Name, shortTime(p.Created)})
		}
		table(s.Out, []string{"NAME", "CREATED"}, rows)
		return nil
	})
	var w writeFlags
	create := &cobra.Command{Use: "create NAME", Short: "create a payload type", Args: cobra.ExactArgs(1)}
	w.addDryRun(create)
	g.Leaf(g.Cmd, create, s, func(ctx context.Context, c *Client, args []string) error {
		var out PT
		return write(ctx, c, g, s, w, http.MethodPost, Compat+"pt", map[string]string{"name": args[0]}, &out, func() {
			fmt.Fprintf(s.Out, "Created payload type %s.\n", cell(out.Name))
		})
	})
	return g.Cmd
}

// PLCommand is `condcache pl`: payload lists.
func PLCommand(env config.Env, s Streams) *cobra.Command {
	g := NewGroup("pl", "payload lists: list, create, attach", env)
	var gt, pt string
	list := &cobra.Command{Use: "list", Short: "list the payload lists with their global tag and IOV count"}
	list.Flags().StringVar(&gt, "gt", "", "only the lists of this global tag")
	list.Flags().StringVar(&pt, "type", "", "only the lists of this payload type")
	g.Leaf(g.Cmd, list, s, func(ctx context.Context, c *Client, _ []string) error {
		pls, err := All[PLBrowse](ctx, c, Compat+"pl", values("global_tag", gt, "payload_type", pt, "sort", "id"))
		if err != nil {
			return err
		}
		if g.Conn.Output == "json" {
			return printJSON(s.Out, nonNil(pls))
		}
		var rows [][]string
		for _, l := range pls {
			rows = append(rows, []string{l.Name, l.PayloadType, orDash(l.GlobalTag), itoa(l.IOVs)})
		}
		table(s.Out, []string{"NAME", "TYPE", "GLOBAL TAG", "IOVS"}, rows)
		return nil
	})
	var cw writeFlags
	create := &cobra.Command{Use: "create TYPE", Short: "create a payload list of a type (named TYPE_<id>, not attached)", Args: cobra.ExactArgs(1)}
	cw.addDryRun(create)
	g.Leaf(g.Cmd, create, s, func(ctx context.Context, c *Client, args []string) error {
		var out PLWrite
		return write(ctx, c, g, s, cw, http.MethodPost, Compat+"pl", map[string]string{"payload_type": args[0]}, &out, func() {
			fmt.Fprintf(s.Out, "Created payload list %s of type %s.\n", cell(out.Name), cell(out.PayloadType))
		})
	})
	var aw writeFlags
	attach := &cobra.Command{Use: "attach LIST GT", Short: "attach a payload list to a global tag (replacing its list of that type)", Args: cobra.ExactArgs(2)}
	aw.addDryRun(attach)
	g.Leaf(g.Cmd, attach, s, func(ctx context.Context, c *Client, args []string) error {
		var out PLWrite
		return write(ctx, c, g, s, aw, http.MethodPut, Compat+"pl_attach", map[string]string{"payload_list": args[0], "global_tag": args[1]}, &out, func() {
			fmt.Fprintf(s.Out, "Attached payload list %s to global tag %s.\n", cell(out.Name), cell(orDash(out.GlobalTag)))
		})
	})
	return g.Cmd
}

// listOf is the name of the list of type pt attached to gt.
func listOf(ctx context.Context, c *Client, gt, pt string) (string, error) {
	var lists map[string]string
	if err := c.Get(ctx, Compat+"gtPayloadLists/"+esc(gt), nil, &lists); err != nil {
		return "", err
	}
	l, ok := lists[pt]
	if !ok {
		if _, err := c.GlobalTag(ctx, gt); err != nil {
			return "", err
		}
		return "", Usagef("global tag %s has no payload list of type %s: create one (condcache pl create %s) and attach it (condcache pl attach LIST %s)", cell(gt), cell(pt), pt, gt)
	}
	return l, nil
}

// RepoCommand is `condcache repo`: payload repositories (docs/design.md
// "Payload repositories"), where payload put copies files.
func RepoCommand(env config.Env, s Streams) *cobra.Command {
	g := NewGroup("repo", "payload repositories: list, create", env)
	list := &cobra.Command{Use: "list", Short: "list the payload repositories"}
	g.Leaf(g.Cmd, list, s, func(ctx context.Context, c *Client, _ []string) error {
		rs, err := All[Repository](ctx, c, V2+"repositories", nil)
		if err != nil {
			return err
		}
		if g.Conn.Output == "json" {
			return printJSON(s.Out, nonNil(rs))
		}
		var rows [][]string
		for _, r := range rs {
			rows = append(rows, []string{r.Name, r.Type, r.Site, r.BaseURL})
		}
		table(s.Out, []string{"NAME", "TYPE", "SITE", "BASE URL"}, rows)
		return nil
	})
	var w writeFlags
	var typ, base, site string
	var pref int64
	create := &cobra.Command{Use: "create NAME", Short: "create a payload repository (needs role admin on GlobalTag \"\")", Args: cobra.ExactArgs(1)}
	w.addDryRun(create)
	create.Flags().StringVar(&typ, "type", "posix", "repository type: cvmfs, posix, http, xrootd, s3, …")
	create.Flags().StringVar(&base, "base-url", "", "base URL, e.g. file:///cvmfs/sphenix/calib/ (required)")
	create.Flags().StringVar(&site, "site", "", "the site jobs name to find their copies (required)")
	create.Flags().Int64Var(&pref, "preference", 0, "higher is chosen first among a site's copies")
	g.Leaf(g.Cmd, create, s, func(ctx context.Context, c *Client, args []string) error {
		if base == "" || site == "" {
			return Usagef("--base-url and --site are required")
		}
		var out Repository
		body := map[string]any{"name": args[0], "type": typ, "base_url": base, "site": site, "preference": pref}
		return write(ctx, c, g, s, w, http.MethodPost, V2+"repositories", body, &out, func() {
			fmt.Fprintf(s.Out, "Created repository %s (%s) at %s for site %s.\n", cell(out.Name), out.Type, out.BaseURL, cell(out.Site))
		})
	})
	return g.Cmd
}
