package loadgen_test

import (
	"bytes"
	"context"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twbench/twbench/loadgen"
)

// quietServer is a server that allocates nothing, so that allocations
// counted while a client loads it are the client's: one goroutine, one
// connection at a time, blocking system calls on raw descriptors. It
// answers an HTTP request (up to its empty line) with a 2-byte body, or a
// raw TCP request of reqSize bytes with respSize bytes; with closeAfter, it
// closes each connection after its response (its FIN first), else when
// the client does. For a connect-only load (reqSize 0, not HTTP), it waits
// for the client's close, or with closeAfter closes at once.
type quietServer struct {
	fd         int
	http       bool
	reqSize    int
	respSize   int
	closeAfter bool
	wg         sync.WaitGroup
}

func startQuietServer(t testing.TB, http bool, reqSize, respSize int, closeAfter bool) (addr string) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	s := &quietServer{fd: fd, http: http, reqSize: reqSize, respSize: respSize, closeAfter: closeAfter}
	s.wg.Go(s.serve)
	t.Cleanup(func() {
		_ = unix.Shutdown(fd, unix.SHUT_RDWR) // wakes the accept
		s.wg.Wait()
		unix.Close(fd)
	})
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
}

func (s *quietServer) serve() {
	buf := make([]byte, 64<<10)
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	if !s.http {
		resp = bytes.Repeat([]byte{'x'}, s.respSize)
	}
	for {
		c, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(s.fd), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
		if errno == unix.EINTR || errno == unix.ECONNABORTED {
			continue
		}
		if errno != 0 {
			return
		}
		s.conn(int(c), buf, resp)
		unix.Close(int(c))
	}
}

// conn answers one connection's requests.
func (s *quietServer) conn(fd int, buf, resp []byte) {
	for {
		if !s.http && s.reqSize == 0 { // connect only
			if !s.closeAfter {
				_, _ = unix.Read(fd, buf)
			}
			return
		}
		got := 0
		for !s.complete(buf[:got]) {
			n, err := unix.Read(fd, buf[got:])
			if err == unix.EINTR {
				continue
			}
			if err != nil || n == 0 {
				return
			}
			got += n
		}
		for out := resp; len(out) > 0; {
			n, err := unix.Write(fd, out)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return
			}
			out = out[n:]
		}
		if s.closeAfter {
			return
		}
	}
}

func (s *quietServer) complete(b []byte) bool {
	if s.http {
		return bytes.HasSuffix(b, []byte("\r\n\r\n"))
	}
	return len(b) >= s.reqSize
}

// allocWorkloads are the workloads whose steady state must allocate
// nothing, against a quiet server.
var allocWorkloads = []struct {
	name     string
	protocol loadgen.Protocol
	closer   loadgen.Closer
	perConn  int
	server   func(testing.TB) string
}{
	{"http1.1-keepalive", loadgen.HTTP11, loadgen.CloserNone, 0, func(t testing.TB) string { return "http://" + startQuietServer(t, true, 0, 0, false) + "/" }},
	{"http1.0-server-closes", loadgen.HTTP10, loadgen.CloserServer, 0, func(t testing.TB) string { return "http://" + startQuietServer(t, true, 0, 0, true) + "/" }},
	{"http1.1-client-closes", loadgen.HTTP11, loadgen.CloserClient, 0, func(t testing.TB) string { return "http://" + startQuietServer(t, true, 0, 0, false) + "/" }},
	{"http1.1-client-resets", loadgen.HTTP11, loadgen.CloserClientRST, 0, func(t testing.TB) string { return "http://" + startQuietServer(t, true, 0, 0, false) + "/" }},
	{"http1.1-10-per-conn", loadgen.HTTP11, loadgen.CloserClient, 10, func(t testing.TB) string { return "http://" + startQuietServer(t, true, 0, 0, false) + "/" }},
	{"tcp-keepalive", loadgen.TCP, loadgen.CloserNone, 0, func(t testing.TB) string { return "tcp://" + startQuietServer(t, false, 64, 64, false) }},
	{"tcp-client-closes", loadgen.TCP, loadgen.CloserClient, 0, func(t testing.TB) string { return "tcp://" + startQuietServer(t, false, 64, 64, false) }},
	{"tcp-server-closes", loadgen.TCP, loadgen.CloserServer, 0, func(t testing.TB) string { return "tcp://" + startQuietServer(t, false, 64, 64, true) }},
	{"connect-client-closes", loadgen.Connect, loadgen.CloserClient, 0, func(t testing.TB) string { return "tcp://" + startQuietServer(t, false, 0, 0, false) }},
	{"connect-server-closes", loadgen.Connect, loadgen.CloserServer, 0, func(t testing.TB) string { return "tcp://" + startQuietServer(t, false, 0, 0, true) }},
}

func allocConfig(protocol loadgen.Protocol, closer loadgen.Closer, perConn int, url string, n int64, rate float64) loadgen.Config {
	cfg := loadgen.Config{Protocol: protocol, Closer: closer, Target: url, Concurrency: 1, Requests: n, Rate: rate,
		Timeout: 5 * time.Second, RequestsPerConn: perConn, Client: loadgen.ClientEventLoop}
	if protocol == loadgen.TCP {
		cfg.RequestSize, cfg.ResponseSize = 64, 64
	}
	return cfg
}

// mallocs returns the objects the process has allocated so far.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// The event-loop client allocates nothing per request, nor per
// connection, in closed and open loop: a run of 2,200 requests allocates
// no more than one of 200 (its setup), but for a few objects the runtime
// makes meanwhile. (Go's net.Dialer allocates 26 per connection.)
func TestEventLoopAllocatesNothingPerRequest(t *testing.T) {
	for _, wl := range allocWorkloads {
		for _, rate := range []float64{0, 20000} {
			t.Run(wl.name+"/rate="+strconv.Itoa(int(rate)), func(t *testing.T) {
				url := wl.server(t)
				run := func(n int64) uint64 {
					g, err := loadgen.New(allocConfig(wl.protocol, wl.closer, wl.perConn, url, n, rate))
					if err != nil {
						t.Fatal(err)
					}
					runtime.GC()
					before := mallocs()
					res, err := g.Run(context.Background())
					after := mallocs()
					if err != nil || res.Requests != n || res.ErrorCount() != 0 {
						t.Fatalf("run: %v, %d requests of %d, errors %q", err, res.Requests, n, res.FirstError)
					}
					return after - before
				}
				run(200) // warm: a first run makes what later ones reuse
				small, large := run(200), run(2200)
				t.Logf("200 requests: %d objects; 2,200: %d", small, large)
				if extra := int64(large) - int64(small); extra > 20 {
					t.Errorf("2,200 requests allocated %d objects, 200 requests %d: %.3f per request; want 0", large, small, float64(extra)/2000)
				}
			})
		}
	}
}

// BenchmarkEventLoopAllocs is BenchmarkRequest against a server that
// allocates nothing: its allocs/op are the event loop's alone.
func BenchmarkEventLoopAllocs(b *testing.B) {
	for _, wl := range allocWorkloads {
		b.Run(wl.name, func(b *testing.B) {
			g, err := loadgen.New(allocConfig(wl.protocol, wl.closer, wl.perConn, wl.server(b), int64(b.N), 0))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			res, err := g.Run(context.Background())
			b.StopTimer()
			if err != nil || res.Requests != int64(b.N) {
				b.Fatalf("run: %v, %d requests of %d, errors %q", err, res.Requests, b.N, res.FirstError)
			}
		})
	}
}
