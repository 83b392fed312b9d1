package main

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/condcache/condcache/internal/redact"
)

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		fmt.Fprintf(os.Stderr, "ignoring %s=%q: not a duration\n", name, v)
	}
	return def
}

func envInt(name string, def int) int {
	if v, ok := os.LookupEnv(name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		fmt.Fprintf(os.Stderr, "ignoring %s=%q: not an integer\n", name, v)
	}
	return def
}

// nopayloaddbDSN builds a PostgreSQL URL from Nopayloaddb's variables
// POSTGRES_{DB,USER,PASSWORD,HOST,PORT}<suffix> (suffix "_W", "_R1", "_R2",
// or "" with DJANGO_DB_CONFIG=test_project), with the reference's defaults.
// ok is false when none of the variables is set, so callers can tell an
// explicit configuration from the defaults.
func nopayloaddbDSN(suffix string) (dsn string, ok bool) {
	if os.Getenv("DJANGO_DB_CONFIG") == "test_project" {
		suffix = ""
	}
	get := func(key, def string) string {
		v, set := os.LookupEnv("POSTGRES_" + key + suffix)
		if set {
			ok = true
			return v
		}
		return def
	}
	db := get("DB", "dbname")
	user := get("USER", "login")
	password := get("PASSWORD", "password")
	host := get("HOST", "localhost")
	port := get("PORT", "5432")
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     host + ":" + port,
		Path:     "/" + db,
		RawQuery: "sslmode=prefer",
	}
	return u.String(), ok
}

// primaryDSN is the writer database: CONDCACHE_PRIMARY_DSN, else
// Nopayloaddb's POSTGRES_*_W variables.
func primaryDSN() string {
	if v := os.Getenv("CONDCACHE_PRIMARY_DSN"); v != "" {
		return v
	}
	dsn, _ := nopayloaddbDSN("_W")
	return dsn
}

// replicaDSNs are the read replicas: CONDCACHE_REPLICA_DSNS (comma
// separated), else Nopayloaddb's POSTGRES_*_R1 and _R2 where any of their
// variables is set. Unlike the reference, an unset replica is not assumed to
// be localhost:5432 (docs/compatibility.md "Configuration names"): it is simply absent.
func replicaDSNs() string {
	if v, ok := os.LookupEnv("CONDCACHE_REPLICA_DSNS"); ok {
		return v
	}
	var dsns []string
	if os.Getenv("DJANGO_DB_CONFIG") == "test_project" {
		return ""
	}
	for _, s := range []string{"_R1", "_R2"} {
		if dsn, ok := nopayloaddbDSN(s); ok {
			dsns = append(dsns, dsn)
		}
	}
	return strings.Join(dsns, ",")
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// redactDSN hides the password of a PostgreSQL URL, or of a libpq
// key=value connection string, for logs.
func redactDSN(dsn string) string {
	if !strings.Contains(dsn, "://") {
		// url.Parse takes "host=db password=secret" for a path and
		// would keep the password.
		return redact.Credentials(dsn)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}

// cdbSettings captures the CDB_* environment at start-up for the settings
// endpoint (docs/compatibility.md "Settings"); the reader filters secrets out.
func cdbSettings() map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		if name, value, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, "CDB_") {
			out[name] = value
		}
	}
	return out
}
