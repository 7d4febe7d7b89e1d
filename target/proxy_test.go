package target_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twbench/twbench/target"
)

// getKeepAlive sends n requests over one keep-alive connection to addr
// and returns the status codes and bodies.
func getKeepAlive(t *testing.T, addr string, n int) (codes []int, bodies []string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for range n {
		io.WriteString(c, "GET /x?y=1 HTTP/1.1\r\nHost: front\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		codes, bodies = append(codes, resp.StatusCode), append(bodies, string(b))
	}
	return codes, bodies
}

// TestProxy: the proxy answers with its upstream's response. Without
// upstream keep-alive each request is an upstream connection of its own,
// which the upstream closes first (it holds the TIME_WAIT); with it, one
// upstream connection carries them all. The client's connection stays
// the client's.
func TestProxy(t *testing.T) {
	for _, keep := range []bool{false, true} {
		upstream, err := target.Start(target.KeepAlive)
		if err != nil {
			t.Fatal(err)
		}
		var dials atomic.Int64
		var d net.Dialer
		p, err := target.StartProxy("127.0.0.1:0", target.ProxyConfig{Policy: target.KeepAlive, Upstream: upstream.Addr().String(),
			UpstreamKeepAlive: keep, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return d.DialContext(ctx, network, addr)
			}})
		if err != nil {
			t.Fatal(err)
		}
		const n = 5
		codes, bodies := getKeepAlive(t, p.Addr().String(), n)
		for i := range n {
			if codes[i] != 200 || bodies[i] != target.Body {
				t.Errorf("keep-alive %v: response %d = %d %q; want 200 %q", keep, i, codes[i], bodies[i], target.Body)
			}
		}
		want := target.Closes{ServerFirst: n}
		wantAccepted, wantDials := int64(n), int64(n)
		if keep {
			want, wantAccepted, wantDials = target.Closes{}, 1, 1
		}
		deadline := time.Now().Add(2 * time.Second)
		for upstream.Closes() != want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if runtime.GOOS != "linux" && want.ServerFirst > 0 {
			want = target.Closes{Unknown: want.ServerFirst} // the socket's state is Linux's
		}
		if got := upstream.Closes(); got != want {
			t.Errorf("keep-alive %v: upstream closes %+v; want %+v", keep, got, want)
		}
		if got := upstream.Accepted(); got != wantAccepted || dials.Load() != wantDials {
			t.Errorf("keep-alive %v: upstream accepted %d, proxy dialled %d; want %d and %d", keep, got, dials.Load(), wantAccepted, wantDials)
		}
		if p.Accepted() != 1 || p.UpstreamErrors() != 0 {
			t.Errorf("keep-alive %v: proxy accepted %d, upstream errors %d; want 1 and 0", keep, p.Accepted(), p.UpstreamErrors())
		}
		p.Close()
		upstream.Close()
	}
}

// TestProxyUpstreamDown: a request the upstream cannot answer is a 502,
// counted.
func TestProxyUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, keep := range []bool{false, true} {
		p, err := target.StartProxy("127.0.0.1:0", target.ProxyConfig{Policy: target.KeepAlive, Upstream: down, UpstreamKeepAlive: keep})
		if err != nil {
			t.Fatal(err)
		}
		codes, bodies := getKeepAlive(t, p.Addr().String(), 1)
		if codes[0] != 502 || !strings.HasPrefix(bodies[0], "upstream: ") || p.UpstreamErrors() != 1 {
			t.Errorf("keep-alive %v: %d %q, %d upstream errors; want 502, the upstream's error, 1", keep, codes[0], bodies[0], p.UpstreamErrors())
		}
		p.Close()
	}
}
