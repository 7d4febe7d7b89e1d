package target_test

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/twbench/twbench/target"
)

// next reports what a connection does next: "open", "EOF" or "RST".
func next(c net.Conn) string {
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var b [1]byte
	_, err := c.Read(b[:])
	switch {
	case err == nil:
		return "data"
	case errors.Is(err, io.EOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNRESET):
		return "RST"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "open"
	}
	return "error: " + err.Error()
}

func TestTCPServer(t *testing.T) {
	for _, tc := range []struct {
		cfg   target.TCPConfig
		after []string // after each exchange
	}{
		{target.TCPConfig{Policy: target.KeepAlive, RequestSize: 10, ResponseSize: 7000}, []string{"open", "open", "open"}},
		{target.TCPConfig{Policy: target.Close, RequestSize: 10, ResponseSize: 7000}, []string{"EOF"}},
		{target.TCPConfig{Policy: target.Reset, RequestSize: 10, ResponseSize: 7000}, []string{"RST"}},
		{target.TCPConfig{Policy: target.Close, RequestSize: 1, ResponseSize: 0, RequestsPerConn: 3}, []string{"open", "open", "EOF"}},
		{target.TCPConfig{Policy: target.Reset, RequestSize: 5000, ResponseSize: 1, RequestsPerConn: 2}, []string{"open", "RST"}},
		// Connect-only: no request; the policy applies on accept.
		{target.TCPConfig{Policy: target.Close}, []string{"EOF"}},
		{target.TCPConfig{Policy: target.Reset}, []string{"RST"}},
		{target.TCPConfig{Policy: target.KeepAlive}, []string{"open"}},
	} {
		srv, err := target.StartTCP("127.0.0.1:0", tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if srv.URL() != "tcp://"+srv.Addr().String() {
			t.Errorf("URL() = %q", srv.URL())
		}
		c, err := net.Dial("tcp", srv.Addr().String())
		if errors.Is(err, syscall.ECONNRESET) && tc.cfg.RequestSize == 0 && tc.cfg.Policy == target.Reset {
			// The RST came before connect() returned: reset on accept.
			srv.Close()
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		req := make([]byte, tc.cfg.RequestSize)
		resp := make([]byte, tc.cfg.ResponseSize)
		for i, want := range tc.after {
			if tc.cfg.RequestSize > 0 {
				if _, err := c.Write(req); err != nil {
					t.Fatalf("%+v: write: %v", tc.cfg, err)
				}
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, err := io.ReadFull(c, resp); err != nil {
					t.Fatalf("%+v: exchange %d: reading %d bytes: %v", tc.cfg, i, len(resp), err)
				}
			}
			if got := next(c); got != want {
				t.Errorf("%+v: after exchange %d the connection is %s; want %s", tc.cfg, i, got, want)
			}
		}
		c.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

// TestTCPServerCountsResets: a client's RST shows in PeerErrors.
func TestTCPServerCountsResets(t *testing.T) {
	srv, err := target.StartTCP("127.0.0.1:0", target.TCPConfig{Policy: target.KeepAlive, RequestSize: 4, ResponseSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for range 5 {
		c, err := net.DialTCP("tcp", nil, srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("ping"))
		io.ReadFull(c, make([]byte, 4))
		c.SetLinger(0)
		c.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for srv.PeerErrors().ECONNRESET < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := srv.PeerErrors(); got.ECONNRESET != 5 || got.Other != 0 {
		t.Errorf("PeerErrors() = %+v; want 5 ECONNRESET", got)
	}
}
