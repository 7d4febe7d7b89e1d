package sockstat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The macOS decoders against the fixtures of testdata/darwin (see its
// README.md): the connections gen.c lists around 127.0.0.1:8080.

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "darwin", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// What gen.c's connections give, by target.
var darwinWant = []struct {
	target         string
	client, server Counts
}{
	{"127.0.0.1:8080",
		counts(map[State]uint32{Established: 1, TimeWait: 4, FinWait2: 1, SynSent: 1}),
		counts(map[State]uint32{Established: 1, TimeWait: 2, CloseWait: 1, LastAck: 1})},
	// An IPv4-mapped target is its IPv4 address.
	{"[::ffff:127.0.0.1]:8080",
		counts(map[State]uint32{Established: 1, TimeWait: 4, FinWait2: 1, SynSent: 1}),
		counts(map[State]uint32{Established: 1, TimeWait: 2, CloseWait: 1, LastAck: 1})},
	// An unspecified address matches the port alone, in both families.
	{"0.0.0.0:8080",
		counts(map[State]uint32{Established: 2, TimeWait: 6, FinWait2: 1, SynSent: 1, Closing: 1}),
		counts(map[State]uint32{Established: 1, TimeWait: 2, CloseWait: 1, LastAck: 1, FinWait1: 1})},
	{"[::]:8080",
		counts(map[State]uint32{Established: 2, TimeWait: 6, FinWait2: 1, SynSent: 1, Closing: 1}),
		counts(map[State]uint32{Established: 1, TimeWait: 2, CloseWait: 1, LastAck: 1, FinWait1: 1})},
	{"[::1]:8080", counts(map[State]uint32{TimeWait: 1}), counts(map[State]uint32{FinWait1: 1})},
	{"127.0.0.1:8081", Counts{}, counts(map[State]uint32{TimeWait: 1})},
	{"127.0.0.1:9", Counts{}, Counts{}},
}

// tallyOf decodes with decode into a tally of target.
func tallyOf(t *testing.T, target string, decode func(fn func(*bsdConn)) error) bsdTally {
	t.Helper()
	tl := newBSDTally(netip.MustParseAddrPort(target), nil, nil)
	if err := decode(tl.add); err != nil {
		t.Fatalf("decode for %s: %v", target, err)
	}
	return tl
}

func TestPCBListFixtures(t *testing.T) {
	for _, name := range []string{"pcblist_n-macos15.bin", "pcblist_n-macos12.bin"} {
		b := readFixture(t, name)
		for _, w := range darwinWant {
			tl := tallyOf(t, w.target, func(fn func(*bsdConn)) error { return decodePCBList(b, fn) })
			if tl.client != w.client || tl.server != w.server {
				t.Errorf("%s for %s: client %s, server %s; want client %s, server %s", name, w.target,
					fmtCounts(tl.client), fmtCounts(tl.server), fmtCounts(w.client), fmtCounts(w.server))
			}
		}
	}
}

func TestPCBListConnections(t *testing.T) {
	var got []bsdConn
	if err := decodePCBList(readFixture(t, "pcblist_n-macos15.bin"), func(c *bsdConn) { got = append(got, *c) }); err != nil {
		t.Fatal(err)
	}
	// gen.c lists 23, of which the last was reallocated while the list
	// was copied out (its generation count is above xig_gen).
	if len(got) != 22 {
		t.Fatalf("decoded %d connections; want 22", len(got))
	}
	for i, want := range []bsdConn{
		{netip.MustParseAddrPort("127.0.0.1:8080"), netip.MustParseAddrPort("0.0.0.0:0"), Listen, 101},
		{netip.MustParseAddrPort("0.0.0.0:8080"), netip.MustParseAddrPort("0.0.0.0:0"), Listen, 102},
		{netip.MustParseAddrPort("127.0.0.1:54322"), netip.MustParseAddrPort("127.0.0.1:8080"), TimeWait, 202},
		{netip.MustParseAddrPort("127.0.0.1:8080"), netip.MustParseAddrPort("127.0.0.1:54333"), TimeWait, 305},
		{netip.MustParseAddrPort("[::1]:54340"), netip.MustParseAddrPort("[::1]:8080"), TimeWait, 401},
		{netip.MustParseAddrPort("[fe80::1]:54341"), netip.MustParseAddrPort("[fe80::1]:8080"), Established, 403},
		{netip.MustParseAddrPort("[2001:db8:85a3::8a2e:370:7334]:50124"), netip.MustParseAddrPort("[2606:4700:4700::1111]:8080"), Closing, 504},
		{netip.MustParseAddrPort("0.0.0.0:0"), netip.MustParseAddrPort("0.0.0.0:0"), Close, 601},
		{netip.MustParseAddrPort("127.0.0.1:54360"), netip.MustParseAddrPort("127.0.0.1:8080"), TimeWait, 0},
	} {
		found := false
		for _, c := range got {
			if c == want {
				found = true
			}
		}
		if !found {
			t.Errorf("connection %d %+v not decoded", i, want)
		}
	}
}

func TestPCBListEmpty(t *testing.T) {
	n := 0
	if err := decodePCBList(readFixture(t, "pcblist_n-empty.bin"), func(*bsdConn) { n++ }); err != nil || n != 0 {
		t.Errorf("decodePCBList(empty) = %d connections, %v; want 0, nil", n, err)
	}
}

// TestPCBListTruncated cuts the list at every length: each must be refused.
func TestPCBListTruncated(t *testing.T) {
	b := readFixture(t, "pcblist_n-macos15.bin")
	for n := range len(b) {
		err := decodePCBList(b[:n], func(*bsdConn) {})
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrUnrecognised) {
			t.Fatalf("decodePCBList(first %d of %d bytes) = %v; want an error wrapping ErrTruncated or ErrUnrecognised", n, len(b), err)
		}
	}
}

