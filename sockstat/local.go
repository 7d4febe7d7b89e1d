package sockstat

import (
	"net"
	"net/netip"
)

// IsLocalAddr reports whether addr is a loopback address or one of this
// host's interface addresses: whether the sockets of a connection to it can
// be sampled on this host.
func IsLocalAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == addr {
				return true
			}
		}
	}
	return false
}
