//go:build darwin

package sockstat

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// These tests count real sockets in a Mac's socket table, shared by every
// process, where TIME_WAIT lasts 30 s. Each has a listener of its own on a
// port the kernel picks, none runs in parallel, and each allows for
// TIME_WAIT sockets left on its port by earlier runs. They only connect to
// loopback addresses. They have not been run: twbench's CI is Linux.

func darwinListen(t *testing.T) (*net.TCPListener, netip.AddrPort) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener), ln.Addr().(*net.TCPAddr).AddrPort()
}

func darwinSample(t *testing.T, s *Sampler) Sample {
	t.Helper()
	smp, err := s.Sample()
	if err != nil {
		t.Fatalf("Sample() error = %v", err)
	}
	return smp
}

// darwinPair dials ln and accepts the connection.
func darwinPair(t *testing.T, ln *net.TCPListener) (client, server *net.TCPConn) {
	t.Helper()
	c, err := net.DialTimeout("tcp4", ln.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ln.SetDeadline(time.Now().Add(2 * time.Second))
	s, err := ln.AcceptTCP()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s
}

func waitEOF(t *testing.T, c *net.TCPConn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	if n, err := c.Read(b[:]); err != io.EOF {
		t.Fatalf("read = %d, %v; want EOF", n, err)
	}
}

// TestDarwinSampleEnds closes one connection from each end and finds its
// TIME_WAIT socket on the end that closed first.
func TestDarwinSampleEnds(t *testing.T) {
	ln, target := darwinListen(t)
	s, err := NewSampler(target)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := darwinSample(t, s)

	open, _ := darwinPair(t, ln)
	smp := darwinSample(t, s)
	if smp.Client[Established] != base.Client[Established]+1 || smp.Server[Established] != base.Server[Established]+1 {
		t.Errorf("with one connection open: client %s, server %s; want one ESTABLISHED more on each end",
			fmtCounts(smp.Client), fmtCounts(smp.Server))
	}

	c, sv := darwinPair(t, ln)
	c.Close()
	waitEOF(t, sv)
	sv.Close()
	s2, sv2 := darwinPair(t, ln)
	sv2.Close()
	waitEOF(t, s2)
	s2.Close()
	open.Close()
	time.Sleep(100 * time.Millisecond) // the last ACKs
	smp = darwinSample(t, s)
	if got := int(smp.Client[TimeWait] - base.Client[TimeWait]); got < 1 || smp.ClientNewTimeWait < 1 {
		t.Errorf("client end: %d more TIME_WAIT, %d new; want at least 1 and 1", got, smp.ClientNewTimeWait)
	}
	if got := int(smp.Server[TimeWait] - base.Server[TimeWait]); got < 1 || smp.ServerNewTimeWait < 1 {
		t.Errorf("server end: %d more TIME_WAIT, %d new; want at least 1 and 1", got, smp.ServerNewTimeWait)
	}
	if notes := s.Notes(); len(notes) > 0 {
		t.Errorf("the sampler fell back to netstat: %q", notes)
	}
	again := darwinSample(t, s)
	if again.ClientNewTimeWait != 0 || again.ServerNewTimeWait != 0 {
		t.Errorf("a second sample counts %d, %d new TIME_WAIT; want 0, 0", again.ClientNewTimeWait, again.ServerNewTimeWait)
	}
}

// TestDarwinNetstatAgrees compares a pcblist_n sample with netstat's.
func TestDarwinNetstatAgrees(t *testing.T) {
	ln, target := darwinListen(t)
	c, sv := darwinPair(t, ln)
	c.Close()
	waitEOF(t, sv)
	sv.Close()
	time.Sleep(100 * time.Millisecond)
	s, err := NewSampler(target)
	if err != nil {
		t.Fatal(err)
	}
	fromList := darwinSample(t, s)
	var tw twSet
	tl := newBSDTally(target, nil, &tw)
	if err := s.sampleNetstat(&tl); err != nil {
		t.Fatal(err)
	}
	if tl.client[TimeWait] != fromList.Client[TimeWait] || tl.server[TimeWait] != fromList.Server[TimeWait] {
		t.Errorf("TIME_WAIT from netstat: client %d, server %d; from pcblist_n: %d, %d",
			tl.client[TimeWait], tl.server[TimeWait], fromList.Client[TimeWait], fromList.Server[TimeWait])
	}
}

func TestDarwinHost(t *testing.T) {
	h, err := ReadHost()
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi, err := h.PortRange(); err != nil || lo < 1024 || hi > 65535 {
		t.Errorf("PortRange() = %d, %d, %v", lo, hi, err)
	}
	if d, from, ok := h.TimeWaitSetting(); !ok || d <= 0 || from != SysctlDarwinMSL {
		t.Errorf("TimeWaitSetting() = %v, %q, %v", d, from, ok)
	}
	c, err := ReadCounters()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c["ActiveOpens"]; !ok {
		t.Errorf("ReadCounters() = %v; want ActiveOpens among them", c)
	}
}
