//go:build faultinject

package sql

import (
	"os"
	"syscall"
)

// Fault injection for the fault suite only (internal/faults
// TestWriterKilledAfterCommit): this file is compiled only with
// `-tags faultinject`, which internal/testbuild passes for that suite
// alone; the shipped binary has the no-op in faultinject_off.go.
//
// Why it exists: a writer that dies after its transaction committed and
// before it published the invalidations (docs/design.md "Point 1: visible
// after acknowledgement", step 4) cannot be produced from outside. The
// in-process relay wakes on the commit's NOTIFY and would publish within a
// millisecond, so a test that only kills the writer never lands in that
// window.
//
// CONDCACHE_FAULT_AFTER_COMMIT names a file. When it exists as a write
// commits, the writer renames it to <file>.committed (so the test knows the
// commit happened, and exactly one write trips) and stops its whole process
// with SIGSTOP, the relay's goroutine included, so nothing publishes until
// the test SIGKILLs it.
var faultAfterCommitFile = os.Getenv("CONDCACHE_FAULT_AFTER_COMMIT")

func faultAfterCommit() {
	if faultAfterCommitFile == "" {
		return
	}
	if os.Rename(faultAfterCommitFile, faultAfterCommitFile+".committed") != nil {
		return // not armed, or another write tripped it
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
}
