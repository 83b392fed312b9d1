package localstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Controller runs one server of a stack outside this process, e.g. in a
// container (testkit's containers mode). Its address stays the same across
// Stop and Start.
type Controller interface {
	Start(ctx context.Context) error // (re)start and wait until it serves
	Stop() error                     // clean shutdown
	Kill() error                     // crash (SIGKILL)
	Pause() error                    // freeze every process (SIGSTOP, cgroup freezer)
	Resume() error
	Running() bool
	LogFile() string // a file holding the server's output so far ("" = none)
}

// External is a server of a stack that a Controller runs.
type External struct {
	Host string // as reached from this machine, e.g. 127.0.0.1
	Port int
	Ctl  Controller
}

// ExternalOptions describes a stack whose servers run elsewhere.
type ExternalOptions struct {
	// Dir holds the condcache processes' logs (StartServers).
	Dir      string
	Primary  External
	Replicas []External
	Redis    *External
	// ReplicaApplyDelay is what the replicas were started with, for
	// WaitReplicated's default deadline.
	ReplicaApplyDelay time.Duration
	// StartTimeout bounds StartServers' wait for each condcache process;
	// 0 = 60s.
	StartTimeout time.Duration
	// Teardown runs at the end of Stop, after every server was stopped
	// (e.g. removing the containers and their network).
	Teardown func() error
}

// NewExternalStack returns a Stack whose PostgreSQL servers and Redis run
// elsewhere, each through its Controller: the stack's methods (DSN,
// Connect, CreateDatabase, WaitReplicated, StartServers, Start, Stop, Kill,
// Pause, Resume) work on them as on local processes. The superuser is
// "condcache" without a password, as on a local stack.
func NewExternalStack(o ExternalOptions) (*Stack, error) {
	if o.Dir == "" || o.Primary.Ctl == nil {
		return nil, errors.New("localstack: ExternalOptions.Dir and Primary are required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "log"), 0o755); err != nil {
		return nil, err
	}
	cfg := &config{dir: dir, replicas: len(o.Replicas), applyDelay: o.ReplicaApplyDelay,
		readyTimeout: o.StartTimeout, log: &logger{}}
	if cfg.readyTimeout <= 0 {
		cfg.readyTimeout = 60 * time.Second
	}
	ext := func(name string, e External, primary *Postgres) *Postgres {
		p := newPostgres(cfg, name, primary)
		p.Host, p.Port, p.ext = e.Host, e.Port, e.Ctl
		return p
	}
	s := &Stack{Dir: dir, cfg: cfg, teardown: o.Teardown}
	s.Primary = ext("primary", o.Primary, nil)
	for i, r := range o.Replicas {
		s.Replicas = append(s.Replicas, ext(fmt.Sprintf("replica%d", i+1), r, s.Primary))
	}
	if o.Redis != nil {
		s.Redis = &Redis{Host: o.Redis.Host, Port: o.Redis.Port, cfg: cfg, ext: o.Redis.Ctl}
	}
	return s, nil
}
