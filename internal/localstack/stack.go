package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options configures Start.
type Options struct {
	// Dir is the state directory (data directories, logs); created if
	// missing. A primary data directory in it is reused.
	Dir string
	// PGBinDir holds postgres, initdb and pg_basebackup; "" = FindPGBin.
	PGBinDir string
	// Replicas is the number of streaming replicas (0..n).
	Replicas int
	// ReplicaApplyDelay is recovery_min_apply_delay on the replicas, so
	// tests can rely on replication lag (0 = none).
	ReplicaApplyDelay time.Duration
	// Redis starts a Redis server too.
	Redis bool
	// RedisBin is the redis-server binary; "" = FindRedis.
	RedisBin string
	// PrimaryPort and RedisPort are the TCP ports; 0 = pick free ports.
	PrimaryPort, RedisPort int
	// ReplicaPorts, if not empty, has one port per replica; otherwise
	// replicas use free ports.
	ReplicaPorts []int
	// Fast trades durability for speed (fsync=off, full_page_writes=off,
	// no syncing in initdb and pg_basebackup). For tests.
	Fast bool
	// Settings are extra PostgreSQL settings for every server, e.g.
	// shared_buffers for load tests; they override the stack's own.
	Settings map[string]string
	// StartTimeout bounds the wait for each server to accept connections;
	// 0 = 60s.
	StartTimeout time.Duration
	// Log receives progress messages; nil = discard.
	Log io.Writer
}

// Stack is a running set of servers. Stop it when done.
type Stack struct {
	Primary  *Postgres
	Replicas []*Postgres
	Redis    *Redis // nil unless Options.Redis
	Dir      string // absolute state directory

	cfg      *config
	teardown func() error // NewExternalStack's; nil for local servers
}

// config is what all servers of one stack share.
type config struct {
	dir          string
	pgBin        string
	runAs        *account
	fast         bool
	settings     map[string]string
	replicas     int
	applyDelay   time.Duration
	readyTimeout time.Duration
	log          *logger
}

func (c *config) logPath(name string) string { return filepath.Join(c.dir, "log", name+".log") }

// Start starts the primary, clones and starts the replicas, and starts
// Redis, waiting until each accepts connections. On error, everything that
// was already started is stopped again. Errors caused by a missing binary
// wrap ErrNotInstalled.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	began := time.Now()
	cfg, redisBin, err := newConfig(o)
	if err != nil {
		return nil, err
	}
	s := &Stack{Dir: cfg.dir, cfg: cfg, Primary: newPostgres(cfg, "primary", nil)}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Stop())
		}
	}()
	if o.Redis {
		s.Redis = newRedis(cfg, redisBin)
	}

	// Redis comes up while initdb, the slowest step, runs.
	err = parallel(
		func() error {
			if s.Redis == nil {
				return nil
			}
			return startOnPort(ctx, o.RedisPort, func(p int) { s.Redis.Port = p }, s.Redis.Start)
		},
		func() error {
			if err := s.Primary.initPrimary(ctx); err != nil {
				return err
			}
			return startOnPort(ctx, o.PrimaryPort, func(p int) { s.Primary.Port = p }, s.Primary.Start)
		},
	)
	if err != nil {
		return nil, err
	}

	var starts []func() error
	for i := range o.Replicas {
		r := newPostgres(cfg, fmt.Sprintf("replica%d", i+1), s.Primary)
		s.Replicas = append(s.Replicas, r)
		var port int
		if len(o.ReplicaPorts) > 0 {
			port = o.ReplicaPorts[i]
		}
		starts = append(starts, func() error {
			if err := r.cloneReplica(ctx); err != nil {
				return err
			}
			return startOnPort(ctx, port, func(p int) { r.Port = p }, r.Start)
		})
	}
	if err := parallel(starts...); err != nil {
		return nil, err
	}
	cfg.log.printf("stack up in %v (state in %s)", time.Since(began).Round(time.Millisecond), cfg.dir)
	return s, nil
}

// newConfig validates o, finds the binaries and prepares the state
// directory. Binaries are looked up before anything starts, so a missing
// one fails fast with ErrNotInstalled.
func newConfig(o Options) (cfg *config, redisBin string, err error) {
	switch {
	case o.Dir == "":
		return nil, "", errors.New("localstack: Options.Dir is required")
	case o.Replicas < 0:
		return nil, "", fmt.Errorf("localstack: Options.Replicas = %d", o.Replicas)
	case len(o.ReplicaPorts) > 0 && len(o.ReplicaPorts) != o.Replicas:
		return nil, "", fmt.Errorf("localstack: %d ReplicaPorts for %d replicas", len(o.ReplicaPorts), o.Replicas)
	}
	cfg = &config{
		pgBin:        o.PGBinDir,
		fast:         o.Fast,
		settings:     o.Settings,
		replicas:     o.Replicas,
		applyDelay:   o.ReplicaApplyDelay,
		readyTimeout: o.StartTimeout,
		log:          &logger{w: o.Log},
	}
	if cfg.readyTimeout <= 0 {
		cfg.readyTimeout = 60 * time.Second
	}
	if cfg.pgBin == "" {
		if cfg.pgBin, err = FindPGBin(); err != nil {
			return nil, "", err
		}
	} else if err := checkPGBin(cfg.pgBin); err != nil {
		return nil, "", fmt.Errorf("Options.PGBinDir: %w", err)
	}
	if o.Redis {
		redisBin = o.RedisBin
		if redisBin == "" {
			if redisBin, err = FindRedis(); err != nil {
				return nil, "", err
			}
		} else if !isExecutable(redisBin) {
			return nil, "", fmt.Errorf("Options.RedisBin %s is not an executable "+
				"(Debian/Ubuntu: apt-get install redis-server): %w", redisBin, ErrNotInstalled)
		}
	}

	if cfg.dir, err = filepath.Abs(o.Dir); err != nil {
		return nil, "", err
	}
	if cfg.runAs, err = pgAccount(); err != nil {
		return nil, "", err
	}
	for _, d := range []string{cfg.dir, filepath.Join(cfg.dir, "log"), filepath.Join(cfg.dir, "redis")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", err
		}
	}
	if err := cfg.runAs.makeReachable(cfg.dir); err != nil {
		return nil, "", err
	}
	return cfg, redisBin, nil
}

// Stop stops all servers, replicas and Redis first, then the primary, so
// the replicas do not spin reconnecting to a vanished primary. It waits
// until the processes have exited and is idempotent.
func (s *Stack) Stop() error {
	var stops []func() error
	for _, r := range s.Replicas {
		stops = append(stops, r.Stop)
	}
	if s.Redis != nil {
		stops = append(stops, s.Redis.Stop)
	}
	err := parallel(stops...)
	if s.Primary != nil {
		err = errors.Join(err, s.Primary.Stop())
	}
	if s.teardown != nil {
		err = errors.Join(err, s.teardown())
		s.teardown = nil
	}
	return err
}

// parallel runs fns concurrently and joins their errors.
func parallel(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// logger serializes progress messages from concurrent starts.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logger) printf(format string, args ...any) {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "localstack: "+format+"\n", args...)
}
