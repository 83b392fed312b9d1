// Package reader is the HTTP layer of the stateless read servers: it answers
// every GET endpoint of the Nopayloaddb-compatible API (docs/compatibility.md "Endpoints") from a
// condcache.ReadService, and proxies every write method to the writer so a
// client configured with one base URL works (docs/design.md "Processes"). It holds no
// state beyond its configuration and imports no storage package; any number
// of readers can run side by side.
package reader

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/router"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/admission"
	"github.com/condcache/condcache/internal/api"
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
	// DefaultIdleTimeout closes keep-alive connections idle this long. Batch
	// jobs reuse connections, so it is generous.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultMaxRequestBodySize admits the bulk loads proxied to the writer;
	// GETs carry no body.
	DefaultMaxRequestBodySize = 64 << 20
	// DefaultRequestTimeout bounds one ReadService call; a call that
	// exceeds it is answered 503.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultWriterTimeout bounds one proxied write. Clones and bulk loads
	// of large GTs take a while.
	DefaultWriterTimeout = 5 * time.Minute
	// DefaultReadyTimeout bounds the readiness check.
	DefaultReadyTimeout = 2 * time.Second
	// DefaultTimeoutEndpointWait is how long GET timeout waits (docs/compatibility.md "Timeout").
	DefaultTimeoutEndpointWait = 1800 * time.Second
	// DefaultMaxTimeoutWaiters caps concurrent GET timeout calls: each one
	// holds a connection for up to half an hour (docs/compatibility.md "Timeout").
	DefaultMaxTimeoutWaiters = 1024
	// DefaultReadBufferSize is the per-connection request header buffer;
	// JWTs and proxy headers exceed fasthttp's 4 KiB default.
	DefaultReadBufferSize = 16 << 10
)

