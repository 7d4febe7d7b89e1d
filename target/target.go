package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Policy is what the server does with a connection after each response.
type Policy string

const (
	// KeepAlive keeps connections open as HTTP says: HTTP/1.1 unless the
	// request says "Connection: close", HTTP/1.0 only when it asks for
	// keep-alive. An HTTP/1.0 request without it is closed by the server
	// after the response, as ab expects.
	KeepAlive Policy = "keep-alive"
	// Close closes every connection after its first response: the server
	// sends the first FIN and holds the TIME_WAIT.
	Close Policy = "close"
	// Reset closes every connection after its first response with SO_LINGER
	// {1, 0}, so the kernel sends RST: no TIME_WAIT on either end.
	Reset Policy = "rst"
)

// Valid reports whether p is a known policy.
func (p Policy) Valid() bool {
	return p == KeepAlive || p == Close || p == Reset
}

// Body is what the built-in target answers to every request.
const Body = "ok\n"

// Option sets up a server beyond its policy.
type Option func(*Server)

// Listen sets the socket options of the server's listening sockets.
func Listen(o ListenOptions) Option {
	return func(s *Server) { s.listen = o }
}

// RequestsPerConn makes the Close and Reset policies close a connection
// after its nth response instead of its first.
func RequestsPerConn(n int) Option {
	return func(s *Server) { s.perConn = max(n, 1) }
}

// Server is a running built-in target.
type Server struct {
	policy  Policy
	perConn int
	// respond writes the response to a request; nil writes Body. The
	// close policy applies after it either way.
	respond fasthttp.RequestHandler
	listen  ListenOptions
	lns     *listeners
	ln      net.Listener // the first of lns: its address is the server's
	srv     *fasthttp.Server
	served  chan error

	mu    sync.Mutex
	conns map[net.Conn]struct{}

	closeOnce sync.Once
	closeErr  error
	errors    atomic.Int64
	peer      peerErrors
	accepted  atomic.Int64
	closes    closeCounter
}

// Start starts a server with policy p on 127.0.0.1 on a port of the
// kernel's choosing.
func Start(p Policy, opts ...Option) (*Server, error) {
	return StartOn("127.0.0.1:0", p, opts...)
}

// StartOn starts a server with policy p listening on addr.
func StartOn(addr string, p Policy, opts ...Option) (*Server, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("target: unknown close policy %q", p)
	}
	s := &Server{policy: p, perConn: 1, conns: make(map[net.Conn]struct{})}
	for _, o := range opts {
		o(s)
	}
	lns, err := s.listen.listen(addr)
	if err != nil {
		return nil, err
	}
	s.lns, s.served = lns, make(chan error, len(lns.all))
	s.srv = &fasthttp.Server{
		Handler:               s.handle,
		Name:                  "twbench",
		NoDefaultServerHeader: true,
		NoDefaultDate:         true,
		NoDefaultContentType:  true,
		CloseOnShutdown:       true,
		ConnState:             s.track,
		Logger:                countingLogger{&s.errors, &s.peer},
	}
	for i, ln := range lns.all {
		rl := resetListener{Listener: ln, peer: &s.peer, reset: p == Reset, accepted: &s.accepted, closes: &s.closes,
			mine: lns.accepted[i]}
		if i == 0 {
			s.ln = rl
		}
		go func() { s.served <- s.srv.Serve(rl) }()
	}
	return s, nil
}

// ListenerAccepts counts the connections each listening socket accepted.
func (s *Server) ListenerAccepts() []int64 { return s.lns.counts() }

// Addr returns the address the server listens on.
func (s *Server) Addr() *net.TCPAddr {
	return s.ln.Addr().(*net.TCPAddr)
}

// resetListener hands out connections that count the peer's resets (which
// fasthttp does not report) and can close with RST: all of them when the
// server's policy is Reset, others when a request asks for it
// (PolicyHeader).
type resetListener struct {
	net.Listener
	peer     *peerErrors
	reset    bool
	accepted *atomic.Int64
	closes   *closeCounter
	// mine counts this listener's own accepts, among its SO_REUSEPORT
	// siblings'.
	mine *atomic.Int64
}

func (l resetListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.accepted.Add(1)
	l.mine.Add(1)
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	rc := &resetConn{TCPConn: tc, peer: l.peer, closes: l.closes}
	rc.reset.Store(l.reset)
	return rc, nil
}

// resetConn closes with SO_LINGER {1, 0} when reset is set, so the kernel
// sends RST and keeps no TIME_WAIT. An RST also discards what is still in
// the send queue, so Close first waits, briefly, for the response to leave
// it.
type resetConn struct {
	*net.TCPConn
	reset atomic.Bool
	peer  *peerErrors // counts the resets reads see; nil: not counted
	// closes, if set, counts who closed first; sawEOF and sawReset are
	// what reads saw of the client's close.
	closes           *closeCounter
	sawEOF, sawReset atomic.Bool
	counted          atomic.Bool
}

