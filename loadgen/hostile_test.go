package loadgen_test

import (
	"bufio"
	"io"
	"math"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twbench/twbench/loadgen"
)

// streamForever answers a request with head, then writes body (a frame of
// it) until the client goes away: a body that never ends.
func streamForever(head, frame string) func(net.Conn) {
	return func(c net.Conn) {
		defer c.Close()
		if !readRequest(c) {
			return
		}
		if _, err := c.Write([]byte(head)); err != nil {
			return
		}
		b := []byte(frame)
		for {
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}
}

// allocated returns the bytes the process has allocated so far.
func allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// A body longer than the maximum is an error of its own, found where the
// body enters: at its Content-Length if it has one, or when the bytes read
// pass the maximum. The body is discarded as it streams, never held: the
// requests allocate next to nothing, however long the body. (A
// Content-Length of 100 GB killed the process inside fasthttp; an endless
// body was buffered until the timeout, 4.2 GB on one connection.)
func TestBodyPastTheMaximum(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		chunk := strings.Repeat("x", 64<<10)
		for _, tc := range []struct {
			name    string
			serve   func(net.Conn)
			maxBody int64 // 0: the default, 64 MiB
		}{
			{"Content-Length of 100 GB", streamForever("HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n", chunk), 0},
			{"Content-Length past int64", streamForever("HTTP/1.1 200 OK\r\nContent-Length: 100000000000000000000000\r\n\r\n", chunk), 0},
			{"endless body read to EOF", streamForever("HTTP/1.1 200 OK\r\n\r\n", chunk), 4 << 20},
			{"endless chunked body", streamForever("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
				strconv.FormatInt(int64(len(chunk)), 16)+"\r\n"+chunk+"\r\n"), 4 << 20},
		} {
			t.Run(tc.name, func(t *testing.T) {
				url := rawServer(t, tc.serve)
				before := allocated()
				// The timeout is long: the error must be the bound's, not the
				// timeout's.
				res := runLoad(t, loadgen.Config{Client: client, Protocol: loadgen.HTTP11, Closer: loadgen.CloserClient, Target: url,
					Concurrency: 2, Requests: 4, Timeout: 20 * time.Second, MaxBodyBytes: tc.maxBody})
				if got := nonZero(res.Errors); len(got) != 1 || got["body_too_large"] != 4 {
					t.Errorf("errors = %v (%q); want 4 body_too_large", got, res.FirstError)
				}
				if res.Requests != 0 || res.Connections != 4 || res.Closes.Total() != 4 {
					t.Errorf("requests %d, connections %d, closes %+v; want 0, 4 and 4", res.Requests, res.Connections, res.Closes)
				}
				if n := allocated() - before; n > 16<<20 {
					t.Errorf("the run allocated %d MiB; want the body discarded as it streams", n>>20)
				}
			})
		}
	})
}

