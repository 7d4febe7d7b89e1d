package netns

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newNamespace creates a namespace for the test, or skips it where this
// process may not (not root, or a container without CAP_SYS_ADMIN).
func newNamespace(t *testing.T) *Namespace {
	t.Helper()
	n, err := New()
	if errors.Is(err, unix.EPERM) {
		t.Skipf("cannot create a network namespace here: %v", err)
	}
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// timeWait reads the namespace's TIME_WAIT count from the sockstat of the
// thread inside it (/proc/net follows the process's first thread).
func timeWait(t *testing.T, n *Namespace) int {
	t.Helper()
	tw := -1
	err := n.Do(func() error {
		f, err := os.Open("/proc/thread-self/net/sockstat")
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			for i := 0; len(f) > 0 && f[0] == "TCP:" && i+1 < len(f); i++ {
				if f[i] == "tw" {
					tw, err = strconv.Atoi(f[i+1])
					return err
				}
			}
		}
		return sc.Err()
	})
	if err != nil || tw < 0 {
		t.Fatalf("read the namespace's TIME_WAIT count: %v", err)
	}
	return tw
}

// The namespace starts empty, with the settings FillTimeWait needs, and
// FillTimeWait leaves the sockets it was asked for in it.
func TestFillTimeWait(t *testing.T) {
	n := newNamespace(t)
	if got := timeWait(t, n); got != 0 {
		t.Fatalf("a new namespace has %d TIME_WAIT sockets; want 0", got)
	}
	var reuse []byte
	if err := n.Do(func() (err error) {
		reuse, err = os.ReadFile("/proc/sys/net/ipv4/tcp_tw_reuse")
		return err
	}); err != nil || strings.TrimSpace(string(reuse)) != "0" {
		t.Errorf("tcp_tw_reuse in the namespace = %q, %v; want 0", reuse, err)
	}
	const count = 1500
	if err := n.FillTimeWait(context.Background(), 8080, count); err != nil {
		t.Fatalf("FillTimeWait(8080, %d) error = %v", count, err)
	}
	// The last closes finish in softirq after the calls return. Under
	// load (go test -race ./... on two cores) a few connections in a
	// thousand end with a reset rather than in TIME_WAIT: the namespace's
	// Tcp OutRsts then equals the shortfall. bench asks for 110,000 and
	// checks that ss lists at least 100,000.
	const least = count * 99 / 100
	deadline := time.Now().Add(2 * time.Second)
	for got := timeWait(t, n); got < least || got > count; got = timeWait(t, n) {
		if time.Now().After(deadline) {
			t.Fatalf("after FillTimeWait(8080, %d): %d TIME_WAIT sockets in the namespace; want %d to %d", count, got, least, count)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClosed(t *testing.T) {
	n := newNamespace(t)
	n.Close()
	if err := n.Do(func() error { return nil }); err == nil {
		t.Error("Do on a closed namespace: no error")
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close() = %v; want nil", err)
	}
}