// Offsets in pcblist_n-macos15.bin: the first connection's structures.
const (
	fixInpcb   = xinpgenLen
	fixSocket  = fixInpcb + xinpcbLen
	fixTcpcb   = fixSocket + xsocketLen + 2*xsockbufLen + xsockstatLen
	fixConnLen = fixTcpcb + 208 - fixInpcb
)

func TestPCBListMalformed(t *testing.T) {
	le := binary.LittleEndian
	for _, tc := range []struct {
		name  string
		patch func(b []byte) []byte
		want  error
	}{
		{"xinpgen of 32 bytes", func(b []byte) []byte { le.PutUint32(b, 32); return b }, ErrUnrecognised},
		{"xinpcb_n of 112 bytes", func(b []byte) []byte { le.PutUint32(b[fixInpcb:], 112); return b }, ErrUnrecognised},
		{"xsocket_n of 96 bytes", func(b []byte) []byte { le.PutUint32(b[fixSocket:], 96); return b }, ErrUnrecognised},
		{"xtcpcb_n of 208 bytes", func(b []byte) []byte { le.PutUint32(b[fixTcpcb:], 208); return b }, ErrUnrecognised},
		{"xsocket_n first", func(b []byte) []byte { le.PutUint32(b[fixInpcb+4:], xsoSocket); return b }, ErrUnrecognised},
		{"unknown kind", func(b []byte) []byte { le.PutUint32(b[fixTcpcb+4:], 0x40); return b }, ErrUnrecognised},
		{"TCP state 11", func(b []byte) []byte { le.PutUint32(b[fixTcpcb+xtcpcbState:], 11); return b }, ErrUnrecognised},
		{"TCP state -1", func(b []byte) []byte { le.PutUint32(b[fixTcpcb+xtcpcbState:], 0xffffffff); return b }, ErrUnrecognised},
		{"bytes after the closing xinpgen", func(b []byte) []byte { return append(b, make([]byte, 8)...) }, ErrUnrecognised},
		{"no closing xinpgen", func(b []byte) []byte { return b[:len(b)-xinpgenLen] }, ErrTruncated},
		{"closing xinpgen cut", func(b []byte) []byte { return b[:len(b)-8] }, ErrTruncated},
		{"count without connections", func(b []byte) []byte { return b[:xinpgenLen] }, ErrTruncated},
		{"a zero length", func(b []byte) []byte { le.PutUint32(b[fixInpcb:], 0); return b }, ErrUnrecognised},
		{"a huge length", func(b []byte) []byte { le.PutUint32(b[fixSocket:], 0xfffffff8); return b }, ErrUnrecognised},
	} {
		b := tc.patch(bytes.Clone(readFixture(t, "pcblist_n-macos15.bin")))
		if err := decodePCBList(b, func(*bsdConn) {}); !errors.Is(err, tc.want) {
			t.Errorf("decodePCBList(%s) = %v; want an error wrapping %v", tc.name, err, tc.want)
		}
	}
}

