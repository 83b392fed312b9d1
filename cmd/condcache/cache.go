package main

import (
	"flag"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/condcache/condcache/cache"
)

// cacheFlags are the Redis settings both processes take.
type cacheFlags struct {
	url     *string
	timeout *time.Duration
	ttl     *time.Duration
	localMB *int64
}

func addCacheFlags(fs *flag.FlagSet) cacheFlags {
	return cacheFlags{
		url:     fs.String("redis", envOr("CONDCACHE_REDIS_URL", ""), `Redis URL of the result cache, e.g. redis://127.0.0.1:6379/0; "" = no cache (env CONDCACHE_REDIS_URL)`),
		timeout: fs.Duration("redis-timeout", envDuration("CONDCACHE_REDIS_TIMEOUT", cache.DefaultTimeout), "bound on one Redis call of a lookup (env CONDCACHE_REDIS_TIMEOUT)"),
		ttl:     fs.Duration("cache-ttl", envDuration("CONDCACHE_CACHE_TTL", cache.DefaultTTL), "lifetime of cached answers (env CONDCACHE_CACHE_TTL)"),
		localMB: fs.Int64("cache-local-mb", int64(envInt("CONDCACHE_CACHE_LOCAL_MB", cache.DefaultLocalBytes>>20)),
			"reader memory for local copies of cached lookups, checked against Redis on every use; 0 = none (env CONDCACHE_CACHE_LOCAL_MB)"),
	}
}

// open returns the cache, or nil when no Redis URL is set.
func (f cacheFlags) open(reg prometheus.Registerer, logger *slog.Logger) (*cache.Cache, error) {
	if *f.url == "" {
		return nil, nil
	}
	local := *f.localMB << 20
	if local <= 0 {
		local = -1 // none
	}
	return cache.New(cache.Options{URL: *f.url, Timeout: *f.timeout, TTL: *f.ttl, LocalBytes: local, Registerer: reg, Logger: logger})
}

// newRegistry returns a Prometheus registry with the Go runtime and process
// collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
