package localstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ServerOptions configures the condcache processes StartServers runs.
type ServerOptions struct {
	Binary     string   // the condcache executable
	Database   string   // database on the primary (and so on the replicas)
	WriterAddr string   // "" = a free loopback port
	ReaderAddr string   // "" = a free loopback port
	Env        []string // extra environment, e.g. "CDB_IOV_MODE=discrete"
	ReaderArgs []string // extra reader flags, e.g. "-redis-timeout", "20ms"
	// ReaderNoCache runs the reader without Redis, and ReaderPrimaryOnly
	// without the replicas: readers that answer every lookup from a
	// replica or from the primary, to compare against the cache.
	ReaderNoCache, ReaderPrimaryOnly bool
	LogDir                           string // "" = the stack's log directory
	// Password goes into the database URLs the servers are given. The
	// stack's servers trust loopback logins and ignore it: it is there
	// for tests that check it never shows in logs or answers.
	Password string
}

// Servers are the condcache writer and reader of a stack, as child
// processes: `condcache run` and the end-to-end tests start them the same way.
type Servers struct {
	Writer, Reader       *Server
	WriterURL, ReaderURL string // http://host:port
}

// Server is one condcache process (writer or reader).
type Server struct {
	Name string
	Addr string

	proc  proc
	cmd   command
	ready time.Duration
}

// StartServers starts a writer on the primary (which applies the migrations)
// and then a reader on the replicas with the primary as fallback, and waits
// until both answer /readyz.
func (s *Stack) StartServers(ctx context.Context, o ServerOptions) (*Servers, error) {
	if o.Binary == "" || o.Database == "" {
		return nil, errors.New("StartServers: Binary and Database are required")
	}
	logDir := o.LogDir
	if logDir == "" {
		logDir = filepath.Join(s.cfg.dir, "log")
	}
	writerAddr, err := addrOrFree(o.WriterAddr)
	if err != nil {
		return nil, err
	}
	readerAddr, err := addrOrFree(o.ReaderAddr)
	if err != nil {
		return nil, err
	}
	dsn := func(p *Postgres) string {
		if o.Password == "" {
			return p.DSN(o.Database)
		}
		u, _ := url.Parse(p.DSN(o.Database)) // DSN builds a valid URL
		u.User = url.UserPassword(p.User, o.Password)
		return u.String()
	}
	var replicas string
	for i, r := range s.Replicas {
		if i > 0 {
			replicas += ","
		}
		replicas += dsn(r)
	}
	if o.ReaderPrimaryOnly {
		replicas = ""
	}
	sv := &Servers{WriterURL: "http://" + writerAddr, ReaderURL: "http://" + readerAddr}
	var cacheArgs []string
	if s.Redis != nil {
		cacheArgs = []string{"-redis", "redis://" + s.Redis.Addr() + "/0"}
	}
	readerArgs := []string{"reader", "-addr", readerAddr, "-primary", dsn(s.Primary),
		"-replicas", replicas, "-writer", sv.WriterURL}
	if !o.ReaderNoCache {
		readerArgs = append(readerArgs, cacheArgs...)
	}
	sv.Writer = s.newServer("writer", writerAddr, logDir, o, append([]string{
		"writer", "-addr", writerAddr, "-primary", dsn(s.Primary)}, cacheArgs...))
	sv.Reader = s.newServer("reader", readerAddr, logDir, o, append(readerArgs, o.ReaderArgs...))
	if err := sv.Writer.Start(ctx); err != nil {
		return nil, err
	}
	if err := sv.Reader.Start(ctx); err != nil {
		_ = sv.Writer.Stop()
		return nil, err
	}
	return sv, nil
}

func (s *Stack) newServer(name, addr, logDir string, o ServerOptions, args []string) *Server {
	return &Server{
		Name:  name,
		Addr:  addr,
		proc:  proc{name: name, logPath: filepath.Join(logDir, name+".log")},
		cmd:   command{path: o.Binary, args: args, dir: s.cfg.dir, stopSig: syscall.SIGTERM, env: o.Env},
		ready: s.cfg.readyTimeout,
	}
}

// Start (re)starts the process and waits until it answers /readyz.
func (sv *Server) Start(ctx context.Context) error {
	if err := sv.proc.start(sv.cmd); err != nil {
		return err
	}
	url := "http://" + sv.Addr + "/readyz"
	probe := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
		}
		return nil
	}
	if err := waitReady(ctx, &sv.proc, sv.ready, probe); err != nil {
		_ = sv.proc.kill()
		return err
	}
	return nil
}

// Stop sends SIGTERM (graceful drain) and waits.
func (sv *Server) Stop() error { return sv.proc.stop(20 * time.Second) }

// Kill SIGKILLs the process.
func (sv *Server) Kill() error { return sv.proc.kill() }

// Pid is the process id, 0 before the first start.
func (sv *Server) Pid() int { return sv.proc.pid() }

// LogFile is the path of the process log.
func (sv *Server) LogFile() string { return sv.proc.logPath }

// Stop stops the reader, then the writer.
func (s *Servers) Stop() error {
	return errors.Join(s.Reader.Stop(), s.Writer.Stop())
}

func addrOrFree(addr string) (string, error) {
	if addr != "" {
		return addr, nil
	}
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// Pause freezes the process (SIGSTOP): it holds its connections and
// answers nothing, like a reader stuck in a long GC pause or on a frozen
// virtual machine.
func (sv *Server) Pause() error { return sv.proc.signalTree(syscall.SIGSTOP) }

// Resume undoes Pause (SIGCONT).
func (sv *Server) Resume() error { return sv.proc.signalTree(syscall.SIGCONT) }
