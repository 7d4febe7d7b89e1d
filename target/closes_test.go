package target_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/twbench/twbench/target"
)

// TestCloses: a built-in target counts who closed each connection first,
// as it saw the connection at its close.
func TestCloses(t *testing.T) {
	get := func(t *testing.T, addr string, clientCloses bool) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if !clientCloses {
			io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
			io.Copy(io.Discard, c) // to the server's EOF
			return
		}
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
	}
	for _, tc := range []struct {
		policy       target.Policy
		clientCloses bool
		want         target.Closes
	}{
		{target.Close, false, target.Closes{ServerFirst: 5}},
		{target.KeepAlive, true, target.Closes{ClientFirst: 5}},
		{target.Reset, false, target.Closes{ServerRST: 5}},
	} {
		srv, err := target.Start(tc.policy)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			get(t, srv.Addr().String(), tc.clientCloses)
		}
		deadline := time.Now().Add(2 * time.Second)
		for srv.Closes() != tc.want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		got := srv.Closes()
		srv.Close()
		if runtime.GOOS != "linux" && tc.want.ServerFirst > 0 {
			tc.want = target.Closes{Unknown: tc.want.ServerFirst} // the socket's state is Linux's
		}
		if got != tc.want {
			t.Errorf("policy %s, client closes %v: Closes() = %+v; want %+v", tc.policy, tc.clientCloses, got, tc.want)
		}
	}

	// Raw TCP: the server closes after its response, or the client first.
	for _, tc := range []struct {
		policy target.Policy
		want   target.Closes
	}{{target.Close, target.Closes{ServerFirst: 3}}, {target.KeepAlive, target.Closes{ClientFirst: 3}}} {
		srv, err := target.StartTCP("127.0.0.1:0", target.TCPConfig{Policy: tc.policy, RequestSize: 4, ResponseSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			c, err := net.Dial("tcp", srv.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "ping")
			io.ReadFull(c, make([]byte, 4))
			if tc.policy == target.Close {
				io.Copy(io.Discard, c)
			}
			c.Close()
		}
		deadline := time.Now().Add(2 * time.Second)
		for srv.Closes() != tc.want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		got := srv.Closes()
		srv.Close()
		if runtime.GOOS == "linux" && got != tc.want {
			t.Errorf("tcp %s: Closes() = %+v; want %+v", tc.policy, got, tc.want)
		}
	}
}
