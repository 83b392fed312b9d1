// Package writer is the HTTP layer of the single writer process: it serves
// every write endpoint (POST, PUT, DELETE) of the Nopayloaddb-compatible API
// (docs/compatibility.md "Endpoints") on top of a condcache.WriteService, with the reference's
// authentication and permission checks (docs/compatibility.md "Authentication and permissions"). It decodes and
// validates request bodies, so the service only sees well-formed input, and
// renders answers in the reference's shapes. Reads are the readers' job: a
// GET on a read path is answered 405. It imports no storage package.
package writer

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/fasthttp/router"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/admission"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/auth"
)

// Production defaults, used for zero Config fields.
const (
	// DefaultHeaderTimeout bounds reading a request's line and headers: a
	// client that has not sent them by then is disconnected (slowloris).
	DefaultHeaderTimeout = api.DefaultHeaderTimeout
	// DefaultReadTimeout bounds reading a request's body once its headers
	// are in: a 64 MiB bulk load over a slow link needs a while.
	DefaultReadTimeout = api.DefaultBodyTimeout
	// DefaultWriteTimeout bounds writing one response.
	DefaultWriteTimeout = 60 * time.Second
	// DefaultIdleTimeout closes keep-alive connections idle this long.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultMaxRequestBodySize admits bulk loads (bulk_piov) of about half
	// a million IOVs; larger bodies are refused with 413 before they are
	// read. Every other body is tiny.
	DefaultMaxRequestBodySize = 64 << 20
	// DefaultReadBufferSize is the per-connection request header buffer;
	// JWTs exceed fasthttp's 4 KiB default.
	DefaultReadBufferSize = 16 << 10
	// DefaultRequestTimeout bounds one WriteService call (one transaction);
	// a call that exceeds it is rolled back and answered 503. Clones and
	// bulk loads of large GTs take a while. It is shorter than the readers'
	// proxy timeout (5 minutes) so that a proxied client gets this answer
	// rather than the proxy's.
	DefaultRequestTimeout = 4 * time.Minute
	// DefaultReadyTimeout bounds the readiness check.
	DefaultReadyTimeout = 2 * time.Second
)

// Config configures a writer Server. Zero fields take the defaults above.
type Config struct {
	// Addr is the listen address of ListenAndServe, e.g. "127.0.0.1:8001".
	Addr string
	// Auth is the authentication and permission configuration
	// (auth.ConfigFromEnv); the zero value is the reference's default: no
	// authentication, every write permitted.
	Auth auth.Config
	// IOVMode is CDB_IOV_MODE: the range check of new IOVs (docs/compatibility.md "Range validation").
	// Empty means continuous.
	IOVMode condcache.IOVMode
	// Logger receives the access log and internal errors; nil discards.
	Logger *slog.Logger
	// Notices, if set, serves the v2 notice writes (docs/design.md
	// "Notices"); without it they answer 404.
	Notices condcache.NoticeService
	// Repositories, if set, serves the v2 writes of payload repositories
	// and file records; without it they answer 404.
	Repositories condcache.RepositoryWriter
	// Metrics, if set, receives request metrics; Gatherer, if set, is
	// served on /metrics.
	Metrics  *api.HTTPMetrics
	Gatherer prometheus.Gatherer
	// Ready reports whether the writer can serve (e.g. the database
	// answers); /readyz is 503 while it returns an error. Nil: always ready.
	Ready func(ctx context.Context) error

	// HeaderTimeout bounds reading a request's line and headers; zero:
	// DefaultHeaderTimeout, or ReadTimeout when that is shorter.
	HeaderTimeout time.Duration
	// ReadTimeout bounds reading its body, once the headers are in.
	ReadTimeout        time.Duration
	WriteTimeout       time.Duration
	IdleTimeout        time.Duration
	MaxRequestBodySize int
	ReadBufferSize     int

	// RequestTimeout bounds each WriteService call.
	RequestTimeout time.Duration
	// ReadyTimeout bounds each call of Ready.
	ReadyTimeout time.Duration

	// Admission bounds the requests worked on at once, and optionally each
	// client's rate; the rest is shed (admission.Controller).
	Admission admission.Config
	// ShutdownDelay is how long Shutdown keeps accepting requests after
	// /readyz turned 503, so load balancers stop routing here before
	// connections are refused. Zero: none.
	ShutdownDelay time.Duration
}

func (c *Config) setDefaults() {
	api.SetDefault(&c.ReadTimeout, DefaultReadTimeout)
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = min(DefaultHeaderTimeout, c.ReadTimeout)
	}
	api.SetDefault(&c.WriteTimeout, DefaultWriteTimeout)
	api.SetDefault(&c.IdleTimeout, DefaultIdleTimeout)
	api.SetDefault(&c.MaxRequestBodySize, DefaultMaxRequestBodySize)
	api.SetDefault(&c.ReadBufferSize, DefaultReadBufferSize)
	api.SetDefault(&c.RequestTimeout, DefaultRequestTimeout)
	api.SetDefault(&c.ReadyTimeout, DefaultReadyTimeout)
	if c.IOVMode == "" {
		c.IOVMode = condcache.ModeContinuous
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server is the writer HTTP server. Create it with New.
type Server struct {
	svc    condcache.WriteService
	cfg    Config
	auth   *auth.Authorizer
	log    *slog.Logger
	router *router.Router
	http   *fasthttp.Server

	// base is the parent of every service call's context. It is cancelled
	// only when a graceful shutdown runs out of time, which rolls back the
	// transactions still running.
	base       context.Context
	cancelBase context.CancelFunc
	// stopping is closed when Shutdown starts; /readyz then answers 503 so
	// load balancers stop sending writes here.
	stopping chan struct{}
	stopOnce sync.Once
}

// New returns a writer serving svc, or an error for an invalid
// configuration (unknown IOV mode or permission plugin, empty secret).
func New(svc condcache.WriteService, cfg Config) (*Server, error) {
	cfg.setDefaults()
	if _, err := condcache.ParseIOVMode(string(cfg.IOVMode)); err != nil {
		return nil, err
	}
	log := cfg.Logger.With("component", "writer")
	authz, err := auth.New(cfg.Auth, log)
	if err != nil {
		return nil, err
	}
	s := &Server{
		svc:      svc,
		cfg:      cfg,
		auth:     authz,
		log:      log,
		stopping: make(chan struct{}),
	}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.router = s.newRouter()
	// Admission comes first: a shed request costs no authentication and no
	// access-log line (condcache_http_shed_total counts it).
	admitted := api.NewAdmission(cfg.Admission, cfg.Metrics).Wrap(s.Handler())
	s.http = api.NewServer(admitted, log, api.ServerLimits{HeaderTimeout: cfg.HeaderTimeout, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
		IdleTimeout: cfg.IdleTimeout, MaxRequestBodySize: cfg.MaxRequestBodySize, ReadBufferSize: cfg.ReadBufferSize})
	return s, nil
}

// ListenAndServe listens on Config.Addr and serves until Shutdown.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("writer: listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ln)
}

// Serve serves connections from ln until Shutdown. It returns nil after a
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.http.Serve(ln)
}

// Shutdown turns /readyz 503, keeps accepting for Config.ShutdownDelay,
// then stops accepting connections and waits for in-flight requests to
// finish or ctx to expire. If ctx expires first, the service calls still
// running are cancelled (their transactions roll back) and ctx's error is
// returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	err := api.Shutdown(ctx, s.http, s.cfg.ShutdownDelay)
	if err != nil {
		s.cancelBase()
	}
	return err
}
