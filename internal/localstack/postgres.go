package localstack

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// superuser is the role initdb creates; auth is trust on loopback.
const superuser = "condcache"

// shutdownTimeout bounds a clean (fast) PostgreSQL shutdown before Stop
// resorts to SIGKILL.
const shutdownTimeout = 60 * time.Second

// Postgres is one PostgreSQL server of a stack, the primary or a replica.
type Postgres struct {
	Name    string // "primary", "replica1", ...
	Host    string // always 127.0.0.1
	Port    int
	User    string // superuser; no password (trust on loopback)
	DataDir string

	cfg     *config
	primary *Postgres // upstream of a replica; nil on the primary
	proc    proc
	ext     Controller // a server run elsewhere (NewExternalStack); nil = a local process
}

func newPostgres(cfg *config, name string, primary *Postgres) *Postgres {
	return &Postgres{
		Name:    name,
		Host:    "127.0.0.1",
		User:    superuser,
		DataDir: filepath.Join(cfg.dir, name),
		cfg:     cfg,
		primary: primary,
		proc:    proc{name: name, logPath: cfg.logPath(name)},
	}
}

// IsReplica reports whether p is a streaming replica.
func (p *Postgres) IsReplica() bool { return p.primary != nil }

// DSN returns a libpq/pgx URL for database on p.
func (p *Postgres) DSN(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(p.User),
		Host:     fmt.Sprintf("%s:%d", p.Host, p.Port),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Connect opens a single connection to database on p.
func (p *Postgres) Connect(ctx context.Context, database string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, p.DSN(database))
}

// Pid returns the postmaster's process id (of the latest start), or 0.
func (p *Postgres) Pid() int {
	if p.ext != nil {
		return 0
	}
	return p.proc.pid()
}

// Running reports whether the server process is alive.
func (p *Postgres) Running() bool {
	if p.ext != nil {
		return p.ext.Running()
	}
	return p.proc.running()
}

// LogFile returns the path of the server's log.
func (p *Postgres) LogFile() string {
	if p.ext != nil {
		return p.ext.LogFile()
	}
	return p.proc.logPath
}

// Start (re)starts the server on its port and data directory and waits
// until it accepts connections. A replica restarted after Stop or Kill
// resumes streaming from the primary; use Stack.WaitReplicated to wait
// until it has caught up.
func (p *Postgres) Start(ctx context.Context) error {
	if p.ext != nil {
		return p.ext.Start(ctx)
	}
	err := p.proc.start(command{
		path:    filepath.Join(p.cfg.pgBin, "postgres"),
		args:    p.serverArgs(),
		dir:     p.cfg.dir,
		cred:    p.cfg.runAs.credential(),
		stopSig: syscall.SIGINT, // see Stop
	})
	if err != nil {
		return err
	}
	err = waitReady(ctx, &p.proc, p.cfg.readyTimeout, func(ctx context.Context) error {
		conn, err := p.Connect(ctx, "postgres")
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		// Make sure it is our server and not another one already on a
		// fixed port; ours then exits with "Address already in use".
		var dataDir string
		if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dataDir); err != nil {
			return err
		}
		if dataDir != p.DataDir {
			return fmt.Errorf("port %d is answered by another server (data directory %s)", p.Port, dataDir)
		}
		return nil
	})
	if err != nil {
		_ = p.proc.kill() // don't leave a half-started server behind
		return err
	}
	p.cfg.log.printf("%s ready on %s:%d (pid %d)", p.Name, p.Host, p.Port, p.Pid())
	return nil
}

// Stop shuts the server down cleanly and waits. It uses PostgreSQL's fast
// shutdown (SIGINT), which disconnects clients; the default SIGTERM "smart"
// shutdown would wait forever for a connected application. The same signal
// is the parent-death signal. Stopping a stopped server is a no-op.
func (p *Postgres) Stop() error {
	if p.ext != nil {
		return p.ext.Stop()
	}
	return p.proc.stop(shutdownTimeout)
}

// Kill crashes the server: the postmaster and all its backends get SIGKILL.
// The next Start runs crash recovery. Killing a stopped server is a no-op.
func (p *Postgres) Kill() error {
	if p.ext != nil {
		return p.ext.Kill()
	}
	return p.proc.kill()
}

// Pause freezes the server and all its processes (SIGSTOP): connections
// stay open but nothing answers, like a server whose disk or network
// stalled. Resume ends it.
func (p *Postgres) Pause() error {
	if p.ext != nil {
		return p.ext.Pause()
	}
	return p.proc.signalTree(syscall.SIGSTOP)
}

// Resume undoes Pause (SIGCONT).
func (p *Postgres) Resume() error {
	if p.ext != nil {
		return p.ext.Resume()
	}
	return p.proc.signalTree(syscall.SIGCONT)
}

