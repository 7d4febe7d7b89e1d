package netns

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary's other parts: with childEnv it is a Child that joins
// its own namespace to a new one with a veth pair and connects across it
// (childMain); with parentEnv, a process that starts such a child in a
// user namespace, as the unprivileged user it was started as.
const (
	childEnv  = "TWBENCH_NETNS_TEST_CHILD"
	parentEnv = "TWBENCH_NETNS_TEST_PARENT"
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(childEnv) == "1":
		if err := childMain(); err != nil {
			fmt.Println("child:", err, "| refused:", Refused(err))
			os.Exit(3)
		}
		os.Exit(0)
	case os.Getenv(parentEnv) == "1":
		os.Exit(parentMain())
	}
	os.Exit(m.Run())
}

// parentMain starts a Child in a user namespace and passes its output on:
// exit 4 when the kernel refused the namespaces (and why), 3 when the
// child failed.
func parentMain() int {
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	c, err := StartChild(cmd, true)
	if err != nil {
		fmt.Println("refused:", Explain(err, true))
		return 4
	}
	if err := c.Wait(); err != nil {
		return 3
	}
	return 0
}

var (
	serverEnd = End{"tws0", netip.MustParsePrefix("198.18.0.1/24")}
	clientEnd = End{"twc0", netip.MustParsePrefix("198.18.0.2/24")}
)

// childMain runs in a Child: its own namespace is the client's; it makes
// the server's, joins them, serves a byte in the server's and reads it
// from its own, and prints its user and namespace.
func childMain() error {
	own, err := Own()
	if err != nil {
		return err
	}
	if err := own.Apply([]Setting{{"net.ipv4.tcp_tw_reuse", "0"}}); err != nil {
		return err
	}
	srv, err := Create([]Setting{{"net.ipv4.ip_local_port_range", "40000 40099"}})
	if err != nil {
		return err
	}
	if err := Veth(own, clientEnd, srv, serverEnd); err != nil {
		return err
	}
	return exchange(srv, "198.18.0.1:80", func() (net.Conn, error) {
		return net.DialTimeout("tcp4", "198.18.0.1:80", 5*time.Second)
	}, func(s string) { fmt.Printf("uid %d %s\n", os.Getuid(), s) })
}

// exchange listens on addr in srv, connects with dial and reads a byte
// the server wrote; say gets what the server saw of the client.
func exchange(srv *Namespace, addr string, dial func() (net.Conn, error), say func(string)) error {
	var ln net.Listener
	if err := srv.Do(func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			say("from " + c.RemoteAddr().(*net.TCPAddr).IP.String())
			c.Write([]byte{'x'})
			c.Close()
		}
	}()
	c, err := dial()
	if err != nil {
		return err
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "x" {
		return fmt.Errorf("read %q, %v; want x", b, err)
	}
	return nil
}

// hostLinks lists the host namespace's interfaces.
func hostLinks(t *testing.T) string {
	t.Helper()
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatalf("list interfaces: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// Two namespaces of this process joined by a veth pair: a connection
// from one reaches a listener in the other, through the Dialer, with the
// client's address; the host gains no interface.
func TestVeth(t *testing.T) {
	before := hostLinks(t)
	a := newNamespace(t)
	b := newNamespace(t)
	if err := Veth(a, clientEnd, b, serverEnd); err != nil {
		t.Fatalf("Veth error = %v", err)
	}
	if got := hostLinks(t); got != before {
		t.Errorf("host interfaces %q after Veth; want %q as before", got, before)
	}
	d, err := a.Dialer(net.Dialer{Timeout: 5 * time.Second}, 2)
	if err != nil {
		t.Fatalf("Dialer error = %v", err)
	}
	defer d.Close()
	from := make(chan string, 1)
	err = exchange(b, "198.18.0.1:8080", func() (net.Conn, error) {
		return d.DialContext(t.Context(), "tcp4", "198.18.0.1:8080")
	}, func(s string) { from <- s })
	if err != nil {
		t.Fatalf("connect across the veth pair: %v", err)
	}
	if got := <-from; got != "from 198.18.0.2" {
		t.Errorf("the server saw the client %s; want from 198.18.0.2", got)
	}
	d.Close()
	if _, err := d.DialContext(t.Context(), "tcp4", "198.18.0.1:8080"); !errors.Is(err, ErrDialerClosed) {
		t.Errorf("dial on a closed Dialer: %v; want ErrDialerClosed", err)
	}
}

// runChild runs the test binary as a Child, or with cred as a process
// of that user that starts the Child (parentMain), and returns the
// output.
func runChild(t *testing.T, cred *syscall.Credential, userns bool) (string, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		// The user must be able to reach the binary: a copy in a
		// directory anyone can enter.
		dir, err := os.MkdirTemp("", "netns-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o755)
		b, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		exe = filepath.Join(dir, "netns.test")
		if err := os.WriteFile(exe, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if cred != nil {
		cmd.Env = append(os.Environ(), parentEnv+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		err := cmd.Run()
		return out.String(), err
	}
	c, err := StartChild(cmd, userns)
	if err != nil {
		return "", err
	}
	err = c.Wait()
	return out.String(), err
}

// A Child makes namespaces of its own and joins them with a veth pair,
// as root without a user namespace, and as any user with one.
func TestChild(t *testing.T) {
	if NeedsUserNamespace() {
		t.Skip("not root: TestChildRootless covers this user")
	}
	before := hostLinks(t)
	out, err := runChild(t, nil, false)
	if err != nil {
		t.Fatalf("child as root: %v\n%s", err, out)
	}
	if !strings.Contains(out, "uid 0 from 198.18.0.2") {
		t.Errorf("child's output %q; want it to connect from 198.18.0.2 as uid 0", out)
	}
	if got := hostLinks(t); got != before {
		t.Errorf("host interfaces %q after the child; want %q as before", got, before)
	}
}

// As an unprivileged user (nobody, when the test runs as root), the Child
// is root in a user namespace of its own, and makes the same.
func TestChildRootless(t *testing.T) {
	var cred *syscall.Credential
	if !NeedsUserNamespace() {
		if os.Getuid() != 0 {
			t.Skip("has CAP_SYS_ADMIN without being root: no unprivileged user to test as")
		}
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	out, err := runChild(t, cred, true)
	if err != nil {
		var se *StartError
		var exit *exec.ExitError
		if errors.As(err, &se) {
			t.Skipf("user namespaces are off here: %s", Explain(err, true))
		}
		if errors.As(err, &exit) && exit.ExitCode() == 4 || strings.Contains(out, "refused: true") {
			t.Skipf("user namespaces are off here: %s", out)
		}
		t.Fatalf("child in a user namespace: %v\n%s", err, out)
	}
	if !strings.Contains(out, "uid 0 from 198.18.0.2") {
		t.Errorf("child's output %q; want it to connect from 198.18.0.2 as root of its user namespace", out)
	}
}
