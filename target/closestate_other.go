//go:build !linux

package target

import "net"

// peerClosedFirst cannot read the socket's state on this system.
func peerClosedFirst(c *net.TCPConn) (peer, ok bool) { return false, false }
