package loadgen_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/target"
)

// Responses are read whatever pieces they come in: the event loop parses
// what has arrived and parses again from the first byte when more comes,
// and reads one longer than its 4 KiB buffer with the same reader as a
// coroutine, kept for the connection's later long responses. Each case is
// sent in pieces of 1 to 700 bytes, a millisecond apart, on a kept-alive
// connection, and every request must succeed.
func TestResponsesInPieces(t *testing.T) {
	chunked := func(body string) string {
		var b strings.Builder
		for len(body) > 0 {
			n := min(len(body), 1000)
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
			body = body[n:]
		}
		return b.String() + "0\r\nX-Trailer: t\r\n\r\n"
	}
	long := strings.Repeat("b", 20000)
	for _, tc := range []struct {
		name string
		resp string
	}{
		// With its 41-byte header, the next three are a byte short of the
		// 4 KiB buffer, exactly its size, and a byte over.
		{"small", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{"4 KiB less a byte", "HTTP/1.1 200 OK\r\nContent-Length: 4054\r\n\r\n" + strings.Repeat("b", 4054)},
		{"4 KiB", "HTTP/1.1 200 OK\r\nContent-Length: 4055\r\n\r\n" + strings.Repeat("b", 4055)},
		{"4 KiB and a byte", "HTTP/1.1 200 OK\r\nContent-Length: 4056\r\n\r\n" + strings.Repeat("b", 4056)},
		{"a 20 KB body", "HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + long},
		{"a 6 KB header", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("h", 6000) + "\r\nContent-Length: 2\r\n\r\nok"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(long)},
		{"interim, then final", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachClient(t, func(t *testing.T, client loadgen.Client) {
				url := rawServer(t, func(c net.Conn) {
					defer c.Close()
					rng := rand.New(rand.NewPCG(1, 2))
					for readRequest(c) {
						for rest := tc.resp; len(rest) > 0; {
							n := min(len(rest), 1+rng.IntN(700))
							if _, err := c.Write([]byte(rest[:n])); err != nil {
								return
							}
							rest = rest[n:]
							time.Sleep(time.Millisecond)
						}
					}
				})
				res := runLoad(t, loadgen.Config{Client: client, Protocol: loadgen.HTTP11, Closer: loadgen.CloserNone, Target: url,
					Concurrency: 1, Requests: 6, Timeout: 5 * time.Second})
				if res.Requests != 6 || res.ErrorCount() != 0 || res.StatusCodes[200] != 6 || res.Connections != 1 {
					t.Errorf("requests %d, errors %v (%q), status codes %v, connections %d; want 6 answered with 200 on one connection",
						res.Requests, nonZero(res.Errors), res.FirstError, res.StatusCodes, res.Connections)
				}
			})
		})
	}
}

// An IPv6 target: the sockets are AF_INET6, as the target's address.
func TestIPv6Target(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		srv, err := target.StartTCP("[::1]:0", target.TCPConfig{Policy: target.KeepAlive, RequestSize: 64, ResponseSize: 64})
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		defer srv.Close()
		res := runLoad(t, loadgen.Config{Client: client, Protocol: loadgen.TCP, Closer: loadgen.CloserClient, Target: srv.URL(),
			RequestSize: 64, ResponseSize: 64, Concurrency: 2, Requests: 50, Timeout: 5 * time.Second})
		if res.Requests != 50 || res.ErrorCount() != 0 || res.Closes.ClientFirst != 50 {
			t.Errorf("requests %d, errors %q, closes %+v; want 50, none, 50 closed by the client", res.Requests, res.FirstError, res.Closes)
		}
		if !strings.HasPrefix(srv.URL(), "tcp://[::1]:") {
			t.Errorf("the target is %s; want [::1]", srv.URL())
		}
	})
}