// Config configures a reader Server. Zero fields take the defaults above.
type Config struct {
	// Addr is the listen address of ListenAndServe, e.g. "127.0.0.1:8000".
	Addr string
	// WriterURL is the base URL of the writer that write requests are
	// proxied to, e.g. "http://127.0.0.1:8001". Empty: writes get 503.
	WriterURL string
	// IOVMode is the effective CDB_IOV_MODE, reported by the settings
	// endpoint even when the variable is unset (docs/compatibility.md "Settings").
	IOVMode condcache.IOVMode
	// Settings is the CDB_* environment captured at start-up, served by
	// the settings endpoint minus anything that looks secret.
	Settings map[string]string
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
	// Cache, if set, answers lookups and stores them (docs/design.md "Freshness contract"). Without it every lookup reads the latest state.
	Cache condcache.LookupCache
	// Responses, if set, caches the answers of the other GET endpoints.
	Responses condcache.ResponseCache
	// Checker and Audit, if set, serve the v2 consistency check and audit
	// trail (GET /api/v2/check, /api/v2/audit); without them those
	// endpoints answer 404.
	Checker condcache.Checker
	Audit   condcache.AuditReader
	// Ranges, if set, serves the v2 range, digest and diff reads.
	Ranges condcache.RangeReader
	// Usage, if set, counts reads per GT and client (docs/design.md
	// "Access accounting"); UsageReader, if set, serves GET
	// /api/v2/usage and /api/v2/usage/unused.
	Usage       UsageCounter
	UsageReader condcache.UsageReader
	// Notices, if set, serves the v2 notice reads and the notices of v2
	// answers served from the cache (docs/design.md "Notices").
	Notices condcache.NoticeReader
	// Exports, if set, serves GET /api/v2/gt/{name}/export (docs/design.md
	// "Export and offline serving"); ExportMeta says who writes the files
	// (its IOVMode is IOVMode), ExportDir where they are built ("" = the
	// system's temporary directory).
	Exports    condcache.Exporter
	ExportMeta condcache.ExportMeta
	ExportDir  string
	// ReadOnly answers every write with 405 instead of proxying it: an
	// offline reader serving an export file has no writer.
	ReadOnly bool
	// Repositories, if set, serves the v2 reads of payload repositories
	// and file records, and site= on lookups and ranges; without it those
	// answer 404.
	Repositories condcache.RepositoryReader
	// UI, if set, serves the web UI under /ui/ (package ui, docs/design.md
	// "Web UI"); without it /ui/ answers 404. /ui redirects to /ui/, and
	// so does the reference's web app address, /api/cdb_rest/web/.
	UI fasthttp.RequestHandler
	// Metrics, if set, receives request metrics; Gatherer, if set, is
	// served on /metrics.
	Metrics  *api.HTTPMetrics
	Gatherer prometheus.Gatherer
	// LookupSources, if set, counts lookups by where the answer came from
	// (redis, replica, primary).
	LookupSources *prometheus.CounterVec

	// HeaderTimeout bounds reading a request's line and headers; zero:
	// DefaultHeaderTimeout, or ReadTimeout when that is shorter.
	HeaderTimeout time.Duration
	// ReadTimeout bounds reading its body, once the headers are in.
	ReadTimeout        time.Duration
	WriteTimeout       time.Duration
	IdleTimeout        time.Duration
	MaxRequestBodySize int
	ReadBufferSize     int

	// RequestTimeout bounds each ReadService call.
	RequestTimeout time.Duration
	// WriterTimeout bounds each proxied write.
	WriterTimeout time.Duration
	// ReadyTimeout bounds the readiness check of /readyz.
	ReadyTimeout time.Duration
	// TimeoutEndpointWait is how long GET timeout waits before answering.
	TimeoutEndpointWait time.Duration
	// MaxTimeoutWaiters caps concurrent GET timeout calls; beyond it they
	// are answered 503 at once.
	MaxTimeoutWaiters int

	// Admission bounds the reads worked on at once, and optionally each
	// client's rate; the rest is shed (admission.Controller). Proxied writes are
	// left to the writer's own admission, and GET timeout to
	// MaxTimeoutWaiters: neither uses this reader's database pools.
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
	api.SetDefault(&c.WriterTimeout, DefaultWriterTimeout)
	api.SetDefault(&c.ReadyTimeout, DefaultReadyTimeout)
	api.SetDefault(&c.TimeoutEndpointWait, DefaultTimeoutEndpointWait)
	api.SetDefault(&c.MaxTimeoutWaiters, DefaultMaxTimeoutWaiters)
	if c.IOVMode == "" {
		c.IOVMode = condcache.ModeContinuous
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server is a reader HTTP server. Create it with New.
type Server struct {
	svc      condcache.ReadService
	cfg      Config
	log      *slog.Logger
	router   *router.Router
	admitted fasthttp.RequestHandler // router behind admission control
	proxy    *writerProxy
	settings map[string]string // visible settings, secrets removed
	http     *fasthttp.Server

	// base is the parent of every service call's context. It is cancelled
	// only when a graceful shutdown runs out of time, to abort what is left.
	base       context.Context
	cancelBase context.CancelFunc
	// stopping is closed when Shutdown starts: long waits (GET timeout)
	// end, and /readyz turns 503 so load balancers drain this reader.
	stopping chan struct{}
	stopOnce sync.Once

	timeoutWaiters atomic.Int64 // GET timeout calls in progress
	notices        noticeMemo   // candidate notices per GT and generation
	misses         missRounds   // rounds of a burst's misses (burst.go)
	latest         latestRounds // rounds of misses that must read the latest state (burst_latest.go)

	// Resolved once for the lookup's hot path (lookup.go).
	leased  condcache.LeasedLookups       // nil: the cache has no leases
	sources map[string]prometheus.Counter // LookupSources' children by source
}

// New returns a reader serving svc. It panics if the route table has a GET
// route without a handler: that is a programming error caught by the tests.
func New(svc condcache.ReadService, cfg Config) *Server {
	cfg.setDefaults()
	s := &Server{
		svc:      svc,
		cfg:      cfg,
		log:      cfg.Logger.With("component", "reader"),
		settings: visibleSettings(cfg.Settings, cfg.IOVMode),
		stopping: make(chan struct{}),
	}
	s.leased, _ = cfg.Cache.(condcache.LeasedLookups)
	if cfg.LookupSources != nil {
		s.sources = map[string]prometheus.Counter{}
		for _, source := range lookupSources {
			s.sources[source] = cfg.LookupSources.WithLabelValues(source)
		}
	}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	proxy, err := newWriterProxy(cfg.WriterURL, cfg.WriterTimeout, cfg.MaxRequestBodySize)
	if err != nil {
		// Reads keep working; writes are answered 503 with this reason.
		s.log.Error("writer proxy disabled", "err", err)
	}
	s.proxy = proxy
	s.router = s.newRouter()
	s.admitted = api.NewAdmission(cfg.Admission, cfg.Metrics, api.Prefix+"timeout").Wrap(s.router.Handler)
	s.http = api.NewServer(s.Handler(), s.log, api.ServerLimits{HeaderTimeout: cfg.HeaderTimeout, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
		IdleTimeout: cfg.IdleTimeout, MaxRequestBodySize: cfg.MaxRequestBodySize, ReadBufferSize: cfg.ReadBufferSize})
	return s
}

// Handler returns the request handler: writes under either API prefix go to the
// writer, everything else through admission control to the router. Panics
// in handlers are answered 500 JSON instead of taking the process down
// (fasthttp does not recover them).
func (s *Server) Handler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		defer api.RecoverPanic(ctx, s.log)
		if api.IsWrite(ctx.Method()) && api.IsAPIPath(ctx.Request.URI().PathOriginal()) {
			if s.cfg.ReadOnly {
				readOnly(ctx)
				return
			}
			s.proxyWrite(ctx)
			return
		}
		s.admitted(ctx)
	}
}

// ListenAndServe listens on Config.Addr and serves until Shutdown.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("reader: listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ln)
}

// Serve serves connections from ln until Shutdown. It returns nil after a
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.http.Serve(ln)
}

// Shutdown turns /readyz 503 and ends long waits, keeps accepting for
// Config.ShutdownDelay, then stops accepting connections and waits for
// in-flight requests to finish or ctx to expire. If ctx expires first, the
// service calls still running are cancelled and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	err := api.Shutdown(ctx, s.http, s.cfg.ShutdownDelay)
	if err != nil {
		s.cancelBase()
	}
	if s.proxy != nil {
		s.proxy.client.CloseIdleConnections()
	}
	return err
}

// serviceContext returns the context of one ReadService call.
func (s *Server) serviceContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.base, s.cfg.RequestTimeout)
}
