//go:build faultinject

package sql

import (
	"context"
	"os"
	"sync/atomic"
	"syscall"
	"time"
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
// with SIGSTOP, so nothing publishes until the test SIGKILLs it. While the
// file exists, and once tripped, the relay's reads of the outbox and of the
// generations (for a resync) wait (faultHoldRelay): the commit's NOTIFY
// wakes the relay, which could otherwise publish in the moment between the
// commit and the stop.
var faultAfterCommitFile = os.Getenv("CONDCACHE_FAULT_AFTER_COMMIT")

var faultTripped atomic.Bool

func faultAfterCommit() {
	if faultAfterCommitFile == "" {
		return
	}
	if _, err := os.Stat(faultAfterCommitFile); err != nil {
		return // not armed
	}
	// Tripped before the rename lets the relay go; only the write that
	// set it may clear it (a concurrent one that lost the rename must not
	// release the relay while the winner stops).
	if !faultTripped.CompareAndSwap(false, true) {
		return // another write tripped it
	}
	if os.Rename(faultAfterCommitFile, faultAfterCommitFile+".committed") != nil {
		faultTripped.Store(false) // the file went meanwhile: not armed
		return
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
	// A stop sent to the own process takes effect on each thread when it
	// next enters the kernel: this goroutine could still send its publish
	// to Redis in between (one write syscall; seen as about 3 runs in 14
	// finding the mark cleared while the process was stopped). It waits
	// for the SIGKILL instead.
	select {}
}

func faultHoldRelay(ctx context.Context) {
	if faultAfterCommitFile == "" {
		return
	}
	for ctx.Err() == nil {
		if _, err := os.Stat(faultAfterCommitFile); err != nil && !faultTripped.Load() {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
