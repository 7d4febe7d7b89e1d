package loadgen_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/target"
)

// tcpdumpLine is a packet as tcpdump -nn prints it: source and destination
// port, and flags.
var tcpdumpLine = regexp.MustCompile(`IP \d+\.\d+\.\d+\.\d+\.(\d+) > \d+\.\d+\.\d+\.\d+\.(\d+): Flags \[([^\]]*)\]`)

// captureCloses starts tcpdump on loopback for the SYN, FIN and RST
// segments to and from port, and returns the function that stops it and
// returns, for every connection, who sent its first FIN or RST, as
// Closes. A connection starts at the client's SYN: on loopback a 4-tuple
// is used again within a capture.
func captureCloses(t *testing.T, port string) (stop func() (closes loadgen.Closes, syns int64)) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cmd := exec.CommandContext(ctx, "tcpdump", "-i", "lo", "-nn", "-l", "-B", "16384",
		"tcp port "+port+" and (tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0)")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// tcpdump says on stderr when it listens, and at the end what it
	// dropped.
	listening := make(chan struct{})
	stderr := make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(errOut)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				close(listening)
			}
			all.WriteString(sc.Text() + "\n")
		}
		stderr <- all.String()
	}()
	lines := make(chan []string, 1)
	go func() {
		var got []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			got = append(got, sc.Text())
		}
		lines <- got
	}()
	select {
	case <-listening:
	case <-time.After(5 * time.Second):
		cancel()
		t.Fatalf("tcpdump did not start listening: %s", <-stderr)
	}
	return func() (loadgen.Closes, int64) {
		time.Sleep(300 * time.Millisecond) // the last segments
		cancel()
		got := <-lines
		_ = cmd.Wait()
		msg := <-stderr
		if m := regexp.MustCompile(`(\d+) packets dropped by kernel`).FindStringSubmatch(msg); m == nil || m[1] != "0" {
			t.Fatalf("tcpdump dropped packets, or did not say: %s", msg)
		}
		first := map[string]string{} // by client port: "" until its first FIN or RST
		var closes loadgen.Closes
		var syns int64
		for _, line := range got {
			m := tcpdumpLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			fromClient := m[2] == port
			client := m[1]
			if !fromClient {
				client = m[2]
			}
			flags := m[3]
			switch {
			case flags == "S" && fromClient: // a new connection on this 4-tuple
				first[client] = ""
				syns++
			case strings.ContainsAny(flags, "FR"):
				if seen, ok := first[client]; !ok || seen != "" {
					continue
				}
				rst := strings.Contains(flags, "R")
				first[client] = flags
				switch {
				case fromClient && rst:
					closes.ClientRST++
				case fromClient:
					closes.ClientFirst++
				case rst:
					closes.ServerRST++
				default:
					closes.ServerFirst++
				}
			}
		}
		return closes, syns
	}
}

// TestTcpdumpAgreesWithCloses is docs/checking.md's check by hand, made a
// test: a capture of the FIN and RST segments on loopback names the first
// closer of every connection, for every HTTP closer and both clients, and
// it agrees with the run's closes, connection by connection counted. It
// needs root and tcpdump.
func TestTcpdumpAgreesWithCloses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("capturing on loopback needs root")
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("no tcpdump")
	}
	const n = 300
	for _, tc := range []struct {
		protocol loadgen.Protocol
		closer   loadgen.Closer
	}{
		{loadgen.HTTP10, loadgen.CloserServer},
		{loadgen.HTTP10, loadgen.CloserServerRST},
		{loadgen.HTTP11, loadgen.CloserClient},
		{loadgen.HTTP11, loadgen.CloserServer},
		{loadgen.HTTP11, loadgen.CloserClientRST},
		{loadgen.HTTP11, loadgen.CloserServerRST},
		{loadgen.HTTP11, loadgen.CloserNone},
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.protocol, tc.closer), func(t *testing.T) {
			eachClient(t, func(t *testing.T, client loadgen.Client) {
				srv, err := target.Start(serverPolicy(tc.closer))
				if err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
				url := srv.URL()
				port := url[strings.LastIndex(url, ":")+1 : len(url)-1]
				stop := captureCloses(t, port)
				res := runLoad(t, loadgen.Config{Protocol: tc.protocol, Closer: tc.closer, Target: url, Client: client,
					Concurrency: 8, Requests: n, Timeout: 5 * time.Second})
				got, syns := stop()
				want := res.Closes
				want.AtEnd = 0
				t.Logf("%d connections; the capture: %d SYNs, first closers %+v", res.Connections, syns, got)
				if res.Requests != n || res.ErrorCount() != 0 {
					t.Errorf("requests %d, errors %q; want %d, none", res.Requests, res.FirstError, n)
				}
				if syns != res.Connections || got != want {
					t.Errorf("the capture saw %d connections, first closers %+v; the run counted %d, closes %+v", syns, got, res.Connections, want)
				}
			})
		})
	}
}