// TestPCBListNotTCP checks that a socket of another protocol is skipped,
// as netstat skips it, and the rest decoded.
func TestPCBListNotTCP(t *testing.T) {
	b := bytes.Clone(readFixture(t, "pcblist_n-macos15.bin"))
	binary.LittleEndian.PutUint32(b[fixSocket+xsocketProto:], 17)
	n := 0
	if err := decodePCBList(b, func(c *bsdConn) { n++ }); err != nil || n != 21 {
		t.Errorf("decodePCBList(first socket UDP) = %d connections, %v; want 21, nil", n, err)
	}
	if fixConnLen != 616 {
		t.Errorf("a connection takes %d bytes; want 616", fixConnLen)
	}
}

func TestNetstatFixtures(t *testing.T) {
	for _, name := range []string{"netstat-an.txt", "netstat-anl.txt",
		"netstat-anlv-network_cmds-696.txt", "netstat-anlv-network_cmds-741.txt"} {
		out := readFixture(t, name)
		for _, w := range darwinWant {
			tl := tallyOf(t, w.target, func(fn func(*bsdConn)) error { return parseNetstatConns(out, fn) })
			if tl.client != w.client || tl.server != w.server {
				t.Errorf("%s for %s: client %s, server %s; want client %s, server %s", name, w.target,
					fmtCounts(tl.client), fmtCounts(tl.server), fmtCounts(w.client), fmtCounts(w.server))
			}
		}
	}
}

