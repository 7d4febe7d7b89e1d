package sockstat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
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
	expires      uint32 // ms
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
	copy(m[24:], []byte{127, 0, 0, 1})         // id.idiag_dst
	binary.NativeEndian.PutUint32(m[40:], 1)   // id.idiag_if
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
		port   = 0x1f90 // 8080
		seq    = 0x01020304
		states = connStateMask
	)
	prefix := []byte("previous")
	for _, tc := range []struct {
		kind     requestKind
		family   uint8
		wantLen  int
		wantType uint16
		reqLen   int
	}{
		{kind: legacyRequest, family: afInet6, wantLen: 100, wantType: 18, reqLen: 60},
		{kind: familyRequest, family: afInet, wantLen: 96, wantType: 20, reqLen: 56},
		{kind: familyRequest, family: afInet6, wantLen: 96, wantType: 20, reqLen: 56},
	} {
		name := fmt.Sprintf("appendDumpRequest(kind %d, family %d)", tc.kind, tc.family)
		b := appendDumpRequest(bytes.Clone(prefix), tc.kind, tc.family, seq, port, states)
		if !bytes.HasPrefix(b, prefix) {
			t.Errorf("%s changed the bytes it appends to: %q", name, b[:len(prefix)])
		}
		m := b[len(prefix):]
		if len(m) != tc.wantLen {
			t.Fatalf("%s appended %d bytes; want %d", name, len(m), tc.wantLen)
		}
		u16 := func(off int) uint16 { return binary.NativeEndian.Uint16(m[off:]) }
		u32 := func(off int) uint32 { return binary.NativeEndian.Uint32(m[off:]) }
		for _, f := range []struct {
			field     string
			got, want uint32
		}{
			{"nlmsg_len", u32(0), uint32(tc.wantLen)},
			{"nlmsg_type", uint32(u16(4)), uint32(tc.wantType)},
			{"nlmsg_flags", uint32(u16(6)), 0x301},
			{"nlmsg_seq", u32(8), seq},
			{"nlmsg_pid", u32(12), 0},
			{"bytecode nla_len", uint32(u16(16 + tc.reqLen)), 24},
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
		bc := portBytecode(port)
		if got := m[16+tc.reqLen+4:]; !bytes.Equal(got, bc[:]) {
			t.Errorf("%s bytecode = % x; want portBytecode(%d) = % x", name, got, port, bc)
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

// bcRun is the kernel's inet_diag_bc_run (net/ipv4/inet_diag.c) for the ops
// portBytecode uses: each op is {code u8, yes u8, no u16}; on a match the
// program moves on yes bytes, else no bytes; it accepts a socket when the
// bytes left are exactly 0. ok is false if the program reads outside itself,
// which the kernel's audit must have ruled out.
func bcRun(bc []byte, sport, dport uint16) (accept, ok bool) {
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
		case bcSrcEq, bcDstEq:
			if off+8 > len(bc) {
				return false, false
			}
			want := binary.NativeEndian.Uint16(bc[off+6:]) // the next op's no
			match = (code == bcSrcEq && sport == want) || (code == bcDstEq && dport == want)
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

// bcAudit is the kernel's inet_diag_bc_audit and valid_cc for the ops
// portBytecode uses: yes and no must each be at least the op's length (8
// for a port comparison, which carries its port in a second op), at most
// the bytes left + 4, and a multiple of 4; a no target inside the program
// must lie on the chain of yes jumps from its start; and the yes chain must
// end exactly at the end.
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
		case bcSrcEq, bcDstEq:
			minLen += 4
			if left < minLen {
				return fmt.Errorf("op at %d: port comparison without its port", off)
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
// fate is known, so TestPortBytecode's verdicts mean something.
func TestBytecodeHelpers(t *testing.T) {
	op := func(code, yes uint8, no uint16) []byte {
		return binary.NativeEndian.AppendUint16([]byte{code, yes}, no)
	}
	for _, tc := range []struct {
		name     string
		bc       []byte
		auditOK  bool
		sport    uint16
		dport    uint16
		accepted bool
	}{
		{"sport == 5", cat(op(bcSrcEq, 8, 12), op(0, 0, 5)), true, 5, 1, true},
		{"sport == 5, other sport", cat(op(bcSrcEq, 8, 12), op(0, 0, 5)), true, 6, 5, false},
		{"dport == 5", cat(op(bcDstEq, 8, 12), op(0, 0, 5)), true, 1, 5, true},
		{"no not a multiple of 4", cat(op(bcSrcEq, 8, 10), op(0, 0, 5)), false, 5, 5, true},
		{"yes shorter than a port op", cat(op(bcSrcEq, 4, 12), op(0, 0, 5)), false, 5, 5, false},
		{"yes past the end + 4", cat(op(bcSrcEq, 16, 12), op(0, 0, 5)), false, 0, 0, false},
		{"port op without its port", op(bcSrcEq, 8, 12), false, 0, 0, false},
		{"no off the yes chain", cat(op(bcJmp, 8, 4), op(bcJmp, 4, 8), op(0, 4, 0)), false, 0, 0, false},
	} {
		err := bcAudit(tc.bc)
		if (err == nil) != tc.auditOK {
			t.Errorf("bcAudit(%s) = %v; want ok %v", tc.name, err, tc.auditOK)
		}
		if !tc.auditOK {
			continue
		}
		if got, ok := bcRun(tc.bc, tc.sport, tc.dport); !ok || got != tc.accepted {
			t.Errorf("bcRun(%s, sport %d, dport %d) = %v, ok %v; want %v, ok", tc.name, tc.sport, tc.dport, got, ok, tc.accepted)
		}
	}
}

func TestPortBytecode(t *testing.T) {
	for _, port := range []uint16{1, 80, 256, 0x0102, 8080, 32768, 65535} {
		bc := portBytecode(port)
		if err := bcAudit(bc[:]); err != nil {
			t.Errorf("bcAudit(portBytecode(%d)) = %v; want nil (the kernel would answer EINVAL)", port, err)
		}
		other := port - 1
		if other == 0 {
			other = port + 1
		}
		for _, tc := range []struct {
			sport, dport uint16
			want         bool
		}{
			{port, other, true},
			{other, port, true},
			{port, port, true},
			{other, other, false},
			{other, 0, false},
			{0, other, false},
			{port>>8 | port<<8, port>>8 | port<<8, port>>8 == port&0xff}, // byte-swapped
		} {
			got, ok := bcRun(bc[:], tc.sport, tc.dport)
			if !ok || got != tc.want {
				t.Errorf("bcRun(portBytecode(%d), sport %d, dport %d) = %v, ok %v; want %v, ok",
					port, tc.sport, tc.dport, got, ok, tc.want)
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
