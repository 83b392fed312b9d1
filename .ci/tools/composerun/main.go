// Command composerun runs condcache's docker-compose.yml on machines whose
// Docker engine has no compose plugin (Debian's docker-compose 1.29 is too
// old for the file): it loads the file with compose-go, the loader of
// Docker Compose itself (so the file is validated as docker compose would),
// and starts the services through the Engine API in dependency order,
// waiting for each dependency's condition, exactly as `docker compose up
// --wait` would; then checks the stack through nginx (smoke.go).
//
//	composerun config [-f FILE] [-env-file F] [-profile P]   # load and validate, print the services
//	composerun up     [-f FILE] [-env-file F] [-profile P]   # start and wait until every service is healthy
//	composerun smoke  [-nginx URL] [-reader URL] [-writer URL] [-writes-within D]
//	composerun down   [-f FILE] ...                          # remove containers, network and volumes
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: composerun config|up|smoke|down [flags]")
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet("composerun "+cmd, flag.ExitOnError)
	file := fs.String("f", "docker-compose.yml", "compose file")
	envFile := fs.String("env-file", "", "environment file (as docker compose --env-file)")
	var profiles multi
	fs.Var(&profiles, "profile", "profile to enable (repeatable)")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long up may wait for health")
	nginx := fs.String("nginx", "http://127.0.0.1:8080", "smoke: nginx base URL")
	reader := fs.String("reader", "http://127.0.0.1:8000", "smoke: a reader's base URL")
	writer := fs.String("writer", "http://127.0.0.1:8001", "smoke: the writer's base URL")
	writesWithin := fs.Duration("writes-within", 0, "smoke: how long writes may be refused with 503 unavailable first (after a Redis failover); 0: the first write must succeed")
	_ = fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout+time.Minute)
	defer cancel()
	var err error
	if cmd == "smoke" {
		err = smoke(ctx, *nginx, *reader, *writer, *writesWithin)
	} else {
		var p *types.Project
		p, err = load(ctx, *file, *envFile, profiles)
		if err == nil {
			switch cmd {
			case "config":
				err = printConfig(p)
			case "up":
				err = up(ctx, p, *timeout)
			case "down":
				err = down(ctx, p)
			default:
				err = fmt.Errorf("unknown command %q", cmd)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "composerun %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

// load reads the compose file as docker compose does: interpolation from
// the environment and the env file, profiles, normalisation, consistency
// checks.
func load(ctx context.Context, file, envFile string, profiles []string) (*types.Project, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	opts := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(filepath.Dir(abs)), cli.WithOsEnv, cli.WithProfiles(profiles)}
	if envFile != "" {
		opts = append(opts, cli.WithEnvFiles(envFile))
	}
	opts = append(opts, cli.WithDotEnv)
	o, err := cli.NewProjectOptions([]string{abs}, opts...)
	if err != nil {
		return nil, err
	}
	return o.LoadProject(ctx)
}

func printConfig(p *types.Project) error {
	names := p.ServiceNames()
	sort.Strings(names)
	fmt.Printf("project %s: %d services\n", p.Name, len(names))
	for _, n := range names {
		s := p.Services[n]
		var deps []string
		for d, c := range s.DependsOn {
			deps = append(deps, d+"("+c.Condition+")")
		}
		sort.Strings(deps)
		fmt.Printf("  %-14s %-40s health:%-5v after: %s\n", n, s.Image, s.HealthCheck != nil && !s.HealthCheck.Disable, strings.Join(deps, " "))
	}
	return nil
}
