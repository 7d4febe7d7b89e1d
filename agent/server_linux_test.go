package agent

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twbench/twbench/sockstat"
)

// The agent streams what a sampler in this process sees.
func TestAgentStream(t *testing.T) {
	ln, port := listen(t, "tcp4", "127.0.0.1:0")
	srv := newTestAgent(t, Config{RequestRate: 1000})
	c, err := NewClient(srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		connect(t, ln, ln.Addr().String()).closeServerFirst(t)
	}
	connect(t, ln, ln.Addr().String()).closeClientFirst(t)
	local := settle(t, newSampler(t, port), "3 server and 1 client TIME_WAIT", func(s sockstat.Sample) bool {
		return s.Server[sockstat.TimeWait] >= 3 && s.Client[sockstat.TimeWait] >= 1
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu      sync.Mutex
		header  SeriesHeader
		samples []sockstat.Sample
	)
	done := make(chan error, 1)
	go func() {
		done <- c.Stream(ctx, SeriesQuery{Target: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), Interval: 20 * time.Millisecond},
			5*time.Second, func(h SeriesHeader) { header = h },
			func(s sockstat.Sample) {
				mu.Lock()
				samples = append(samples, s)
				n := len(samples)
				mu.Unlock()
				if n == 3 {
					cancel()
				}
			})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no 3 samples in 5 s")
	}
	if want := "127.0.0.1:" + strconv.Itoa(int(port)); header.Matched != want {
		t.Errorf("header.Matched = %q; want %q", header.Matched, want)
	}
	got := samples[len(samples)-1]
	if got.Server[sockstat.TimeWait] != local.Server[sockstat.TimeWait] || got.Client[sockstat.TimeWait] != local.Client[sockstat.TimeWait] {
		t.Errorf("streamed TIME_WAIT server %d client %d; a local sample saw %d and %d",
			got.Server[sockstat.TimeWait], got.Client[sockstat.TimeWait], local.Server[sockstat.TimeWait], local.Client[sockstat.TimeWait])
	}
	if d := time.Since(got.At); d < 0 || d > 5*time.Second {
		t.Errorf("streamed sample's time is %v ago; want the agent's clock, which is this host's", d)
	}

	// An address that is not this host's matches the port alone.
	agent, _ := New(Config{RequestRate: 1000, LocalAddr: func(netip.Addr) bool { return false }})
	srv2 := httptestServer(t, agent)
	c2, _ := NewClient(srv2, "")
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	_ = c2.Stream(ctx2, SeriesQuery{Target: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), port), Interval: 20 * time.Millisecond},
		5*time.Second, func(h SeriesHeader) { header = h }, func(sockstat.Sample) { cancel2() })
	if want := "*:" + strconv.Itoa(int(port)); header.Matched != want {
		t.Errorf("a series for another host's address matched %q; want %q", header.Matched, want)
	}
}

// /metrics reports the configured ports' sockets by end and state, the
// counters and the settings.
func TestAgentMetrics(t *testing.T) {
	ln, port := listen(t, "tcp4", "127.0.0.1:0")
	connect(t, ln, ln.Addr().String()).closeServerFirst(t)
	settle(t, newSampler(t, port), "a server TIME_WAIT", func(s sockstat.Sample) bool { return s.Server[sockstat.TimeWait] >= 1 })
	srv := newTestAgent(t, Config{Ports: []uint16{port}, RequestRate: 1000})
	resp, err := http.Get(srv.URL + PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := strconv.Itoa(int(port))
	for _, want := range []string{
		`twbench_tcp_sockets{end="server",port="` + p + `",state="TIME_WAIT"} `,
		`twbench_tcp_sockets{end="client",port="` + p + `",state="TIME_WAIT"} 0`,
		`twbench_kernel_tcp_total{counter="TW"} `,
		`twbench_sysctl{name="net.ipv4.tcp_tw_reuse"} `,
		`twbench_ephemeral_port_range{bound="low"} `,
		`twbench_sample_error{port="` + p + `"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no line starting %q", want)
		}
	}
	if strings.Contains(string(body), `twbench_tcp_sockets{end="server",port="`+p+`",state="TIME_WAIT"} 0`) {
		t.Errorf("/metrics shows no server TIME_WAIT on port %s; want at least 1", p)
	}
}

// The agent serves a bounded number of streams at once.
func TestAgentMaxStreams(t *testing.T) {
	_, port := listen(t, "tcp4", "127.0.0.1:0")
	srv := newTestAgent(t, Config{MaxStreams: 1, RequestRate: 1000})
	url := srv.URL + PathSeries + "?port=" + strconv.Itoa(int(port))
	first, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Body.Close()
	if first.StatusCode != http.StatusOK {
		t.Fatalf("first stream: %s", first.Status)
	}
	if got := status(t, http.MethodGet, url, ""); got != http.StatusServiceUnavailable {
		t.Errorf("a second stream with MaxStreams 1: %d; want 503", got)
	}
}

func httptestServer(t *testing.T, a *Server) string {
	t.Helper()
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// These tests count real sockets on their own listener's port, as
// sockstat's do; none runs in parallel.

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

// newSampler samples port on any address.
func newSampler(t testing.TB, port uint16) *sockstat.Sampler {
	t.Helper()
	s, err := sockstat.NewSampler(netip.AddrPortFrom(netip.IPv4Unspecified(), port))
	if err != nil {
		t.Fatalf("NewSampler(%d) error = %v", port, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
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

// closeServerFirst leaves the server end in TIME_WAIT.
func (p conn) closeServerFirst(t testing.TB) {
	t.Helper()
	p.server.Close()
	readEOF(t, p.client)
	p.client.Close()
}

// closeClientFirst leaves the client end in TIME_WAIT.
func (p conn) closeClientFirst(t testing.TB) {
	t.Helper()
	p.client.Close()
	readEOF(t, p.server)
	p.server.Close()
}

// settle samples s until done accepts a sample or a second has passed: the
// last steps of a close run in the kernel after the system calls return.
func settle(t testing.TB, s *sockstat.Sampler, what string, done func(sockstat.Sample) bool) sockstat.Sample {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		smp, err := s.Sample()
		if err != nil {
			t.Fatalf("Sample() error = %v", err)
		}
		if done(smp) {
			return smp
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 1s, still not %s: TIME_WAIT client %d, server %d", what,
				smp.Client[sockstat.TimeWait], smp.Server[sockstat.TimeWait])
		}
		time.Sleep(time.Millisecond)
	}
}