// serverArgs returns the postgres command line. All settings are passed as
// -c options, which override the configuration files, so a data directory
// reused from an earlier run, or cloned from the primary, always gets this
// run's ports and settings.
func (p *Postgres) serverArgs() []string {
	args := []string{"-D", p.DataDir}
	set := func(name, value string) { args = append(args, "-c", name+"="+value) }
	set("listen_addresses", p.Host)
	set("port", strconv.Itoa(p.Port))
	set("unix_socket_directories", "") // TCP only: no clash on /var/run/postgresql
	set("timezone", "UTC")
	set("log_timezone", "UTC")
	set("wal_level", "replica")
	set("max_wal_senders", strconv.Itoa(10+p.cfg.replicas))
	// Lets a replica that was stopped or killed catch up by streaming
	// without replication slots, which would pin WAL forever if a replica
	// never came back.
	set("wal_keep_size", "256MB")
	set("hot_standby", "on")
	set("hot_standby_feedback", "on")
	if p.cfg.fast {
		// Durability against OS crashes is worthless for throwaway test
		// data. synchronous_commit stays on: with fsync off it costs next to
		// nothing, and turning it off would let pg_current_wal_lsn() lag
		// behind commits, which breaks WaitReplicated and any LSN-based
		// read-your-writes logic.
		set("fsync", "off")
		set("full_page_writes", "off")
	}
	if p.primary != nil {
		set("primary_conninfo", fmt.Sprintf("host=%s port=%d user=%s application_name=%s",
			p.primary.Host, p.primary.Port, p.primary.User, p.Name))
		// Reconnect quickly after the primary restarts (default 5s).
		set("wal_retrieve_retry_interval", "200ms")
		if d := p.cfg.applyDelay; d > 0 {
			set("recovery_min_apply_delay", fmt.Sprintf("%dms", d.Milliseconds()))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.cfg.settings)) {
		set(name, p.cfg.settings[name])
	}
	return args
}

// initPrimary creates the primary's data directory with initdb, unless one
// exists from an earlier run.
func (p *Postgres) initPrimary(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(p.DataDir, "PG_VERSION")); err == nil {
		p.cfg.log.printf("reusing %s", p.DataDir)
		return nil
	}
	if err := p.cfg.runAs.mkdirOwned(p.DataDir); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	args := []string{
		"-D", p.DataDir, "-U", p.User, "--auth=trust", "-E", "UTF8", "--locale=C",
		"--no-instructions",
	}
	if p.cfg.fast {
		args = append(args, "--no-sync")
	}
	err := runTool(ctx, p.Name+" initdb", p.cfg.logPath(p.Name+"-initdb"), command{
		path:    filepath.Join(p.cfg.pgBin, "initdb"),
		args:    args,
		dir:     p.cfg.dir,
		cred:    p.cfg.runAs.credential(),
		stopSig: syscall.SIGTERM,
	})
	if err != nil {
		return err
	}
	// Replace initdb's pg_hba.conf so access rules do not depend on the
	// PostgreSQL version or packaging.
	const hba = "# Written by condcache internal/localstack: local development and tests only.\n" +
		"host all         all 127.0.0.1/32 trust\n" +
		"host replication all 127.0.0.1/32 trust\n"
	hbaPath := filepath.Join(p.DataDir, "pg_hba.conf")
	if err := os.WriteFile(hbaPath, []byte(hba), 0o600); err != nil {
		return err
	}
	return p.cfg.runAs.chown(hbaPath)
}

// cloneReplica makes p's data directory a fresh base backup of the primary.
// Replicas are always re-cloned: a data directory from an earlier run may
// belong to a different primary or be ahead of it.
func (p *Postgres) cloneReplica(ctx context.Context) error {
	if err := os.RemoveAll(p.DataDir); err != nil {
		return err
	}
	if err := p.cfg.runAs.mkdirOwned(p.DataDir); err != nil {
		return fmt.Errorf("pg_basebackup: %w", err)
	}
	args := []string{
		"-h", p.primary.Host, "-p", strconv.Itoa(p.primary.Port), "-U", p.primary.User,
		"-D", p.DataDir,
		"-R",           // write standby.signal (+ primary_conninfo, overridden by serverArgs)
		"-X", "stream", // include the WAL needed to become consistent
		"--checkpoint=fast", // don't wait for a spread checkpoint on the primary
		"--no-password",
	}
	if p.cfg.fast {
		args = append(args, "--no-sync")
	}
	return runTool(ctx, p.Name+" pg_basebackup", p.cfg.logPath(p.Name+"-basebackup"), command{
		path:    filepath.Join(p.cfg.pgBin, "pg_basebackup"),
		args:    args,
		dir:     p.cfg.dir,
		cred:    p.cfg.runAs.credential(),
		stopSig: syscall.SIGTERM,
	})
}
