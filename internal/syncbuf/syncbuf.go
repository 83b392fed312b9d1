// Package syncbuf is the old name of testkit.Buffer, a bytes.Buffer safe for
// concurrent use, for tests that capture the log of a server whose
// goroutines write while the test reads.
//
// New tests use testkit.Buffer. This alias stays only while cmd/condcache's
// tests still import it; delete the package then. (It is not marked
// deprecated, so that staticcheck stays clean meanwhile.)
package syncbuf

import "github.com/condcache/condcache/internal/testkit"

// Buffer is testkit.Buffer.
type Buffer = testkit.Buffer
