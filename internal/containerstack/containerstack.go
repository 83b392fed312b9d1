// Package containerstack starts the backing services of the integration
// tests in containers, with testcontainers-go: a PostgreSQL primary,
// streaming replicas cloned from it with pg_basebackup, and Redis, on a
// network of their own, each published on a fixed loopback port (so that a
// restarted container keeps its address). It returns them as a
// localstack.Stack (localstack.NewExternalStack), so tests use them exactly
// as the local processes: DSN, Connect, CreateDatabase, WaitReplicated,
// StartServers, Start, Stop, Kill, Pause, Resume.
//
// testkit selects it with CONDCACHE_TEST_SERVICES=containers (docs/testing.md).
// Images: CONDCACHE_TEST_POSTGRES_IMAGE (default postgres:15) and
// CONDCACHE_TEST_REDIS_IMAGE (default redis:7): the official images, or
// the locally built stand-in (deploy/images/build.sh) where no registry is
// reachable. Only tests import it.
package containerstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/condcache/condcache/internal/localstack"
)

// Image variables and their defaults.
const (
	PostgresImageEnv     = "CONDCACHE_TEST_POSTGRES_IMAGE"
	RedisImageEnv        = "CONDCACHE_TEST_REDIS_IMAGE"
	DefaultPostgresImage = "postgres:15"
	DefaultRedisImage    = "redis:7"
)

func image(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// replicationInit lets replicas stream from the primary (run by the
// image's entrypoint when it creates the data directory).
const replicationInit = "printf 'host replication all all trust\\n' >> \"$PGDATA/pg_hba.conf\"\n"

// Start starts the services o asks for (Replicas, ReplicaApplyDelay,
// Redis, Fast, Settings; o.Dir receives the logs) and waits until each
// serves. On error, what was started is removed again.
func Start(ctx context.Context, o localstack.Options) (_ *localstack.Stack, err error) {
	if o.Dir == "" {
		return nil, errors.New("containerstack: Options.Dir is required")
	}
	began := time.Now()
	logDir := filepath.Join(o.Dir, "log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("containerstack: Docker: %w", err)
	}
	net, err := network.New(ctx)
	if err != nil {
		dc.Close()
		return nil, fmt.Errorf("containerstack: network: %w", err)
	}
	var started []*server
	teardown := func() error {
		var errs []error
		for _, s := range slices.Backward(started) {
			s.saveLog()
			errs = append(errs, s.c.Terminate(context.Background(), testcontainers.StopTimeout(time.Second)))
		}
		errs = append(errs, net.Remove(context.Background()))
		dc.Close()
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, teardown())
		}
	}()
	pgImage, redisImage := image(PostgresImageEnv, DefaultPostgresImage), image(RedisImageEnv, DefaultRedisImage)

	primary, err := startServer(ctx, dc, serverSpec{name: "primary", image: pgImage, network: net.Name, port: "5432/tcp",
		// UTF8 and the C locale, as localstack's initdb: the server refuses
		// invalid UTF-8, which the hostile-input tests rely on.
		env: map[string]string{"POSTGRES_USER": "condcache", "POSTGRES_HOST_AUTH_METHOD": "trust",
			"POSTGRES_INITDB_ARGS": "--encoding=UTF8 --locale=C"},
		cmd: append([]string{"postgres"}, pgArgs(o, "")...),
		files: []testcontainers.ContainerFile{{Reader: strings.NewReader(replicationInit),
			ContainerFilePath: "/docker-entrypoint-initdb.d/10-replication.sh", FileMode: 0o644}},
		stopSignal: "SIGINT", logDir: logDir, probe: pgProbe})
	if primary != nil {
		started = append(started, primary)
	}
	if err != nil {
		return nil, err
	}
	var replicas []localstack.External
	for i := range o.Replicas {
		name := fmt.Sprintf("replica%d", i+1)
		script := "set -e\nif [ ! -s \"$PGDATA/PG_VERSION\" ]; then\n" +
			"  pg_basebackup -h primary -U condcache -D \"$PGDATA\" -R -X stream --checkpoint=fast" + map[bool]string{true: " --no-sync"}[o.Fast] + "\n" +
			"  chmod 700 \"$PGDATA\"\nfi\nexec postgres " + strings.Join(quoteAll(pgArgs(o, name)), " ") + "\n"
		r, err := startServer(ctx, dc, serverSpec{name: name, image: pgImage, network: net.Name, port: "5432/tcp",
			user: "postgres", entrypoint: []string{"bash", "-c"}, cmd: []string{script},
			stopSignal: "SIGINT", logDir: logDir, probe: pgProbe})
		if r != nil {
			started = append(started, r)
		}
		if err != nil {
			return nil, err
		}
		replicas = append(replicas, r.external())
	}
	var rds *localstack.External
	if o.Redis {
		r, err := startServer(ctx, dc, serverSpec{name: "redis", image: redisImage, network: net.Name, port: "6379/tcp",
			cmd:    []string{"redis-server", "--save", "", "--appendonly", "no", "--protected-mode", "no"},
			logDir: logDir, probe: redisProbe})
		if r != nil {
			started = append(started, r)
		}
		if err != nil {
			return nil, err
		}
		e := r.external()
		rds = &e
	}
	if o.Log != nil {
		fmt.Fprintf(o.Log, "containerstack: %d containers up in %v (%s, %s)\n", len(started), time.Since(began).Round(time.Millisecond), pgImage, redisImage)
	}
	return localstack.NewExternalStack(localstack.ExternalOptions{Dir: o.Dir, Primary: primary.external(), Replicas: replicas,
		Redis: rds, ReplicaApplyDelay: o.ReplicaApplyDelay, StartTimeout: o.StartTimeout, Teardown: teardown})
}