// TestNetstatIDs checks the socket generation counts read from -v.
func TestNetstatIDs(t *testing.T) {
	for _, name := range []string{"netstat-anlv-network_cmds-696.txt", "netstat-anlv-network_cmds-741.txt"} {
		ids := map[string]uint64{}
		err := parseNetstatConns(readFixture(t, name), func(c *bsdConn) {
			if c.state == TimeWait {
				ids[c.local.String()+" "+c.remote.String()] = c.id
			}
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := map[string]uint64{
			"127.0.0.1:54322 127.0.0.1:8080": 1202,
			"127.0.0.1:54323 127.0.0.1:8080": 1203,
			"127.0.0.2:54326 127.0.0.1:8080": 1206,
			"127.0.0.1:8080 127.0.0.1:54330": 1302,
			"127.0.0.1:8080 127.0.0.1:54333": 1305,
			"[::1]:54340 [::1]:8080":         1401,
			"127.0.0.1:54350 127.0.0.3:8080": 1501,
			"127.0.0.1:8081 127.0.0.1:54351": 1502,
			"127.0.0.1:54360 127.0.0.1:8080": 0,
		}
		if !maps.Equal(ids, want) {
			t.Errorf("%s: TIME_WAIT ids %v; want %v", name, ids, want)
		}
	}
}

func TestNetstatMalformed(t *testing.T) {
	anlv := string(readFixture(t, "netstat-anlv-network_cmds-741.txt"))
	lines := strings.SplitAfter(anlv, "\n")
	row := lines[5] // 127.0.0.1.54322 in TIME_WAIT
	header := lines[0] + lines[1]
	replace := func(old, new string) string { return header + strings.Replace(row, old, new, 1) }
	for _, tc := range []struct {
		name, out string
		want      error
	}{
		{"last line cut", anlv[:len(anlv)-40], ErrTruncated},
		{"no newline at the end", strings.TrimSuffix(anlv, "\n"), ErrTruncated},
		{"unknown state", replace("TIME_WAIT  ", "TIME_WAITS "), ErrUnrecognised},
		{"state as a number", replace("TIME_WAIT  ", "12         "), ErrUnrecognised},
		{"address without a port", replace("127.0.0.1.54322", "127.0.0.1"), ErrUnrecognised},
		{"port over 65535", replace("127.0.0.1.54322", "127.0.0.1.65536"), ErrUnrecognised},
		{"service name", replace("127.0.0.1.54322", "127.0.0.1.http"), ErrUnrecognised},
		{"IPv6 address on tcp4", replace("127.0.0.1.54322", "::1.54322"), ErrUnrecognised},
		{"unknown protocol", replace("tcp4 ", "udp4 "), ErrUnrecognised},
		{"queue not a number", replace("      0      0  ", "      x      0  "), ErrUnrecognised},
		{"gencnt not hexadecimal", replace("00000000000004b2", "0000000000000zb2"), ErrUnrecognised},
		{"gencnt short", replace("00000000000004b2", "4b2"), ErrUnrecognised},
		{"-v columns missing", header + row[:strings.Index(row, "TIME_WAIT")+11] + "\n", ErrTruncated},
		{"five fields", header + "tcp4 0 0 127.0.0.1.1 127.0.0.1.2\n", ErrTruncated},
		{"an error message", "netstat: sysctl: net.inet.tcp.pcblist_n: Operation not permitted\n", ErrUnrecognised},
		{"extra field without -v", "tcp4 0 0 127.0.0.1.1 127.0.0.1.8080 TIME_WAIT x\n", ErrUnrecognised},
	} {
		err := parseNetstatConns([]byte(tc.out), func(*bsdConn) {})
		if !errors.Is(err, tc.want) {
			t.Errorf("parseNetstatConns(%s) = %v; want an error wrapping %v", tc.name, err, tc.want)
		}
	}
	// netstat ends this message without a newline.
	out := readFixture(t, "netstat-an.txt")
	out = append(out, "Some tcp sockets may have been created or deleted"...)
	if err := parseNetstatConns(out, func(*bsdConn) {}); err != nil {
		t.Errorf("parseNetstatConns(ending with netstat's message) = %v; want nil", err)
	}
	// The example row, with single spaces.
	var c bsdConn
	if err := parseNetstatConns([]byte("tcp4 0 0 127.0.0.1.8080 127.0.0.1.54321 TIME_WAIT\n"), func(x *bsdConn) { c = *x }); err != nil ||
		c != (bsdConn{netip.MustParseAddrPort("127.0.0.1:8080"), netip.MustParseAddrPort("127.0.0.1:54321"), TimeWait, 0}) {
		t.Errorf("parseNetstatConns(one row) = %+v, %v", c, err)
	}
}

func TestNetstatStats(t *testing.T) {
	want741 := Counters{
		"ActiveOpens": 40213, "PassiveOpens": 40187, "AttemptFails": 1, "ListenOverflows": 0,
		"tcps_connects": 80400, "tcps_closed": 80431, "tcps_drops": 12, "tcps_badsyn": 0,
		"tcps_timeoutdrop": 3, "tcps_rxtfindrop": 0, "tcps_keepdrops": 2, "tcps_fin_timeout_drops": 5,
		"tcps_rcvafterclose": 117, "tcps_badrst": 1, "tcps_pawsdrop": 9,
	}
	for _, name := range []string{"netstat-s-p-tcp-network_cmds-741.txt", "netstat-s-p-tcp-network_cmds-696.txt"} {
		got, err := parseNetstatStats(readFixture(t, name))
		if err != nil || !maps.Equal(got, want741) {
			t.Errorf("parseNetstatStats(%s) = %v, %v; want %v", name, got, err, want741)
		}
	}
	names := CounterNames()
	for name := range want741 {
		if !strings.Contains(strings.Join(names, " ")+" ", name+" ") {
			t.Errorf("CounterNames() lacks %s", name)
		}
	}
}

func TestNetstatStatsMalformed(t *testing.T) {
	out := string(readFixture(t, "netstat-s-p-tcp-network_cmds-741.txt"))
	for _, tc := range []struct {
		name, out string
		want      error
	}{
		{"empty", "", ErrUnrecognised},
		{"tcp: alone", "tcp:\n", ErrUnrecognised}, // found by FuzzParseNetstatStats
		{"no tcp: line", strings.TrimPrefix(out, "tcp:\n"), ErrUnrecognised},
		{"another protocol", strings.Replace(out, "tcp:", "udp:", 1), ErrUnrecognised},
		{"cut mid-line", out[:len(out)-10], ErrTruncated},
		{"a line without a number", strings.Replace(out, "\t40213 connection requests", "\tconnection requests", 1), ErrUnrecognised},
		{"a line without tabs", strings.Replace(out, "\t40213 connection requests", "40213 connection requests", 1), ErrUnrecognised},
		{"a counter twice", strings.Replace(out, "\t0 listen queue overflow\n", "\t0 listen queue overflow\n\t3 listen queue overflows\n", 1), ErrUnrecognised},
		{"no counter known", "tcp:\n\t5 packets sent\n", ErrUnrecognised},
	} {
		if _, err := parseNetstatStats([]byte(tc.out)); !errors.Is(err, tc.want) {
			t.Errorf("parseNetstatStats(%s) = %v; want an error wrapping %v", tc.name, err, tc.want)
		}
	}
}

func TestMatchStatFormat(t *testing.T) {
	for _, tc := range []struct {
		text, format string
		want         [2]int64
		ok           bool
	}{
		{"0 connection request", "%u connection request%s", [2]int64{0}, true},
		{"1 connection request", "%u connection request%s", [2]int64{1}, true},
		{"2 connection requests", "%u connection request%s", [2]int64{2}, true},
		// netstat's plural() is "s" for n > 1 only.
		{"0 connection requests", "%u connection request%s", [2]int64{}, false},
		{"1 connection requests", "%u connection request%s", [2]int64{}, false},
		{"2 connection request", "%u connection request%s", [2]int64{}, false},
		// plural(int): a count above 2^31 is negative as an int.
		{"3000000000 connection request", "%u connection request%s", [2]int64{3000000000}, true},
		{"80431 connections closed (including 12 drops)", "%u connection%s closed (including %u drop%s)", [2]int64{80431, 12}, true},
		{"80431 connections closed (including 1 drop)", "%u connection%s closed (including %u drop%s)", [2]int64{80431, 1}, true},
		{"80431 connections closed", "%u connection%s closed (including %u drop%s)", [2]int64{}, false},
		{"connection requests", "%u connection request%s", [2]int64{}, false},
		{"5 connection requests and more", "%u connection request%s", [2]int64{}, false},
	} {
		got, ok := matchStatFormat([]byte(tc.text), tc.format)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("matchStatFormat(%q, %q) = %v, %v; want %v, %v", tc.text, tc.format, got, ok, tc.want, tc.ok)
		}
	}
}

// TestBSDSources checks the split of the client end by local address.
func TestBSDSources(t *testing.T) {
	b := readFixture(t, "pcblist_n-macos15.bin")
	sources := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("10.0.0.1")}
	tl := newBSDTally(netip.MustParseAddrPort("127.0.0.1:8080"), sources, nil)
	if err := decodePCBList(b, tl.add); err != nil {
		t.Fatal(err)
	}
	want := []Counts{
		counts(map[State]uint32{Established: 1, TimeWait: 3, FinWait2: 1, SynSent: 1}),
		counts(map[State]uint32{TimeWait: 1}),
		Counts{},
	}
	for i := range want {
		if tl.bySource[i] != want[i] {
			t.Errorf("bySource[%v] = %s; want %s", sources[i], fmtCounts(tl.bySource[i]), fmtCounts(want[i]))
		}
	}
}

