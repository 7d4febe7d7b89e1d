package sockstat

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// sockFrom is a socket of the dump with its local and remote addresses.
type sockFrom struct {
	family   uint8
	state    State
	server   bool // the local port is testPort; else the remote is
	src, dst string
	count    int
}

// holderDump encodes the sockets as one read of a legacy dump.
func holderDump(socks []sockFrom) []byte {
	var msgs [][]byte
	cookie := uint64(1)
	for _, s := range socks {
		for range s.count {
			sport, dport := uint16(peerPort), uint16(testPort)
			if s.server {
				sport, dport = testPort, peerPort
			}
			m := diagMsg(sock{family: s.family, state: s.state, timer: 3, sport: sport, dport: dport,
				cookie: cookie, expires: 60000, src: netip.MustParseAddr(s.src)})
			dst := netip.MustParseAddr(s.dst)
			if s.family == afInet6 {
				a := dst.As16()
				copy(m[24:40], a[:])
			} else {
				a := dst.As4()
				copy(m[24:40], make([]byte, 16))
				copy(m[24:], a[:])
			}
			msgs = append(msgs, nlmsg(tcpdiagGetsock, testSeq, m))
			cookie++
		}
	}
	msgs = append(msgs, done(testSeq))
	return cat(msgs...)
}

func fmtHolders(h TimeWaitHolders) string {
	var parts []string
	for _, c := range h.Top {
		if c.Count > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", c.Addr, c.Count))
		}
	}
	return fmt.Sprintf("[%s] addrs %d untracked %d", strings.Join(parts, " "), h.Addrs, h.Untracked)
}

// TestTimeWaitHolders: TIME_WAIT sockets are counted by remote address on
// the server end and by local address on the client end, an IPv4 socket
// and a dual-stack socket's mapped address as one address, most first and
// ties by address; other states are not counted.
func TestTimeWaitHolders(t *testing.T) {
	tests := []struct {
		name           string
		socks          []sockFrom
		client, server string
	}{
		{
			name: "server end by remote address, client end by local",
			socks: []sockFrom{
				{afInet, TimeWait, true, "127.0.0.1", "10.0.0.2", 3},
				{afInet, TimeWait, true, "127.0.0.1", "10.0.0.1", 5},
				{afInet, TimeWait, false, "10.1.0.7", "127.0.0.1", 2},
				{afInet, Established, true, "127.0.0.1", "10.0.0.9", 4},
			},
			client: "[10.1.0.7:2] addrs 1 untracked 0",
			server: "[10.0.0.1:5 10.0.0.2:3] addrs 2 untracked 0",
		},
		{
			name: "IPv4 and IPv4-mapped are one address",
			socks: []sockFrom{
				{afInet6, TimeWait, true, "::ffff:127.0.0.1", "::ffff:127.0.0.1", 2},
				{afInet, TimeWait, true, "127.0.0.1", "127.0.0.1", 1},
				{afInet6, TimeWait, true, "::1", "::1", 1},
			},
			client: "[] addrs 0 untracked 0",
			server: "[127.0.0.1:3 ::1:1] addrs 2 untracked 0",
		},
		{
			name: "ties by address",
			socks: []sockFrom{
				{afInet, TimeWait, true, "127.0.0.1", "10.0.0.3", 1},
				{afInet, TimeWait, true, "127.0.0.1", "10.0.0.1", 1},
				{afInet, TimeWait, true, "127.0.0.1", "10.0.0.2", 1},
			},
			client: "[] addrs 0 untracked 0",
			server: "[10.0.0.1:1 10.0.0.2:1 10.0.0.3:1] addrs 3 untracked 0",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, s := newAddrTable(), newAddrTable()
			tl := tally{port: testPort, clientHolders: c, serverHolders: s}
			if done, err := tl.parse(holderDump(tc.socks), testSeq); !done || err != nil {
				t.Fatalf("parse = %v, %v; want done", done, err)
			}
			if got := fmtHolders(c.holders()); got != tc.client {
				t.Errorf("client holders = %s; want %s", got, tc.client)
			}
			if got := fmtHolders(s.holders()); got != tc.server {
				t.Errorf("server holders = %s; want %s", got, tc.server)
			}
		})
	}
}

// TestTimeWaitHoldersBounded: the top keeps TopHolders addresses, most
// first; past MaxHolderAddrs distinct addresses the sockets of new ones
// are counted as untracked; reset empties the table.
func TestTimeWaitHoldersBounded(t *testing.T) {
	tab := newAddrTable()
	addr := func(i int) [16]byte {
		return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).As16()
	}
	// Address i has i+1 sockets, for the first 20; one each for the rest.
	for i := range MaxHolderAddrs + 100 {
		n := 1
		if i < 20 {
			n = i + 1
		}
		a := addr(i)
		for range n {
			tab.add(&a)
		}
	}
	h := tab.holders()
	if h.Addrs != MaxHolderAddrs || h.Untracked != 100 {
		t.Errorf("addrs %d, untracked %d; want %d, 100", h.Addrs, h.Untracked, MaxHolderAddrs)
	}
	for j, c := range h.Top {
		want := AddrCount{netip.AddrFrom16(addr(19 - j)).Unmap(), uint32(20 - j)}
		if c != want {
			t.Errorf("top[%d] = %s %d; want %s %d", j, c.Addr, c.Count, want.Addr, want.Count)
		}
	}
	tab.reset()
	if h := tab.holders(); h.Addrs != 0 || h.Untracked != 0 || h.Top[0].Count != 0 {
		t.Errorf("after reset: %s; want empty", fmtHolders(h))
	}
	// A full table still counts the addresses it has.
	for i := range MaxHolderAddrs {
		a := addr(i)
		tab.add(&a)
	}
	a := addr(0)
	tab.add(&a)
	if h := tab.holders(); h.Top[0].Count != 2 || h.Untracked != 0 {
		t.Errorf("a full table: %s; want 10.0.0.0 with 2, none untracked", fmtHolders(h))
	}
}
