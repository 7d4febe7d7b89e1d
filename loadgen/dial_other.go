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
