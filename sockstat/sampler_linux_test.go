//go:build linux

package sockstat

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twbench/twbench/internal/netns"
)

// These tests count real sockets in the host's socket table, which every
// process shares and where TIME_WAIT lasts a minute. Each test has a
// listener of its own on a port the kernel picks, none runs in parallel,
// and each allows for TIME_WAIT sockets left on its port by earlier runs.
// They only ever connect to loopback addresses.

// listen listens on address (port 0) and returns the listener and its port.
func listen(t testing.TB, network, address string) (*net.TCPListener, uint16) {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, address, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener), uint16(ln.Addr().(*net.TCPAddr).Port)
}

// haveIPv6Loopback reports whether ::1 can be listened on.
func haveIPv6Loopback() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// newSampler samples port on any address, as ss's "sport = :P or dport =
// :P" does.
func newSampler(t testing.TB, port uint16) *Sampler {
	t.Helper()
	s, err := NewSampler(netip.AddrPortFrom(netip.IPv4Unspecified(), port))
	if err != nil {
		t.Fatalf("NewSampler(%d) error = %v", port, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sample(t testing.TB, s *Sampler) Sample {
	t.Helper()
	smp, err := s.Sample()
	if err != nil {
		t.Fatalf("Sample() error = %v", err)
	}
	return smp
}

// conn is one connection's two ends.
type conn struct{ client, server *net.TCPConn }

// connect dials addr, a loopback address of ln, and accepts the connection.
func connect(t testing.TB, ln *net.TCPListener, addr string) conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	ln.SetDeadline(time.Now().Add(2 * time.Second))
	s, err := ln.AcceptTCP()
	if err != nil {
		c.Close()
		t.Fatalf("accept on %v: %v", ln.Addr(), err)
	}
	p := conn{client: c.(*net.TCPConn), server: s}
	t.Cleanup(func() { p.client.Close(); p.server.Close() })
	local, remote := c.LocalAddr().(*net.TCPAddr), s.RemoteAddr().(*net.TCPAddr)
	if local.Port != remote.Port || !local.IP.Equal(remote.IP) {
		t.Fatalf("accepted a connection from %v; want the one from %v", remote, local)
	}
	return p
}

// readEOF waits for c's peer to close.
func readEOF(t testing.TB, c *net.TCPConn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	if n, err := c.Read(b[:]); err != io.EOF {
		t.Fatalf("read from %v = %d, %v; want EOF", c.RemoteAddr(), n, err)
	}
}

// closeServerFirst leaves the server end in TIME_WAIT and the client end gone.
func (p conn) closeServerFirst(t testing.TB) {
	t.Helper()
	p.server.Close()
	readEOF(t, p.client)
	p.client.Close()
}

// closeClientFirst leaves the client end in TIME_WAIT and the server end gone.
func (p conn) closeClientFirst(t testing.TB) {
	t.Helper()
	p.client.Close()
	readEOF(t, p.server)
	p.server.Close()
}

// halfClose leaves the server end in FIN_WAIT2 and the client end, which
// holds the connection open, in CLOSE_WAIT.
func (p conn) halfClose(t testing.TB) {
	t.Helper()
	p.server.Close()
	readEOF(t, p.client)
}

// settle samples s until done accepts a sample or a second has passed: the
// last steps of a close run in the kernel after the system calls return.
func settle(t testing.TB, s *Sampler, what string, done func(Sample) bool) Sample {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		smp := sample(t, s)
		if done(smp) {
			return smp
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 1s, still not %s: client %s; server %s", what, fmtCounts(smp.Client), fmtCounts(smp.Server))
		}
		time.Sleep(time.Millisecond)
	}
}

// ssCounts runs ss for the sockets of port and counts them per end and
// state, as the test reads ss's lines: the local port is the port at the
// server end.
func ssCounts(t testing.TB, ss string, port uint16) (client, server Counts) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	filter := fmt.Sprintf("( sport = :%d or dport = :%d )", port, port)
	out, err := exec.CommandContext(ctx, ss, "-Htan", "state", "all", filter).Output()
	if err != nil {
		t.Fatalf("ss -Htan state all %q: %v", filter, err)
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 5 {
			t.Fatalf("ss line %q: want state, queues and two addresses", line)
		}
		state, ok := ssState(f[0])
		if !ok {
			t.Fatalf("ss line %q: unknown state %q", line, f[0])
		}
		if state == Listen {
			continue
		}
		switch port {
		case portOf(t, f[3]):
			server[state]++
		case portOf(t, f[4]):
			client[state]++
		default:
			t.Fatalf("ss line %q: neither port is %d", line, port)
		}
	}
	return client, server
}

