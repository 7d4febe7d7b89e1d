package target

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// TCPConfig is what a raw TCP server expects and answers.
type TCPConfig struct {
	Policy Policy
	// RequestSize is the length of each request; 0 serves connect-only
	// clients: no request, and the policy applies as soon as a connection
	// is accepted (KeepAlive waits for the client's close).
	RequestSize int
	// ResponseSize is the length of each response.
	ResponseSize int
	// RequestsPerConn is how many responses a connection gets before the
	// server closes it under Close or Reset; 0 is 1.
	RequestsPerConn int
	// Listen are the listening sockets' options.
	Listen ListenOptions
}

// TCPServer is a running raw TCP target: it reads requests of a fixed
// length and answers each with a response of a fixed length, so that either
// end knows when an exchange is over without any framing.
type TCPServer struct {
	cfg      TCPConfig
	lns      *listeners
	response []byte
	peer     peerErrors
	accepted atomic.Int64
	closes   closeCounter

	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[*net.TCPConn]struct{}
	closed bool

	closeOnce sync.Once
}

// StartTCP starts a raw TCP server listening on addr.
func StartTCP(addr string, cfg TCPConfig) (*TCPServer, error) {
	if !cfg.Policy.Valid() {
		return nil, fmt.Errorf("target: unknown close policy %q", cfg.Policy)
	}
	if cfg.RequestSize < 0 || cfg.ResponseSize < 0 || cfg.RequestsPerConn < 0 {
		return nil, fmt.Errorf("target: negative sizes or request count in %+v", cfg)
	}
	lns, err := cfg.Listen.listen(addr)
	if err != nil {
		return nil, err
	}
	s := &TCPServer{
		cfg:      cfg,
		lns:      lns,
		response: make([]byte, cfg.ResponseSize),
		conns:    make(map[*net.TCPConn]struct{}),
	}
	for i := range s.response {
		s.response[i] = "twbench\n"[i%8]
	}
	for i, ln := range lns.all {
		s.wg.Go(func() { s.accept(ln, lns.accepted[i]) })
	}
	return s, nil
}

// Addr returns the address the server listens on.
func (s *TCPServer) Addr() *net.TCPAddr { return s.lns.all[0].Addr().(*net.TCPAddr) }

// URL returns the server's address as a target, "tcp://127.0.0.1:port".
func (s *TCPServer) URL() string { return "tcp://" + s.Addr().String() }

// ListenerAccepts counts the connections each listening socket accepted.
func (s *TCPServer) ListenerAccepts() []int64 { return s.lns.counts() }

// Policy returns the server's close policy.
func (s *TCPServer) Policy() Policy { return s.cfg.Policy }

// PeerErrors returns the connection errors the server has seen, by class.
func (s *TCPServer) PeerErrors() PeerErrors { return s.peer.load() }

// Accepted counts the connections the server has accepted.
func (s *TCPServer) Accepted() int64 { return s.accepted.Load() }

// Closes counts the server's closed connections by who closed first.
func (s *TCPServer) Closes() Closes { return s.closes.load() }

func (s *TCPServer) accept(ln net.Listener, mine *atomic.Int64) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors, or an aborted handshake: go on, as
			// net/http does, after a pause.
			s.peer.count(err)
			time.Sleep(5 * time.Millisecond)
			continue
		}
		s.accepted.Add(1)
		mine.Add(1)
		tc := c.(*net.TCPConn)
		if !s.track(tc) {
			tc.Close()
			return
		}
		s.wg.Go(func() { s.serve(tc) })
	}
}

func (s *TCPServer) track(c *net.TCPConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *TCPServer) untrack(c *net.TCPConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// serve answers one connection's requests and closes it as the policy
// says: after RequestsPerConn responses under Close and Reset, when the
// client closes under KeepAlive.
func (s *TCPServer) serve(c *net.TCPConn) {
	defer s.untrack(c)
	perConn := max(s.cfg.RequestsPerConn, 1)
	var buf [4096]byte
	for served := 0; ; served++ {
		if s.cfg.Policy != KeepAlive && served >= perConn || s.cfg.RequestSize == 0 && s.cfg.Policy != KeepAlive {
			s.hangUp(c)
			return
		}
		want := s.cfg.RequestSize
		if want == 0 {
			want = 1 // connect-only under KeepAlive: wait for the client's close
		}
		if err := readFull(c, buf[:], want); err != nil {
			eof := errors.Is(err, io.EOF) // EOF before a request: the client closed
			if !eof {
				s.peer.count(err)
			}
			s.closes.count(c, false, errors.Is(err, syscall.ECONNRESET), eof)
			c.Close()
			return
		}
		if s.cfg.RequestSize == 0 { // bytes from a connect-only client: not ours
			c.Close()
			return
		}
		if _, err := c.Write(s.response); err != nil {
			s.peer.count(err)
			c.Close()
			return
		}
	}
}

// hangUp closes c from the server's end: FIN under Close, RST under Reset.
func (s *TCPServer) hangUp(c *net.TCPConn) {
	rc := &resetConn{TCPConn: c, closes: &s.closes}
	rc.reset.Store(s.cfg.Policy == Reset)
	rc.Close()
}

// readFull reads n bytes from c into buf, reusing it as often as needed.
// It returns io.EOF only if the connection ended before the first byte.
func readFull(c net.Conn, buf []byte, n int) error {
	for got := 0; got < n; {
		k, err := c.Read(buf[:min(len(buf), n-got)])
		got += k
		if err != nil {
			if errors.Is(err, io.EOF) && got > 0 {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// Close stops accepting, gives requests in progress up to two seconds,
// closes what is left and returns when every connection has ended.
func (s *TCPServer) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.lns.close()
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
			return
		case <-time.After(closeGrace):
		}
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
	})
	return nil
}

// PeerErrors counts the connection errors a server saw, which for a run
// that resets connections on purpose is what the peer's RST looks like
// from here.
type PeerErrors struct {
	ECONNRESET int64 `json:"ECONNRESET"`
	Other      int64 `json:"other"`
}

type peerErrors struct {
	mu     sync.Mutex
	counts PeerErrors
}

func (p *peerErrors) count(err error) {
	p.mu.Lock()
	if errors.Is(err, syscall.ECONNRESET) {
		p.counts.ECONNRESET++
	} else {
		p.counts.Other++
	}
	p.mu.Unlock()
}

func (p *peerErrors) load() PeerErrors {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}
