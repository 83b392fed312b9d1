package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
)

// healthcheck is the container image's HEALTHCHECK (docs/operations.md
// "Container image"): the image has no shell and no curl, so the binary
// itself asks the probe. It exits 0 when one of the URLs answers 200 within
// the timeout, else 1 (a configuration error is 2, as everywhere).

// defaultHealthURLs are the probes of the image's default addresses: a
// container runs one server, so the one that answers is the one to check.
const defaultHealthURLs = "http://127.0.0.1:8000/healthz,http://127.0.0.1:8001/healthz"

type healthSettings struct {
	urls    []string
	timeout time.Duration
}

func healthcheckTable(s *healthSettings) *config.Table {
	return &config.Table{Command: "condcache healthcheck", Synopsis: "[-url URL[,URL…]] [-timeout 2s]",
		About: "Exits 0 when one of the URLs answers 200 within the timeout, else 1: the container image's HEALTHCHECK,\nwhich has no shell or curl to run.",
		Settings: []config.Setting{
			{Flag: "url", Env: env("CONDCACHE_HEALTHCHECK_URL"), Default: defaultHealthURLs, Show: redact.Credentials,
				Help: "comma-separated probe URLs (http or https); healthy when any answers 200",
				Value: config.Func("URLs", func(v string) error {
					urls := splitList(v)
					if len(urls) == 0 {
						return errors.New("no URL")
					}
					for _, u := range urls {
						if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
							return fmt.Errorf("%q is not an http(s) URL", redact.Credentials(u))
						}
					}
					s.urls = urls
					return nil
				})},
			{Flag: "timeout", Env: env("CONDCACHE_HEALTHCHECK_TIMEOUT"), Default: "2s", Value: positiveDuration(&s.timeout),
				Help: "how long each probe may take"},
		}}
}

func runHealthcheck(ctx context.Context, args []string, e config.Env) int {
	var s healthSettings
	c, err := healthcheckTable(&s).Parse(args, e, stderr)
	var cerr *config.Error
	switch {
	case errors.Is(err, config.ErrHelp):
		return 0
	case errors.As(err, &cerr):
		fmt.Fprintln(stderr, cerr)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, err)
		return 2
	case c.PrintConfig:
		if err := printConfig(c); err != nil {
			return 1
		}
		return 0
	}
	client := &http.Client{Timeout: s.timeout}
	var problems []string
	for _, u := range s.urls {
		err := probe(ctx, client, u)
		if err == nil {
			return 0
		}
		problems = append(problems, redact.Credentials(u)+": "+redact.Credentials(err.Error()))
	}
	fmt.Fprintln(stderr, "condcache healthcheck: unhealthy: "+strings.Join(problems, "; "))
	return 1
}

func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", res.StatusCode)
	}
	return nil
}
