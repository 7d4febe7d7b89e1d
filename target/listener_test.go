package target_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/target"
)

// TestListener: a Listener starts the server of its kind, with its
// policy, and says so.
func TestListener(t *testing.T) {
	for _, tc := range []struct {
		l            target.Listener
		scheme, says string
	}{
		{target.Listener{Kind: target.KindHTTP, Addr: "127.0.0.1:0", Policy: target.Close, TCP: target.TCPConfig{RequestsPerConn: 3}},
			"http://", "close policy close, closed after every 3 responses; a request's X-Twbench-Close header sets it per connection"},
		{target.Listener{Kind: target.KindTCP, Addr: "127.0.0.1:0", Policy: target.KeepAlive, TCP: target.TCPConfig{RequestSize: 64, ResponseSize: 8}},
			"tcp://", "close policy keep-alive, 64-byte requests, 8-byte responses"},
		{target.Listener{Kind: target.KindTCP, Addr: "127.0.0.1:0", Policy: target.Reset},
			"tcp://", "close policy rst, connect-only"},
	} {
		srv, err := tc.l.Start()
		if err != nil {
			t.Fatalf("%+v: Start() error = %v", tc.l, err)
		}
		if !strings.HasPrefix(srv.URL(), tc.scheme) || srv.Policy() != tc.l.Policy {
			t.Errorf("%+v: started %s with policy %s; want %s..., %s", tc.l, srv.URL(), srv.Policy(), tc.scheme, tc.l.Policy)
		}
		// A reset listener's RST may reach a connect() still under way.
		for range 3 {
			if c, err := net.Dial("tcp", srv.Addr().String()); err == nil {
				c.Close()
			} else if tc.l.Policy != target.Reset {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(2 * time.Second)
		for srv.Accepted() != 3 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := srv.Accepted(); n != 3 {
			t.Errorf("%+v: Accepted() = %d after 3 connections; want 3", tc.l, n)
		}
		srv.Close()
		if got := tc.l.Describe(); got != tc.says {
			t.Errorf("%+v: Describe() = %q; want %q", tc.l, got, tc.says)
		}
	}
}
