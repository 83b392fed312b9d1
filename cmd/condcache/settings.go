package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/cache"
	"github.com/condcache/condcache/internal/admission"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/auth"
	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
)

// The rows shared by several commands' tables (docs/operations.md
// "Configuration"). Each command's table is in its own file.

// nopayloaddbDefaultDSN is the primary Nopayloaddb's defaults point at.
const nopayloaddbDefaultDSN = "postgres://login:password@localhost:5432/dbname?sslmode=prefer"

// env lists variable names.
func env(names ...string) []string { return names }

// dsnValue stores a PostgreSQL URL or keyword/value string that pgx
// accepts. Its errors never quote the DSN (the caller shows it redacted).
func dsnValue(p *string) config.Value {
	return config.Func("URL", func(s string) error {
		if err := checkDSN(s); err != nil {
			return err
		}
		*p = s
		return nil
	})
}

func checkDSN(s string) error {
	if _, err := pgconn.ParseConfig(s); err != nil {
		return fmt.Errorf("not a PostgreSQL connection string: %s", redact.Values(dsnPassword(s))(err.Error()))
	}
	return nil
}

// dsnPassword is the password a DSN holds, "" when none or unparsable.
func dsnPassword(dsn string) string {
	if cfg, err := pgconn.ParseConfig(dsn); err == nil {
		return cfg.Password
	}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		p, _ := u.User.Password()
		return p
	}
	return ""
}

// primaryRow is -primary: CONDCACHE_PRIMARY_DSN when not empty, else
// Nopayloaddb's POSTGRES_*_W (docs/operations.md "Database connections").
func primaryRow(p *string, help string) config.Setting {
	return config.Setting{
		Flag: "primary",
		Env: env("CONDCACHE_PRIMARY_DSN", "POSTGRES_DB_W", "POSTGRES_USER_W", "POSTGRES_PASSWORD_W", "POSTGRES_HOST_W", "POSTGRES_PORT_W",
			"DJANGO_DB_CONFIG", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_HOST", "POSTGRES_PORT"),
		EnvText: "CONDCACHE_PRIMARY_DSN, else POSTGRES_{DB,USER,PASSWORD,HOST,PORT}_W; with DJANGO_DB_CONFIG=test_project the unsuffixed POSTGRES_*",
		Default: nopayloaddbDefaultDSN,
		Help:    help,
		Secret:  true,
		Show:    redact.DSN,
		Value:   dsnValue(p),
		From: func(e config.Env) (string, string, bool, error) {
			if v, _ := e("CONDCACHE_PRIMARY_DSN"); v != "" {
				return v, "env CONDCACHE_PRIMARY_DSN", true, nil
			}
			return nopayloaddbDSN(e, "_W")
		},
	}
}

// nopayloaddbDSN builds a PostgreSQL URL from Nopayloaddb's variables
// POSTGRES_{DB,USER,PASSWORD,HOST,PORT}<suffix> (suffix "_W", "_R1", "_R2",
// or "" with DJANGO_DB_CONFIG=test_project), with the reference's defaults.
// ok is false when none of the variables is set, so callers can tell an
// explicit configuration from the defaults. A port that is not a port
// number or a host that cannot be one is an error naming the variable.
func nopayloaddbDSN(e config.Env, suffix string) (dsn, source string, ok bool, err error) {
	if v, _ := e("DJANGO_DB_CONFIG"); v == "test_project" {
		suffix = ""
	}
	var set []string
	get := func(key, def string) string {
		name := "POSTGRES_" + key + suffix
		if v, found := e(name); found {
			set = append(set, name)
			return v
		}
		return def
	}
	db := get("DB", "dbname")
	user := get("USER", "login")
	password := get("PASSWORD", "password")
	host := get("HOST", "localhost")
	port := get("PORT", "5432")
	if len(set) == 0 {
		return "", "", false, nil
	}
	if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
		return "", "", false, fmt.Errorf("POSTGRES_PORT%s=%q: not a port number (1 to 65535)", suffix, port)
	}
	if host == "" || strings.ContainsAny(host, " \t\n/?#@") {
		return "", "", false, fmt.Errorf("POSTGRES_HOST%s=%q: not a host name or address", suffix, host)
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]" // an IPv6 address
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     host + ":" + port,
		Path:     "/" + db,
		RawQuery: "sslmode=prefer",
	}
	return u.String(), "env " + strings.Join(set, ", "), true, nil
}

