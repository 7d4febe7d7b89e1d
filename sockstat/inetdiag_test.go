package sockstat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
)

// The bytes below are built by hand, field by field, from the kernel's
// structures (linux/netlink.h, linux/inet_diag.h), not with the package's
// own encoder, so a mistake in one is not repeated in the other.

// nlmsg encodes a netlink message of type typ: a 16-byte nlmsghdr whose
// length covers the header and body, then the body, padded to 4 bytes.
func nlmsg(typ uint16, seq uint32, body []byte) []byte {
	return nlmsgLen(uint32(nlmsgHdrLen+len(body)), typ, seq, body)
}

// nlmsgLen is nlmsg with nlmsg_len set to length whatever the body is, for
// messages that lie about their size.
func nlmsgLen(length uint32, typ uint16, seq uint32, body []byte) []byte {
	m := make([]byte, nlmsgHdrLen, nlmsgHdrLen+len(body)+3)
	binary.NativeEndian.PutUint32(m[0:], length)
	binary.NativeEndian.PutUint16(m[4:], typ)
	binary.NativeEndian.PutUint16(m[6:], 0x2) // NLM_F_MULTI, as in a dump
	binary.NativeEndian.PutUint32(m[8:], seq)
	binary.NativeEndian.PutUint32(m[12:], 4242) // nlmsg_pid
	m = append(m, body...)
	for len(m)%4 != 0 {
		m = append(m, 0)
	}
	return m
}

// sock is what a test says about one socket in a dump.
type sock struct {
	family       uint8
	state        State
	timer        uint8
	sport, dport uint16
	cookie       uint64
	expires      uint32     // ms
	src          netip.Addr // the local address; 127.0.0.1 if not set
}

// diagMsg encodes s as the 72-byte struct inet_diag_msg.
func diagMsg(s sock) []byte {
	m := make([]byte, inetDiagMsgLen)
	family := s.family
	if family == 0 {
		family = afInet
	}
	m[0] = family // idiag_family
	m[1] = uint8(s.state)
	m[2] = s.timer
	m[3] = 0                                   // idiag_retrans
	binary.BigEndian.PutUint16(m[4:], s.sport) // id.idiag_sport, network order
	binary.BigEndian.PutUint16(m[6:], s.dport) // id.idiag_dport, network order
	copy(m[8:], []byte{127, 0, 0, 1})          // id.idiag_src
	if s.src.Is4() {
		a := s.src.As4()
		copy(m[8:24], make([]byte, 16))
		copy(m[8:], a[:])
	} else if s.src.IsValid() {
		a := s.src.As16()
		copy(m[8:], a[:])
	}
	copy(m[24:], []byte{127, 0, 0, 1})       // id.idiag_dst
	binary.NativeEndian.PutUint32(m[40:], 1) // id.idiag_if
	binary.NativeEndian.PutUint32(m[44:], uint32(s.cookie))
	binary.NativeEndian.PutUint32(m[48:], uint32(s.cookie>>32))
	binary.NativeEndian.PutUint32(m[52:], s.expires)
	binary.NativeEndian.PutUint32(m[56:], 0)    // idiag_rqueue
	binary.NativeEndian.PutUint32(m[60:], 0)    // idiag_wqueue
	binary.NativeEndian.PutUint32(m[64:], 1000) // idiag_uid
	binary.NativeEndian.PutUint32(m[68:], 999)  // idiag_inode
	return m
}

// diag is one socket's message of a legacy (TCPDIAG_GETSOCK) dump.
func diag(seq uint32, s sock) []byte { return nlmsg(tcpdiagGetsock, seq, diagMsg(s)) }

// errno encodes the body of NLMSG_ERROR or NLMSG_DONE carrying code, with the
// request's header after it as the kernel sends it.
func errno(code int32) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(code))
	return append(b, make([]byte, nlmsgHdrLen)...)
}

func done(seq uint32) []byte { return nlmsg(nlmsgDone, seq, binary.NativeEndian.AppendUint32(nil, 0)) }

func cat(msgs ...[]byte) []byte { return bytes.Join(msgs, nil) }

// counts builds Counts from a map, for tables that read.
func counts(m map[State]uint32) Counts {
	var c Counts
	for s, n := range m {
		c[s] = n
	}
	return c
}

// fmtCounts prints the non-zero entries of c as "TIME_WAIT:2 ESTABLISHED:1".
func fmtCounts(c Counts) string {
	var parts []string
	for s, n := range c {
		if n != 0 {
			parts = append(parts, fmt.Sprintf("%v:%d", State(s), n))
		}
	}
	if parts == nil {
		return "none"
	}
	return strings.Join(parts, " ")
}

const (
	testPort = 8080
	testSeq  = 7
	peerPort = 40000
)

// TestSplitBySource: client-end sockets are counted by local address for
// the sources asked, IPv4 and IPv6; others only in the totals.
func TestSplitBySource(t *testing.T) {
	a2, a3, v6 := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("fd00::2")
	tl := tally{port: testPort, sources: [][16]byte{a2.As16(), a3.As16(), v6.As16()}, bySource: make([]Counts, 3)}
	b := cat(
		diag(testSeq, sock{state: TimeWait, sport: peerPort, dport: testPort, src: a2}),
		diag(testSeq, sock{state: TimeWait, sport: peerPort + 1, dport: testPort, src: a2}),
		diag(testSeq, sock{state: Established, sport: peerPort, dport: testPort, src: a3}),
		diag(testSeq, sock{family: afInet6, state: TimeWait, sport: peerPort, dport: testPort, src: v6}),
		diag(testSeq, sock{state: TimeWait, sport: peerPort, dport: testPort}),          // 127.0.0.1: not a source
		diag(testSeq, sock{state: TimeWait, sport: testPort, dport: peerPort, src: a2}), // the server end
		done(testSeq),
	)
	if _, err := tl.parse(b, testSeq); err != nil {
		t.Fatal(err)
	}
	for i, want := range []Counts{
		counts(map[State]uint32{TimeWait: 2}),
		counts(map[State]uint32{Established: 1}),
		counts(map[State]uint32{TimeWait: 1}),
	} {
		if tl.bySource[i] != want {
			t.Errorf("source %d: %s; want %s", i, fmtCounts(tl.bySource[i]), fmtCounts(want))
		}
	}
	if tl.client[TimeWait] != 4 || tl.server[TimeWait] != 1 {
		t.Errorf("client %s, server %s; want 4 and 1 TIME_WAIT", fmtCounts(tl.client), fmtCounts(tl.server))
	}
}

