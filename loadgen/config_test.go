package loadgen_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		want    loadgen.Target
		wantErr string
	}{
		{"http://127.0.0.1:8080/", loadgen.Target{Scheme: "http", Host: "127.0.0.1:8080", Name: "127.0.0.1", Port: 8080, Path: "/"}, ""},
		{"http://localhost", loadgen.Target{Scheme: "http", Host: "localhost", Name: "localhost", Port: 80, Path: "/"}, ""},
		{"http://[::1]:81/a/b?c=d", loadgen.Target{Scheme: "http", Host: "[::1]:81", Name: "::1", Port: 81, Path: "/a/b?c=d"}, ""},
		{"https://127.0.0.1/", loadgen.Target{}, "https is not supported"},
		{"ftp://127.0.0.1:9/", loadgen.Target{}, "want an http://host:port/path URL"},
		{"127.0.0.1:8080", loadgen.Target{}, "want an http://host:port/path URL"},
		{"http://:8080/", loadgen.Target{}, "no host"},
		{"http://127.0.0.1:99999/", loadgen.Target{}, `port "99999" is not a TCP port`},
		{"tcp://127.0.0.1:9", loadgen.Target{Scheme: "tcp", Host: "127.0.0.1:9", Name: "127.0.0.1", Port: 9, Path: "/"}, ""},
		{"tcp://[::1]:9/", loadgen.Target{Scheme: "tcp", Host: "[::1]:9", Name: "::1", Port: 9, Path: "/"}, ""},
		// The query as a request line may carry it: url leaves it as given.
		{"http://127.0.0.1:8080/p?q=ä ö", loadgen.Target{Scheme: "http", Host: "127.0.0.1:8080", Name: "127.0.0.1", Port: 8080, Path: "/p?q=%C3%A4%20%C3%B6"}, ""},
		{"http://127.0.0.1/a b?x=\"<>{}|\\^`", loadgen.Target{Scheme: "http", Host: "127.0.0.1", Name: "127.0.0.1", Port: 80, Path: "/a%20b?x=%22%3C%3E%7B%7D%7C%5C%5E%60"}, ""},
		{"http://127.0.0.1/?q=%41%e4&r=a+b/c?d:e@f!$'()*,;=-._~", loadgen.Target{Scheme: "http", Host: "127.0.0.1", Name: "127.0.0.1", Port: 80, Path: "/?q=%41%e4&r=a+b/c?d:e@f!$'()*,;=-._~"}, ""},
		{"http://127.0.0.1/p?#frag", loadgen.Target{Scheme: "http", Host: "127.0.0.1", Name: "127.0.0.1", Port: 80, Path: "/p?"}, ""},
		{"http://127.0.0.1/?q=%zz", loadgen.Target{}, `invalid escape "%zz" in the query`},
		{"http://127.0.0.1/?q=%4", loadgen.Target{}, `invalid escape "%4" in the query`},
		{"tcp://127.0.0.1", loadgen.Target{}, "needs a port"},
		{"tcp://127.0.0.1:9/x", loadgen.Target{}, "with no path"},
	} {
		got, err := loadgen.ParseTarget(tc.raw)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseTarget(%q) = %v; want an error with %q", tc.raw, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
}

func TestValidateReportsEverything(t *testing.T) {
	err := loadgen.Config{Protocol: "http2", Closer: "x", Target: "ftp://x", Concurrency: 0, Rate: -1, Timeout: 0}.Validate()
	for _, want := range []string{`unknown protocol "http2"`, "want an http://host:port/path URL", "concurrency: 0",
		"rate: -1", "the run would not end", "timeout: 0s"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to contain %q", err, want)
		}
	}
}

func TestSupports(t *testing.T) {
	for _, c := range loadgen.Closers() {
		if err := loadgen.Supports(loadgen.HTTP11, c); err != nil {
			t.Errorf("Supports(http1.1, %s) = %v; want nil", c, err)
		}
		err := loadgen.Supports(loadgen.HTTP10, c)
		if wantOK := c == loadgen.CloserServer || c == loadgen.CloserServerRST; (err == nil) != wantOK {
			t.Errorf("Supports(http1.0, %s) = %v; want ok = %v", c, err, wantOK)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EADDRNOTAVAIL)}, "EADDRNOTAVAIL"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "ECONNREFUSED"},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, "ECONNRESET"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("socket", syscall.EMFILE)}, "EMFILE"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("socket", syscall.ENFILE)}, "ENFILE"},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, "EPIPE"},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "timeout"},
		{fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), "unexpected_eof"},
		{io.EOF, "unexpected_eof"},
		{errors.New("something else"), "other"},
	} {
		if got := loadgen.Classify(tc.err).String(); got != tc.want {
			t.Errorf("Classify(%v) = %s; want %s", tc.err, got, tc.want)
		}
	}
}

