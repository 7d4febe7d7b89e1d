package sockstat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"syscall"
)

// Netlink and inet_diag constants from linux/netlink.h and linux/inet_diag.h.
// They are spelled out here, not taken from x/sys/unix, so the encoding and
// decoding below are plain functions that build and test on every system.
const (
	nlmsgHdrLen = 16
	nlmsgNoop   = 1
	nlmsgError  = 2
	nlmsgDone   = 3

	nlmFRequest = 0x1
	nlmFDump    = 0x300

	// tcpdiagGetsock is the legacy inet_diag request. The kernel answers it
	// with one walk of the socket tables for both address families, where
	// SOCK_DIAG_BY_FAMILY needs a walk per family; the walk is what a sample
	// costs on a host with many sockets.
	tcpdiagGetsock   = 18
	sockDiagByFamily = 20

	inetDiagReqLen   = 60 // struct inet_diag_req (legacy)
	inetDiagReqV2Len = 56 // struct inet_diag_req_v2
	inetDiagMsgLen   = 72 // struct inet_diag_msg

	inetDiagReqBytecode = 1
	bcJmp               = 1
	bcSrcCond           = 7
	bcDstCond           = 8

	afInet     = 2
	afInet6    = 10
	ipprotoTCP = 6
)

// ErrMalformed reports a netlink answer that does not parse as inet_diag
// messages: a length that overruns the buffer, or a message too short for
// the structure it must hold.
var ErrMalformed = errors.New("malformed inet_diag answer")

// requestKind selects the request format of a dump.
type requestKind uint8

const (
	legacyRequest requestKind = iota // TCPDIAG_GETSOCK: both families in one walk
	familyRequest                    // SOCK_DIAG_BY_FAMILY: one family per walk
)

// filterBytecode is the in-kernel filter "the local address and port are
// the target's, or the remote address and port are", in the inet_diag
// bytecode that ss compiles for "src A:P or dst A:P". An op is {code, yes,
// no}: the kernel jumps yes bytes on a match, no bytes otherwise, and
// accepts a socket when a jump lands exactly on the end. A host condition
// carries struct inet_diag_hostcond after its op; with an unspecified
// address it matches the port alone. An IPv4 condition also matches the
// IPv4-mapped addresses of IPv6 sockets (Go's dual-stack listeners).
func filterBytecode(target netip.AddrPort) []byte {
	cond := hostCondLen(target.Addr())
	b := make([]byte, 0, 2*cond+4)
	// Match: fall into the JMP. Else: go to the remote test.
	b = appendHostCond(b, bcSrcCond, cond, cond+4, target)
	// A JMP never matches: jump over the remote test to the end (accept).
	b = appendOp(b, bcJmp, 4, cond+4)
	// Match: land on the end (accept). Else: 4 past it (reject).
	return appendHostCond(b, bcDstCond, cond, cond+4, target)
}

// hostCondLen is the length of a host condition op for addr: the op, the
// inet_diag_hostcond header and the address.
func hostCondLen(addr netip.Addr) int {
	switch family, _ := hostCondFamily(addr); family {
	case afInet:
		return 4 + 8 + 4
	case afInet6:
		return 4 + 8 + 16
	}
	return 4 + 8
}

func hostCondFamily(addr netip.Addr) (family uint8, bits int) {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid() || addr.IsUnspecified():
		return 0, 0 // AF_UNSPEC: any address
	case addr.Is4():
		return afInet, 32
	}
	return afInet6, 128
}

func appendOp(b []byte, code byte, yes, no int) []byte {
	b = append(b, code, byte(yes), 0, 0)
	binary.NativeEndian.PutUint16(b[len(b)-2:], uint16(no))
	return b
}

// appendHostCond appends an S_COND or D_COND op with its struct
// inet_diag_hostcond: family, prefix length, two bytes of padding, the port
// as a host-order int, then the address in network order.
func appendHostCond(b []byte, code byte, yes, no int, target netip.AddrPort) []byte {
	b = appendOp(b, code, yes, no)
	family, bits := hostCondFamily(target.Addr())
	b = append(b, family, byte(bits), 0, 0, 0, 0, 0, 0)
	binary.NativeEndian.PutUint32(b[len(b)-4:], uint32(target.Port()))
	switch family {
	case afInet:
		a := target.Addr().Unmap().As4()
		b = append(b, a[:]...)
	case afInet6:
		a := target.Addr().As16()
		b = append(b, a[:]...)
	}
	return b
}