// replicasRow is the reader's -replicas: CONDCACHE_REPLICA_DSNS (comma
// separated; set but empty means none), else Nopayloaddb's POSTGRES_*_R1
// and _R2 where any of their variables is set. Unlike the reference, an
// unset replica is not assumed to be localhost:5432 (docs/compatibility.md
// "Configuration names"): it is simply absent.
func replicasRow(p *[]string) config.Setting {
	return config.Setting{
		Flag: "replicas",
		Env: env("CONDCACHE_REPLICA_DSNS",
			"POSTGRES_DB_R1", "POSTGRES_USER_R1", "POSTGRES_PASSWORD_R1", "POSTGRES_HOST_R1", "POSTGRES_PORT_R1",
			"POSTGRES_DB_R2", "POSTGRES_USER_R2", "POSTGRES_PASSWORD_R2", "POSTGRES_HOST_R2", "POSTGRES_PORT_R2"),
		EnvText:     "CONDCACHE_REPLICA_DSNS (comma-separated), else POSTGRES_*_R1, POSTGRES_*_R2 where any is set",
		DefaultText: "none: reads go to the primary",
		Help:        "comma-separated replica URLs",
		Secret:      true,
		Show:        redact.DSN,
		Value: config.Func("URLs", func(s string) error {
			dsns := splitList(s)
			for i, d := range dsns {
				if err := checkDSN(d); err != nil {
					return fmt.Errorf("replica %d: %w", i+1, err)
				}
			}
			*p = dsns
			return nil
		}),
		From: func(e config.Env) (string, string, bool, error) {
			if v, ok := e("CONDCACHE_REPLICA_DSNS"); ok {
				return v, "env CONDCACHE_REPLICA_DSNS", true, nil
			}
			if v, _ := e("DJANGO_DB_CONFIG"); v == "test_project" {
				return "", "", false, nil
			}
			var dsns, sources []string
			for _, s := range []string{"_R1", "_R2"} {
				dsn, src, ok, err := nopayloaddbDSN(e, s)
				if err != nil {
					return "", "", false, err
				}
				if ok {
					dsns, sources = append(dsns, dsn), append(sources, strings.TrimPrefix(src, "env "))
				}
			}
			if len(dsns) == 0 {
				return "", "", false, nil
			}
			return strings.Join(dsns, ","), "env " + strings.Join(sources, ", "), true, nil
		},
	}
}

// splitList splits a comma-separated value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// addrValue is a listen address host:port.
func addrValue(p *string) config.Value {
	return config.Func("host:port", func(s string) error {
		_, port, err := net.SplitHostPort(s)
		if err != nil {
			return errors.New("not a host:port address")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return errors.New("not a host:port address (bad port)")
		}
		*p = s
		return nil
	})
}

// portValue is a TCP port number.
func portValue(p *int) config.Value {
	return config.Func("port", func(s string) error {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 65535 {
			return errors.New("not a port number (1 to 65535)")
		}
		*p = n
		return nil
	})
}

// iovModeValue is CDB_IOV_MODE: continuous or discrete.
func iovModeValue(p *condcache.IOVMode) config.Value {
	return config.Func("continuous|discrete", func(s string) error {
		m, err := condcache.ParseIOVMode(s)
		if err != nil {
			return errors.New("not an IOV mode: continuous or discrete")
		}
		*p = m
		return nil
	})
}

func iovModeRow(p *condcache.IOVMode, help string) config.Setting {
	return config.Setting{Flag: "iov-mode", Env: env("CDB_IOV_MODE"), Default: "continuous", Help: help, Value: iovModeValue(p)}
}

// sizeValue is a size in bytes: a number, optionally with a unit KiB, MiB
// or GiB (also KB, MB, GB, k, M, G, as powers of 1024).
func sizeValue(p *int) config.Value {
	return config.Func("size", func(s string) error {
		n, err := parseSize(s)
		if err != nil {
			return err
		}
		*p = n
		return nil
	})
}

