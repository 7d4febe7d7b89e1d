//go:build !unix

package loadgen

import "net"

// peerState cannot look at the socket on this system.
func peerState(c *net.TCPConn) peer { return peerUnknown }
