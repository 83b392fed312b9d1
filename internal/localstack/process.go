package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/condcache/condcache/internal/redact"
)

// command describes how to run one child process.
type command struct {
	path string
	args []string
	dir  string
	// cred, if set, is the account the child runs as (see account).
	cred *syscall.Credential
	// stopSig requests a clean shutdown. It doubles as the parent-death
	// signal, so a dying parent shuts its children down the same way.
	stopSig syscall.Signal
	// env is added to the children's environment (see childEnv).
	env []string
}

// proc owns one child process at a time: its log file and its lifecycle.
// PostgreSQL servers, Redis and the one-shot tools (initdb, pg_basebackup)
// all run through it, so starting, stopping, killing and log handling exist
// once. A proc can be started again after its process exited.
type proc struct {
	name    string
	logPath string

	mu  sync.Mutex
	cur *run
}

// run is one execution of a proc.
type run struct {
	cmd      *exec.Cmd
	stopSig  syscall.Signal
	logStart int64         // log size before this run, to show only its output
	done     chan struct{} // closed once the process has been reaped
	err      error         // Wait result; read only after done is closed
}

// start launches c, appending its stdout and stderr to the log file.
func (p *proc) start(c command) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil && !isClosed(p.cur.done) {
		return fmt.Errorf("%s is already running (pid %d)", p.name, p.cur.cmd.Process.Pid)
	}
	logf, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	// The child has its own copy of the descriptor once started.
	defer logf.Close()
	logStart, err := logf.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	fmt.Fprintf(logf, "=== localstack %s: %s %s\n",
		time.Now().UTC().Format(time.RFC3339), c.path, redact.Credentials(strings.Join(c.args, " ")))

	cmd := exec.Command(c.path, c.args...)
	cmd.Dir = c.dir
	cmd.Env = append(childEnv(), c.env...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: c.stopSig}
	if err := spawn(cmd); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	r := &run{cmd: cmd, stopSig: c.stopSig, logStart: logStart, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	p.cur = r
	return nil
}

// current returns the latest run, or nil if the proc was never started.
func (p *proc) current() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// running reports whether the process is alive (not yet reaped).
func (p *proc) running() bool {
	r := p.current()
	return r != nil && !isClosed(r.done)
}

// pid returns the process id of the latest run, or 0.
func (p *proc) pid() int {
	if r := p.current(); r != nil {
		return r.cmd.Process.Pid
	}
	return 0
}

// exited returns a channel closed when the latest run has exited.
func (p *proc) exited() <-chan struct{} {
	if r := p.current(); r != nil {
		return r.done
	}
	closed := make(chan struct{})
	close(closed)
	return closed
}

// exitErr returns how the latest run ended; nil while it is running.
func (p *proc) exitErr() error {
	r := p.current()
	if r == nil || !isClosed(r.done) {
		return nil
	}
	return r.err
}

// stop asks the process to shut down with its stop signal and waits. If it
// is still alive after timeout it is killed and an error returned. Stopping
// a process that is not running is a no-op.
func (p *proc) stop(timeout time.Duration) error {
	r := p.current()
	if r == nil || isClosed(r.done) {
		return nil
	}
	if err := r.cmd.Process.Signal(r.stopSig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop %s: %w", p.name, err)
	}
	select {
	case <-r.done:
		return nil
	case <-time.After(timeout):
	}
	if err := p.kill(); err != nil {
		return err
	}
	return fmt.Errorf("stop %s: no clean shutdown within %v, killed it\n%s", p.name, timeout, p.logExcerpt())
}

// kill SIGKILLs the process and all its descendants and waits until they
// are gone, simulating a crash of the whole server. Descendants matter for
// PostgreSQL: orphaned backends keep the shared memory attached and would
// make the next start fail. Killing a process that is not running is a
// no-op.
func (p *proc) kill() error {
	r := p.current()
	if r == nil || isClosed(r.done) {
		return nil
	}
	pid := r.cmd.Process.Pid
	// Freeze the process first so it cannot fork children we would miss.
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	kids := descendants(pid)
	for _, k := range kids {
		_ = syscall.Kill(k.pid, syscall.SIGKILL)
	}
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	const grace = 10 * time.Second
	select {
	case <-r.done:
	case <-time.After(grace):
		return fmt.Errorf("kill %s: pid %d still not reaped after %v", p.name, pid, grace)
	}
	if err := waitGone(kids, grace); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	return nil
}

