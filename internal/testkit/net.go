package testkit

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/condcache/condcache/internal/localstack"
)

// WaitRefused dials addr until a connection is refused, for up to within,
// and fails the test (Fatal) when none is: what a server's lifecycle test
// checks once its listener should be closed. A connection that reached the
// backlog just as the listener closed is reset rather than refused, and one
// accepted proves the listener still open: both mean dialling again.
func WaitRefused(t testing.TB, addr string, within time.Duration) {
	t.Helper()
	EventuallyNil(t, within, "new connections to "+addr+" refused", func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return errors.New("a connection was accepted")
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
		return fmt.Errorf("last dial error: %w", err)
	})
}

// FreePort returns a loopback TCP port that nothing listens on (for now),
// and that no other caller in this process was given (localstack.FreePort).
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}
