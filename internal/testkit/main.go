package testkit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
	"github.com/condcache/condcache/internal/testbuild"
)

// Options says what Main starts before a package's tests.
type Options struct {
	// Name names the package in the temporary directory's name and in
	// start-up errors, e.g. "sql".
	Name string
	// Build builds the condcache binary (Env.Binary), for tests that run
	// it as separate processes.
	Build bool
	// BuildTags are build tags for that binary, e.g. "faultinject" for
	// the fault suite's injection points; none for every other suite.
	BuildTags []string
	// Stack, when not nil, starts a local stack with these options
	// (Env.Stack); Main sets Dir and Fast.
	Stack *localstack.Options
	// Redis starts a Redis server of its own, without PostgreSQL
	// (Env.Redis).
	Redis bool
	// Timeout bounds the start-up, setup included; 0 = 3 minutes.
	Timeout time.Duration
}

// Env is what Main started for a package's tests.
type Env struct {
	Dir    string            // temporary, removed after the tests
	Binary string            // the condcache binary (Options.Build)
	Stack  *localstack.Stack // Options.Stack
	Redis  *Redis            // Options.Redis

	cleanups []func()
}

// Cleanup registers f to run after the tests, before what Main started is
// stopped; as with testing.T.Cleanup, the last one registered runs first.
func (e *Env) Cleanup(f func()) { e.cleanups = append(e.cleanups, f) }

// Main is a package's TestMain: it makes a temporary directory, starts
// what o asks for, calls setup (which may be nil) to start the rest, runs
// the tests, stops everything again and exits with the tests' status.
// When something does not start, it says what on stderr and exits 1
// without running any test.
func Main(m *testing.M, o Options, setup func(ctx context.Context, env *Env) error) {
	os.Exit(run(m, o, setup))
}

func run(m *testing.M, o Options, setup func(ctx context.Context, env *Env) error) int {
	env, err := start(o, setup)
	defer env.stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s tests: %v\n", o.Name, err)
		return 1
	}
	return m.Run()
}

func start(o Options, setup func(ctx context.Context, env *Env) error) (*Env, error) {
	env := &Env{}
	dir, err := os.MkdirTemp("", "condcache-"+o.Name+"-")
	if err != nil {
		return env, err
	}
	env.Dir = dir
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if o.Build {
		if env.Binary, err = testbuild.Condcache(dir, o.BuildTags...); err != nil {
			return env, err
		}
	}
	if o.Stack != nil {
		so := *o.Stack
		so.Dir, so.Fast = filepath.Join(dir, "stack"), true
		if env.Stack, err = NewStack(ctx, so); err != nil {
			return env, fmt.Errorf("starting the local stack: %w", err)
		}
	}
	if o.Redis {
		if env.Redis, err = StartRedis(ctx, filepath.Join(dir, "redis")); err != nil {
			return env, fmt.Errorf("starting Redis: %w", err)
		}
	}
	if setup != nil {
		if err := setup(ctx, env); err != nil {
			return env, err
		}
	}
	return env, nil
}

// stop runs the cleanups, stops the servers and removes the directory.
func (e *Env) stop() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	if e.Redis != nil {
		_ = e.Redis.Stop()
	}
	if e.Stack != nil {
		_ = e.Stack.Stop()
	}
	if e.Dir != "" {
		_ = os.RemoveAll(e.Dir)
	}
}

// StartStack starts a local stack of the test's own, in a temporary
// directory of the test's (o.Fast is set too), and stops it when the test
// ends: for tests that kill, pause or delay servers.
func StartStack(t testing.TB, o localstack.Options) *localstack.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o.Dir, o.Fast = t.TempDir(), true
	st, err := NewStack(ctx, o)
	if err != nil {
		t.Fatalf("starting the local stack: %v", err)
	}
	t.Cleanup(func() { _ = st.Stop() })
	return st
}
