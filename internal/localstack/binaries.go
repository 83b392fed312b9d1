package localstack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNotInstalled is wrapped by every error caused by a missing PostgreSQL or
// Redis binary, so test mains can tell "cannot run here" (skip locally, fail
// in CI) from a real failure.
var ErrNotInstalled = errors.New("required binary not installed")

// pgTools are the PostgreSQL programs the stack runs.
var pgTools = []string{"postgres", "initdb", "pg_basebackup"}

// FindPGBin returns the directory holding the PostgreSQL server binaries:
// $PG_BIN_DIR if set, else `pg_config --bindir`, else the newest
// /usr/lib/postgresql/*/bin (Debian keeps the server binaries off PATH).
func FindPGBin() (string, error) {
	if dir := os.Getenv("PG_BIN_DIR"); dir != "" {
		// An explicit setting that is wrong must fail loudly rather than
		// silently fall back to some other PostgreSQL version.
		if err := checkPGBin(dir); err != nil {
			return "", fmt.Errorf("PG_BIN_DIR=%s: %w", dir, err)
		}
		return dir, nil
	}
	// On Debian, pg_config may come from libpq-dev and name a directory
	// without server binaries, so its answer is only a candidate.
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); checkPGBin(dir) == nil {
			return dir, nil
		}
	}
	if dir := newestDebianPGBin(); dir != "" {
		return dir, nil
	}
	return "", fmt.Errorf("PostgreSQL server binaries (%s) not found via $PG_BIN_DIR, "+
		"pg_config --bindir or /usr/lib/postgresql/*/bin; install them "+
		"(Debian/Ubuntu: apt-get install postgresql-15, or the postgresql metapackage) "+
		"or set PG_BIN_DIR to the directory holding them: %w",
		strings.Join(pgTools, ", "), ErrNotInstalled)
}

// checkPGBin reports which PostgreSQL tool, if any, dir lacks.
func checkPGBin(dir string) error {
	for _, tool := range pgTools {
		if !isExecutable(filepath.Join(dir, tool)) {
			return fmt.Errorf("%s has no executable %s "+
				"(Debian/Ubuntu: apt-get install postgresql-15, or the postgresql metapackage): %w",
				dir, tool, ErrNotInstalled)
		}
	}
	return nil
}

// newestDebianPGBin returns the highest-versioned complete
// /usr/lib/postgresql/<version>/bin, or "".
func newestDebianPGBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var ok []string
	for _, d := range dirs {
		if checkPGBin(d) == nil {
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 {
		return ""
	}
	version := func(d string) []int {
		var v []int
		for _, part := range strings.Split(filepath.Base(filepath.Dir(d)), ".") {
			n, _ := strconv.Atoi(part)
			v = append(v, n)
		}
		return v
	}
	sort.Slice(ok, func(i, j int) bool {
		a, b := version(ok[i]), version(ok[j])
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) < len(b)
	})
	return ok[len(ok)-1]
}

// FindRedis returns the path of redis-server: the one on PATH, else
// /usr/bin/redis-server.
func FindRedis() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	const debianPath = "/usr/bin/redis-server"
	if isExecutable(debianPath) {
		return debianPath, nil
	}
	return "", fmt.Errorf("redis-server not found on PATH or at %s; install it "+
		"(Debian/Ubuntu: apt-get install redis-server) or set Options.RedisBin: %w",
		debianPath, ErrNotInstalled)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