// ssState reads a state as ss prints it.
func ssState(name string) (State, bool) {
	switch name {
	case "ESTAB":
		return Established, true
	case "SYN-SENT":
		return SynSent, true
	case "SYN-RECV":
		return SynRecv, true
	case "FIN-WAIT-1":
		return FinWait1, true
	case "FIN-WAIT-2":
		return FinWait2, true
	case "TIME-WAIT":
		return TimeWait, true
	case "UNCONN":
		return Close, true
	case "CLOSE-WAIT":
		return CloseWait, true
	case "LAST-ACK":
		return LastAck, true
	case "LISTEN":
		return Listen, true
	case "CLOSING":
		return Closing, true
	}
	return 0, false
}

// portOf returns the port of "addr:port", "[v6]:port" or "*:port".
func portOf(t testing.TB, hostPort string) uint16 {
	t.Helper()
	i := strings.LastIndexByte(hostPort, ':')
	p, err := strconv.ParseUint(hostPort[i+1:], 10, 16)
	if err != nil {
		t.Fatalf("ss address %q: no port", hostPort)
	}
	return uint16(p)
}

// mix is how many connections of each kind a test makes per address.
type mix struct{ established, halfClosed, serverClosed, clientClosed int }

// build makes m's connections to ln by addr, and returns the sockets it
// adds to each end. The connections that end in TIME_WAIT are made last:
// no later connect to the port can then take one's 4-tuple.
func (m mix) build(t testing.TB, ln *net.TCPListener, addr string) (client, server Counts) {
	t.Helper()
	for range m.established {
		connect(t, ln, addr)
	}
	for range m.halfClosed {
		connect(t, ln, addr).halfClose(t)
	}
	var conns []conn
	for range m.serverClosed + m.clientClosed {
		conns = append(conns, connect(t, ln, addr))
	}
	for i, p := range conns {
		if i < m.serverClosed {
			p.closeServerFirst(t)
		} else {
			p.closeClientFirst(t)
		}
	}
	client[Established] = uint32(m.established)
	server[Established] = uint32(m.established)
	client[CloseWait] = uint32(m.halfClosed)
	server[FinWait2] = uint32(m.halfClosed)
	server[TimeWait] = uint32(m.serverClosed)
	client[TimeWait] = uint32(m.clientClosed)
	return client, server
}

// atLeast reports whether got has base+add in every state, and no more
// except in TIME_WAIT, where sockets of earlier runs may still linger.
func atLeast(got, base, add Counts) bool {
	for s := range got {
		want := base[s] + add[s]
		if got[s] < want || (State(s) != TimeWait && got[s] != want) {
			return false
		}
	}
	return true
}