// TestBSDNewTimeWait follows the TIME_WAIT sockets of 127.0.0.1:8080
// over samples: none is new in the first, the same ones are not new
// again, and one whose generation count is new is.
func TestBSDNewTimeWait(t *testing.T) {
	le := binary.LittleEndian
	target := netip.MustParseAddrPort("127.0.0.1:8080")
	base := readFixture(t, "pcblist_n-macos15.bin")
	// The fourth connection (index 3) is the client's TIME_WAIT 54322.
	reborn := bytes.Clone(base)
	le.PutUint64(reborn[fixInpcb+3*fixConnLen+xinpcbGencnt:], 8000)
	// The userland flow's 4-tuple moved to another port.
	moved := bytes.Clone(reborn)
	off := fixInpcb + 21*fixConnLen + xinpcbLport
	binary.BigEndian.PutUint16(moved[off:], 54361)

	var tw twSet
	for i, step := range []struct {
		b              []byte
		client, server int
	}{
		{base, 0, 0},
		{base, 0, 0},
		{reborn, 1, 0},
		{reborn, 0, 0},
		{moved, 1, 0},
	} {
		tl := newBSDTally(target, nil, &tw)
		if err := decodePCBList(step.b, tl.add); err != nil {
			t.Fatal(err)
		}
		tw.finish()
		if tl.clientNewTW != step.client || tl.serverNewTW != step.server {
			t.Errorf("sample %d: new TIME_WAIT client %d, server %d; want %d, %d", i, tl.clientNewTW, tl.serverNewTW, step.client, step.server)
		}
	}
	// A failed sample leaves the previous one as the reference; a reset
	// makes the next a baseline.
	tl := newBSDTally(target, nil, &tw)
	decodePCBList(base, tl.add)
	tw.discard()
	tl = newBSDTally(target, nil, &tw)
	decodePCBList(moved, tl.add)
	tw.finish()
	if tl.clientNewTW != 0 {
		t.Errorf("after a discarded sample: %d new; want 0", tl.clientNewTW)
	}
	tw.reset()
	tl = newBSDTally(target, nil, &tw)
	decodePCBList(base, tl.add)
	if tl.clientNewTW != 0 || tl.serverNewTW != 0 {
		t.Errorf("after a reset: %d, %d new; want 0, 0", tl.clientNewTW, tl.serverNewTW)
	}
}

