package loadgen_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twbench/twbench/loadgen"
)

// A listener with a backlog of 0 that never accepts: after the first
// connection or two, the kernel drops SYNs and connect() hangs.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port)) + "/"
}

// Cancelling while connects hang: nothing counts as an error, workers do
// not redial, and Run returns at once.
func TestCancelDuringDial(t *testing.T) {
	g, err := loadgen.New(loadgen.Config{Protocol: loadgen.HTTP11, Closer: loadgen.CloserClient, Target: fullBacklog(t),
		Concurrency: 8, Duration: 20 * time.Second, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	began := time.Now()
	res, err := g.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("Run took %v after the cancel", took)
	}
	if res.ErrorCount() != 0 || res.Aborted != 8 || !res.Interrupted {
		t.Errorf("errors %v (%q), aborted %d, interrupted %v; want none, 8, true", res.Errors, res.FirstError, res.Aborted, res.Interrupted)
	}
	if res.Elapsed < 250*time.Millisecond || res.Elapsed > time.Second {
		t.Errorf("elapsed = %v; want the time to the interruption, 300ms", res.Elapsed)
	}
}