func TestSampleMatchesSS(t *testing.T) {
	ss, err := exec.LookPath("ss")
	if err != nil {
		t.Skip("ss (iproute2) is not installed: nothing to compare the sampler with")
	}
	v6 := haveIPv6Loopback()
	m := mix{established: 5, halfClosed: 2, serverClosed: 3, clientClosed: 4}
	for _, tc := range []struct {
		name, network, address string
		dial                   []string // hosts to connect to; "::1" only with IPv6
	}{
		{"127.0.0.1", "tcp4", "127.0.0.1:0", []string{"127.0.0.1"}},
		{"::1", "tcp6", "[::1]:0", []string{"::1"}},
		{"dual-stack", "tcp", ":0", []string{"127.0.0.1", "::1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.network == "tcp6" && !v6 {
				t.Skip("::1 is not available")
			}
			ln, port := listen(t, tc.network, tc.address)
			s := newSampler(t, port)
			byFamily := newSampler(t, port)
			byFamily.kind = familyRequest

			base := sample(t, s)
			var addClient, addServer Counts
			for _, host := range tc.dial {
				if host == "::1" && !v6 {
					continue
				}
				client, server := m.build(t, ln, net.JoinHostPort(host, strconv.Itoa(int(port))))
				for i := range client {
					addClient[i] += client[i]
					addServer[i] += server[i]
				}
			}
			settle(t, s, "the mix", func(smp Sample) bool {
				return atLeast(smp.Client, base.Client, addClient) && atLeast(smp.Server, base.Server, addServer)
			})

			// A TIME_WAIT socket of an earlier run may expire between the
			// sampler's dump and ss's: retry until two samples around ss
			// agree.
			for try := 0; ; try++ {
				before := sample(t, s)
				ssClient, ssServer := ssCounts(t, ss, port)
				fam := sample(t, byFamily)
				after := sample(t, s)
				if before.Client != after.Client || before.Server != after.Server {
					if try == 5 {
						t.Fatalf("the sockets of port %d kept changing: client %s -> %s; server %s -> %s",
							port, fmtCounts(before.Client), fmtCounts(after.Client), fmtCounts(before.Server), fmtCounts(after.Server))
					}
					continue
				}
				t.Logf("port %d: client %s; server %s", port, fmtCounts(after.Client), fmtCounts(after.Server))
				if after.Client != ssClient {
					t.Errorf("Sample().Client = %s; want %s (ss)", fmtCounts(after.Client), fmtCounts(ssClient))
				}
				if after.Server != ssServer {
					t.Errorf("Sample().Server = %s; want %s (ss)", fmtCounts(after.Server), fmtCounts(ssServer))
				}
				if fam.Client != after.Client || fam.Server != after.Server {
					t.Errorf("Sample() by family = client %s, server %s; want client %s, server %s (the legacy request)",
						fmtCounts(fam.Client), fmtCounts(fam.Server), fmtCounts(after.Client), fmtCounts(after.Server))
				}
				// With no TIME_WAIT sockets left from earlier runs, the mix
				// is exactly what the port holds.
				if base.Client.Total()+base.Server.Total() == 0 {
					var wantClient, wantServer Counts
					for i := range addClient {
						wantClient[i] = base.Client[i] + addClient[i]
						wantServer[i] = base.Server[i] + addServer[i]
					}
					if after.Client != wantClient || after.Server != wantServer {
						t.Errorf("Sample() = client %s, server %s; want client %s, server %s",
							fmtCounts(after.Client), fmtCounts(after.Server), fmtCounts(wantClient), fmtCounts(wantServer))
					}
				}
				break
			}
		})
	}
}

func TestSampleNewTimeWait(t *testing.T) {
	const (
		minLeft = 55 * time.Second
		maxLeft = 61 * time.Second // TCP_TIMEWAIT_LEN is 60 s
	)
	for _, tc := range []struct {
		name         string
		serverCloses bool
		n            int
	}{
		{"client closes", false, 20},
		{"server closes", true, 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, port := listen(t, "tcp4", "127.0.0.1:0")
			addr := ln.Addr().String()
			s := newSampler(t, port)
			watch := newSampler(t, port)

			base := sample(t, s)
			if base.ClientNewTimeWait != 0 || base.ServerNewTimeWait != 0 {
				t.Errorf("first Sample() new TIME_WAIT = client %d, server %d; want 0, 0 (the baseline)",
					base.ClientNewTimeWait, base.ServerNewTimeWait)
			}

			var conns []conn
			for range tc.n {
				conns = append(conns, connect(t, ln, addr))
			}
			for _, p := range conns {
				if tc.serverCloses {
					p.closeServerFirst(t)
				} else {
					p.closeClientFirst(t)
				}
			}
			wantClient, wantServer := tc.n, 0
			if tc.serverCloses {
				wantClient, wantServer = 0, tc.n
			}
			settle(t, watch, "closed", func(smp Sample) bool {
				for _, st := range []State{Established, FinWait1, FinWait2, CloseWait, LastAck, Closing} {
					if smp.Client[st] != base.Client[st] || smp.Server[st] != base.Server[st] {
						return false
					}
				}
				return int(smp.Client[TimeWait]) >= wantClient && int(smp.Server[TimeWait]) >= wantServer
			})

			got := sample(t, s)
			if got.ClientNewTimeWait != wantClient || got.ServerNewTimeWait != wantServer {
				t.Errorf("Sample() after %d closes: new TIME_WAIT = client %d, server %d; want %d, %d",
					tc.n, got.ClientNewTimeWait, got.ServerNewTimeWait, wantClient, wantServer)
			}
			if got.MaxTimeWaitLeft < minLeft || got.MaxTimeWaitLeft > maxLeft {
				t.Errorf("Sample().MaxTimeWaitLeft = %v; want between %v and %v", got.MaxTimeWaitLeft, minLeft, maxLeft)
			}

			again := sample(t, s)
			if again.ClientNewTimeWait != 0 || again.ServerNewTimeWait != 0 {
				t.Errorf("Sample() with no new closes: new TIME_WAIT = client %d, server %d; want 0, 0",
					again.ClientNewTimeWait, again.ServerNewTimeWait)
			}
			if again.MaxTimeWaitLeft < minLeft || again.MaxTimeWaitLeft > got.MaxTimeWaitLeft {
				t.Errorf("Sample().MaxTimeWaitLeft = %v after %v; want between %v and that", again.MaxTimeWaitLeft, got.MaxTimeWaitLeft, minLeft)
			}
		})
	}
}