// signalTree sends sig to the process and all its descendants; a no-op when
// it is not running.
func (p *proc) signalTree(sig syscall.Signal) error {
	r := p.current()
	if r == nil || isClosed(r.done) {
		return nil
	}
	pid := r.cmd.Process.Pid
	for _, k := range descendants(pid) {
		_ = syscall.Kill(k.pid, sig)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	return nil
}

// logExcerpt returns the last lines the latest run wrote, for error messages.
func (p *proc) logExcerpt() string {
	const maxLines = 25
	tail := p.logTail()
	lines := strings.Split(strings.TrimRight(tail, "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return fmt.Sprintf("--- last lines of %s ---\n%s", p.logPath, strings.Join(lines, "\n"))
}

// logTail returns up to the last 16 KiB the latest run wrote to the log.
func (p *proc) logTail() string {
	const maxBytes = 16 << 10
	var from int64
	if r := p.current(); r != nil {
		from = r.logStart
	}
	f, err := os.Open(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	from = max(from, fi.Size()-maxBytes)
	b, err := io.ReadAll(io.NewSectionReader(f, from, fi.Size()-from))
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	return string(b)
}

// waitReady polls probe until it succeeds, the process exits, or timeout or
// ctx expire. Failures carry the tail of the process log, which is where the
// actual reason (bad setting, port taken, ...) is.
func waitReady(ctx context.Context, p *proc, timeout time.Duration, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	exited := p.exited()
	for {
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		err := probe(attemptCtx)
		cancelAttempt()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			err := fmt.Errorf("%s exited during startup (%v)", p.name, p.exitErr())
			if strings.Contains(p.logTail(), "Address already in use") {
				err = fmt.Errorf("%w: %w", err, errAddrInUse)
			}
			return fmt.Errorf("%w\n%s", err, p.logExcerpt())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready (%w; timeout %v); last probe error: %v\n%s",
				p.name, ctx.Err(), timeout, err, p.logExcerpt())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// runTool runs a one-shot program (initdb, pg_basebackup) to completion,
// logging to logPath, and kills it if ctx ends first.
func runTool(ctx context.Context, name, logPath string, c command) error {
	p := &proc{name: name, logPath: logPath}
	if err := p.start(c); err != nil {
		return err
	}
	select {
	case <-p.exited():
	case <-ctx.Done():
		_ = p.kill()
		return fmt.Errorf("%s: %w\n%s", name, ctx.Err(), p.logExcerpt())
	}
	if err := p.exitErr(); err != nil {
		return fmt.Errorf("%s failed: %w\n%s", name, err, p.logExcerpt())
	}
	return nil
}

// childEnv is our environment minus what would change the children's
// behaviour behind our back: PG* variables (PGOPTIONS, PGPORT, PGDATA, ...
// from a developer shell) and locale settings. LC_ALL=C keeps log messages
// in English, which waitReady relies on to detect a taken port.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") ||
			strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "LANGUAGE=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Linux sends the parent-death signal when the *thread* that forked the
// child exits, not the process (https://go.dev/issue/27505). The Go runtime
// retires a thread when a goroutine locked to it exits, so a child started
// from such a goroutine could be signalled while we are still running. All
// children are therefore forked from one dedicated thread that stays locked
// and alive for the life of the process.
var (
	spawnOnce sync.Once
	spawnReqs chan spawnReq
)

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan error
}

// spawn starts cmd from the dedicated spawner thread.
func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked, so the thread never exits
			for req := range spawnReqs {
				req.errc <- req.cmd.Start()
			}
		}()
	})
	req := spawnReq{cmd: cmd, errc: make(chan error, 1)}
	spawnReqs <- req
	return <-req.errc
}
