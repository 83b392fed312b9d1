//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package reader

import "net"

// clientGone cannot peek at sockets on this platform: GET timeout then ends
// only on its timer or at shutdown.
func clientGone(net.Conn) bool { return false }
