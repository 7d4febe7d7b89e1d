package target

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerClosedFirst reports whether the peer's FIN has arrived on c, from
// the kernel's own state of the socket (TCP_INFO): CLOSE_WAIT when it
// has, ESTABLISHED when this end is about to send the first FIN. ok is
// false when the state could not be read.
func peerClosedFirst(c *net.TCPConn) (peer, ok bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return false, false
	}
	var info *unix.TCPInfo
	var infoErr error
	if err := rc.Control(func(fd uintptr) {
		info, infoErr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || infoErr != nil {
		return false, false
	}
	return info.State == unix.BPF_TCP_CLOSE_WAIT, true
}
