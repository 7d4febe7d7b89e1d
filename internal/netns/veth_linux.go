package netns

import (
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// End is one end of a veth pair: its interface's name in its namespace,
// and its address.
type End struct {
	Name string
	Addr netip.Prefix
}

// Veth joins two namespaces with a veth pair: a's end is made in a, b's
// in b, each with its address and up. Neither end is ever in another
// namespace, the host's included, and the pair goes with the first of the
// two namespaces to go.
//
// It takes one rtnetlink request, sent from a thread in a, and ioctls in
// each namespace for the addresses: no ip(8), which a minimal host or
// image may not have and whose output would have to be parsed.
func Veth(a *Namespace, aEnd End, b *Namespace, bEnd End) error {
	if !aEnd.Addr.Addr().Is4() || !bEnd.Addr.Addr().Is4() {
		return fmt.Errorf("netns: veth %s-%s: want IPv4 addresses, not %s and %s", aEnd.Name, bEnd.Name, aEnd.Addr, bEnd.Addr)
	}
	if b.fd < 0 {
		return fmt.Errorf("netns: veth %s-%s: the peer's namespace is closed", aEnd.Name, bEnd.Name)
	}
	req, err := newVethRequest(1, aEnd.Name, bEnd.Name, b.fd)
	if err != nil {
		return err
	}
	if err := a.Do(func() error { return rtnetlink(req, 1) }); err != nil {
		return fmt.Errorf("netns: create veth %s-%s: %w", aEnd.Name, bEnd.Name, err)
	}
	if err := a.Do(func() error { return configure(aEnd) }); err != nil {
		return err
	}
	return b.Do(func() error { return configure(bEnd) })
}

// rtnetlink sends req on a NETLINK_ROUTE socket of the calling thread's
// namespace and waits for the kernel's answer.
func rtnetlink(req []byte, seq uint32) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open rtnetlink socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Sec: 5}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("set rtnetlink receive timeout: %w", err)
	}
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("send rtnetlink request: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read rtnetlink answer: %w", err)
		}
		if done, err := parseAck(buf[:n], seq); done || err != nil {
			return err
		}
	}
}

// configure gives an interface of the calling thread's namespace its
// address and brings it up.
func configure(e End) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns: configure %s: %w", e.Name, err)
	}
	defer unix.Close(s)
	for _, set := range []struct {
		req  uint
		addr netip.Addr
	}{
		{unix.SIOCSIFADDR, e.Addr.Addr()},
		{unix.SIOCSIFNETMASK, maskOf(e.Addr.Bits())},
	} {
		ifr, err := unix.NewIfreq(e.Name)
		if err == nil {
			a := set.addr.As4()
			err = ifr.SetInet4Addr(a[:])
		}
		if err == nil {
			err = unix.IoctlIfreq(s, set.req, ifr)
		}
		if err != nil {
			return fmt.Errorf("netns: give %s the address %s: %w", e.Name, e.Addr, err)
		}
	}
	return setFlags(e.Name, unix.IFF_UP)
}

// maskOf returns the IPv4 netmask of a prefix length.
func maskOf(bits int) netip.Addr {
	m, _ := netip.AddrFromSlice(net.CIDRMask(bits, 32))
	return m
}
