//go:build !unix

package loadgen

import "syscall"

// peerState cannot look at the socket on this system.
func peerState(syscall.RawConn) peer { return peerUnknown }
