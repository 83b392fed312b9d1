package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// UsageQuery is what `condcache usage -url` asks a server.
type UsageQuery struct {
	UnusedSince, GlobalTag, Client, Since string
}

// Usage prints the access accounting a server answers (GET
// /api/v2/usage/unused, or every page of GET /api/v2/usage), as the
// primary's `condcache usage` does: a table, or with format "json" the
// v2 answer (every page in one).
func Usage(ctx context.Context, c *Client, q UsageQuery, format string, w io.Writer) error {
	if q.UnusedSince != "" {
		var ans struct {
			Since   string `json:"since"`
			Results []struct {
				GlobalTag string  `json:"global_tag"`
				Status    string  `json:"status"`
				LastRead  *string `json:"last_read"`
				Reads     int64   `json:"reads"`
			} `json:"results"`
		}
		var raw json.RawMessage
		if err := c.Get(ctx, V2+"usage/unused", values("since", q.UnusedSince), &raw); err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &ans); err != nil {
			return fmt.Errorf("GET usage/unused: %w", err)
		}
		if format == "json" {
			var v any
			_ = json.Unmarshal(raw, &v)
			return printJSON(w, v)
		}
		var rows [][]string
		for _, g := range ans.Results {
			last := "never"
			if g.LastRead != nil {
				last = shortTime(*g.LastRead)
			}
			rows = append(rows, []string{g.GlobalTag, g.Status, last, itoa(g.Reads)})
		}
		table(w, []string{"GLOBAL TAG", "STATUS", "LAST READ", "READS"}, rows)
		fmt.Fprintf(w, "%s not read since %s.\n", plural(int64(len(rows)), "global tag"), shortTime(ans.Since))
		return nil
	}
	type count struct {
		GlobalTag string `json:"global_tag"`
		Client    string `json:"client"`
		Reads     int64  `json:"reads"`
		First     string `json:"first_read"`
		Last      string `json:"last_read"`
	}
	all, err := All[count](ctx, c, V2+"usage", values("gt", q.GlobalTag, "client", q.Client, "since", q.Since))
	if err != nil {
		return err
	}
	if format == "json" {
		n := int64(len(all))
		return printJSON(w, Page[count]{Count: n, Page: 1, PageSize: max(n, 1), TotalPages: 1, Results: nonNil(all)})
	}
	var rows [][]string
	for _, u := range all {
		rows = append(rows, []string{u.GlobalTag, u.Client, itoa(u.Reads), shortTime(u.First), shortTime(u.Last)})
	}
	table(w, []string{"GLOBAL TAG", "CLIENT", "READS", "FIRST READ", "LAST READ"}, rows)
	fmt.Fprintf(w, "%s.\n", plural(int64(len(all)), "global tag and client pair"))
	return nil
}
