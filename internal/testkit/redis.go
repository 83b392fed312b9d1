package testkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/condcache/condcache/internal/localstack"
)

// Redis is a redis-server of its own on loopback, for the tests of code
// that needs Redis and no PostgreSQL (localstack.Start always starts a
// primary). It persists nothing.
type Redis struct {
	Port int

	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed once the process has been reaped
}

// errExited marks a server that exited during its start, e.g. because
// another process took its port first.
var errExited = errors.New("redis-server exited during its start")

// StartRedis starts redis-server (localstack.FindRedis) on a free loopback
// port, with its working directory and log in dir, and waits until it
// answers. A port taken meanwhile by another process is replaced by
// another.
func StartRedis(ctx context.Context, dir string) (*Redis, error) {
	bin, err := localstack.FindRedis()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		port, err := localstack.FreePort()
		if err != nil {
			return nil, err
		}
		r, err := startRedis(ctx, bin, dir, port)
		if err == nil || !errors.Is(err, errExited) || attempt == 5 {
			return r, err
		}
	}
}

func startRedis(ctx context.Context, bin, dir string, port int) (*Redis, error) {
	r := &Redis{Port: port, log: filepath.Join(dir, "redis.log"), done: make(chan struct{})}
	logf, err := os.OpenFile(r.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own copy
	r.cmd = exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", // nothing survives a restart
		"--dir", dir, "--daemonize", "no", "--logfile", "")
	r.cmd.Dir = dir
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	// A test binary that dies takes its Redis with it.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := spawn(r.cmd); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	go func() {
		_ = r.cmd.Wait()
		close(r.done)
	}()
	if err := r.waitReady(ctx); err != nil {
		_ = r.cmd.Process.Kill()
		<-r.done
		return nil, err
	}
	return r, nil
}

// waitReady waits until INFO answers with our process id: a foreign Redis
// on the port does not pass for ours.
func (r *Redis) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	want := "process_id:" + strconv.Itoa(r.cmd.Process.Pid) + "\r\n"
	for {
		info, err := rdb.Info(ctx, "server").Result()
		if err == nil && strings.Contains(info, want) {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("%s is answered by another Redis server", r.Addr())
		}
		select {
		case <-r.done:
			return fmt.Errorf("%w (%s)\n%s", errExited, r.cmd.ProcessState, r.logTail())
		case <-ctx.Done():
			return fmt.Errorf("redis-server not ready: %w; last error: %v\n%s", ctx.Err(), err, r.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Addr returns host:port for Redis clients.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port)) }

// URL returns the URL of Redis database db (0..15).
func (r *Redis) URL(db int) string { return fmt.Sprintf("redis://%s/%d", r.Addr(), db) }

// Stop shuts the server down (SIGTERM) and waits, killing it after 10 s.
func (r *Redis) Stop() error {
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-r.done:
		return nil
	case <-time.After(10 * time.Second):
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	return errors.New("redis-server did not stop within 10 s: killed it")
}

// logTail returns the last lines of the server's log, for errors.
func (r *Redis) logTail() string {
	b, err := os.ReadFile(r.log)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", r.log, err)
	}
	return "--- last lines of " + r.log + " ---\n" + lastLines(string(b), 15)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Linux sends the parent-death signal when the thread that forked the child
// exits, not the process (https://go.dev/issue/27505), and the Go runtime
// retires the thread of a goroutine that exits locked to it. Children are
// therefore forked from one thread that stays locked and alive for the life
// of the process, as localstack does for its own.
var (
	spawnOnce sync.Once
	spawnReqs chan *exec.Cmd
	spawnErrs chan error
)

func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs, spawnErrs = make(chan *exec.Cmd), make(chan error)
		go func() {
			runtime.LockOSThread() // never unlocked, so the thread never exits
			for c := range spawnReqs {
				spawnErrs <- c.Start()
			}
		}()
	})
	spawnMu.Lock()
	defer spawnMu.Unlock()
	spawnReqs <- cmd
	return <-spawnErrs
}

var spawnMu sync.Mutex

// Pid is the server's process id.
func (r *Redis) Pid() int { return r.cmd.Process.Pid }

// Kill SIGKILLs the server (a crash: nothing is saved, clients get no
// goodbye) and waits until it has been reaped.
func (r *Redis) Kill() error {
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-r.done
	return nil
}
