package sockstat

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// The fuzz targets of the macOS decoders. Their seeds, the fixtures of
// testdata/darwin, run with every go test.

func addFixtureSeeds(f *testing.F, names ...string) {
	for _, name := range names {
		b := readFixture(f, name)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
}

// checkDecoded holds what any decoder's result must: an error that says
// what refused the input, and counts that connections could have made.
func checkDecoded(t *testing.T, what string, in []byte, tl *bsdTally, err error, fit int) {
	t.Helper()
	if err != nil {
		if !strings.HasPrefix(err.Error(), "sockstat: ") {
			t.Errorf("%s(%q) error = %q; want it prefixed %q", what, in, err, "sockstat: ")
		}
		if !errors.Is(err, ErrUnrecognised) && !errors.Is(err, ErrTruncated) {
			t.Errorf("%s(%q) error = %v; want one wrapping ErrUnrecognised or ErrTruncated", what, in, err)
		}
	}
	if n := tl.client.Total() + tl.server.Total(); n > fit {
		t.Errorf("%s(%q) counted %d sockets; at most %d fit", what, in, n, fit)
	}
	if tl.client[Listen] != 0 || tl.server[Listen] != 0 {
		t.Errorf("%s(%q) counted LISTEN sockets", what, in)
	}
}

func FuzzDecodePCBList(f *testing.F) {
	addFixtureSeeds(f, "pcblist_n-macos15.bin", "pcblist_n-macos12.bin", "pcblist_n-empty.bin")
	f.Add([]byte{24, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var tw twSet
		tl := newBSDTally(netip.MustParseAddrPort("0.0.0.0:8080"), nil, &tw)
		var got []bsdConn
		err := decodePCBList(b, func(c *bsdConn) {
			if c.state >= numStates {
				t.Errorf("decodePCBList(%q): state %d", b, c.state)
			}
			got = append(got, *c)
			tl.add(c)
		})
		// A connection takes 592 bytes or more (616 from macOS 13), after
		// the first xinpgen.
		checkDecoded(t, "decodePCBList", b, &tl, err, max(len(b)-xinpgenLen, 0)/592)
		// Decoding is a function of its input.
		var again []bsdConn
		err2 := decodePCBList(b, func(c *bsdConn) { again = append(again, *c) })
		if (err == nil) != (err2 == nil) || !slices.Equal(got, again) {
			t.Errorf("decodePCBList(%q) differs between two runs", b)
		}
		tw.finish()
	})
}

func FuzzParseNetstatConns(f *testing.F) {
	addFixtureSeeds(f, "netstat-an.txt", "netstat-anl.txt",
		"netstat-anlv-network_cmds-696.txt", "netstat-anlv-network_cmds-741.txt")
	f.Add([]byte("tcp4 0 0 127.0.0.1.8080 127.0.0.1.54321 TIME_WAIT\n"))
	f.Add([]byte("tcp6 0 0 fe80::1%lo0.8080 *.* LISTEN\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var tw twSet
		tl := newBSDTally(netip.MustParseAddrPort("[::]:8080"), nil, &tw)
		err := parseNetstatConns(b, func(c *bsdConn) {
			if !c.local.Addr().IsValid() || !c.remote.Addr().IsValid() || c.local.Addr().Is4In6() || c.local.Addr().Zone() != "" {
				t.Errorf("parseNetstatConns(%q): address %v %v", b, c.local, c.remote)
			}
			tl.add(c)
		})
		// A row is at least "tcp4 0 0 *.* *.* CLOSED\n".
		checkDecoded(t, "parseNetstatConns", b, &tl, err, len(b)/24)
		tw.finish()
	})
}

func FuzzParseNetstatStats(f *testing.F) {
	addFixtureSeeds(f, "netstat-s-p-tcp-network_cmds-741.txt", "netstat-s-p-tcp-network_cmds-696.txt")
	f.Add([]byte("tcp:\n\t1 connection request\n"))
	f.Add([]byte("tcp:\n\t2 connections closed (including 1 drop)\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseNetstatStats(b)
		if err != nil {
			if c != nil {
				t.Errorf("parseNetstatStats(%q) = %v with error %v", b, c, err)
			}
			if !errors.Is(err, ErrUnrecognised) && !errors.Is(err, ErrTruncated) {
				t.Errorf("parseNetstatStats(%q) error = %v; want one wrapping ErrUnrecognised or ErrTruncated", b, err)
			}
			return
		}
		names := CounterNames()
		for name, v := range c {
			if !slices.Contains(names, name) {
				t.Errorf("parseNetstatStats(%q) read %q, not in CounterNames()", b, name)
			}
			if v < 0 {
				t.Errorf("parseNetstatStats(%q): %s = %d", b, name, v)
			}
		}
		if len(c) == 0 {
			t.Errorf("parseNetstatStats(%q) = no counters, no error", b)
		}
	})
}
