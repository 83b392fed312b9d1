//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package reader

import (
	"errors"
	"net"
	"syscall"
)

// clientGone reports whether the peer of conn has closed or reset the
// connection, without consuming anything: it peeks at the socket without
// blocking. fasthttp does not read a connection while its handler runs, so
// this is the only way to notice a client that hung up. Connections that are
// not sockets (TLS, in-memory) are never reported gone.
func clientGone(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	gone := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case rerr == nil && n == 0: // orderly shutdown by the peer
			gone = true
		case rerr == nil, errors.Is(rerr, syscall.EAGAIN), errors.Is(rerr, syscall.EINTR):
			// Pending bytes (a pipelined request) or nothing to read: still there.
		default: // ECONNRESET and the like
			gone = true
		}
		return true // never wait for readability
	})
	return gone || err != nil
}
