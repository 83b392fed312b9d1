package localstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// errAddrInUse marks a server that exited because its port was taken.
var errAddrInUse = errors.New("address already in use")

var (
	portsMu sync.Mutex
	// handedOut remembers every port FreePort returned, because the kernel
	// may offer a just-closed port again before the first caller binds it.
	handedOut = map[int]bool{}
)

// FreePort returns a loopback TCP port that is currently free and that this
// process has not handed out before. Another process may still take it
// before it is bound; Start retries in that case.
func FreePort() (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if err := l.Close(); err != nil {
			return 0, fmt.Errorf("find free port: %w", err)
		}
		portsMu.Lock()
		dup := handedOut[port]
		handedOut[port] = true
		portsMu.Unlock()
		if !dup {
			return port, nil
		}
	}
	return 0, errors.New("find free port: kernel kept offering ports already handed out")
}

// startOnPort runs start on the fixed port, or, when fixed is 0, on a
// freshly picked port, picking again when the server reports its port taken.
// That race is real when several test binaries start stacks concurrently.
func startOnPort(ctx context.Context, fixed int, setPort func(int), start func(context.Context) error) error {
	if fixed != 0 {
		setPort(fixed)
		return start(ctx)
	}
	const attempts = 5
	for i := 1; ; i++ {
		port, err := FreePort()
		if err != nil {
			return err
		}
		setPort(port)
		err = start(ctx)
		if err == nil || !errors.Is(err, errAddrInUse) || i == attempts {
			return err
		}
	}
}