// rawServer accepts connections on 127.0.0.1 and hands each to serve.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

// readRequest reads one request's header from c.
func readRequest(c net.Conn) bool {
	var got []byte
	buf := make([]byte, 1024)
	for !strings.Contains(string(got), "\r\n\r\n") {
		n, err := c.Read(buf)
		if err != nil {
			return false
		}
		got = append(got, buf[:n]...)
	}
	return true
}

const okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// slowServer keeps connections alive and answers each request after delay.
func slowServer(t *testing.T, delay time.Duration) string {
	t.Helper()
	return rawServer(t, func(c net.Conn) {
		defer c.Close()
		for readRequest(c) {
			time.Sleep(delay)
			c.Write([]byte(okResponse))
		}
	})
}

func TestMisbehavingServers(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		for _, tc := range []struct {
			name        string
			closer      loadgen.Closer
			serve       func(net.Conn)
			errors      map[string]int64
			closeErrors map[string]int64
			closes      loadgen.Closes
			success     int64
		}{
			{
				name:   "silent server times out",
				closer: loadgen.CloserClient,
				serve:  func(c net.Conn) { readRequest(c); time.Sleep(2 * time.Second); c.Close() },
				errors: map[string]int64{"timeout": 2}, closes: loadgen.Closes{ClientFirst: 2},
			},
			{
				name:   "garbage is a bad response",
				closer: loadgen.CloserClient,
				serve: func(c net.Conn) {
					readRequest(c)
					c.Write([]byte("SSH-2.0-OpenSSH\r\n\r\n"))
					time.Sleep(time.Second)
					c.Close()
				},
				errors: map[string]int64{"bad_response": 2}, closes: loadgen.Closes{ClientFirst: 2},
			},
			{
				name:   "close before the response is an unexpected EOF, closed by the server",
				closer: loadgen.CloserClient,
				serve:  func(c net.Conn) { readRequest(c); c.Close() },
				errors: map[string]int64{"unexpected_eof": 2}, closes: loadgen.Closes{ServerFirst: 2},
			},
			{
				name:   "a server that keeps alive despite Connection: close: the wait for its FIN times out",
				closer: loadgen.CloserServer,
				serve:  func(c net.Conn) { readRequest(c); c.Write([]byte(okResponse)); time.Sleep(2 * time.Second); c.Close() },
				errors: map[string]int64{}, closeErrors: map[string]int64{"timeout": 2},
				closes: loadgen.Closes{ClientFirst: 2}, success: 2,
			},
			{
				name:   "a server that sends more than its response on a connection it was to close",
				closer: loadgen.CloserServer,
				serve: func(c net.Conn) {
					readRequest(c)
					c.Write([]byte(okResponse + "EXTRA"))
					time.Sleep(time.Second)
					c.Close()
				},
				errors: map[string]int64{}, closeErrors: map[string]int64{"bad_response": 2},
				// The extra bytes were read into the client's buffer with the
				// response, so the kernel has nothing unread: close() sends FIN.
				closes: loadgen.Closes{ClientFirst: 2}, success: 2,
			},
			{
				name:   "a server that says Connection: close is waited for, whatever the closer",
				closer: loadgen.CloserClient,
				serve: func(c net.Conn) {
					readRequest(c)
					c.Write([]byte("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"))
					time.Sleep(50 * time.Millisecond)
					c.Close()
				},
				errors: map[string]int64{}, closes: loadgen.Closes{ServerFirst: 2}, success: 2,
			},
			{
				name:   "status 503 counts as an http_status error",
				closer: loadgen.CloserClient,
				serve: func(c net.Conn) {
					readRequest(c)
					c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"))
					readRequest(c)
					c.Close()
				},
				errors: map[string]int64{"http_status": 2}, closes: loadgen.Closes{ClientFirst: 2}, success: 2,
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				url := rawServer(t, tc.serve)
				g, err := loadgen.New(loadgen.Config{Client: client, Protocol: loadgen.HTTP11, Closer: tc.closer, Target: url,
					Concurrency: 1, Requests: 2, Timeout: 300 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				res, err := g.Run(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if got := nonZero(res.Errors); fmt.Sprint(got) != fmt.Sprint(tc.errors) {
					t.Errorf("errors = %v (%q); want %v", got, res.FirstError, tc.errors)
				}
				if got, want := nonZero(res.CloseErrors), tc.closeErrors; len(got)+len(want) > 0 && fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("close errors = %v; want %v", got, want)
				}
				if res.Closes != tc.closes {
					t.Errorf("closes = %+v; want %+v", res.Closes, tc.closes)
				}
				if res.Requests != tc.success {
					t.Errorf("requests = %d; want %d", res.Requests, tc.success)
				}
				// Each class's example names the target (unexpected_eof's was
				// a bare "EOF").
				host := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
				for c := range loadgen.NumErrorClasses {
					if ex := res.FirstError[c]; ex != "" && !strings.Contains(ex, host) {
						t.Errorf("the example of %s is %q; want one naming %s", loadgen.ErrorClass(c), ex, host)
					}
				}
			})
		}
	})
}

