//go:build !linux

package loadgen

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// dialControl returns nil: a source address is bound with its port as on
// any system, and checkDialOptions has refused a port range.
func dialControl(r PortRange, source bool) func(network, address string, c syscall.RawConn) error {
	return nil
}

func checkDialOptions(target netip.AddrPort, r PortRange, sources []netip.Addr) error {
	if !r.IsZero() {
		return fmt.Errorf("client port range %s: IP_LOCAL_PORT_RANGE is Linux's (6.3 or later): %w", r, errors.ErrUnsupported)
	}
	return nil
}

// canCutDial: elsewhere a connect in progress is cut off by cancelling its
// dial's context. Go then closes the socket, which may be connected by
// then: such a connection goes uncounted.
const canCutDial = false

func cutConnect(c syscall.RawConn) (cut dialCut, retry bool) { return dialNotCut, false }
