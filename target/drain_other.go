//go:build !linux

package target

import (
	"net"
	"time"
)

// waitSent cannot see the send queue on this system: it waits a little
// for the response to leave.
func waitSent(c *net.TCPConn, max time.Duration) {
	time.Sleep(min(max, 10*time.Millisecond))
}