// A keep-alive connection the server closes while it is idle: the next
// request fails on it, the close is the server's, and a new connection
// carries on.
func TestServerClosesIdleKeepAlive(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		var conns atomic.Int32
		url := rawServer(t, func(c net.Conn) {
			defer c.Close()
			// The first connection is closed after two requests, while idle;
			// the others stay open until the client closes them.
			first := conns.Add(1) == 1
			for i := 0; !first || i < 2; i++ {
				if !readRequest(c) {
					return
				}
				c.Write([]byte(okResponse))
			}
		})
		g, err := loadgen.New(loadgen.Config{Client: client, Protocol: loadgen.HTTP11, Closer: loadgen.CloserNone, Target: url,
			Concurrency: 1, Requests: 5, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		res, err := g.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// Requests 1, 2 on the first connection; 3 fails on it; 4, 5 on a new
		// one, closed by the client at the end. The server's close of the first
		// is a FIN, or an RST if request 3 reached it before the close.
		c := res.Closes
		if res.Requests != 4 || res.Connections != 2 || c.ServerFirst+c.ServerRST != 1 || c.ClientFirst != 1 {
			t.Errorf("requests %d, connections %d, closes %+v, errors %q; want 4, 2, one closed by each end",
				res.Requests, res.Connections, res.Closes, res.FirstError)
		}
	})
}

// Cancelling the run cuts off requests in flight at once: they are counted
// as aborted, not as errors, and the result says it was interrupted.
func TestCancelCutsOffRequestsInFlight(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		url := rawServer(t, func(c net.Conn) { readRequest(c); time.Sleep(5 * time.Second); c.Close() })
		g, err := loadgen.New(loadgen.Config{Client: client, Protocol: loadgen.HTTP11, Closer: loadgen.CloserClient, Target: url,
			Concurrency: 4, Duration: 10 * time.Second, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(200*time.Millisecond, cancel)
		began := time.Now()
		res, err := g.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(began); took > 2*time.Second {
			t.Errorf("Run took %v after the cancel; want it to return at once", took)
		}
		if !res.Interrupted || res.Aborted != 4 || res.ErrorCount() != 0 {
			t.Errorf("interrupted %v, aborted %d, errors %v; want true, 4, none", res.Interrupted, res.Aborted, res.Errors)
		}
	})
}

func nonZero(counts [loadgen.NumErrorClasses]int64) map[string]int64 {
	m := map[string]int64{}
	for i, n := range counts {
		if n > 0 {
			m[loadgen.ErrorClass(i).String()] = n
		}
	}
	return m
}

// An open loop that cannot keep up still ends at -d: the sends it could
// not make are counted unsent, not made late for as long as it takes.
func TestOpenLoopDurationIsABound(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		url := slowServer(t, 10*time.Millisecond)
		g, err := loadgen.New(loadgen.Config{Client: client, Protocol: loadgen.HTTP11, Closer: loadgen.CloserNone, Target: url,
			Concurrency: 1, Rate: 100000, Duration: 300 * time.Millisecond, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		res, err := g.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(began); took > 2*time.Second {
			t.Errorf("a 300ms run took %v", took)
		}
		// 100,000/s for 0.3 s is 30,000 sends; at 10 ms each, about 30 were made.
		if res.Scheduled+res.Unsent != 30000 || res.Unsent < 29000 {
			t.Errorf("scheduled %d + unsent %d; want 30,000, nearly all unsent", res.Scheduled, res.Unsent)
		}
		if res.Late < res.Scheduled-2 {
			t.Errorf("late %d of %d scheduled; want nearly all late", res.Late, res.Scheduled)
		}
	})
}