// --timeout is a deadline on the whole request, kept whatever the server
// sends: a body that trickles forever ends at it.
func TestTimeoutIsADeadline(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		trickle := func(head, frame string) func(net.Conn) {
			return func(c net.Conn) {
				defer c.Close()
				if !readRequest(c) {
					return
				}
				if _, err := c.Write([]byte(head)); err != nil {
					return
				}
				for {
					if _, err := c.Write([]byte(frame)); err != nil {
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		}
		for _, tc := range []struct {
			name    string
			serve   func(net.Conn)
			maxBody int64
		}{
			{"a body read to EOF", trickle("HTTP/1.0 200 OK\r\n\r\n", "x"), 0},
			{"a chunked body", trickle("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "1\r\nx\r\n"), 0},
			{"a header", trickle("HTTP/1.1 200 OK\r\n", "X-A: b\r\n"), 0},
			// Gigabytes a second, with no bound to reach first.
			{"a fast endless body", streamForever("HTTP/1.0 200 OK\r\n\r\n", strings.Repeat("x", 64<<10)), math.MaxInt64},
		} {
			t.Run(tc.name, func(t *testing.T) {
				url := rawServer(t, tc.serve)
				began := time.Now()
				res := runLoad(t, loadgen.Config{Client: client, Protocol: loadgen.HTTP11, Closer: loadgen.CloserClient, Target: url,
					Concurrency: 1, Requests: 2, Timeout: 500 * time.Millisecond, MaxBodyBytes: tc.maxBody})
				took := time.Since(began)
				if got := nonZero(res.Errors); len(got) != 1 || got["timeout"] != 2 {
					t.Errorf("errors = %v (%q); want 2 timeouts", got, res.FirstError)
				}
				// Slack for a loaded machine under -race; a body held whole
				// overran by seconds.
				if took > 1600*time.Millisecond {
					t.Errorf("two requests of a 500ms timeout took %v", took)
				}
			})
		}
	})
}

// A header block of a few KiB, as a Content-Security-Policy makes, is read
// (curl takes it); one past the maximum is an error of its own. (Anything
// past fasthttp's 4 KiB read buffer failed as bad_response.)
func TestLargeHeaders(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		csp := "Content-Security-Policy: default-src 'self'; script-src " + strings.Repeat("https://cdn.example.com/a ", 172) + "\r\n"
		if len(csp) < 4500 {
			t.Fatalf("the header is %d bytes; want 4,500", len(csp))
		}
		answer := func(resp string) func(net.Conn) {
			return func(c net.Conn) {
				defer c.Close()
				for readRequest(c) {
					if _, err := c.Write([]byte(resp)); err != nil {
						return
					}
				}
			}
		}
		many := strings.Repeat("X-Filler: "+strings.Repeat("y", 90)+"\r\n", 700) // 70 KB
		for _, tc := range []struct {
			name   string
			resp   string
			errors map[string]int64
		}{
			{"a 4,500-byte header", "HTTP/1.1 200 OK\r\n" + csp + "Content-Length: 2\r\n\r\nok", map[string]int64{}},
			{"60 KB of headers", "HTTP/1.1 200 OK\r\n" + many[:600*102] + "Content-Length: 2\r\n\r\nok", map[string]int64{}},
			{"70 KB of headers", "HTTP/1.1 200 OK\r\n" + many + "Content-Length: 2\r\n\r\nok", map[string]int64{"header_too_large": 3}},
			{"a 70 KB header line", "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("z", 70<<10) + "\r\nContent-Length: 2\r\n\r\nok", map[string]int64{"header_too_large": 3}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				url := rawServer(t, answer(tc.resp))
				res := runLoad(t, loadgen.Config{Client: client, Protocol: loadgen.HTTP11, Closer: loadgen.CloserNone, Target: url,
					Concurrency: 1, Requests: 3, Timeout: 2 * time.Second})
				if got := nonZero(res.Errors); len(got) != len(tc.errors) || got["header_too_large"] != tc.errors["header_too_large"] {
					t.Errorf("errors = %v (%q); want %v", got, res.FirstError, tc.errors)
				}
				if want := 3 - tc.errors["header_too_large"]; res.Requests != want {
					t.Errorf("requests = %d; want %d", res.Requests, want)
				}
			})
		}
	})
}

// A server that sends more than its response is counted the same way
// whatever the closer, as the README promises: the request succeeded, and
// its connection's close failed (bad_response). The connection is not used
// again: the bytes would be read as the next response. (With closer client
// nothing was counted; with none every second request failed as
// bad_response.)
func TestBytesAfterTheResponse(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		const n = 6
		httpExtra := func(c net.Conn) {
			defer c.Close()
			for readRequest(c) {
				if _, err := c.Write([]byte(okResponse + "EXTRA")); err != nil {
					return
				}
			}
		}
		tcpExtra := func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 64)
			for {
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				if _, err := c.Write(append(buf, "EXTRA"...)); err != nil {
					return
				}
			}
		}
		for _, tc := range []struct {
			protocol loadgen.Protocol
			closer   loadgen.Closer
			serve    func(net.Conn)
		}{
			{loadgen.HTTP11, loadgen.CloserClient, httpExtra},
			{loadgen.HTTP11, loadgen.CloserClientRST, httpExtra},
			{loadgen.HTTP11, loadgen.CloserNone, httpExtra},
			{loadgen.HTTP11, loadgen.CloserServer, httpExtra},
			{loadgen.TCP, loadgen.CloserClient, tcpExtra},
			{loadgen.TCP, loadgen.CloserNone, tcpExtra},
		} {
			t.Run(string(tc.protocol)+"/"+string(tc.closer), func(t *testing.T) {
				url := rawServer(t, tc.serve)
				cfg := loadgen.Config{Client: client, Protocol: tc.protocol, Closer: tc.closer, Target: url,
					Concurrency: 1, Requests: n, Timeout: 300 * time.Millisecond}
				if tc.protocol == loadgen.TCP {
					cfg.Target = "tcp" + strings.TrimSuffix(strings.TrimPrefix(url, "http"), "/")
					cfg.RequestSize, cfg.ResponseSize = 64, 64
				}
				res := runLoad(t, cfg)
				if res.Requests != n || res.ErrorCount() != 0 {
					t.Errorf("requests %d, errors %v (%q); want %d and none", res.Requests, nonZero(res.Errors), res.FirstError, n)
				}
				if got := nonZero(res.CloseErrors); len(got) != 1 || got["bad_response"] != n {
					t.Errorf("close errors = %v; want %d bad_response, one per connection", got, n)
				}
				if res.Connections != n || res.Closes.Total() != n || res.Closes.ServerFirst+res.Closes.ServerRST != 0 {
					t.Errorf("connections %d, closes %+v; want %d, each closed by the client", res.Connections, res.Closes, n)
				}
			})
		}
	})
}

