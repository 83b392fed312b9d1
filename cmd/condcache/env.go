package main

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/condcache/condcache/internal/config"
	"github.com/condcache/condcache/internal/redact"
)

// stdout and stderr are where commands print; tests replace them.
var (
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
)

// newLogger is the logger of a process: text lines on stderr, every one
// through the redaction (internal/redact), which also hides the given
// secret values (database and Redis passwords, the JWT secret) in any form
// a line may quote them. It becomes slog's default too, so that nothing
// logs around it.
func newLogger(secrets ...string) *slog.Logger {
	l := slog.New(redact.Handler(slog.NewTextHandler(stderr, nil), redact.Values(secrets...)))
	slog.SetDefault(l)
	processLogger = l
	return l
}

// processLogger is the last logger newLogger made: the command's, which
// knows its secrets; main logs a command's failure with it.
var processLogger *slog.Logger

// cdbSettings captures the CDB_* environment at start-up for the settings
// endpoint (docs/compatibility.md "Settings"); the reader filters secrets out.
func cdbSettings(e config.Env) map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		if name, _, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, "CDB_") {
			if v, ok := e(name); ok {
				out[name] = v
			}
		}
	}
	return out
}