// In open loop the run lasts its schedule: 10/s for 1 s is 1 s, though the
// last send is at 0.9 s, so qps is the rate.
func TestOpenLoopElapsedIsTheSchedule(t *testing.T) {
	eachClient(t, func(t *testing.T, client loadgen.Client) {
		srv := slowServer(t, 0)
		for _, tc := range []struct {
			rate     float64
			d        time.Duration
			n        int64
			requests int64
			elapsed  time.Duration
		}{
			{10, time.Second, 0, 10, time.Second},
			{2, 0, 2, 2, time.Second},
			{4, 2 * time.Second, 3, 3, 750 * time.Millisecond},
		} {
			g, err := loadgen.New(loadgen.Config{Client: client, Protocol: loadgen.HTTP11, Closer: loadgen.CloserNone, Target: srv,
				Concurrency: 2, Rate: tc.rate, Duration: tc.d, Requests: tc.n, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			res, err := g.Run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != tc.requests || res.Elapsed < tc.elapsed || res.Elapsed > tc.elapsed+200*time.Millisecond {
				t.Errorf("rate %g, -d %v, -n %d: %d requests in %v; want %d in %v", tc.rate, tc.d, tc.n,
					res.Requests, res.Elapsed, tc.requests, tc.elapsed)
			}
		}
	})
}

// Rates and counts that a run could not honour are refused before it
// starts: NaN and infinite rates, rates past what one pacer can hand out,
// more connections than a process holds, a timeout shorter than a connect.
func TestValidateBoundsRatesAndCounts(t *testing.T) {
	base := loadgen.Config{Protocol: loadgen.HTTP11, Closer: loadgen.CloserClient, Target: "http://127.0.0.1:1/",
		Concurrency: 1, Duration: time.Second, Timeout: time.Second}
	for _, tc := range []struct {
		name    string
		edit    func(*loadgen.Config)
		wantErr string
	}{
		{"rate 1e19", func(c *loadgen.Config) { c.Rate = 1e19 }, "rate: 1e+19: want at most 1e+07 requests per second"},
		{"rate NaN", func(c *loadgen.Config) { c.Rate = math.NaN() }, "rate: NaN"},
		{"rate +Inf", func(c *loadgen.Config) { c.Rate = math.Inf(1) }, "rate: +Inf"},
		{"rate below one per 1,000 s", func(c *loadgen.Config) { c.Rate = 1e-9 }, "rate: 1e-09"},
		{"the highest rate", func(c *loadgen.Config) { c.Rate = loadgen.MaxRate }, ""},
		{"the lowest rate", func(c *loadgen.Config) { c.Rate = loadgen.MinRate }, ""},
		{"concurrency 1e9", func(c *loadgen.Config) { c.Concurrency = 1e9 }, "concurrency: 1000000000: want 1 to"},
		{"the highest concurrency", func(c *loadgen.Config) { c.Concurrency = loadgen.MaxConcurrency }, ""},
		{"timeout 1ns", func(c *loadgen.Config) { c.Timeout = 1 }, "timeout: 1ns: want at least 1ms"},
		{"timeout 1ms", func(c *loadgen.Config) { c.Timeout = time.Millisecond }, ""},
		{"max header bytes 100", func(c *loadgen.Config) { c.MaxHeaderBytes = 100 }, "max_header_bytes: 100: want 0 (the default, 65536) or 1024 to 1048576"},
		{"max header bytes 2 MiB", func(c *loadgen.Config) { c.MaxHeaderBytes = 2 << 20 }, "max_header_bytes: 2097152"},
		{"max header bytes 1 MiB", func(c *loadgen.Config) { c.MaxHeaderBytes = 1 << 20 }, ""},
		{"max body bytes -1", func(c *loadgen.Config) { c.MaxBodyBytes = -1 }, "max_body_bytes: -1: want 0"},
		{"max body bytes 2^63-1", func(c *loadgen.Config) { c.MaxBodyBytes = math.MaxInt64 }, ""},
	} {
		cfg := base
		tc.edit(&cfg)
		err := cfg.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: Validate() = %v; want nil", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: Validate() = %v; want an error with %q", tc.name, err, tc.wantErr)
		}
	}
}
