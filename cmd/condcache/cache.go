package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/condcache/condcache/cache"
	"github.com/condcache/condcache/internal/redact"
)

// open returns the cache, or nil when no Redis URL is set.
func (f *cacheSettings) open(reg prometheus.Registerer, logger *slog.Logger) (*cache.Cache, error) {
	if f.url == "" {
		return nil, nil
	}
	local := f.localMB << 20
	if local <= 0 {
		local = -1 // none
	}
	redis.SetLogger(redisLogger{logger})
	c, err := cache.New(cache.Options{URL: f.url, Timeout: f.timeout, TTL: f.ttl, LocalBytes: local, Lease: f.lease, Registerer: reg, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("cache %s: %s", redact.DSN(f.url), redact.Values(redisPassword(f.url))(err.Error()))
	}
	return c, nil
}

// newRegistry returns a Prometheus registry with the Go runtime and process
// collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// redisLogger routes go-redis's own messages (pool dial failures, …),
// which it writes to stderr by default, through the process's logger and
// so through the redaction.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(_ context.Context, format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...), "source", "go-redis")
}
