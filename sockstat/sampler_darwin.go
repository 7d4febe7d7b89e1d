//go:build darwin

package sockstat

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// pcbListSysctl is the structured list of TCP connections that netstat
// itself reads.
const pcbListSysctl = "net.inet.tcp.pcblist_n"

// Sampler reads the socket states of one address and port's two ends from
// xnu's list of TCP connections. It is not safe for concurrent use.
type Sampler struct {
	target  netip.AddrPort
	sources []netip.Addr
	tw      twSet
	// fallback says why the sampler runs netstat instead of decoding
	// pcblist_n; empty while it decodes pcblist_n.
	fallback string
	notes    []string
	closed   bool
}

// NewSampler returns a sampler of the two ends of target: the server end,
// sockets whose local address and port are the target's, and the client
// end, sockets whose remote address and port are. An unspecified address
// (0.0.0.0, ::) matches the port alone. It needs no privileges.
func NewSampler(target netip.AddrPort) (*Sampler, error) {
	if target.Port() == 0 {
		return nil, errors.New("sockstat: port 0 cannot be sampled")
	}
	return &Sampler{target: target}, nil
}

// SplitBySource makes each sample count the client end's sockets by local
// address too, for each of addrs (Sample.BySource).
func (s *Sampler) SplitBySource(addrs []netip.Addr) {
	s.sources = s.sources[:0]
	for _, a := range addrs {
		s.sources = append(s.sources, a.Unmap().WithZone(""))
	}
}

// Close ends the sampler; it holds nothing open between samples.
func (s *Sampler) Close() error {
	s.closed = true
	return nil
}

// Holders returns nothing on macOS: the sampler does not count TIME_WAIT
// sockets by address there yet, and a report then names no holders.
func (s *Sampler) Holders() (client, server TimeWaitHolders) { return }

// Notes say what the report should know about how the sampler sampled:
// that it fell back to netstat, and why.
func (s *Sampler) Notes() []string { return s.notes }

// Sample takes one sample: one read of net.inet.tcp.pcblist_n, or, once
// that has been refused as a layout this decoder does not know, one run of
// netstat -anlv -p tcp.
func (s *Sampler) Sample() (Sample, error) {
	if s.closed {
		return Sample{}, errors.New("sockstat: sampler is closed")
	}
	at := time.Now()
	t := newBSDTally(s.target, s.sources, &s.tw)
	var err error
	if s.fallback == "" {
		err = s.samplePCBList(&t)
		if errors.Is(err, ErrUnrecognised) || errors.Is(err, ErrTruncated) {
			s.fallback = err.Error()
			s.notes = append(s.notes, "socket states read with netstat -anlv -p tcp, not from pcblist_n, which this twbench could not decode ("+
				err.Error()+"): each sample costs a process, and TIME_WAIT sockets are told apart afresh from the first netstat sample")
			s.tw.reset()
			t = newBSDTally(s.target, s.sources, &s.tw)
		}
	}
	if s.fallback != "" {
		err = s.sampleNetstat(&t)
	}
	if err != nil {
		s.tw.discard()
		return Sample{}, err
	}
	s.tw.finish()
	return Sample{
		At:                at,
		Cost:              time.Since(at),
		Client:            t.client,
		Server:            t.server,
		BySource:          t.bySource,
		ClientNewTimeWait: t.clientNewTW,
		ServerNewTimeWait: t.serverNewTW,
		// xnu's TIME_WAIT sockets carry no time left (xtcpcb_n's 2MSL timer
		// is an absolute tcp_now the kernel does not export): the report
		// takes the length from net.inet.tcp.msl instead.
	}, nil
}

// samplePCBList reads and decodes pcblist_n into t. The kernel sizes the
// buffer with room for an eighth more connections than it has; should
// they outgrow it, the read fails with ENOMEM and is tried once more.
func (s *Sampler) samplePCBList(t *bsdTally) error {
	buf, err := unix.SysctlRaw(pcbListSysctl)
	if errors.Is(err, unix.ENOMEM) {
		buf, err = unix.SysctlRaw(pcbListSysctl)
	}
	if err != nil {
		return fmt.Errorf("sockstat: sysctl %s: %w", pcbListSysctl, err)
	}
	return decodePCBList(buf, t.add)
}

// sampleNetstat runs netstat and parses its list into t.
func (s *Sampler) sampleNetstat(t *bsdTally) error {
	out, err := runNetstat(netstatConnsArgs())
	if err != nil {
		return err
	}
	return parseNetstatConns(out, t.add)
}

// setIn does nothing: there are no network namespaces here.
func (s *Sampler) setIn(func(func() error) error) {}
