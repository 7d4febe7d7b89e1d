package sockstat

import (
	"errors"
	"net/netip"
	"slices"
)

// The macOS side. xnu lists its TCP connections in the sysctl
// net.inet.tcp.pcblist_n (pcblist.go decodes it), and netstat prints the
// same list as text (netstat.go parses it). Both decoders hand each
// connection to a bsdTally, which filters and counts it as the Linux
// sampler's in-kernel filter and tally do. This file and those two are plain
// Go without build tags, so that they are tested on every system; only
// sampler_darwin.go and host_darwin.go talk to a Mac's kernel.

// Errors of the macOS decoders. A sampler that meets one falls back to
// netstat (pcblist_n) or fails the sample (netstat).
var (
	// ErrUnrecognised reports input whose layout or format the decoder does
	// not know: a structure length of a macOS release it was not written
	// for, an unknown kind or state, a line that is not netstat's.
	ErrUnrecognised = errors.New("unrecognised format")
	// ErrTruncated reports input that ends part-way through a structure or
	// a line.
	ErrTruncated = errors.New("truncated")
)

// bsdConn is one TCP connection as xnu lists it.
type bsdConn struct {
	local, remote netip.AddrPort // unmapped, without zones
	state         State          // in Linux's numbering
	// id is the kernel's generation count of the pcb (pcblist_n) or of
	// the socket (netstat -v): set once when it is allocated, unique, and
	// the same for the connection's whole life. 0 when unknown.
	id uint64
}

// bsdState maps xnu's TCP states (bsd/netinet/tcp_fsm.h, TCPS_CLOSED 0 to
// TCPS_TIME_WAIT 10) to Linux's.
func bsdState(n int32) (State, bool) {
	states := [...]State{Close, Listen, SynSent, SynRecv, Established, CloseWait,
		FinWait1, Closing, LastAck, FinWait2, TimeWait}
	if n < 0 || int(n) >= len(states) {
		return 0, false
	}
	return states[n], true
}

// bsdStateNamed maps the names netstat prints (tcpstates[] in
// bsd/netinet/tcp_fsm.h) to Linux's states.
func bsdStateNamed(name []byte) (State, bool) {
	for i, s := range [...]string{"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED",
		"CLOSE_WAIT", "FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2", "TIME_WAIT"} {
		if string(name) == s {
			return bsdState(int32(i))
		}
	}
	return 0, false
}

// bsdTally counts one sample's connections of a target's two ends, with
// the Linux filter's rules: the server end is the sockets whose local
// address and port are the target's, the client end those whose remote
// address and port are; an unspecified target address matches the port
// alone, and IPv4-mapped IPv6 addresses match their IPv4 address.
type bsdTally struct {
	addr    netip.Addr // unmapped; unspecified: any address
	port    uint16
	sources []netip.Addr // unmapped

	client, server Counts
	bySource       []Counts
	clientNewTW    int
	serverNewTW    int
	tw             *twSet // nil: new TIME_WAIT sockets are not told apart
}

func newBSDTally(target netip.AddrPort, sources []netip.Addr, tw *twSet) bsdTally {
	t := bsdTally{addr: target.Addr().Unmap().WithZone(""), port: target.Port(), sources: sources, tw: tw}
	if len(sources) > 0 {
		t.bySource = make([]Counts, len(sources))
	}
	return t
}

func (t *bsdTally) matches(a netip.AddrPort) bool {
	return a.Port() == t.port && (!t.addr.IsValid() || t.addr.IsUnspecified() || a.Addr() == t.addr)
}

// add counts c if it is one of the target's.
func (t *bsdTally) add(c *bsdConn) {
	if c.state == Listen {
		return
	}
	// As on Linux, a socket whose local end is the target's is the server's.
	server := t.matches(c.local)
	if !server && !t.matches(c.remote) {
		return
	}
	if server {
		t.server[c.state]++
	} else {
		t.client[c.state]++
		for i, s := range t.sources {
			if s == c.local.Addr() {
				t.bySource[i][c.state]++
				break
			}
		}
	}
	if c.state != TimeWait || t.tw == nil {
		return
	}
	if t.tw.observe(c.twID()) {
		if server {
			t.serverNewTW++
		} else {
			t.clientNewTW++
		}
	}
}

// twID is what tells c apart from every other TIME_WAIT socket: the
// kernel's generation count, or where there is none (flows of the
// user-space stack that pcblist_n lists with a count of 0) the 4-tuple,
// hashed into the other half of the numbers.
func (c *bsdConn) twID() uint64 {
	if c.id != 0 && c.id < 1<<63 {
		return c.id
	}
	const offset, prime = 14695981039346656037, 1099511628211 // FNV-1a
	h := uint64(offset)
	for _, ap := range [2]netip.AddrPort{c.local, c.remote} {
		a := ap.Addr().As16()
		for _, b := range a {
			h = (h ^ uint64(b)) * prime
		}
		h = (h ^ uint64(ap.Port()>>8)) * prime
		h = (h ^ uint64(ap.Port()&0xff)) * prime
	}
	return h | 1<<63
}

// twSet tells which TIME_WAIT sockets are new since the previous sample:
// those whose identity the previous sample did not see. xnu's TIME_WAIT
// sockets carry no time left that the Linux tracker could use, but their
// pcbs have a generation count that never changes, so a set of the
// previous sample's counts, sorted, does. Its size is the TIME_WAIT
// sockets on the target's port, 8 bytes each.
type twSet struct {
	primed bool
	prev   []uint64 // sorted
	cur    []uint64
}

// observe records a TIME_WAIT socket and reports whether it is new. In the
// first sample nothing is new: it is the baseline.
func (s *twSet) observe(id uint64) bool {
	s.cur = append(s.cur, id)
	if !s.primed {
		return false
	}
	_, seen := slices.BinarySearch(s.prev, id)
	return !seen
}

// finish closes a sample: its sockets are the next one's previous.
func (s *twSet) finish() {
	slices.Sort(s.cur)
	s.prev, s.cur = s.cur, s.prev[:0]
	s.primed = true
}

// discard forgets what a failed sample observed.
func (s *twSet) discard() { s.cur = s.cur[:0] }

// reset forgets everything: the next sample is a baseline again, as when
// the sampler changes its source and with it the identities.
func (s *twSet) reset() {
	s.prev, s.cur, s.primed = s.prev[:0], s.cur[:0], false
}