func parseSize(s string) (int, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30},
		{"k", 1 << 10}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, errors.New("not a size in bytes (e.g. 1048576, 512KiB, 64MiB)")
	}
	return int(n * mult), nil
}

// serveSettings are the load-shedding, connection and lifecycle
// settings both servers take (docs/operations.md "Serving").
type serveSettings struct {
	maxInFlight    int
	wait           time.Duration
	poolWait       time.Duration
	retryAfterMin  time.Duration
	retryAfterMax  time.Duration
	clientRate     float64
	clientBurst    int
	trustForwarded bool
	shutdownDelay  time.Duration
	drain          time.Duration
	headerTimeout  time.Duration
	bodyTimeout    time.Duration
	maxBody        int
}

// Defaults of serveSettings that differ from the packages' zero-value
// defaults, which suit tests.
const (
	// defaultPoolWait equals the reader's backend check timeout, so a
	// check on a saturated pool fails no sooner than it did without it.
	defaultPoolWait = time.Second
	// defaultShutdownDelay leaves load balancers polling /readyz every
	// second or so time to take this process out before it refuses
	// connections.
	defaultShutdownDelay = 2 * time.Second
)

func serveRows(s *serveSettings, role string) []config.Setting {
	inFlight := "CONDCACHE_" + strings.ToUpper(role) + "_MAX_IN_FLIGHT"
	return []config.Setting{
		{Flag: "max-in-flight", Env: env(inFlight), Default: "0", Value: config.Int(&s.maxInFlight),
			Help: "requests worked on at once; more wait up to -admission-wait, then are shed; 0 = 4 × the database connections, -1 = no cap"},
		{Flag: "admission-wait", Env: env("CONDCACHE_ADMISSION_WAIT"), Default: admission.DefaultWait.String(), Value: config.Duration(&s.wait),
			Help: "how long a request waits for an in-flight slot before it is shed"},
		{Flag: "pool-wait", Env: env("CONDCACHE_POOL_WAIT"), Default: defaultPoolWait.String(), Value: config.Duration(&s.poolWait),
			Help: "how long a request waits for a connection of a full database pool before it is shed; 0 = until its own timeout"},
		{Flag: "retry-after-min", Env: env("CONDCACHE_RETRY_AFTER_MIN"), Default: admission.DefaultRetryAfterMin.String(), Value: config.Duration(&s.retryAfterMin),
			Help: "shortest Retry-After of a shed request"},
		{Flag: "retry-after-max", Env: env("CONDCACHE_RETRY_AFTER_MAX"), Default: admission.DefaultRetryAfterMax.String(), Value: config.Duration(&s.retryAfterMax),
			Help: "longest Retry-After of a shed request; each gets a random whole number of seconds in between"},
		{Flag: "client-rate", Env: env("CONDCACHE_CLIENT_RATE"), Default: "0", Value: config.Float(&s.clientRate),
			Help: "requests per second allowed to each client (X-Condcache-Client header, else address); 0 = no limit"},
		{Flag: "client-burst", Env: env("CONDCACHE_CLIENT_BURST"), Default: "0", Value: config.Int(&s.clientBurst),
			Help: "burst allowed above -client-rate; 0 = the rate rounded up"},
		{Flag: "trust-forwarded", Env: env("CONDCACHE_TRUST_FORWARDED"), Default: "false", Value: config.Bool(&s.trustForwarded),
			Help: "attribute requests without a client header to the last X-Forwarded-For address (behind a proxy that sets it)"},
		{Flag: "shutdown-delay", Env: env("CONDCACHE_SHUTDOWN_DELAY"), Default: defaultShutdownDelay.String(), Value: config.Duration(&s.shutdownDelay),
			Help: "on SIGTERM, how long /readyz fails while requests are still accepted, before the listener closes"},
		{Flag: "drain", Env: env("CONDCACHE_DRAIN"), Default: "10s", Value: config.Duration(&s.drain),
			Help: "how long shutdown then waits for in-flight requests"},
		{Flag: "header-timeout", Env: env("CONDCACHE_HEADER_TIMEOUT"), Default: api.DefaultHeaderTimeout.String(), Value: positiveDuration(&s.headerTimeout),
			Help: "time a client has to send a request's line and headers (from the connection's opening, or from the first byte\nof a request on a kept-alive connection); slower clients are disconnected"},
		{Flag: "body-timeout", Env: env("CONDCACHE_BODY_TIMEOUT"), Default: api.DefaultBodyTimeout.String(), Value: positiveDuration(&s.bodyTimeout),
			Help: "time a client has to send a request's body once its headers are in (sized for bulk bodies)"},
		{Flag: "max-body", Env: env("CONDCACHE_MAX_BODY"), Default: "64MiB", Value: sizeValue(&s.maxBody),
			Help: "largest request body; a larger Content-Length is answered 413 as soon as the headers are in"},
	}
}

