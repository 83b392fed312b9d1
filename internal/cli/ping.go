package cli

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/condcache/condcache/internal/config"
)

// Ping is what `condcache ping` found: the server answers the compatible
// API (cli_npc's checkConnection), and whether it is a condcache server
// ready to serve (GET /readyz; Nopayloaddb has none: Ready is then nil).
type Ping struct {
	URL          string  `json:"url"`
	OK           bool    `json:"ok"`
	Statuses     int     `json:"statuses"`
	Milliseconds float64 `json:"milliseconds"`
	Ready        *bool   `json:"ready"`
	Token        bool    `json:"token"` // a token is configured (never shown)
}

// PingCommand is `condcache ping`: check the connection to the server.
func PingCommand(env config.Env, s Streams) *cobra.Command {
	g := NewGroup("ping", "check the connection: the server answers the compatible API (exit 3 refused, 4 unreachable)", env)
	g.Cmd.Args = usageArgs(cobra.NoArgs)
	g.Cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		printed, err := g.Resolve(s)
		if err != nil || printed {
			return err
		}
		p, err := ping(cmd.Context(), g.Client(s))
		if err != nil {
			return err
		}
		if g.Conn.Output == "json" {
			return printJSON(s.Out, p)
		}
		ready := "not a condcache server (no /readyz)"
		if p.Ready != nil {
			ready = "condcache, ready"
			if !*p.Ready {
				ready = "condcache, not ready"
			}
		}
		token := "none"
		if p.Token {
			token = "given (not shown)"
		}
		fmt.Fprintf(s.Out, "%s: connection is ok, %.1f ms; %s; %s; token %s.\n", p.URL, p.Milliseconds, fmt.Sprintf("%d GT statuses", p.Statuses), ready, token)
		return nil
	}
	return g.Cmd
}

// ping lists the statuses (the compatible API's smallest read) and asks
// /readyz.
func ping(ctx context.Context, c *Client) (Ping, error) {
	p := Ping{URL: c.Base, Token: c.Token != ""}
	start := time.Now()
	sts, err := c.Statuses(ctx)
	if err != nil {
		return p, err
	}
	p.Milliseconds = float64(time.Since(start).Microseconds()) / 1000
	p.OK, p.Statuses = true, len(sts)
	err = c.Do(ctx, Request{Method: http.MethodGet, Path: "/readyz"}, nil)
	var aerr *APIError
	switch {
	case err == nil:
		ready := true
		p.Ready = &ready
	case asAPI(err, &aerr) && aerr.Status == http.StatusServiceUnavailable:
		ready := false
		p.Ready = &ready
	case asAPI(err, &aerr):
		// Another server: no readiness probe.
	default:
		return p, err
	}
	return p, nil
}
