package target

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// waitSent waits up to max until c's send queue is empty: every byte sent
// and acknowledged (SIOCOUTQ). On loopback that is at once.
func waitSent(c *net.TCPConn, max time.Duration) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	deadline := time.Now().Add(max)
	for {
		queued, ioctlErr := 0, error(nil)
		err := rc.Control(func(fd uintptr) {
			queued, ioctlErr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
		})
		if err != nil || ioctlErr != nil || queued == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