func (c *resetConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		c.sawEOF.Store(true)
	case errors.Is(err, syscall.ECONNRESET):
		c.sawReset.Store(true)
		if c.peer != nil {
			c.peer.count(err)
		}
	}
	return n, err
}

// drainWait bounds how long a Reset close waits for the send queue.
const drainWait = 200 * time.Millisecond

func (c *resetConn) Close() error {
	if c.closes != nil && c.counted.CompareAndSwap(false, true) {
		c.closes.count(c.TCPConn, c.reset.Load(), c.sawReset.Load(), c.sawEOF.Load())
	}
	if c.reset.Load() {
		waitSent(c.TCPConn, drainWait)
		_ = c.SetLinger(0)
	}
	return c.TCPConn.Close()
}

// URL returns the server's base URL, "http://127.0.0.1:port/".
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String() + "/"
}

// Policy returns the server's close policy.
func (s *Server) Policy() Policy { return s.policy }

// Errors returns how many connection errors the server has seen (a peer's
// RST, a malformed request): fasthttp's log lines, counted, not printed.
func (s *Server) Errors() int64 { return s.errors.Load() }

// PeerErrors returns the connection errors the server has seen, by class.
func (s *Server) PeerErrors() PeerErrors { return s.peer.load() }

// Accepted counts the connections the server has accepted.
func (s *Server) Accepted() int64 { return s.accepted.Load() }

// Closes counts the server's closed connections by who closed first.
func (s *Server) Closes() Closes { return s.closes.load() }

// PolicyHeader is the request header that overrides the server's close
// policy for the connection the request came on: "X-Twbench-Close: rst".
// With it, one server serves every closer of a suite.
const PolicyHeader = "X-Twbench-Close"

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	policy, perConn := s.policy, uint64(s.perConn)
	if v := ctx.Request.Header.Peek(PolicyHeader); len(v) > 0 {
		// The request's policy, for this response.
		if policy, perConn = Policy(v), 1; !policy.Valid() {
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
			ctx.SetBodyString(fmt.Sprintf("%s: %q is not a close policy (keep-alive, close, rst)\n", PolicyHeader, v))
			ctx.SetConnectionClose()
			return
		}
	}
	if s.respond != nil {
		s.respond(ctx)
	} else {
		ctx.SetContentType("text/plain")
		ctx.SetBodyString(Body)
	}
	if policy == Reset {
		// The connection's Close sends the RST.
		if rc, ok := ctx.Conn().(*resetConn); ok {
			rc.reset.Store(true)
		}
	}
	if policy != KeepAlive && ctx.ConnRequestNum() >= perConn {
		ctx.SetConnectionClose()
	}
}

func (s *Server) track(c net.Conn, state fasthttp.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case fasthttp.StateNew:
		s.conns[c] = struct{}{}
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		delete(s.conns, c)
	}
}

// closeGrace is how long Close lets requests in progress finish before it
// closes their connections.
const closeGrace = 2 * time.Second

// Close stops the server: it stops accepting, closes idle keep-alive
// connections, lets requests in progress finish for up to two seconds, then
// closes what is left, and returns when every connection is closed.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		defer cancel()
		err := s.srv.ShutdownWithContext(ctx)
		// Shutdown closes the listener only once Serve has taken it up,
		// which it may not have done yet: without this, Serve would then
		// accept forever.
		s.lns.close()
		if err != nil {
			s.mu.Lock()
			for c := range s.conns {
				c.Close()
			}
			s.mu.Unlock()
			// Shutdown returns once the connections above have ended.
			if err := s.srv.Shutdown(); err != nil {
				s.closeErr = fmt.Errorf("target: close: %w", err)
			}
		}
		for range s.lns.all {
			if err := <-s.served; err != nil && s.closeErr == nil {
				s.closeErr = fmt.Errorf("target: serve: %w", err)
			}
		}
	})
	return s.closeErr
}

// countingLogger counts fasthttp's error log lines instead of printing
// them: a run that resets connections on purpose would flood stderr.
type countingLogger struct {
	n    *atomic.Int64
	peer *peerErrors
}

func (l countingLogger) Printf(format string, args ...any) {
	l.n.Add(1)
	for _, a := range args {
		if err, ok := a.(error); ok {
			if !errors.Is(err, syscall.ECONNRESET) { // resetConn.Read counted it
				l.peer.count(err)
			}
			return
		}
	}
	l.peer.count(fmt.Errorf(format, args...))
}
