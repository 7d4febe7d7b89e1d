package loadgen

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// dialControl returns the socket setup for a connection: the per-socket
// port range, and for a source address IP_BIND_ADDRESS_NO_PORT, which
// leaves the port to connect(): a port bound at bind() time must be free
// for every destination, so each source address would get only the ports
// no other connection holds, instead of the full range per destination.
func dialControl(r PortRange, source bool) func(network, address string, c syscall.RawConn) error {
	if r.IsZero() && !source {
		return nil
	}
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = setDialOptions(int(fd), r, source) })
		if err != nil {
			return err
		}
		return serr
	}
}

func setDialOptions(fd int, r PortRange, source bool) error {
	if !r.IsZero() {
		v := int(uint32(r.Lo) | uint32(r.Hi)<<16)
		if err := unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_LOCAL_PORT_RANGE, v); err != nil {
			return portRangeError(r, err)
		}
	}
	if source {
		if err := unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
			return fmt.Errorf("set IP_BIND_ADDRESS_NO_PORT: %w", err)
		}
	}
	return nil
}

func portRangeError(r PortRange, err error) error {
	if errors.Is(err, unix.ENOPROTOOPT) {
		return fmt.Errorf("client port range %s: this kernel has no IP_LOCAL_PORT_RANGE (it needs Linux 6.3 or later): %w", r, err)
	}
	return fmt.Errorf("client port range %s: set IP_LOCAL_PORT_RANGE: %w", r, err)
}

// checkDialOptions tries the socket options on a socket of the target's
// family, and binds each source address without a port, so that a kernel
// without IP_LOCAL_PORT_RANGE or an address this host does not have is an
// error before the run rather than a failed request per connection (a
// bind to a foreign address fails with EADDRNOTAVAIL, which would read as
// port exhaustion).
func checkDialOptions(target netip.AddrPort, r PortRange, sources []netip.Addr) error {
	family := unix.AF_INET
	if target.Addr().Is6() && !target.Addr().Is4In6() {
		family = unix.AF_INET6
	}
	probe := func(src netip.Addr) error {
		fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open a socket: %w", err)
		}
		defer unix.Close(fd)
		if err := setDialOptions(fd, r, src.IsValid()); err != nil {
			return err
		}
		if !src.IsValid() {
			return nil
		}
		var sa unix.Sockaddr
		if family == unix.AF_INET {
			if !src.Unmap().Is4() {
				return fmt.Errorf("source %s: the target %s is IPv4", src, target.Addr())
			}
			sa = &unix.SockaddrInet4{Addr: src.Unmap().As4()}
		} else {
			if !src.Is6() || src.Is4In6() {
				return fmt.Errorf("source %s: the target %s is IPv6", src, target.Addr())
			}
			sa = &unix.SockaddrInet6{Addr: src.As16()}
		}
		if err := unix.Bind(fd, sa); err != nil {
			if errors.Is(err, unix.EADDRNOTAVAIL) {
				return fmt.Errorf("source %s: not an address of this host: %w", src, err)
			}
			return fmt.Errorf("source %s: bind: %w", src, err)
		}
		return nil
	}
	if len(sources) == 0 {
		return probe(netip.Addr{})
	}
	var errs []error
	for _, src := range sources {
		errs = append(errs, probe(src))
	}
	return errors.Join(errs...)
}

// canCutDial: on Linux a connect in progress is cut off through its
// socket (cutConnect), not by cancelling the dial's context.
const canCutDial = true

// cutConnect cuts off the connect in progress on c and says whether the
// connection had been made. Cancelling the dial's context instead makes Go
// close the socket, which may be connected by then: a connection, and a
// TIME_WAIT, that the run would not count.
//
// shutdown(2) acts under the socket's lock: a socket still in SYN_SENT is
// disconnected (no connection is made; the connect fails), an established
// one sends its FIN. TCP_INFO afterwards tells them apart: a disconnected
// socket is CLOSE with its segment counts cleared (Linux 5.6 and later),
// where one that was established has received at least the SYN-ACK, even
// if the FINs that followed have closed it already. retry says the socket
// was not connecting: not yet (the dial is between its socket options and
// its connect), or no longer (refused), which the dial ends by itself.
func cutConnect(c syscall.RawConn) (cut dialCut, retry bool) {
	err := c.Control(func(fd uintptr) { cut, retry = cutConnectFD(int(fd)) })
	if err != nil { // the dial has closed the socket: it is over
		return dialNotCut, false
	}
	return cut, retry
}

// cutConnectFD is cutConnect on the socket fd.
func cutConnectFD(fd int) (cut dialCut, retry bool) {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil || info.State == unix.BPF_TCP_CLOSE {
		return dialNotCut, true
	}
	if err := unix.Shutdown(fd, unix.SHUT_RDWR); err != nil {
		return dialCutUnmade, false // closed since the look: refused, or reset
	}
	if info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO); err == nil &&
		info.State == unix.BPF_TCP_CLOSE && info.Segs_in == 0 {
		return dialCutUnmade, false
	}
	return dialCutMade, false
}
