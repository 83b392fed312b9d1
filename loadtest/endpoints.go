package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"
)

// BrowseEndpoints are the reader's browse and list GETs (its GETs other
// than lookups, settings and the timeout endpoint), as a person or a tool
// browsing gt asks them: paged where the reference pages. The whole-table
// dumps (gt, gt/<id>, globalTag/<name> without ?light, pl and piov
// unpaged) are left out: they send every IOV they hold, so their time
// grows with the rows by definition. pl, piov are one of each kind of
// the GT's, found by asking the pages.
func BrowseEndpoints(ctx context.Context, c *Client, gt string) ([][2]string, error) {
	type page struct {
		Results []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"results"`
	}
	var summary struct {
		ID int64 `json:"id"`
	}
	name := url.PathEscape(gt)
	if err := c.Do(ctx, "GET", "globalTag/"+name+"?light", nil, &summary); err != nil {
		return nil, err
	}
	var pl, piov page
	if err := c.Do(ctx, "GET", "pl?page=1&page_size=1", nil, &pl); err != nil {
		return nil, err
	}
	if err := c.Do(ctx, "GET", "piov?page=1&page_size=1", nil, &piov); err != nil {
		return nil, err
	}
	if len(pl.Results) == 0 || len(piov.Results) == 0 {
		return nil, fmt.Errorf("loadtest: the reader has no payload list or IOV to browse")
	}
	return [][2]string{
		{"gtstatus", "gtstatus"},
		{"globalTags", "globalTags"},
		{"globalTags paged", "globalTags?page=1"},
		{"globalTag light", "globalTag/" + name + "?light"},
		{"gtPayloadLists", "gtPayloadLists/" + name},
		{"pt", "pt"},
		{"pt paged", "pt?page=1"},
		{"pl paged", "pl?page=1"},
		{"pl by id", fmt.Sprintf("pl/%d", pl.Results[0].ID)},
		{"pl by name", "payload-lists/by-name/" + url.PathEscape(pl.Results[0].Name)},
		{"piov paged", "piov?page=1"},
		{"piov by id", fmt.Sprintf("piov/%d", piov.Results[0].ID)},
	}, nil
}

// MeasureEndpoints asks each endpoint n times in a row through c (one
// request in flight: the latency of an idle reader's answer, which an
// uncached reader computes every time) and returns each one's p50 and
// p99.
func MeasureEndpoints(ctx context.Context, c *Client, endpoints [][2]string, n int) ([]EndpointTime, error) {
	var out []EndpointTime
	for _, e := range endpoints {
		et := EndpointTime{Name: e[0], Path: e[1]}
		var took []time.Duration
		for range n {
			began := time.Now()
			res, err := c.Get(ctx, e[1])
			if err != nil {
				return nil, fmt.Errorf("loadtest: GET %s: %w", e[1], err)
			}
			et.Requests++
			if res.Status != 200 || !json.Valid(res.Body) {
				et.Failed++
				continue
			}
			took = append(took, time.Since(began))
		}
		if len(took) > 0 {
			p50, p99, _ := quantiles(took)
			et.P50, et.P99 = ms(p50), ms(p99)
		}
		out = append(out, et)
	}
	return out, nil
}