func TestNewSamplerPortZero(t *testing.T) {
	s, err := NewSampler(netip.MustParseAddrPort("127.0.0.1:0"))
	if err == nil {
		s.Close()
		t.Fatal("NewSampler(127.0.0.1:0) error = nil; want an error")
	}
}

func TestSampleAfterClose(t *testing.T) {
	_, port := listen(t, "tcp4", "127.0.0.1:0")
	s, err := NewSampler(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close() = %v; want nil", err)
	}
	if _, err := s.Sample(); err == nil || !strings.HasPrefix(err.Error(), "sockstat: ") {
		t.Errorf("Sample() after Close() error = %v; want one prefixed %q", err, "sockstat: ")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v; want nil", err)
	}
}

// TestRun ends Run's context after a few intervals, as Run counts them: on
// a host with many sockets a sample is slow and Run stretches its interval
// (NextWait), so a fixed deadline could see a single sample.
func TestRun(t *testing.T) {
	const (
		interval = 10 * time.Millisecond
		samples  = 3
	)
	_, port := listen(t, "tcp4", "127.0.0.1:0")
	s := newSampler(t, port)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []Sample
	errc := make(chan error, 1)
	go func() {
		errc <- s.Run(ctx, interval, func(smp Sample) {
			got = append(got, smp)
			if len(got) == samples {
				cancel()
			}
		})
	}()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run() = %v; want nil when its context ends", err)
		}
	case <-time.After(2 * time.Second):
		cancel()
		<-errc
		t.Fatalf("Run() had not taken %d samples at %v after 2s", samples, interval)
	}
	if len(got) != samples {
		t.Errorf("Run() called fn %d times; want %d, then return on the ended context", len(got), samples)
	}
	for i := 1; i < len(got); i++ {
		d, want := got[i].At.Sub(got[i-1].At), NextWait(interval, got[i-1].Cost)
		if d < want {
			t.Errorf("Run() samples %d and %d were %v apart; want at least NextWait(%v, %v) = %v",
				i-1, i, d, interval, got[i-1].Cost, want)
		}
	}
}

func TestRunEndedContext(t *testing.T) {
	_, port := listen(t, "tcp4", "127.0.0.1:0")
	s := newSampler(t, port)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	if err := s.Run(ctx, time.Hour, func(Sample) { calls++ }); err != nil {
		t.Errorf("Run(ended context) = %v; want nil", err)
	}
	if calls > 1 {
		t.Errorf("Run(ended context) called fn %d times; want at most 1", calls)
	}
}

func TestRunSampleError(t *testing.T) {
	_, port := listen(t, "tcp4", "127.0.0.1:0")
	s := newSampler(t, port)
	s.Close()
	calls := 0
	err := s.Run(context.Background(), time.Millisecond, func(Sample) { calls++ })
	if err == nil || calls != 0 {
		t.Errorf("Run() on a closed sampler = %v after %d samples; want an error after 0", err, calls)
	}
}

// BenchmarkSample samples a port that holds a few hundred TIME_WAIT sockets
// of its own, at both ends, and some open connections.
func BenchmarkSample(b *testing.B) {
	ln, port := listen(b, "tcp4", "127.0.0.1:0")
	m := mix{established: 20, halfClosed: 10, serverClosed: 150, clientClosed: 250}
	m.build(b, ln, ln.Addr().String())
	for _, bc := range []struct {
		name string
		kind requestKind
	}{
		{"legacy", legacyRequest},
		{"family", familyRequest},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newSampler(b, port)
			s.kind = bc.kind
			benchSamples(b, s)
		})
	}
}

// benchSamples is the benchmark loop over s.Sample, after two samples: the
// tracker's baseline, and one that sizes its buffers. It reports the
// sockets a sample counts, and splits the process's CPU time a sample
// between this package (user-µs/op) and the kernel (sys-µs/op).
func benchSamples(b *testing.B, s *Sampler) {
	sample(b, s)
	smp := sample(b, s)
	var before, after unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &before)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sample(); err != nil {
			b.Fatal(err)
		}
	}
	unix.Getrusage(unix.RUSAGE_SELF, &after)
	perOp := func(from, to unix.Timeval) float64 {
		return float64(time.Duration(to.Nano()-from.Nano()).Microseconds()) / float64(b.N)
	}
	b.ReportMetric(perOp(before.Utime, after.Utime), "user-µs/op")
	b.ReportMetric(perOp(before.Stime, after.Stime), "sys-µs/op")
	b.ReportMetric(float64(smp.Client.Total()+smp.Server.Total()), "sockets")
}

