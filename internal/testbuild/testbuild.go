// Package testbuild builds the condcache command for tests that run it as
// a separate process (internal/e2e, internal/faults). It runs the Go
// toolchain, so only tests may import it: the shipped binary never does
// (.ci/check-layers fails when a non-test package links it).
package testbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Condcache builds the condcache command into dir (the build's output goes
// to stderr) and returns its path. tags are build tags: the fault suite
// alone asks for "faultinject" (sql/faultinject.go), so no other suite
// tests a binary that differs from the shipped one.
func Condcache(dir string, tags ...string) (string, error) {
	bin := filepath.Join(dir, "condcache")
	args := []string{"build", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	build := exec.Command("go", append(args, "github.com/condcache/condcache/cmd/condcache")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building condcache: %w", err)
	}
	return bin, nil
}
