package sockstat

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The agent streams what a sampler in this process sees.
func TestAgentStream(t *testing.T) {
	ln, port := listen(t, "tcp4", "127.0.0.1:0")
	srv := newTestAgent(t, AgentConfig{RequestRate: 1000})
	c, err := NewAgentClient(srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		connect(t, ln, ln.Addr().String()).closeServerFirst(t)
	}
	connect(t, ln, ln.Addr().String()).closeClientFirst(t)
	local := settle(t, newSampler(t, port), "3 server and 1 client TIME_WAIT", func(s Sample) bool {
		return s.Server[TimeWait] >= 3 && s.Client[TimeWait] >= 1
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu      sync.Mutex
		header  SeriesHeader
		samples []Sample
	)
	done := make(chan error, 1)
	go func() {
		done <- c.Stream(ctx, SeriesQuery{Target: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), Interval: 20 * time.Millisecond},
			5*time.Second, func(h SeriesHeader) { header = h },
			func(s Sample) {
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
	if got.Server[TimeWait] != local.Server[TimeWait] || got.Client[TimeWait] != local.Client[TimeWait] {
		t.Errorf("streamed TIME_WAIT server %d client %d; a local sample saw %d and %d",
			got.Server[TimeWait], got.Client[TimeWait], local.Server[TimeWait], local.Client[TimeWait])
	}
	if d := time.Since(got.At); d < 0 || d > 5*time.Second {
		t.Errorf("streamed sample's time is %v ago; want the agent's clock, which is this host's", d)
	}

	// An address that is not this host's matches the port alone.
	agent, _ := NewAgent(AgentConfig{RequestRate: 1000, LocalAddr: func(netip.Addr) bool { return false }})
	srv2 := httptestServer(t, agent)
	c2, _ := NewAgentClient(srv2, "")
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	_ = c2.Stream(ctx2, SeriesQuery{Target: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), port), Interval: 20 * time.Millisecond},
		5*time.Second, func(h SeriesHeader) { header = h }, func(Sample) { cancel2() })
	if want := "*:" + strconv.Itoa(int(port)); header.Matched != want {
		t.Errorf("a series for another host's address matched %q; want %q", header.Matched, want)
	}
}

// /metrics reports the configured ports' sockets by end and state, the
// counters and the settings.
func TestAgentMetrics(t *testing.T) {
	ln, port := listen(t, "tcp4", "127.0.0.1:0")
	connect(t, ln, ln.Addr().String()).closeServerFirst(t)
	settle(t, newSampler(t, port), "a server TIME_WAIT", func(s Sample) bool { return s.Server[TimeWait] >= 1 })
	srv := newTestAgent(t, AgentConfig{Ports: []uint16{port}, RequestRate: 1000})
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
	srv := newTestAgent(t, AgentConfig{MaxStreams: 1, RequestRate: 1000})
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

func httptestServer(t *testing.T, a *Agent) string {
	t.Helper()
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}
