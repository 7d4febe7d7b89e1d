package harness

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// baselineLead is how long before the start instant the baseline is
// taken: a sample can take tens of milliseconds with many sockets on the
// host, and it must not make the load late.
const baselineLead = 250 * time.Millisecond

// waitStart waits until lead before the instant the load is to start at,
// if one was given, or until ctx is done. An instant already past does not
// wait: the report says how late the load started.
func (r *run) waitStart(ctx context.Context, lead time.Duration) {
	if r.opts.StartAt.IsZero() {
		return
	}
	wait := time.Until(r.opts.StartAt.Add(-lead))
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// sourceAddrs returns the addresses a run's connections come from: the
// scenario's source addresses, or else the one the kernel picks for the
// target, found by connecting a UDP socket, which sends nothing.
func sourceAddrs(sources []netip.Addr, target *net.TCPAddr) []string {
	out := []string{}
	for _, a := range sources {
		out = append(out, a.String())
	}
	if len(out) > 0 {
		return out
	}
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: target.IP, Port: target.Port})
	if err != nil {
		return out
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		if ap, ok := netip.AddrFromSlice(a.IP); ok {
			out = append(out, ap.Unmap().String())
		}
	}
	return out
}
