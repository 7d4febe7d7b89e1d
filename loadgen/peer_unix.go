//go:build unix

package loadgen

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// peerState reports, without waiting, whether the server's FIN or RST has
// already reached the connection: a one-byte MSG_PEEK|MSG_DONTWAIT read.
func peerState(rc syscall.RawConn) peer {
	if rc == nil {
		return peerUnknown
	}
	state := peerUnknown
	// Control, not Read: a look must work past the request's deadline,
	// and must not clear the poller's note that the socket is readable.
	err := rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, rerr := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case rerr == nil && n == 0:
			state = peerClosed
		case rerr == nil:
			state = peerSentData
		case errors.Is(rerr, unix.EAGAIN):
			state = peerOpen
		case errors.Is(rerr, unix.ECONNRESET):
			state = peerReset
		}
	})
	if err != nil {
		return peerUnknown
	}
	return state
}
