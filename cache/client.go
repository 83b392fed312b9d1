package cache

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The URL schemes of a Redis whose master Redis Sentinel names
// (docs/operations.md "Redis Sentinel"):
//
//	redis-sentinel://[user:password@]host:port[,host:port…]/master[/db][?sentinel_username=…&sentinel_password=…]
//	rediss-sentinel://…   the same over TLS
//
// The hosts are the sentinels; user and password are the master's (as in
// a redis:// URL); the sentinels' own credentials, if they need any, are
// the query parameters.
const (
	SentinelScheme    = "redis-sentinel"
	SentinelTLSScheme = "rediss-sentinel"
)

// CheckURL reports whether s is a Redis URL the cache can use: redis://,
// rediss://, redis-sentinel:// or rediss-sentinel://. Its errors never
// quote the password.
func CheckURL(s string) error {
	if isSentinelURL(s) {
		_, err := parseSentinelURL(s)
		return err
	}
	_, err := redis.ParseURL(s)
	return err
}

func isSentinelURL(s string) bool {
	return strings.HasPrefix(s, SentinelScheme+"://") || strings.HasPrefix(s, SentinelTLSScheme+"://")
}

// parseSentinelURL reads a redis-sentinel:// or rediss-sentinel:// URL.
func parseSentinelURL(s string) (*redis.FailoverOptions, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	o := &redis.FailoverOptions{}
	for _, hp := range strings.Split(u.Host, ",") {
		host, port, err := net.SplitHostPort(strings.TrimSpace(hp))
		if err != nil || host == "" {
			return nil, fmt.Errorf("sentinel address %q is not host:port", hp)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("sentinel address %q has a bad port", hp)
		}
		o.SentinelAddrs = append(o.SentinelAddrs, net.JoinHostPort(host, port))
	}
	parts := strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' })
	switch len(parts) {
	case 2:
		if o.DB, err = strconv.Atoi(parts[1]); err != nil || o.DB < 0 {
			return nil, fmt.Errorf("database %q is not a number", parts[1])
		}
		fallthrough
	case 1:
		o.MasterName = parts[0]
	default:
		return nil, errors.New("the path must name the master: /master or /master/db")
	}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "sentinel_username", "sentinel_password":
		default:
			return nil, fmt.Errorf("unknown parameter %q (only sentinel_username and sentinel_password)", k)
		}
	}
	o.SentinelUsername, o.SentinelPassword = q.Get("sentinel_username"), q.Get("sentinel_password")
	if u.Scheme == SentinelTLSScheme {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return o, nil
}

// newClient returns the client of the Redis at rawURL, one server or the
// master Sentinel names, with timeout as every timeout, no retries, and
// the caller's context deadlines in force (see New).
func newClient(rawURL string, timeout time.Duration) (*redis.Client, error) {
	if isSentinelURL(rawURL) {
		o, err := parseSentinelURL(rawURL)
		if err != nil {
			return nil, err
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = timeout, timeout, timeout, timeout
		o.MaxRetries = -1
		o.ContextTimeoutEnabled = true
		// Commands go to the master only: a replica may lag, and marks
		// and publishes must reach the server readers ask.
		return redis.NewFailoverClient(o), nil
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = timeout, timeout, timeout, timeout
	o.MaxRetries = -1
	o.ContextTimeoutEnabled = true
	return redis.NewClient(o), nil
}