// pgArgs are the server settings of a local stack's PostgreSQL
// (localstack's serverArgs), for the primary (replica "") or a replica.
func pgArgs(o localstack.Options, replica string) []string {
	set := map[string]string{
		"listen_addresses": "*", "timezone": "UTC", "log_timezone": "UTC", "wal_level": "replica",
		"max_wal_senders": strconv.Itoa(10 + o.Replicas), "wal_keep_size": "256MB",
		"hot_standby": "on", "hot_standby_feedback": "on",
	}
	if o.Fast {
		set["fsync"], set["full_page_writes"] = "off", "off"
	}
	if replica != "" {
		set["primary_conninfo"] = "host=primary port=5432 user=condcache application_name=" + replica
		set["wal_retrieve_retry_interval"] = "200ms"
		if o.ReplicaApplyDelay > 0 {
			set["recovery_min_apply_delay"] = fmt.Sprintf("%dms", o.ReplicaApplyDelay.Milliseconds())
		}
	}
	maps.Copy(set, o.Settings)
	var args []string
	for _, k := range slices.Sorted(maps.Keys(set)) {
		args = append(args, "-c", k+"="+set[k])
	}
	return args
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return out
}

type serverSpec struct {
	name, image, network, port, user, stopSignal, logDir string
	env                                                  map[string]string
	entrypoint, cmd                                      []string
	files                                                []testcontainers.ContainerFile
	probe                                                func(ctx context.Context, hostPort int) error
}

// server is one container, the localstack.Controller of its server.
type server struct {
	spec     serverSpec
	c        testcontainers.Container
	dc       *testcontainers.DockerClient
	hostPort int
	mu       sync.Mutex
}

func startServer(ctx context.Context, dc *testcontainers.DockerClient, spec serverSpec) (*server, error) {
	hostPort, err := localstack.FreePort()
	if err != nil {
		return nil, err
	}
	port := mobynet.MustParsePort(spec.port)
	req := testcontainers.ContainerRequest{
		Image: spec.image, Env: spec.env, Entrypoint: spec.entrypoint, Cmd: spec.cmd,
		ExposedPorts: []string{spec.port}, Files: spec.files,
		Networks: []string{spec.network}, NetworkAliases: map[string][]string{spec.network: {spec.name}},
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.PortBindings = mobynet.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(hostPort)}}}
		},
		ConfigModifier: func(c *container.Config) {
			c.User = spec.user
			if spec.stopSignal != "" {
				c.StopSignal = spec.stopSignal
			}
		},
	}
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
	if err != nil {
		if c != nil {
			return &server{spec: spec, c: c, dc: dc, hostPort: hostPort}, fmt.Errorf("%s (%s): %w", spec.name, spec.image, err)
		}
		return nil, fmt.Errorf("%s (%s): %w", spec.name, spec.image, err)
	}
	s := &server{spec: spec, c: c, dc: dc, hostPort: hostPort}
	if err := s.wait(ctx); err != nil {
		return s, err
	}
	return s, nil
}

func (s *server) external() localstack.External {
	return localstack.External{Host: "127.0.0.1", Port: s.hostPort, Ctl: s}
}

// wait polls the server until it serves, for at most a minute.
func (s *server) wait(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		err := s.spec.probe(ctx, s.hostPort)
		if err == nil {
			return nil
		}
		if st, serr := s.c.State(ctx); serr == nil && !st.Running && !st.Paused {
			return fmt.Errorf("%s exited (%d):\n%s", s.spec.name, st.ExitCode, s.tail())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %v\n%s", s.spec.name, err, s.tail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func pgProbe(ctx context.Context, hostPort int) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, fmt.Sprintf("postgres://condcache@127.0.0.1:%d/postgres?sslmode=disable", hostPort))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(cctx)
}

func redisProbe(ctx context.Context, hostPort int) error {
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", hostPort), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	return c.Ping(ctx).Err()
}

// Start implements localstack.Controller.
func (s *server) Start(ctx context.Context) error {
	if err := s.c.Start(ctx); err != nil {
		return fmt.Errorf("%s: %w", s.spec.name, err)
	}
	return s.wait(ctx)
}

// Stop implements localstack.Controller.
func (s *server) Stop() error {
	if !s.Running() {
		return nil
	}
	d := 20 * time.Second
	return s.c.Stop(context.Background(), &d)
}

// Kill implements localstack.Controller.
func (s *server) Kill() error {
	if !s.Running() {
		return nil
	}
	_, err := s.dc.ContainerKill(context.Background(), s.c.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"})
	if err != nil {
		return err
	}
	for range 100 {
		if !s.Running() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s still runs after SIGKILL", s.spec.name)
}

// Pause implements localstack.Controller.
func (s *server) Pause() error {
	_, err := s.dc.ContainerPause(context.Background(), s.c.GetContainerID(), client.ContainerPauseOptions{})
	return err
}

// Resume implements localstack.Controller.
func (s *server) Resume() error {
	_, err := s.dc.ContainerUnpause(context.Background(), s.c.GetContainerID(), client.ContainerUnpauseOptions{})
	return err
}

// Running implements localstack.Controller.
func (s *server) Running() bool {
	st, err := s.c.State(context.Background())
	return err == nil && st.Running
}

// LogFile implements localstack.Controller: the container's output so far.
func (s *server) LogFile() string { return s.saveLog() }

func (s *server) saveLog() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := filepath.Join(s.spec.logDir, s.spec.name+".log")
	rc, err := s.c.Logs(context.Background())
	if err != nil {
		return path
	}
	defer rc.Close()
	if f, err := os.Create(path); err == nil {
		_, _ = io.Copy(f, rc)
		f.Close()
	}
	return path
}

func (s *server) tail() string {
	b, _ := os.ReadFile(s.saveLog())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}