// The sampler counts the target's address and port only: the same port on
// another address, and IPv6 connections to a dual-stack listener reached
// over IPv4, are not the target's.
func TestSampleFiltersByAddress(t *testing.T) {
	ln, port := listen(t, "tcp4", "127.0.0.1:0")
	other, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.2", strconv.Itoa(int(port))))
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2:%d: %v", port, err)
	}
	defer other.Close()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for _, l := range []net.Listener{ln, other} {
		for i := 0; i < 3; i++ {
			c, err := net.Dial("tcp4", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			a, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c, a)
		}
	}
	for _, tc := range []struct {
		target string
		want   uint32
	}{
		{"127.0.0.1", 3},
		{"127.0.0.2", 3},
		{"0.0.0.0", 6},
		{"127.0.0.3", 0},
		{"::1", 0},
	} {
		s, err := NewSampler(netip.AddrPortFrom(netip.MustParseAddr(tc.target), port))
		if err != nil {
			t.Fatal(err)
		}
		got := sample(t, s)
		s.Close()
		if got.Client[Established] != tc.want || got.Server[Established] != tc.want {
			t.Errorf("sampling %s:%d: ESTABLISHED client %d, server %d; want %d each",
				tc.target, port, got.Client[Established], got.Server[Established], tc.want)
		}
	}
}

// inetDiagMark is INET_DIAG_MARK, the attribute the kernel adds for a
// reader with CAP_NET_ADMIN.
const inetDiagMark = 15

// The sampler's socket is opened without CAP_NET_ADMIN, so that the kernel
// sends no INET_DIAG_MARK attributes, even when the process has it.
func TestSampleWithoutMarks(t *testing.T) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var caps [2]unix.CapUserData
	if err := unix.Capget(&hdr, &caps[0]); err != nil || caps[0].Effective&(1<<unix.CAP_NET_ADMIN) == 0 {
		t.Skip("without CAP_NET_ADMIN the kernel sends no marks to this process in any case")
	}
	ln, port := listen(t, "tcp4", "127.0.0.1:0")
	connect(t, ln, ln.Addr().String())
	s := newSampler(t, port)
	s.seq++
	s.req = appendDumpRequest(s.req[:0], legacyRequest, 0, s.seq, s.filter, connStateMask)
	if _, err := unix.Write(s.fd, s.req); err != nil {
		t.Fatal(err)
	}
	msgs := 0
	for done := false; !done; {
		n, err := unix.Read(s.fd, s.buf)
		if err != nil {
			t.Fatal(err)
		}
		for b := s.buf[:n]; len(b) >= nlmsgHdrLen; {
			msgLen := int(binary.NativeEndian.Uint32(b))
			typ := binary.NativeEndian.Uint16(b[4:])
			if typ == nlmsgDone {
				done = true
			}
			if typ == tcpdiagGetsock {
				msgs++
				for attrs := b[nlmsgHdrLen+inetDiagMsgLen : msgLen]; len(attrs) >= 4; {
					attrLen := int(binary.NativeEndian.Uint16(attrs))
					if binary.NativeEndian.Uint16(attrs[2:]) == inetDiagMark {
						t.Fatalf("a socket's message carries INET_DIAG_MARK: the sampler's socket has CAP_NET_ADMIN")
					}
					attrs = attrs[min(len(attrs), (attrLen+3)&^3):]
				}
			}
			b = b[min(len(b), (msgLen+3)&^3):]
		}
	}
	if msgs != 2 {
		t.Errorf("the dump has %d sockets; want the connection's two ends", msgs)
	}
}

// crowdedTimeWait is how many TIME_WAIT sockets BenchmarkSampleCrowded
// makes: issue 6's "100k TIME_WAIT sockets on the host", and a margin.
const crowdedTimeWait = 110_000