func TestBSDState(t *testing.T) {
	for n, want := range []State{Close, Listen, SynSent, SynRecv, Established, CloseWait, FinWait1, Closing, LastAck, FinWait2, TimeWait} {
		if got, ok := bsdState(int32(n)); got != want || !ok {
			t.Errorf("bsdState(%d) = %v, %v; want %v, true", n, got, ok, want)
		}
	}
	for _, n := range []int32{-1, 11, 1 << 30} {
		if _, ok := bsdState(n); ok {
			t.Errorf("bsdState(%d) ok; want not", n)
		}
	}
	for _, name := range []string{"SYN_RCVD", "FIN_WAIT_1", "TIME_WAIT"} {
		if _, ok := bsdStateNamed([]byte(name)); !ok {
			t.Errorf("bsdStateNamed(%s) not ok", name)
		}
	}
	for _, name := range []string{"SYN_RECV", "FIN_WAIT1", "time_wait", ""} {
		if _, ok := bsdStateNamed([]byte(name)); ok {
			t.Errorf("bsdStateNamed(%q) ok; want not (netstat's names are tcp_fsm.h's)", name)
		}
	}
}

// BenchmarkDecodePCBList measures a sample's decoding of 16,384 TIME_WAIT
// connections, a Mac's ephemeral range full.
func BenchmarkDecodePCBList(b *testing.B) {
	fix := readFixture(b, "pcblist_n-macos15.bin")
	one := fix[fixInpcb+3*fixConnLen : fixInpcb+4*fixConnLen]
	buf := bytes.Clone(fix[:xinpgenLen])
	for range 16384 {
		buf = append(buf, one...)
	}
	buf = append(buf, fix[len(fix)-xinpgenLen:]...)
	target := netip.MustParseAddrPort("127.0.0.1:8080")
	var tw twSet
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		tl := newBSDTally(target, nil, &tw)
		if err := decodePCBList(buf, tl.add); err != nil {
			b.Fatal(err)
		}
		tw.finish()
	}
}
