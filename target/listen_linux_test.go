package target_test

import (
	"errors"
	"net"
	"syscall"
	"testing"

	"github.com/twbench/twbench/target"
)

// TestReuseAddrRestart: a server that closed its connections first holds
// their TIME_WAIT on its port; started again there without SO_REUSEADDR
// its bind fails with EADDRINUSE, with Go's default it binds. The kernel
// lets a bind past a TIME_WAIT socket only when both have SO_REUSEADDR:
// the TIME_WAIT sockets have their listener's, so each case restarts the
// server it stopped.
func TestReuseAddrRestart(t *testing.T) {
	for _, off := range []bool{true, false} {
		opts := target.Listen(target.ListenOptions{NoReuseAddr: off})
		srv, err := target.StartOn("127.0.0.1:0", target.Close, opts)
		if err != nil {
			t.Fatal(err)
		}
		addr := srv.Addr().String()
		for range 3 {
			if _, after := exchange(t, srv, get11); after != "EOF" {
				t.Fatalf("after the response: %s; want the server's EOF", after)
			}
		}
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := target.StartOn(addr, target.Close, opts)
		if err == nil {
			again.Close()
		}
		switch {
		case off && !errors.Is(err, syscall.EADDRINUSE):
			t.Errorf("restart on %s without SO_REUSEADDR, beside the server's TIME_WAIT: %v; want EADDRINUSE", addr, err)
		case !off && err != nil:
			t.Errorf("restart on %s with SO_REUSEADDR: %v; want it bound", addr, err)
		}
	}
}

// TestReusePort: several listeners on one port share its connections,
// and each counts its own.
func TestReusePort(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		var srv target.Instance
		var err error
		opts := target.ListenOptions{ReusePort: 4}
		if tcp {
			srv, err = target.StartTCP("127.0.0.1:0", target.TCPConfig{Policy: target.KeepAlive, Listen: opts})
		} else {
			srv, err = target.StartOn("127.0.0.1:0", target.KeepAlive, target.Listen(opts))
		}
		if err != nil {
			t.Fatal(err)
		}
		const conns = 64
		for range conns {
			c, err := net.Dial("tcp", srv.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
		srv.Close()
		counts := srv.ListenerAccepts()
		var sum, busy int64
		for _, n := range counts {
			sum += n
			if n > 0 {
				busy++
			}
		}
		if len(counts) != 4 || sum != srv.Accepted() || busy < 2 {
			t.Errorf("tcp %v: accepts per listener %v, %d in all; want 4 listeners sharing %d", tcp, counts, srv.Accepted(), conns)
		}
	}
}
