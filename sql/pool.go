package sql

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ApplicationName is the application_name of condcache's sessions, so that
// DBAs can tell them apart from Django's in pg_stat_activity.
const ApplicationName = "condcache"

// defaultConnectTimeout bounds a connection attempt when the DSN does not
// set connect_timeout: without it a backend that drops packets would hold
// a read until the caller's deadline instead of letting it fail over.
const defaultConnectTimeout = 5 * time.Second

// Connect returns a pool of at most maxConns connections (≤ 0: pgx's
// default) to dsn. Sessions run in UTC, the time zone Nopayloaddb's data is
// written in (API.md §1.8). Settings given in the DSN win over these
// defaults.
//
// The pool connects lazily: a backend that is down when the process starts
// does not stop it; the reader's monitor finds it and routes around it.
func Connect(ctx context.Context, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sql: parse DSN: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cc := cfg.ConnConfig
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = defaultConnectTimeout
	}
	setDefault(cc.RuntimeParams, "application_name", ApplicationName)
	setDefault(cc.RuntimeParams, "timezone", "UTC")
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sql: connect: %w", err)
	}
	return p, nil
}

// setDefault sets run-time parameter name unless the DSN set it, in any
// case (PostgreSQL parameter names are case-insensitive).
func setDefault(params map[string]string, name, value string) {
	for k := range params {
		if strings.EqualFold(k, name) {
			return
		}
	}
	params[name] = value
}