func TestParseCounts(t *testing.T) {
	for _, tc := range []struct {
		name           string
		b              []byte
		wantDone       bool
		client, server map[State]uint32
	}{
		{name: "empty read"},
		{
			name:   "sport is the port: server end",
			b:      diag(testSeq, sock{state: Established, sport: testPort, dport: peerPort}),
			server: map[State]uint32{Established: 1},
		},
		{
			name:   "dport is the port: client end",
			b:      diag(testSeq, sock{state: TimeWait, sport: peerPort, dport: testPort}),
			client: map[State]uint32{TimeWait: 1},
		},
		{
			name:   "both ports are the port: server end, once",
			b:      diag(testSeq, sock{state: Established, sport: testPort, dport: testPort}),
			server: map[State]uint32{Established: 1},
		},
		{
			name: "other ports ignored",
			b: cat(
				diag(testSeq, sock{state: Established, sport: peerPort, dport: peerPort + 1}),
				diag(testSeq, sock{state: TimeWait, sport: testPort + 1, dport: testPort - 1}),
			),
		},
		{
			name: "port bytes in network order",
			b: cat(
				// 8080 is 0x1f90; 0x901f is the same bytes the other way round.
				diag(testSeq, sock{state: Established, sport: 0x901f, dport: peerPort}),
				diag(testSeq, sock{state: Established, sport: peerPort, dport: 0x901f}),
			),
		},
		{
			name: "LISTEN ignored",
			b:    diag(testSeq, sock{state: Listen, sport: testPort}),
		},
		{
			name: "unknown states ignored",
			b: cat(
				diag(testSeq, sock{state: numStates, sport: testPort, dport: peerPort}), // TCP_NEW_SYN_RECV
				diag(testSeq, sock{state: 13, sport: peerPort, dport: testPort}),
				diag(testSeq, sock{state: 255, sport: testPort, dport: peerPort}),
			),
		},
		{
			name: "several messages ended by NLMSG_DONE",
			b: cat(
				diag(testSeq, sock{state: Established, sport: testPort, dport: peerPort}),
				diag(testSeq, sock{state: Established, sport: peerPort, dport: testPort}),
				diag(testSeq, sock{family: afInet6, state: TimeWait, sport: testPort, dport: peerPort + 1}),
				diag(testSeq, sock{family: afInet6, state: TimeWait, sport: testPort, dport: peerPort + 2}),
				diag(testSeq, sock{state: FinWait2, sport: testPort, dport: peerPort + 3}),
				diag(testSeq, sock{state: CloseWait, sport: peerPort + 3, dport: testPort}),
				diag(testSeq, sock{state: SynRecv, sport: testPort, dport: peerPort + 4}),
				diag(testSeq, sock{state: Close, sport: peerPort + 5, dport: testPort}),
				done(testSeq),
			),
			wantDone: true,
			server:   map[State]uint32{Established: 1, TimeWait: 2, FinWait2: 1, SynRecv: 1},
			client:   map[State]uint32{Established: 1, CloseWait: 1, Close: 1},
		},
		{
			name:     "NLMSG_DONE without a body",
			b:        cat(diag(testSeq, sock{state: TimeWait, sport: testPort}), nlmsg(nlmsgDone, testSeq, nil)),
			wantDone: true,
			server:   map[State]uint32{TimeWait: 1},
		},
		{
			name: "parsing stops at NLMSG_DONE",
			b: cat(
				diag(testSeq, sock{state: TimeWait, sport: testPort}),
				done(testSeq),
				diag(testSeq, sock{state: TimeWait, sport: testPort}),
			),
			wantDone: true,
			server:   map[State]uint32{TimeWait: 1},
		},
		{
			name: "SOCK_DIAG_BY_FAMILY messages",
			b: cat(
				nlmsg(sockDiagByFamily, testSeq, diagMsg(sock{family: afInet6, state: LastAck, sport: testPort})),
				nlmsg(sockDiagByFamily, testSeq, diagMsg(sock{family: afInet6, state: FinWait1, dport: testPort})),
			),
			server: map[State]uint32{LastAck: 1},
			client: map[State]uint32{FinWait1: 1},
		},
		{
			name: "another sequence number skipped, its NLMSG_DONE and errors too",
			b: cat(
				diag(testSeq-1, sock{state: Established, sport: testPort}),
				nlmsg(nlmsgError, testSeq-1, errno(-int32(syscall.EBUSY))),
				done(testSeq-1),
				diag(testSeq, sock{state: Established, dport: testPort}),
				diag(testSeq+1, sock{state: Established, dport: testPort}),
			),
			client: map[State]uint32{Established: 1},
		},
		{
			name: "NLMSG_NOOP skipped",
			b: cat(
				nlmsg(nlmsgNoop, testSeq, nil),
				diag(testSeq, sock{state: Closing, sport: testPort}),
				nlmsg(nlmsgNoop, testSeq, []byte{1, 2, 3, 4, 5}),
			),
			server: map[State]uint32{Closing: 1},
		},
		{
			name: "NLMSG_ERROR 0 is an ack: skipped",
			b: cat(
				nlmsg(nlmsgError, testSeq, errno(0)),
				diag(testSeq, sock{state: SynSent, dport: testPort}),
			),
			client: map[State]uint32{SynSent: 1},
		},
		{
			name: "padding to 4 bytes between messages",
			b: cat(
				// 16+73 and 16+74 bytes: nlmsg pads them with 3 and 2 zero bytes.
				nlmsg(tcpdiagGetsock, testSeq, append(diagMsg(sock{state: TimeWait, sport: testPort}), 0xee)),
				nlmsg(tcpdiagGetsock, testSeq, append(diagMsg(sock{state: TimeWait, dport: testPort}), 0xee, 0xee)),
				nlmsg(nlmsgNoop, testSeq, []byte{0xee}),
				diag(testSeq, sock{state: Established, dport: testPort}),
				done(testSeq),
			),
			wantDone: true,
			server:   map[State]uint32{TimeWait: 1},
			client:   map[State]uint32{TimeWait: 1, Established: 1},
		},
		{
			name:   "last message unpadded at the end of the read",
			b:      nlmsg(tcpdiagGetsock, testSeq, append(diagMsg(sock{state: TimeWait, sport: testPort}), 0xee))[:nlmsgHdrLen+inetDiagMsgLen+1],
			server: map[State]uint32{TimeWait: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := tally{port: testPort}
			gotDone, err := tl.parse(tc.b, testSeq)
			if err != nil {
				t.Fatalf("parse(%s) error = %v; want nil", tc.name, err)
			}
			if gotDone != tc.wantDone {
				t.Errorf("parse(%s) done = %v; want %v", tc.name, gotDone, tc.wantDone)
			}
			if got, want := tl.server, counts(tc.server); got != want {
				t.Errorf("parse(%s) server = %s; want %s", tc.name, fmtCounts(got), fmtCounts(want))
			}
			if got, want := tl.client, counts(tc.client); got != want {
				t.Errorf("parse(%s) client = %s; want %s", tc.name, fmtCounts(got), fmtCounts(want))
			}
		})
	}
}