// The request line carries the target's query escaped: a space or UTF-8
// in it would make a broken request line.
func TestRequestLineEscapesTheQuery(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		lines := make(chan string, 1)
		url := rawServer(t, func(c net.Conn) {
			defer c.Close()
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return
			}
			lines <- line
			c.Write([]byte("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"))
		})
		res := runLoad(t, loadgen.Config{Client: client, Protocol: loadgen.HTTP11, Closer: loadgen.CloserServer, Target: url + "p?q=ä ö",
			Concurrency: 1, Requests: 1, Timeout: time.Second})
		if res.Requests != 1 {
			t.Errorf("requests %d, errors %q; want 1", res.Requests, res.FirstError)
		}
		if got, want := <-lines, "GET /p?q=%C3%A4%20%C3%B6 HTTP/1.1\r\n"; got != want {
			t.Errorf("request line %q; want %q", got, want)
		}
	})
}

// A closed loop whose requests fail at once backs off, as it does when
// ports run out, instead of counting failures at the loop's speed: 2
// workers for 1 s make at most 2 × 100 attempts. (A refused port gave 23k
// ECONNREFUSED a second from 2 workers.)
func TestClosedLoopBacksOffWhenRequestsFailAtOnce(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		refused := refusingPort(t)
		closing := rawServer(t, func(c net.Conn) { c.Close() })
		for _, tc := range []struct {
			name, url string
		}{
			{"a refused port", refused},
			// ECONNRESET, EPIPE or unexpected_eof, as the close and the request
			// cross.
			{"a server that closes at once", closing},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := runLoad(t, loadgen.Config{Client: client, Protocol: loadgen.HTTP11, Closer: loadgen.CloserClient, Target: tc.url,
					Concurrency: 2, Duration: time.Second, Timeout: time.Second})
				if n := res.ErrorCount(); n == 0 || n > 2*110 {
					t.Errorf("errors %v; want some, at most %d", nonZero(res.Errors), 2*110)
				}
			})
		}
	})
}

// -d bounds the run, requests in flight or not: a second after its end
// the requests still in flight are cut off, and counted as cut, not as
// answered or failed. (Against a silent server, --rate 100 -c 4 -d 2s
// --timeout 6s lasted 6 s.)
func TestDurationCutsRequestsInFlight(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		silent := rawServer(t, func(c net.Conn) {
			defer c.Close()
			readRequest(c)
			time.Sleep(10 * time.Second)
		})
		for _, rate := range []float64{0, 100} {
			g, err := loadgen.New(loadgen.Config{Client: client, Protocol: loadgen.HTTP11, Closer: loadgen.CloserClient, Target: silent,
				Concurrency: 4, Rate: rate, Duration: 500 * time.Millisecond, Timeout: 6 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			res, err := g.Run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(began); took > 2500*time.Millisecond {
				t.Errorf("rate %g: a 500ms run took %v", rate, took)
			}
			if res.Elapsed > 2*time.Second {
				t.Errorf("rate %g: elapsed %v; want the duration and a second's grace", rate, res.Elapsed)
			}
			if res.Requests != 0 || res.ErrorCount() != 0 || res.Interrupted || res.Aborted != 0 {
				t.Errorf("rate %g: requests %d, errors %v (%q), interrupted %v, aborted %d; want none, not interrupted",
					rate, res.Requests, nonZero(res.Errors), res.FirstError, res.Interrupted, res.Aborted)
			}
			// In closed loop, the 4 in flight; in open loop every send made
			// (a send handed out as the cut runs is cut before its dial).
			if want := int64(4); res.Cut < want || (rate == 0 && res.Cut != want) || (rate > 0 && res.Cut != res.Scheduled) {
				t.Errorf("rate %g: cut %d, scheduled %d; want 4, or in open loop all scheduled", rate, res.Cut, res.Scheduled)
			}
			if res.Connections != 4 || res.Closes != (loadgen.Closes{ClientFirst: 4}) {
				t.Errorf("rate %g: connections %d, closes %+v; want 4, closed by the client", rate, res.Connections, res.Closes)
			}
		}
	})
}

// refusingPort returns the URL of a port on 127.0.0.1 that refuses every
// connection, and that no other test's server can take meanwhile: a socket
// bound to it that does not listen. (A listener's port, once closed, may go
// to a server of a test running beside this one, which would then count
// these connects.)
func refusingPort(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return "http://127.0.0.1:" + strconv.Itoa(sa.(*unix.SockaddrInet4).Port) + "/"
}
