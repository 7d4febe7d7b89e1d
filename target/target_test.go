package target_test

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twbench/twbench/target"
)

// exchange sends req on a new connection and returns the response and
// what the connection did next: "open", "EOF" or "RST".
func exchange(t *testing.T, srv *target.Server, req string) (resp, after string) {
	t.Helper()
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	var got []byte
	for !strings.HasSuffix(string(got), target.Body) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("reading the response: %v (got %q)", err, got)
		}
		got = append(got, buf[:n]...)
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = c.Read(buf)
	switch {
	case errors.Is(err, io.EOF):
		after = "EOF"
	case errors.Is(err, syscall.ECONNRESET):
		after = "RST"
	case errors.Is(err, os.ErrDeadlineExceeded):
		after = "open"
	default:
		after = "error: " + err.Error()
	}
	return string(got), after
}

const (
	get11      = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	get11Close = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	get10      = "GET / HTTP/1.0\r\nHost: x\r\n\r\n"
)

func TestPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy target.Policy
		req    string
		after  string
	}{
		{target.KeepAlive, get11, "open"},
		{target.KeepAlive, get11Close, "EOF"},
		{target.KeepAlive, get10, "EOF"}, // HTTP/1.0 without keep-alive: the server closes, as ab expects
		{target.Close, get11, "EOF"},
		{target.Close, get10, "EOF"},
		{target.Reset, get11, "RST"},
		{target.Reset, get10, "RST"},
	} {
		srv, err := target.Start(tc.policy)
		if err != nil {
			t.Fatal(err)
		}
		resp, after := exchange(t, srv, tc.req)
		if !strings.HasPrefix(resp, "HTTP/1.1 200 OK\r\n") {
			t.Errorf("%s, %q: response %q; want 200 OK", tc.policy, tc.req, resp)
		}
		if after != tc.after {
			t.Errorf("%s, %q: after the response the connection is %s; want %s", tc.policy, tc.req, after, tc.after)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func TestStartAddrURL(t *testing.T) {
	srv, err := target.Start(target.KeepAlive)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a := srv.Addr()
	if !a.IP.Equal(net.IPv4(127, 0, 0, 1)) || a.Port == 0 {
		t.Errorf("Addr() = %v; want 127.0.0.1 on a port of the kernel's choosing", a)
	}
	if want := "http://" + a.String() + "/"; srv.URL() != want {
		t.Errorf("URL() = %q; want %q", srv.URL(), want)
	}
	if srv.Policy() != target.KeepAlive {
		t.Errorf("Policy() = %q; want keep-alive", srv.Policy())
	}
	if _, err := target.Start("sometimes"); err == nil {
		t.Errorf("Start(\"sometimes\") = nil error; want an unknown-policy error")
	}
}

// Close closes idle keep-alive connections, waits for them, and stops
// accepting.
func TestCloseWaitsForConnections(t *testing.T) {
	srv, err := target.Start(target.KeepAlive)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(get11))
	buf := make([]byte, 4096)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not return with an idle keep-alive connection open")
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := c.Read(buf); !errors.Is(err, io.EOF) {
		t.Errorf("after Close the idle connection reads %v; want EOF", err)
	}
	if _, err := net.DialTimeout("tcp", srv.Addr().String(), time.Second); err == nil {
		t.Errorf("after Close a new connection is accepted; want it refused")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("a second Close = %v; want nil", err)
	}
}

// A request's X-Twbench-Close header overrides the server's policy for its
// connection, so one server serves every closer.
func TestPolicyHeader(t *testing.T) {
	srv, err := target.Start(target.KeepAlive)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tc := range []struct {
		header, after string
	}{
		{"keep-alive", "open"},
		{"close", "EOF"},
		{"rst", "RST"},
	} {
		req := "GET / HTTP/1.1\r\nHost: x\r\n" + target.PolicyHeader + ": " + tc.header + "\r\n\r\n"
		if _, after := exchange(t, srv, req); after != tc.after {
			t.Errorf("%s: %s: after the response the connection is %s; want %s", target.PolicyHeader, tc.header, after, tc.after)
		}
	}
	// With no header the server's own policy holds again.
	if _, after := exchange(t, srv, get11); after != "open" {
		t.Errorf("no header, after a request with one: the connection is %s; want open", after)
	}

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n" + target.PolicyHeader + ": sometimes\r\n\r\n"))
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	resp, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(resp), "HTTP/1.1 400 ") || !strings.Contains(string(resp), `"sometimes"`) {
		t.Errorf("an unknown policy in the header: response %q; want 400 naming it", resp)
	}
}