// appendDumpRequest appends a netlink request for a dump of the TCP sockets
// in states that match filter (bytecode). family is used by familyRequest
// only.
func appendDumpRequest(b []byte, kind requestKind, family uint8, seq uint32, filter []byte, states uint32) []byte {
	reqLen := inetDiagReqLen
	msgType := uint16(tcpdiagGetsock)
	if kind == familyRequest {
		reqLen = inetDiagReqV2Len
		msgType = sockDiagByFamily
	}
	total := nlmsgHdrLen + reqLen + 4 + len(filter)

	start := len(b)
	b = append(b, make([]byte, total)...)
	m := b[start:]
	binary.NativeEndian.PutUint32(m[0:], uint32(total))
	binary.NativeEndian.PutUint16(m[4:], msgType)
	binary.NativeEndian.PutUint16(m[6:], nlmFRequest|nlmFDump)
	binary.NativeEndian.PutUint32(m[8:], seq)
	req := m[nlmsgHdrLen:]
	if kind == legacyRequest {
		req[0] = afInet // ignored: the kernel dumps both families for this request
		binary.NativeEndian.PutUint32(req[52:], states)
	} else {
		req[0] = family
		req[1] = ipprotoTCP
		binary.NativeEndian.PutUint32(req[4:], states)
	}
	attr := req[reqLen:]
	binary.NativeEndian.PutUint16(attr[0:], uint16(4+len(filter)))
	binary.NativeEndian.PutUint16(attr[2:], inetDiagReqBytecode)
	copy(attr[4:], filter)
	return b
}

// tally accumulates one sample while its dump is parsed.
type tally struct {
	port           uint16
	at             int64 // when the dump was requested, in ms on the tracker's clock
	client, server Counts
	// sources are local addresses to split the client end by, as 16-byte
	// IPv6 or IPv4-mapped addresses; bySource counts each one's sockets.
	sources     [][16]byte
	bySource    []Counts
	clientNewTW int
	serverNewTW int
	maxTWLeftMs uint32
	tw          *timeWaitTracker
	// clientHolders and serverHolders, if set, count each end's TIME_WAIT
	// sockets by address: local on the client end, remote on the server's.
	clientHolders, serverHolders *addrTable
}

// parse reads the netlink messages in b, one read's worth of the answer to
// request seq. It reports done once the dump's NLMSG_DONE has been read.
// Messages of another sequence number (left from an aborted dump) are
// skipped.
func (t *tally) parse(b []byte, seq uint32) (done bool, err error) {
	off := 0
	for len(b)-off >= nlmsgHdrLen {
		m := b[off:]
		msgLen := int(binary.NativeEndian.Uint32(m[0:]))
		if msgLen < nlmsgHdrLen || msgLen > len(m) {
			return false, fmt.Errorf("sockstat: netlink message at byte %d: length %d, %d bytes left: %w",
				off, msgLen, len(m), ErrMalformed)
		}
		msgType := binary.NativeEndian.Uint16(m[4:])
		msgSeq := binary.NativeEndian.Uint32(m[8:])
		body := m[nlmsgHdrLen:msgLen]
		off += (msgLen + 3) &^ 3

		if msgSeq != seq {
			continue
		}
		switch msgType {
		case nlmsgNoop:
		case nlmsgDone:
			// A dump that failed part-way ends with a negative errno here.
			if len(body) >= 4 {
				if code := int32(binary.NativeEndian.Uint32(body)); code < 0 {
					return true, fmt.Errorf("sockstat: inet_diag dump: %w", syscall.Errno(-code))
				}
			}
			return true, nil
		case nlmsgError:
			if len(body) < 4 {
				return false, fmt.Errorf("sockstat: netlink error message of %d bytes: %w", len(body), ErrMalformed)
			}
			code := int32(binary.NativeEndian.Uint32(body))
			switch {
			case code == 0: // an acknowledgement, not an error
				continue
			case code > 0:
				return false, fmt.Errorf("sockstat: netlink error message with code %d: %w", code, ErrMalformed)
			}
			return true, fmt.Errorf("sockstat: inet_diag dump: %w", syscall.Errno(-code))
		case tcpdiagGetsock, sockDiagByFamily:
			if len(body) < inetDiagMsgLen {
				return false, fmt.Errorf("sockstat: inet_diag message of %d bytes, want %d: %w",
					len(body), inetDiagMsgLen, ErrMalformed)
			}
			t.add(body)
		default:
			return false, fmt.Errorf("sockstat: unexpected netlink message type %d: %w", msgType, ErrMalformed)
		}
	}
	if off < len(b) {
		return false, fmt.Errorf("sockstat: %d stray bytes after the last netlink message: %w", len(b)-off, ErrMalformed)
	}
	return false, nil
}

