package testkit

import (
	"fmt"
	"os"
	"sync/atomic"
)

var seq atomic.Int64

// Uniq returns a name unique to this test run (prefix, then part of the
// process id and a sequence number), for GTs, types and statuses in a
// database or cache that other tests, or other runs, share.
func Uniq(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid()%100000, seq.Add(1))
}