// TestParseAcrossReads feeds a dump in several reads, as the sampler does:
// the counts add up and only the read with NLMSG_DONE reports done.
func TestParseAcrossReads(t *testing.T) {
	tl := tally{port: testPort}
	reads := [][]byte{
		cat(diag(testSeq, sock{state: TimeWait, sport: testPort}), diag(testSeq, sock{state: TimeWait, dport: testPort})),
		diag(testSeq, sock{state: TimeWait, dport: testPort}),
		done(testSeq),
	}
	for i, b := range reads {
		d, err := tl.parse(b, testSeq)
		if err != nil || d != (i == len(reads)-1) {
			t.Fatalf("parse(read %d) = %v, %v; want %v, nil", i, d, err, i == len(reads)-1)
		}
	}
	if got, want := tl.server[TimeWait], uint32(1); got != want {
		t.Errorf("server TIME_WAIT = %d; want %d", got, want)
	}
	if got, want := tl.client[TimeWait], uint32(2); got != want {
		t.Errorf("client TIME_WAIT = %d; want %d", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	valid := diag(testSeq, sock{state: TimeWait, sport: testPort})
	for _, tc := range []struct {
		name     string
		b        []byte
		want     error // errors.Is target
		wantDone bool
	}{
		{
			name:     "NLMSG_ERROR with a negative errno",
			b:        cat(valid, nlmsg(nlmsgError, testSeq, errno(-int32(syscall.EINVAL)))),
			want:     syscall.EINVAL,
			wantDone: true,
		},
		{
			name:     "NLMSG_ERROR with only the errno",
			b:        nlmsg(nlmsgError, testSeq, errno(-int32(syscall.ENOENT))[:4]),
			want:     syscall.ENOENT,
			wantDone: true,
		},
		{
			name:     "NLMSG_DONE with a negative errno",
			b:        cat(valid, nlmsg(nlmsgDone, testSeq, errno(-int32(syscall.EINTR)))),
			want:     syscall.EINTR,
			wantDone: true,
		},
		{
			name: "NLMSG_ERROR too short for the errno",
			b:    nlmsg(nlmsgError, testSeq, []byte{0xfe, 0xff}),
			want: ErrMalformed,
		},
		{
			name: "nlmsg_len 0",
			b:    nlmsgLen(0, tcpdiagGetsock, testSeq, diagMsg(sock{state: TimeWait, sport: testPort})),
			want: ErrMalformed,
		},
		{
			name: "nlmsg_len 15, less than the header",
			b:    cat(valid, nlmsgLen(nlmsgHdrLen-1, nlmsgNoop, testSeq, nil)),
			want: ErrMalformed,
		},
		{
			name: "nlmsg_len past the end of the buffer",
			b:    cat(valid, nlmsgLen(nlmsgHdrLen+inetDiagMsgLen+4, tcpdiagGetsock, testSeq, diagMsg(sock{state: TimeWait, sport: testPort}))),
			want: ErrMalformed,
		},
		{
			name: "nlmsg_len 4 GiB",
			b:    nlmsgLen(0xffffffff, tcpdiagGetsock, testSeq, diagMsg(sock{state: TimeWait, sport: testPort})),
			want: ErrMalformed,
		},
		{
			name: "inet_diag message of 71 bytes",
			b:    nlmsg(tcpdiagGetsock, testSeq, diagMsg(sock{state: TimeWait, sport: testPort})[:inetDiagMsgLen-1]),
			want: ErrMalformed,
		},
		{
			name: "SOCK_DIAG_BY_FAMILY message without a body",
			b:    nlmsg(sockDiagByFamily, testSeq, nil),
			want: ErrMalformed,
		},
		{
			name: "unknown message type",
			b:    cat(valid, nlmsg(99, testSeq, diagMsg(sock{state: TimeWait, sport: testPort}))),
			want: ErrMalformed,
		},
		{
			name: "NLMSG_OVERRUN",
			b:    nlmsg(4, testSeq, nil),
			want: ErrMalformed,
		},
		{
			name: "1 stray byte after the last message",
			b:    cat(valid, []byte{0}),
			want: ErrMalformed,
		},
		{
			name: "15 stray bytes after the last message",
			b:    cat(valid, done(testSeq)[:nlmsgHdrLen-1]),
			want: ErrMalformed,
		},
		{
			name: "stray bytes only",
			b:    []byte{1, 2, 3},
			want: ErrMalformed,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := tally{port: testPort, tw: newTimeWaitTracker(100)}
			gotDone, err := tl.parse(tc.b, testSeq)
			if !errors.Is(err, tc.want) {
				t.Errorf("parse(%s) error = %v; want one wrapping %v", tc.name, err, tc.want)
			}
			if tc.want != ErrMalformed && errors.Is(err, ErrMalformed) {
				t.Errorf("parse(%s) error = %v; want it not to wrap ErrMalformed", tc.name, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "sockstat: ") {
				t.Errorf("parse(%s) error = %q; want it prefixed %q", tc.name, err, "sockstat: ")
			}
			if gotDone != tc.wantDone {
				t.Errorf("parse(%s) done = %v; want %v", tc.name, gotDone, tc.wantDone)
			}
		})
	}
}

func TestParseMaxTimeWaitLeft(t *testing.T) {
	for _, tc := range []struct {
		name  string
		socks []sock
		want  uint32
	}{
		{name: "no sockets"},
		{
			name:  "no TIME_WAIT sockets",
			socks: []sock{{state: FinWait2, sport: testPort, expires: 61000}, {state: Established, dport: testPort, expires: 99999}},
		},
		{
			name: "largest of both ends",
			socks: []sock{
				{state: TimeWait, sport: testPort, expires: 30000},
				{state: TimeWait, dport: testPort, expires: 59000},
				{state: TimeWait, dport: testPort, expires: 100},
			},
			want: 59000,
		},
		{
			name: "TIME_WAIT only",
			socks: []sock{
				{state: TimeWait, sport: testPort, expires: 12000},
				{state: FinWait2, sport: testPort, expires: 61000}, // an orphan's FIN_WAIT2 timer
				{state: FinWait1, dport: testPort, expires: 62000}, // a retransmit timer
				{state: Listen, sport: testPort, expires: 63000},
				{state: TimeWait, sport: testPort + 1, expires: 64000}, // another port
				{state: 12, sport: testPort, expires: 65000},
			},
			want: 12000,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var msgs [][]byte
			for _, s := range tc.socks {
				msgs = append(msgs, diag(testSeq, s))
			}
			tl := tally{port: testPort}
			if _, err := tl.parse(cat(msgs...), testSeq); err != nil {
				t.Fatal(err)
			}
			if tl.maxTWLeftMs != tc.want {
				t.Errorf("parse(%s) maxTWLeftMs = %d; want %d", tc.name, tl.maxTWLeftMs, tc.want)
			}
		})
	}
}

// TestParseNewTimeWait runs samples through parse with a tracker: the ends
// of new TIME_WAIT sockets are counted apart, and cookies are read whole.
func TestParseNewTimeWait(t *testing.T) {
	tw := newTimeWaitTracker(100)
	for i, tc := range []struct {
		at                   int64
		socks                []sock
		wantClient, wantServ int
	}{
		{ // baseline
			at: 1000,
			socks: []sock{
				{state: TimeWait, sport: testPort, cookie: 1 << 32, expires: 60000},
				{state: TimeWait, dport: testPort, cookie: 1, expires: 60000},
			},
		},
		{ // the same sockets 500 ms later, and two new ones
			at: 1500,
			socks: []sock{
				{state: TimeWait, sport: testPort, cookie: 1 << 32, expires: 59502},
				{state: TimeWait, dport: testPort, cookie: 1, expires: 59500},
				{state: TimeWait, dport: testPort, cookie: 1<<32 | 1, expires: 59990},
				{state: TimeWait, dport: testPort, cookie: 2, expires: 60000},
				{state: Established, dport: testPort, cookie: 3},
			},
			wantClient: 2,
		},
		{ // one new server end
			at: 2000,
			socks: []sock{
				{state: TimeWait, sport: testPort, cookie: 1 << 32, expires: 59000},
				{state: TimeWait, dport: testPort, cookie: 1<<32 | 1, expires: 59490},
				{state: TimeWait, dport: testPort, cookie: 2, expires: 59500},
				{state: TimeWait, sport: testPort, cookie: 2 << 32, expires: 59999},
			},
			wantServ: 1,
		},
	} {
		var msgs [][]byte
		for _, s := range tc.socks {
			msgs = append(msgs, diag(testSeq, s))
		}
		tl := tally{port: testPort, at: tc.at, tw: tw}
		if _, err := tl.parse(cat(msgs...), testSeq); err != nil {
			t.Fatal(err)
		}
		tw.finish()
		if tl.clientNewTW != tc.wantClient || tl.serverNewTW != tc.wantServ {
			t.Errorf("sample %d: parse() new TIME_WAIT client %d, server %d; want %d, %d",
				i, tl.clientNewTW, tl.serverNewTW, tc.wantClient, tc.wantServ)
		}
	}
}

func TestAppendDumpRequest(t *testing.T) {
	const (
		seq    = 0x01020304
		states = connStateMask
	)
	filter := filterBytecode(netip.MustParseAddrPort("127.0.0.1:8080"))
	prefix := []byte("previous")
	for _, tc := range []struct {
		kind     requestKind
		family   uint8
		wantType uint16
		reqLen   int
	}{
		{kind: legacyRequest, family: afInet6, wantType: 18, reqLen: 60},
		{kind: familyRequest, family: afInet, wantType: 20, reqLen: 56},
		{kind: familyRequest, family: afInet6, wantType: 20, reqLen: 56},
	} {
		name := fmt.Sprintf("appendDumpRequest(kind %d, family %d)", tc.kind, tc.family)
		wantLen := 16 + tc.reqLen + 4 + len(filter)
		b := appendDumpRequest(bytes.Clone(prefix), tc.kind, tc.family, seq, filter, states)
		if !bytes.HasPrefix(b, prefix) {
			t.Errorf("%s changed the bytes it appends to: %q", name, b[:len(prefix)])
		}
		m := b[len(prefix):]
		if len(m) != wantLen {
			t.Fatalf("%s appended %d bytes; want %d", name, len(m), wantLen)
		}
		u16 := func(off int) uint16 { return binary.NativeEndian.Uint16(m[off:]) }
		u32 := func(off int) uint32 { return binary.NativeEndian.Uint32(m[off:]) }
		for _, f := range []struct {
			field     string
			got, want uint32
		}{
			{"nlmsg_len", u32(0), uint32(wantLen)},
			{"nlmsg_type", uint32(u16(4)), uint32(tc.wantType)},
			{"nlmsg_flags", uint32(u16(6)), 0x301},
			{"nlmsg_seq", u32(8), seq},
			{"nlmsg_pid", u32(12), 0},
			{"bytecode nla_len", uint32(u16(16 + tc.reqLen)), uint32(4 + len(filter))},
			{"bytecode nla_type", uint32(u16(16 + tc.reqLen + 2)), 1},
		} {
			if f.got != f.want {
				t.Errorf("%s %s = %#x; want %#x", name, f.field, f.got, f.want)
			}
		}
		req := m[16 : 16+tc.reqLen]
		if tc.kind == legacyRequest {
			// struct inet_diag_req: family, src_len, dst_len, ext, id (48
			// bytes), states, dbs.
			if req[0] != afInet {
				t.Errorf("%s idiag_family = %d; want %d", name, req[0], afInet)
			}
			if got := binary.NativeEndian.Uint32(req[52:]); got != states {
				t.Errorf("%s idiag_states = %#x; want %#x", name, got, states)
			}
			if !allZero(req[1:52]) || !allZero(req[56:60]) {
				t.Errorf("%s: want zeros in the request but family and states, got % x", name, req)
			}
		} else {
			// struct inet_diag_req_v2: family, protocol, ext, pad, states,
			// id (48 bytes).
			if req[0] != tc.family || req[1] != ipprotoTCP {
				t.Errorf("%s family, protocol = %d, %d; want %d, %d", name, req[0], req[1], tc.family, ipprotoTCP)
			}
			if got := binary.NativeEndian.Uint32(req[4:]); got != states {
				t.Errorf("%s idiag_states = %#x; want %#x", name, got, states)
			}
			if !allZero(req[2:4]) || !allZero(req[8:56]) {
				t.Errorf("%s: want zeros in the request but family, protocol and states, got % x", name, req)
			}
		}
		if got := m[16+tc.reqLen+4:]; !bytes.Equal(got, filter) {
			t.Errorf("%s bytecode = % x; want % x", name, got, filter)
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestConnStateMask(t *testing.T) {
	var want uint32
	for _, s := range ConnStates() {
		want |= 1 << s
	}
	if connStateMask != want {
		t.Errorf("connStateMask = %#x; want %#x (every state of ConnStates)", connStateMask, want)
	}
	if connStateMask&(1<<Listen) != 0 {
		t.Errorf("connStateMask = %#x; want the LISTEN bit clear", connStateMask)
	}
}

// entry is what the kernel's filter sees of a socket (struct
// inet_diag_entry): its family, and its local and remote address and port.
// Addresses are 16 bytes for IPv6 sockets, 4 for IPv4 ones.
type entry struct {
	family       uint8
	saddr, daddr []byte
	sport, dport uint16
}

func v4(a string, sport, dport uint16, b string) entry {
	s, d := netip.MustParseAddr(a).As4(), netip.MustParseAddr(b).As4()
	return entry{afInet, s[:], d[:], sport, dport}
}

func v6(a string, sport, dport uint16, b string) entry {
	s, d := netip.MustParseAddr(a).As16(), netip.MustParseAddr(b).As16()
	return entry{afInet6, s[:], d[:], sport, dport}
}

// bcRun is the kernel's inet_diag_bc_run (net/ipv4/inet_diag.c) for the
// ops filterBytecode uses: each op is {code u8, yes u8, no u16}; on a match
// the program moves on yes bytes, else no bytes; it accepts a socket when
// the bytes left are exactly 0. A host condition (S_COND, D_COND) matches
// the port unless it is -1, then the family, where an IPv4 condition also
// matches an IPv6 socket's IPv4-mapped address, then the prefix. ok is
// false if the program reads outside itself.
func bcRun(bc []byte, e entry) (accept, ok bool) {
	off, left := 0, len(bc)
	for left > 0 {
		if off < 0 || off+4 > len(bc) {
			return false, false
		}
		code, yes, no := bc[off], int(bc[off+1]), int(binary.NativeEndian.Uint16(bc[off+2:]))
		match := false
		switch code {
		case 0: // NOP: always matches
			match = true
		case bcJmp:
		case bcSrcCond, bcDstCond:
			if off+12 > len(bc) {
				return false, false
			}
			c := bc[off+4:]
			family, bits, port := c[0], int(c[1]), int32(binary.NativeEndian.Uint32(c[4:]))
			addr, p := e.saddr, e.sport
			if code == bcDstCond {
				addr, p = e.daddr, e.dport
			}
			match = port == -1 || port == int32(p)
			if !match {
				break
			}
			want := c[8:min(len(c), 8+(bits+7)/8)]
			switch {
			case family == 0:
			case family != e.family:
				mapped := e.family == afInet6 && family == afInet && allZero(addr[:10]) &&
					addr[10] == 0xff && addr[11] == 0xff
				match = mapped && prefixMatch(addr[12:], want, bits)
			default:
				match = prefixMatch(addr, want, bits)
			}
		default:
			return false, false
		}
		step := no
		if match {
			step = yes
		}
		if step == 0 { // the kernel would loop forever; the audit forbids it
			return false, false
		}
		off += step
		left -= step
	}
	return left == 0, true
}

func prefixMatch(addr, want []byte, bits int) bool {
	for i := 0; bits > 0; i++ {
		mask := byte(0xff)
		if bits < 8 {
			mask <<= 8 - bits
		}
		if i >= len(addr) || i >= len(want) || addr[i]&mask != want[i]&mask {
			return false
		}
		bits -= 8
	}
	return true
}

// bcAudit is the kernel's inet_diag_bc_audit, valid_cc and valid_hostcond
// for the ops filterBytecode uses: yes and no must each be at least the
// op's length, at most 4 past the end, and multiples of 4; every no that
// lands inside the program must land on an op of the yes chain; a host
// condition's family must be AF_UNSPEC, AF_INET or AF_INET6, with room for
// its address and a prefix no longer than it; the yes chain must end
// exactly at the end.
func bcAudit(bc []byte) error {
	validCC := func(cc int) bool { // valid_cc(bytecode, len(bc), cc)
		off, left := 0, len(bc)
		for left >= 0 {
			if cc > left {
				return false
			}
			if cc == left {
				return true
			}
			if off+4 > len(bc) {
				return false
			}
			yes := int(bc[off+1])
			if yes < 4 || yes&3 != 0 {
				return false
			}
			left -= yes
			off += yes
		}
		return false
	}
	if len(bc) < 4 {
		return errors.New("bytecode shorter than an op")
	}
	off, left := 0, len(bc)
	for left > 0 {
		if off+4 > len(bc) {
			return fmt.Errorf("op at %d: past the end", off)
		}
		code, yes, no := bc[off], int(bc[off+1]), int(binary.NativeEndian.Uint16(bc[off+2:]))
		minLen := 4
		switch code {
		case 0, bcJmp:
		case bcSrcCond, bcDstCond:
			minLen += 8
			if left < minLen {
				return fmt.Errorf("op at %d: host condition without its header", off)
			}
			addrLen := 0
			switch bc[off+4] {
			case 0:
			case afInet:
				addrLen = 4
			case afInet6:
				addrLen = 16
			default:
				return fmt.Errorf("op at %d: host condition of family %d", off, bc[off+4])
			}
			minLen += addrLen
			if left < minLen {
				return fmt.Errorf("op at %d: host condition without its address", off)
			}
			if int(bc[off+5]) > 8*addrLen {
				return fmt.Errorf("op at %d: prefix of %d bits for a %d-byte address", off, bc[off+5], addrLen)
			}
		default:
			return fmt.Errorf("op at %d: code %d not audited here", off, code)
		}
		if code != 0 {
			if no < minLen || no > left+4 || no&3 != 0 {
				return fmt.Errorf("op at %d: no = %d, %d bytes left", off, no, left)
			}
			if no < left && !validCC(left-no) {
				return fmt.Errorf("op at %d: no = %d lands off the yes chain", off, no)
			}
		}
		if yes < minLen || yes > left+4 || yes&3 != 0 {
			return fmt.Errorf("op at %d: yes = %d, %d bytes left", off, yes, left)
		}
		off += yes
		left -= yes
	}
	if left != 0 {
		return fmt.Errorf("yes chain ends %d bytes past the end", -left)
	}
	return nil
}

// TestBytecodeHelpers checks bcRun and bcAudit themselves on programs whose
// fate is known, so TestFilterBytecode's verdicts mean something.
func TestBytecodeHelpers(t *testing.T) {
	op := func(code, yes uint8, no uint16) []byte {
		return binary.NativeEndian.AppendUint16([]byte{code, yes}, no)
	}
	cond := func(family, bits uint8, port int32, addr ...byte) []byte {
		return append(binary.NativeEndian.AppendUint32([]byte{family, bits, 0, 0}, uint32(port)), addr...)
	}
	lo := []byte{127, 0, 0, 1}
	for _, tc := range []struct {
		name     string
		bc       []byte
		auditOK  bool
		e        entry
		accepted bool
	}{
		{"src 127.0.0.1:5", cat(op(bcSrcCond, 16, 20), cond(afInet, 32, 5, lo...)), true, v4("127.0.0.1", 5, 1, "127.0.0.2"), true},
		{"src 127.0.0.1:5, other port", cat(op(bcSrcCond, 16, 20), cond(afInet, 32, 5, lo...)), true, v4("127.0.0.1", 6, 5, "127.0.0.1"), false},
		{"src 127.0.0.1:5, other address", cat(op(bcSrcCond, 16, 20), cond(afInet, 32, 5, lo...)), true, v4("127.0.0.2", 5, 1, "127.0.0.1"), false},
		{"src 127.0.0.1:5, IPv4-mapped socket", cat(op(bcSrcCond, 16, 20), cond(afInet, 32, 5, lo...)), true, v6("::ffff:127.0.0.1", 5, 1, "::ffff:127.0.0.1"), true},
		{"src 127.0.0.1:5, IPv6 socket", cat(op(bcSrcCond, 16, 20), cond(afInet, 32, 5, lo...)), true, v6("::1", 5, 1, "::1"), false},
		{"dst any:5", cat(op(bcDstCond, 12, 16), cond(0, 0, 5)), true, v4("10.0.0.1", 1, 5, "10.9.9.9"), true},
		{"dst 127.0.0.0/8 any port", cat(op(bcDstCond, 16, 20), cond(afInet, 8, -1, lo...)), true, v4("10.0.0.1", 1, 7, "127.9.9.9"), true},
		{"no not a multiple of 4", cat(op(bcSrcCond, 16, 18), cond(afInet, 32, 5, lo...)), false, entry{}, false},
		{"yes shorter than the condition", cat(op(bcSrcCond, 12, 20), cond(afInet, 32, 5, lo...)), false, entry{}, false},
		{"condition without its address", cat(op(bcSrcCond, 12, 16), cond(afInet, 32, 5)), false, entry{}, false},
		{"prefix longer than the address", cat(op(bcSrcCond, 16, 20), cond(afInet, 33, 5, lo...)), false, entry{}, false},
		{"unknown family", cat(op(bcSrcCond, 16, 20), cond(7, 0, 5, lo...)), false, entry{}, false},
		{"no off the yes chain", cat(op(bcJmp, 8, 4), op(bcJmp, 4, 8), op(0, 4, 0)), false, entry{}, false},
	} {
		err := bcAudit(tc.bc)
		if (err == nil) != tc.auditOK {
			t.Errorf("bcAudit(%s) = %v; want ok %v", tc.name, err, tc.auditOK)
		}
		if !tc.auditOK {
			continue
		}
		if got, ok := bcRun(tc.bc, tc.e); !ok || got != tc.accepted {
			t.Errorf("bcRun(%s, %+v) = %v, ok %v; want %v, ok", tc.name, tc.e, got, ok, tc.accepted)
		}
	}
}

func TestFilterBytecode(t *testing.T) {
	const p = 8080
	for _, tc := range []struct {
		target string
		accept []entry
		reject []entry
	}{
		{"127.0.0.1:8080",
			[]entry{
				v4("127.0.0.1", p, 40000, "127.0.0.1"),               // server end
				v4("127.0.0.1", 40000, p, "127.0.0.1"),               // client end
				v6("::ffff:127.0.0.1", p, 40000, "::ffff:127.0.0.1"), // server end of a dual-stack listener
				v4("127.0.0.5", 40000, p, "127.0.0.1"),               // from another source address
			},
			[]entry{
				v4("127.0.0.2", p, 40000, "127.0.0.1"),    // another address's port 8080
				v4("10.0.0.1", 40000, p, "10.0.0.2"),      // a connection to another host's 8080
				v4("127.0.0.1", 40000, 8081, "127.0.0.1"), // another port
				v6("::1", p, 40000, "::1"),                // IPv6 loopback, not the target
			}},
		{"[::1]:8080",
			[]entry{v6("::1", p, 40000, "::1"), v6("::1", 40000, p, "::1")},
			[]entry{v4("127.0.0.1", p, 40000, "127.0.0.1"), v6("::2", 40000, p, "::2")}},
		{"0.0.0.0:8080", // unspecified: the port alone
			[]entry{v4("10.0.0.1", 40000, p, "10.0.0.2"), v6("::1", p, 1, "::1"), v4("127.0.0.1", p, p, "127.0.0.1")},
			[]entry{v4("10.0.0.1", 40000, 8081, "10.0.0.2")}},
	} {
		target := netip.MustParseAddrPort(tc.target)
		bc := filterBytecode(target)
		if err := bcAudit(bc); err != nil {
			t.Errorf("bcAudit(filterBytecode(%s)) = %v; want nil (the kernel would answer EINVAL)", target, err)
			continue
		}
		for want, entries := range map[bool][]entry{true: tc.accept, false: tc.reject} {
			for _, e := range entries {
				if got, ok := bcRun(bc, e); !ok || got != want {
					t.Errorf("bcRun(filterBytecode(%s), %+v) = %v, ok %v; want %v", target, e, got, ok, want)
				}
			}
		}
	}
}

// twObs is one TIME_WAIT socket in a sample handed to the tracker.
type twObs struct {
	cookie uint64
	expiry int64 // ms on the tracker's clock
}

func TestTimeWaitTracker(t *testing.T) {
	const band = 100
	type sample struct {
		socks   []twObs
		wantNew int
	}
	for _, tc := range []struct {
		name    string
		samples []sample
	}{
		{
			name: "baseline counts nothing new",
			samples: []sample{
				{socks: []twObs{{1, 60000}, {2, 60010}, {3, 59000}}, wantNew: 0},
			},
		},
		{
			name: "empty baseline, then every socket is new",
			samples: []sample{
				{},
				{socks: []twObs{{1, 60000}, {2, 60010}, {3, 10}}, wantNew: 3},
			},
		},
		{
			name: "seen sockets are not new when their expiry jitters up",
			samples: []sample{
				{socks: []twObs{{1, 60000}, {2, 59995}, {3, 59950}}},
				{socks: []twObs{{1, 60004}, {2, 60001}, {3, 59955}}, wantNew: 0},
				{socks: []twObs{{1, 60009}, {2, 59998}, {3, 59960}}, wantNew: 0},
			},
		},
		{
			name: "unseen sockets above the cutoff are new",
			samples: []sample{
				{socks: []twObs{{1, 60000}}},
				{socks: []twObs{{1, 60002}, {2, 60300}, {3, 60500}}, wantNew: 2},
				{socks: []twObs{{1, 60001}, {2, 60301}, {3, 60499}, {4, 61000}}, wantNew: 1},
			},
		},
		{
			name: "unseen sockets within band below the cutoff are new",
			samples: []sample{
				// 5 entered TIME_WAIT while the previous dump walked the table,
				// behind where the walk was.
				{socks: []twObs{{1, 60000}}},
				{socks: []twObs{{1, 60000}, {5, 59950}}, wantNew: 1},
			},
		},
		{
			name: "sockets far below the cutoff are old",
			samples: []sample{
				{socks: []twObs{{1, 60000}, {2, 30000}}},
				{socks: []twObs{{1, 60000}, {2, 30003}, {9, 20000}, {10, 60000 - band}}, wantNew: 0},
			},
		},
		{
			name: "a sample without TIME_WAIT sockets keeps the cutoff",
			samples: []sample{
				{socks: []twObs{{1, 60000}}},
				{socks: nil, wantNew: 0},
				{socks: []twObs{{7, 30000}}, wantNew: 0},
				{socks: []twObs{{7, 30000}, {8, 61000}}, wantNew: 1},
			},
		},
		{
			name: "the cutoff never moves back",
			samples: []sample{
				{socks: []twObs{{1, 60000}}},
				{socks: []twObs{{2, 50000}}, wantNew: 0},
				{socks: []twObs{{3, 55000}}, wantNew: 0},
			},
		},
		{
			name: "a new cutoff's band keeps the sockets it needs",
			samples: []sample{
				{socks: []twObs{{1, 60000}}},
				{socks: []twObs{{1, 60000}, {2, 61000}, {3, 60950}}, wantNew: 2},
				{socks: []twObs{{1, 60003}, {2, 61003}, {3, 60953}, {4, 60990}}, wantNew: 1},
			},
		},
		{
			name: "many sockets in the band",
			samples: []sample{
				{socks: seqObs(0, 500, 60000)},
				{socks: seqObs(0, 500, 60003), wantNew: 0},
				{socks: append(seqObs(0, 500, 60001), seqObs(500, 50, 60200)...), wantNew: 50},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTimeWaitTracker(band)
			for i, s := range tc.samples {
				n := 0
				for _, o := range s.socks {
					if tr.observe(o.cookie, o.expiry) {
						n++
					}
				}
				tr.finish()
				if n != s.wantNew {
					t.Errorf("sample %d (%d sockets): observe() reported %d new; want %d", i, len(s.socks), n, s.wantNew)
				}
			}
		})
	}
}

// seqObs returns n sockets with cookies from first, the last expiring at
// last and the others a millisecond apart before it, as a burst of closes.
func seqObs(first uint64, n int, last int64) []twObs {
	obs := make([]twObs, n)
	for i := range obs {
		obs[i] = twObs{first + uint64(i), last - int64(n-1-i)/10}
	}
	return obs
}

// TestTimeWaitTrackerBandEdge is a socket seen in one sample whose expiry
// estimate lies just outside the band that is checked, and in the next
// sample, after a jitter of 2 ms, just inside it. It is the same socket, so
// it is not new: the tracker keeps cookies for twice the band it checks.
func TestTimeWaitTrackerBandEdge(t *testing.T) {
	const band = 100
	tr := newTimeWaitTracker(band)
	samples := [][]twObs{
		{{1, 60000}, {2, 60000 - band}},
		{{1, 60002}, {2, 60000 - band + 2}},
	}
	for i, s := range samples {
		n := 0
		for _, o := range s {
			if tr.observe(o.cookie, o.expiry) {
				n++
			}
		}
		tr.finish()
		if n != 0 {
			t.Errorf("sample %d %v: observe() reported %d new; want 0", i, s, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{}, uint32(testSeq))
	f.Add(cat(diag(testSeq, sock{state: TimeWait, sport: testPort, expires: 60000, cookie: 3}),
		diag(testSeq, sock{state: Established, dport: testPort}), done(testSeq)), uint32(testSeq))
	f.Add(cat(nlmsg(nlmsgError, testSeq, errno(-int32(syscall.EINVAL)))), uint32(testSeq))
	f.Add(cat(nlmsg(nlmsgNoop, testSeq, []byte{1}), nlmsg(sockDiagByFamily, testSeq, diagMsg(sock{state: FinWait2, sport: testPort}))), uint32(testSeq))
	f.Add(nlmsgLen(3, tcpdiagGetsock, testSeq, nil), uint32(testSeq))
	f.Add(cat(diag(testSeq, sock{state: TimeWait, dport: testPort}), []byte{0, 0, 0}), uint32(testSeq+1))
	f.Fuzz(func(t *testing.T, b []byte, seq uint32) {
		tl := tally{port: testPort, at: 1000, tw: newTimeWaitTracker(100)}
		_, err := tl.parse(b, seq)
		fit := len(b) / (nlmsgHdrLen + inetDiagMsgLen)
		if n := tl.client.Total() + tl.server.Total(); n > fit {
			t.Errorf("parse(% x) counted %d sockets; at most %d messages fit", b, n, fit)
		}
		if n, tw := tl.clientNewTW+tl.serverNewTW, int(tl.client[TimeWait]+tl.server[TimeWait]); n > tw {
			t.Errorf("parse(% x) counted %d new TIME_WAIT sockets of %d", b, n, tw)
		}
		if tl.client[Listen] != 0 || tl.server[Listen] != 0 {
			t.Errorf("parse(% x) counted LISTEN sockets", b)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "sockstat: ") {
			t.Errorf("parse(% x) error = %q; want it prefixed %q", b, err, "sockstat: ")
		}
		tl.tw.finish()
	})
}

// dumpReadLen is how much of a dump one read returns: the kernel's dump
// buffer, 32 KiB less its skb_shared_info (32448 bytes on x86-64 Linux 6.x).
const dumpReadLen = 32448

// timeWaitDump returns a dump of n TIME_WAIT sockets at the client end of
// testPort as the reads of a reader with CAP_NET_ADMIN receive it: each
// inet_diag_msg followed by an INET_DIAG_MARK attribute (96 bytes a
// message), as many whole messages a read as fit in dumpReadLen, and
// NLMSG_DONE at the end. Socket i's cookie is i+1 and its timer has
// 60 s × (i+1)/n left: sockets that entered TIME_WAIT evenly over the last
// minute. cookies holds where each socket's cookie is in reads.
func timeWaitDump(n int, seq uint32) (reads [][]byte, cookies []cookieAt) {
	mark := make([]byte, 8) // struct nlattr {8, INET_DIAG_MARK (15)}, u32 mark 0
	binary.NativeEndian.PutUint16(mark[0:], 8)
	binary.NativeEndian.PutUint16(mark[2:], 15)
	var cur []byte
	add := func(m []byte) {
		if len(cur)+len(m) > dumpReadLen {
			reads = append(reads, cur)
			cur = nil
		}
		cur = append(cur, m...)
	}
	for i := range n {
		// The local addresses are spread over twice as many as the
		// holders' table takes: the worst case for counting them.
		src := netip.AddrFrom4([4]byte{127, 1, byte(i % (2 * MaxHolderAddrs) / 256), byte(i % 256)})
		s := sock{state: TimeWait, timer: 3, sport: uint16(10000 + i%50000), dport: testPort,
			cookie: uint64(i + 1), expires: uint32(60000 * (i + 1) / n), src: src}
		add(nlmsg(tcpdiagGetsock, seq, append(diagMsg(s), mark...)))
		cookies = append(cookies, cookieAt{len(reads), len(cur) - 96 + nlmsgHdrLen + 44})
	}
	add(done(seq))
	return append(reads, cur), cookies
}

// cookieAt is where a socket's idiag_cookie is in a dump: a read, and the
// offset in it.
type cookieAt struct{ read, off int }

// parsePass parses one sample's dump as Sampler.sample does, at time at
// (ms on the tracker's clock).
func parsePass(tb testing.TB, reads [][]byte, tw *timeWaitTracker, holders [2]*addrTable, at int64) tally {
	holders[0].reset()
	holders[1].reset()
	t := tally{port: testPort, at: at, tw: tw, clientHolders: holders[0], serverHolders: holders[1]}
	for i, r := range reads {
		done, err := t.parse(r, testSeq)
		if err != nil || done != (i == len(reads)-1) {
			tb.Fatalf("parse(read %d of %d) = %v, %v; want done only at the last", i+1, len(reads), done, err)
		}
	}
	tw.finish()
	return t
}

// steadyPasses parses the dump of n sockets once a sample, 100 ms apart, as
// in a steady state of n TIME_WAIT sockets over a minute: each pass, the
// sockets' expiries move 100 ms on and the youngest 100 ms of them (n/600)
// are new sockets, with cookies not seen before; those near the cutoff are
// told apart by cookie. It returns the function that parses the next
// sample, after two samples that size the tracker's buffers.
func steadyPasses(tb testing.TB, n int) func() tally {
	reads, cookies := timeWaitDump(n, testSeq)
	tw := newTimeWaitTracker(100) // the Linux sampler's timeWaitBandMs
	holders := [2]*addrTable{newAddrTable(), newAddrTable()}
	var at int64
	pass := uint64(0)
	next := func() tally {
		if pass > 0 {
			for i := n - n/600; i < n; i++ {
				c := cookies[i]
				binary.NativeEndian.PutUint64(reads[c.read][c.off:], pass*uint64(n)+uint64(i)+1)
			}
		}
		t := parsePass(tb, reads, tw, holders, at)
		at += 100
		pass++
		return t
	}
	next()
	next()
	return next
}

// BenchmarkParseTimeWait is one sampler pass over a dump of TIME_WAIT
// sockets, without the kernel: the parse, the counts and the tracker of
// new TIME_WAIT sockets. BenchmarkSampleCrowded (Linux, root) measures
// the same with the kernel's dump.
func BenchmarkParseTimeWait(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) {
			next := steadyPasses(b, n)
			b.ReportAllocs()
			for b.Loop() {
				next()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/socket")
		})
	}
}

// A steady-state pass allocates nothing, per socket or per sample.
func TestParseTimeWaitAllocs(t *testing.T) {
	const n = 20_000
	next := steadyPasses(t, n)
	if got := next(); got.client[TimeWait] != n || got.clientNewTW != n/600 {
		t.Fatalf("a steady pass counted %d TIME_WAIT, %d new; want %d, %d", got.client[TimeWait], got.clientNewTW, n, n/600)
	}
	if allocs := testing.AllocsPerRun(5, func() { next() }); allocs != 0 {
		t.Errorf("a pass over %d TIME_WAIT sockets made %v allocations; want 0", n, allocs)
	}
}
