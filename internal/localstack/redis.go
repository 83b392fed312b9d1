package localstack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Redis is the stack's Redis server. It persists nothing, so a restart
// after Stop or Kill comes back empty.
type Redis struct {
	Host string // always 127.0.0.1
	Port int

	cfg  *config
	bin  string
	proc proc
	ext  Controller // a server run elsewhere (NewExternalStack); nil = a local process
}

func newRedis(cfg *config, bin string) *Redis {
	return &Redis{
		Host: "127.0.0.1",
		cfg:  cfg,
		bin:  bin,
		proc: proc{name: "redis", logPath: cfg.logPath("redis")},
	}
}

// Addr returns host:port for Redis clients.
func (r *Redis) Addr() string { return net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) }

// Pid returns the server's process id (of the latest start), or 0.
func (r *Redis) Pid() int {
	if r.ext != nil {
		return 0
	}
	return r.proc.pid()
}

// Running reports whether the server process is alive.
func (r *Redis) Running() bool {
	if r.ext != nil {
		return r.ext.Running()
	}
	return r.proc.running()
}

// LogFile returns the path of the server's log.
func (r *Redis) LogFile() string {
	if r.ext != nil {
		return r.ext.LogFile()
	}
	return r.proc.logPath
}

// Start (re)starts the server on its port and waits until it answers PING.
func (r *Redis) Start(ctx context.Context) error {
	if r.ext != nil {
		return r.ext.Start(ctx)
	}
	err := r.proc.start(command{
		path: r.bin,
		args: []string{
			"--port", strconv.Itoa(r.Port),
			"--bind", r.Host,
			"--save", "", // no RDB snapshots...
			"--appendonly", "no", // ...and no AOF: nothing survives a restart
			"--dir", filepath.Join(r.cfg.dir, "redis"),
			"--daemonize", "no",
			"--logfile", "", // stdout, i.e. our log file
		},
		dir:     r.cfg.dir,
		stopSig: syscall.SIGTERM, // Redis shuts down cleanly on SIGTERM
	})
	if err != nil {
		return err
	}
	if err := waitReady(ctx, &r.proc, r.cfg.readyTimeout, r.ping); err != nil {
		_ = r.proc.kill()
		return err
	}
	r.cfg.log.printf("redis ready on %s (pid %d)", r.Addr(), r.Pid())
	return nil
}

// Stop shuts the server down (SIGTERM) and waits. Stopping a stopped server
// is a no-op.
func (r *Redis) Stop() error {
	if r.ext != nil {
		return r.ext.Stop()
	}
	return r.proc.stop(10 * time.Second)
}

// Kill SIGKILLs the server. Killing a stopped server is a no-op.
func (r *Redis) Kill() error {
	if r.ext != nil {
		return r.ext.Kill()
	}
	return r.proc.kill()
}

// ping checks that our server answers: it must reply to INFO with our pid.
// Checking the pid, not just any reply, keeps a foreign Redis already on a
// fixed port from passing for ours; ours then exits with "Address already in
// use", which waitReady reports. A raw exchange keeps the launcher free of a
// Redis client and shows replies like "-LOADING" as they are.
func (r *Redis) ping(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.Addr())
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if _, err := conn.Write([]byte("INFO server\r\n")); err != nil {
		return err
	}
	br := bufio.NewReader(conn)
	header, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	header = strings.TrimSpace(header)
	n, err := strconv.Atoi(strings.TrimPrefix(header, "$"))
	if !strings.HasPrefix(header, "$") || err != nil {
		return fmt.Errorf("INFO answered %q", header)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return err
	}
	want := "process_id:" + strconv.Itoa(r.Pid()) + "\r\n"
	if !strings.Contains(string(body), want) {
		return fmt.Errorf("%s is answered by another Redis server", r.Addr())
	}
	return nil
}