// positiveDuration is a duration greater than zero.
func positiveDuration(p *time.Duration) config.Value {
	return config.Func("duration", func(s string) error {
		var d time.Duration
		if err := config.Duration(&d).Set(s); err != nil {
			return err
		}
		if d <= 0 {
			return errors.New("must be greater than 0")
		}
		*p = d
		return nil
	})
}

// admission returns the admission settings of a server with conns
// database connections behind it.
func (s *serveSettings) admission(conns int) admission.Config {
	maxInFlight := s.maxInFlight
	if maxInFlight == 0 {
		maxInFlight = admission.MaxInFlightFor(conns)
	}
	return admission.Config{
		MaxInFlight:    maxInFlight,
		Wait:           s.wait,
		RetryAfterMin:  s.retryAfterMin,
		RetryAfterMax:  s.retryAfterMax,
		ClientRate:     s.clientRate,
		ClientBurst:    s.clientBurst,
		TrustForwarded: s.trustForwarded,
	}
}

// cacheSettings are the Redis settings both processes take
// (docs/operations.md "Cache").
type cacheSettings struct {
	url     string
	timeout time.Duration
	ttl     time.Duration
	localMB int64
	lease   time.Duration
}

func cacheRows(c *cacheSettings) []config.Setting {
	return []config.Setting{
		{Flag: "redis", Env: env("CONDCACHE_REDIS_URL"), DefaultText: "none: no cache", Secret: true, Show: redact.DSN,
			Help: "Redis URL of the result cache, e.g. redis://127.0.0.1:6379/0 or rediss://user:password@host:6380/0;\nwith Redis Sentinel redis-sentinel://[user:password@]sentinel1:26379,sentinel2:26379,sentinel3:26379/mymaster[/db]",
			Value: config.Func("URL", func(s string) error {
				if s != "" {
					if err := cache.CheckURL(s); err != nil {
						return fmt.Errorf("not a Redis URL (redis://, rediss://, redis-sentinel:// or rediss-sentinel://): %s", redact.Values(redisPassword(s))(err.Error()))
					}
				}
				c.url = s
				return nil
			})},
		{Flag: "redis-timeout", Env: env("CONDCACHE_REDIS_TIMEOUT"), Default: cache.DefaultTimeout.String(), Value: config.Duration(&c.timeout),
			Help: "bound on one Redis call of a lookup (the writer's calls get 10 × this, at least 1 s)"},
		{Flag: "cache-ttl", Env: env("CONDCACHE_CACHE_TTL"), Default: cache.DefaultTTL.String(), Value: config.Duration(&c.ttl),
			Help: "lifetime of cached answers, from the first fill of a generation"},
		{Flag: "cache-local-mb", Env: env("CONDCACHE_CACHE_LOCAL_MB"), Default: strconv.Itoa(cache.DefaultLocalBytes >> 20), Value: config.Int64(&c.localMB),
			Help: "reader memory for local copies of cached lookups; 0 = none"},
		{Flag: "cache-lease", Env: env("CONDCACHE_CACHE_LEASE"), Default: cache.DefaultLease.String(), Value: config.Duration(&c.lease),
			Help: "reader: the lease under which local copies are served without asking Redis, writers acknowledging a write only once\nevery lease dropped the GT's copies or ran out (0 = no lease: every use checked against Redis);\nwriter: the longest lease of its readers, so at most how long a write waits for a reader that stopped answering"},
	}
}

// redisPassword is the password of a Redis URL, "" when none.
func redisPassword(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		p, _ := u.User.Password()
		return p
	}
	return ""
}