// add counts one struct inet_diag_msg.
func (t *tally) add(m []byte) {
	m = m[:inetDiagMsgLen] // one bounds check for the fixed offsets below
	state := State(m[1])
	sport := binary.BigEndian.Uint16(m[4:])
	dport := binary.BigEndian.Uint16(m[6:])
	if state == 0 || state >= numStates || state == Listen {
		return
	}
	// A socket whose local port is the port belongs to the server end. The
	// kernel filter already dropped every other socket; the check is for
	// dumps that were not filtered.
	server := sport == t.port
	if !server && dport != t.port {
		return
	}
	if server {
		t.server[state]++
	} else {
		t.client[state]++
		if len(t.sources) > 0 {
			t.countSource(m, state)
		}
	}
	if state != TimeWait {
		return
	}
	if server && t.serverHolders != nil {
		if a, ok := addrAt(m, m[0], 24); ok { // idiag_dst
			t.serverHolders.add(&a)
		}
	} else if !server && t.clientHolders != nil {
		if a, ok := addrAt(m, m[0], 8); ok { // idiag_src
			t.clientHolders.add(&a)
		}
	}
	left := binary.NativeEndian.Uint32(m[52:]) // idiag_expires: ms left on the TIME_WAIT timer
	t.maxTWLeftMs = max(t.maxTWLeftMs, left)
	cookie := uint64(binary.NativeEndian.Uint32(m[44:])) | uint64(binary.NativeEndian.Uint32(m[48:]))<<32
	if t.tw != nil && t.tw.observe(cookie, t.at+int64(left)) {
		if server {
			t.serverNewTW++
		} else {
			t.clientNewTW++
		}
	}
}

// countSource counts a client-end socket for its local address, if that is
// one of the sources.
func (t *tally) countSource(m []byte, state State) {
	var local [16]byte
	switch m[0] { // idiag_family
	case afInet:
		local = netip.AddrFrom4([4]byte(m[8:12])).As16()
	case afInet6:
		local = [16]byte(m[8:24])
	default:
		return
	}
	for i, s := range t.sources {
		if s == local {
			t.bySource[i][state]++
			return
		}
	}
}

// timeWaitTracker tells which TIME_WAIT sockets are new since the previous
// sample, without keeping a set of every socket seen.
//
// A TIME_WAIT socket's expiry (sample time + time left) is fixed for its
// life, and later sockets expire later, so a socket is new when it expires
// after the latest expiry of the previous sample. Expiry estimates jitter by
// a jiffy and by the time the kernel's walk takes, so sockets within band of
// that cutoff are told apart by their inet_diag cookies instead. The cookies
// kept from the previous sample cover twice the band, so that a socket
// whose estimate jitters into the band was kept.
type timeWaitTracker struct {
	band     int64 // ms
	primed   bool
	cutoff   int64 // the latest expiry seen before this sample
	sampleMx int64
	prev     []uint64 // sorted cookies of the previous sample's band
	cand     []twCandidate
}

type twCandidate struct {
	cookie uint64
	expiry int64
}

func newTimeWaitTracker(bandMs int64) *timeWaitTracker {
	return &timeWaitTracker{band: bandMs}
}

// observe records a TIME_WAIT socket and reports whether it is new. In the
// first sample nothing is new: it is the baseline.
func (t *timeWaitTracker) observe(cookie uint64, expiry int64) bool {
	t.sampleMx = max(t.sampleMx, expiry)
	if t.primed && expiry <= t.cutoff-2*t.band {
		return false
	}
	t.cand = append(t.cand, twCandidate{cookie, expiry})
	if !t.primed || expiry <= t.cutoff-t.band {
		return false
	}
	_, seen := slices.BinarySearch(t.prev, cookie)
	return !seen
}

// discard forgets what a failed sample observed.
func (t *timeWaitTracker) discard() {
	t.cand = t.cand[:0]
	t.sampleMx = 0
}

// finish closes a sample: the cookies kept for the next one are those of
// the sockets that expire within twice the band of the new cutoff.
func (t *timeWaitTracker) finish() {
	if t.primed {
		t.cutoff = max(t.cutoff, t.sampleMx)
	} else {
		t.cutoff = t.sampleMx
	}
	t.prev = t.prev[:0]
	for _, c := range t.cand {
		if c.expiry > t.cutoff-2*t.band {
			t.prev = append(t.prev, c.cookie)
		}
	}
	slices.Sort(t.prev)
	t.cand = t.cand[:0]
	t.sampleMx = 0
	t.primed = true
}