// BenchmarkSampleCrowded samples a socket table crowded with TIME_WAIT
// sockets, made in a network namespace of the benchmark's own (it needs
// root, and skips without): once with them on the sampled port, where
// the kernel sends a message for each, and once with them on another
// port, where they cost the kernel's walk of its table and nothing else.
func BenchmarkSampleCrowded(b *testing.B) {
	ns, err := netns.New()
	if errors.Is(err, unix.EPERM) {
		b.Skipf("cannot create a network namespace here: %v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Close()
	// Ports below the namespace's ephemeral range, so that no client
	// socket has one as its own.
	const crowdedPort, otherPort = 900, 901
	if err := ns.FillTimeWait(context.Background(), crowdedPort, crowdedTimeWait); err != nil {
		b.Fatal(err)
	}
	runtime.GC() // not in the samples' time: the fill's garbage
	for _, bc := range []struct {
		name string
		port uint16
	}{
		{"port-holds-them", crowdedPort},
		{"other-port", otherPort},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var s *Sampler
			if err := ns.Do(func() (err error) {
				s, err = NewSampler(netip.AddrPortFrom(netip.IPv4Unspecified(), bc.port))
				return err
			}); err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchSamples(b, s)
		})
	}
}

// TestSampleHolders: the sampler names the addresses that hold each end's
// TIME_WAIT sockets: the server end's by the clients' address, the client
// end's by its own. Connections from 127.0.0.2 and 127.0.0.1 to a dual-stack
// listener, closed by the server first, then by the client.
func TestSampleHolders(t *testing.T) {
	ln, port := listen(t, "tcp", ":0") // dual stack: server sockets are AF_INET6
	s := newSampler(t, port)
	addr := "127.0.0.1:" + strconv.Itoa(int(port))
	dial := func(from string) conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %s from %s: %v", addr, from, err)
		}
		sc, err := ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		return conn{c.(*net.TCPConn), sc}
	}
	for range 3 {
		dial("127.0.0.2").closeServerFirst(t)
	}
	dial("127.0.0.1").closeServerFirst(t)
	for range 2 {
		dial("127.0.0.3").closeClientFirst(t)
	}
	settle(t, s, "5 TIME_WAIT sockets", func(smp Sample) bool {
		return smp.Server[TimeWait] >= 4 && smp.Client[TimeWait] >= 2
	})
	client, server := s.Holders()
	// Earlier runs may have left TIME_WAIT sockets with this port number.
	if c := server.Top[0]; c.Addr != netip.MustParseAddr("127.0.0.2") || c.Count < 3 {
		t.Errorf("server end's top holder = %s × %d; want 127.0.0.2 × 3", c.Addr, c.Count)
	}
	if c := client.Top[0]; c.Addr != netip.MustParseAddr("127.0.0.3") || c.Count < 2 {
		t.Errorf("client end's top holder = %s × %d; want 127.0.0.3 × 2", c.Addr, c.Count)
	}
	found := false
	for _, c := range server.Top {
		found = found || c.Addr == netip.MustParseAddr("127.0.0.1")
	}
	if !found {
		t.Errorf("server holders %+v: want 127.0.0.1 among them", server.Top)
	}
}

// TestSamplerIn: a sampler opened in a namespace samples that namespace's
// sockets from any goroutine, and opens its socket there again after a
// failed sample, not in the namespace of the goroutine that sampled.
func TestSamplerIn(t *testing.T) {
	ns, err := netns.New()
	if errors.Is(err, unix.EPERM) {
		t.Skipf("cannot create a network namespace here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	const port = 7070
	var ln net.Listener
	var c, sc net.Conn
	if err := ns.Do(func() (err error) {
		if ln, err = net.Listen("tcp4", "127.0.0.1:7070"); err != nil {
			return err
		}
		if c, err = net.Dial("tcp4", "127.0.0.1:7070"); err != nil {
			return err
		}
		sc, err = ln.Accept()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	defer c.Close()
	defer sc.Close()
	s, err := NewSamplerIn(netip.AddrPortFrom(netip.IPv4Unspecified(), port), ns.Do)
	if err != nil {
		t.Fatalf("NewSamplerIn error = %v", err)
	}
	defer s.Close()
	connected := func(when string) {
		t.Helper()
		smp, err := s.Sample()
		if err != nil {
			t.Fatalf("%s: Sample error = %v", when, err)
		}
		if c, sv := smp.Client[Established], smp.Server[Established]; c != 1 || sv != 1 {
			t.Errorf("%s: %d client and %d server ends established on port %d; want the namespace's connection, 1 and 1", when, c, sv, port)
		}
	}
	connected("first sample")
	// A failed sample closes the socket; the next opens it again.
	unix.Close(s.fd)
	s.fd = -1
	connected("after the socket was opened again")
}