func pprofRow(p *string) config.Setting {
	return config.Setting{Flag: "pprof", DefaultText: "off", Value: addrOrEmpty(p),
		Help: "serve Go's net/http/pprof on this separate address, e.g. 127.0.0.1:6060; bind it to loopback"}
}

// addrOrEmpty is a host:port address or "".
func addrOrEmpty(p *string) config.Value {
	return config.Func("host:port", func(s string) error {
		if s == "" {
			*p = ""
			return nil
		}
		return addrValue(p).Set(s)
	})
}

func maxConnsRow(p *int, role, help string) config.Setting {
	return config.Setting{Flag: "max-conns", Env: env("CONDCACHE_" + strings.ToUpper(role) + "_MAX_CONNS"), Default: "16", Help: help,
		Value: config.Func("int", func(s string) error {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 1 || n > 1<<20 {
				return errors.New("not a positive integer")
			}
			*p = n
			return nil
		})}
}

// authRows are the writer's authentication variables (docs/operations.md
// "Authentication"), environment only as in Nopayloaddb. Their
// combination is checked by auth.Load.
func authRows(a *auth.Settings) []config.Setting {
	return []config.Setting{
		{Env: env("CDB_AUTH_CLASS"), DefaultText: "none: no authentication",
			Help: "cdb_rest.authentication.CustomJWTAuthentication (or jwt): writes need Authorization: Bearer <JWT>",
			Value: config.Func("class", func(s string) error {
				if _, err := auth.ParseConfig(s, "x", ""); err != nil {
					return fmt.Errorf("not supported: use %q (no authentication), %q or %q", "", auth.ClassJWTShort, auth.ClassJWT)
				}
				a.AuthClass = s
				return nil
			})},
		{Env: env("JWT_SECRET"), Default: auth.DefaultSecret, DefaultText: "the reference's public default: set it", Secret: true,
			Help: "HS256 key (UTF-8 bytes)", Value: config.String(&a.Secret)},
		{Env: env("CDB_PERMISSION_PLUGIN_CLASS"), DefaultText: "dummy: allow all",
			Help: "cdb_rest.permissions_plugins.belle2.Belle2PermissionPlugin (or belle2), or the dummy class (or dummy)",
			Value: config.Func("class", func(s string) error {
				if _, err := auth.ParseConfig("", "x", s); err != nil {
					return fmt.Errorf("not supported: use %q, %q, %q or %q", auth.PluginDummy, auth.PluginDummyClass, auth.PluginBelle2, auth.PluginBelle2Class)
				}
				a.Plugin = s
				return nil
			})},
		{Env: env(auth.EnvPublicKeyFile), DefaultText: "none", Help: "PEM file with one public key verifying RS256 or ES256 tokens",
			Value: fileValue(&a.PublicKeyFile)},
		{Env: env(auth.EnvJWKSFile), DefaultText: "none", Help: "JSON Web Key Set file verifying RS256 or ES256 tokens",
			Value: fileValue(&a.JWKSFile)},
		{Env: env(auth.EnvAllowHS256), DefaultText: "HS256 on without key files, off with them",
			Help: "true keeps HS256 tokens (signed with JWT_SECRET) beside the public keys",
			Value: config.Func("bool", func(s string) error {
				if s != "" {
					if _, err := strconv.ParseBool(strings.TrimSpace(s)); err != nil {
						return errors.New("not a boolean (true or false)")
					}
				}
				a.AllowHS256 = s
				return nil
			})},
	}
}

// fileValue is the path of a readable file, or "".
func fileValue(p *string) config.Value {
	return config.Func("file", func(s string) error {
		if s != "" {
			f, err := os.Open(s)
			if err != nil {
				return errors.New("cannot be read: " + errors.Unwrap(err).Error())
			}
			f.Close()
		}
		*p = s
		return nil
	})
}

// writerURLRow is the reader's -writer.
func writerURLRow(p *string) config.Setting {
	return config.Setting{Flag: "writer", Env: env("CONDCACHE_WRITER_URL"), Default: "http://127.0.0.1:8001", Show: redact.Credentials,
		Help: "writer base URL that write requests are proxied to (http or https); empty: writes get 503",
		Value: config.Func("URL", func(s string) error {
			if s != "" {
				u, err := url.Parse(s)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return errors.New("not an http(s) URL")
				}
			}
			*p = s
			return nil
		})}
}
