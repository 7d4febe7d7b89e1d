package netns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Namespace is a network namespace of this process's own, or the
// process's own namespace (Own).
type Namespace struct {
	fd int // an open /proc/.../ns/net of the namespace
}

// benchSettings are the settings New gives a namespace for benchmarks:
// every ephemeral port, no loopback reuse of a port still in TIME_WAIT
// (which would take sockets back as fast as they are made), and room for
// a million TIME_WAIT sockets.
func benchSettings() []Setting {
	return []Setting{
		{"net.ipv4.ip_local_port_range", "1024 65535"},
		{"net.ipv4.tcp_tw_reuse", "0"},
		{"net.ipv4.tcp_max_tw_buckets", "1048576"},
	}
}

// New creates a network namespace with its loopback interface up and the
// settings FillTimeWait needs.
func New() (*Namespace, error) { return Create(benchSettings()) }

// Create creates a network namespace with its loopback interface up and
// settings applied in it. The calling process must be allowed to
// (CAP_SYS_ADMIN in its user namespace): a process that is not runs as a
// Child in a user namespace of its own, where it is.
func Create(settings []Setting) (*Namespace, error) {
	type created struct {
		fd  int
		err error
	}
	done := make(chan created)
	go func() {
		// The thread is never unlocked: it leaves the host's namespace, so
		// it ends with this goroutine rather than run another.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- created{-1, fmt.Errorf("netns: unshare network namespace: %w", err)}
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			err = fmt.Errorf("netns: open the new namespace: %w", err)
		}
		done <- created{fd, err}
	}()
	c := <-done
	if c.err != nil {
		return nil, c.err
	}
	n := &Namespace{fd: c.fd}
	if err := n.Apply(settings); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// Own returns the process's own network namespace: a Child's is private,
// and its Do is where the child's load runs anyway.
func Own() (*Namespace, error) {
	fd, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("netns: open this process's namespace: %w", err)
	}
	return &Namespace{fd: fd}, nil
}

// Apply brings the namespace's loopback interface up and sets settings in
// it; /proc/sys/net is the namespace's for a thread inside it.
func (n *Namespace) Apply(settings []Setting) error {
	return n.Do(func() error { return setUp(settings) })
}

// setUp brings the loopback interface up and applies settings; it runs
// inside the namespace.
func setUp(settings []Setting) error {
	if err := setFlags("lo", unix.IFF_UP); err != nil {
		return err
	}
	for _, s := range settings {
		if err := os.WriteFile(s.path(), []byte(s.Value), 0); err != nil {
			return fmt.Errorf("netns: set %s to %q: %w", s.Name, s.Value, err)
		}
	}
	return nil
}

// setFlags adds flags to an interface's.
func setFlags(name string, flags uint16) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns: bring %s up: %w", name, err)
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return fmt.Errorf("netns: bring %s up: %w", name, err)
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("netns: read %s's flags: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | flags)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("netns: bring %s up: %w", name, err)
	}
	return nil
}

// Do runs f on a thread inside the namespace, and returns its error. The
// sockets f opens are the namespace's, and so are the processes it starts
// (os/exec forks from the calling thread); both may be used from any
// goroutine afterwards.
func (n *Namespace) Do(f func() error) error {
	if n.fd < 0 {
		return errors.New("netns: namespace is closed")
	}
	done := make(chan error, 1)
	go func() {
		// Never unlocked, as in New: the thread ends with the goroutine.
		runtime.LockOSThread()
		if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("netns: enter namespace: %w", err)
			return
		}
		done <- f()
	}()
	return <-done
}

// Close lets the namespace go: the kernel removes it, and the TIME_WAIT
// sockets in it, once no socket or process still holds it.
func (n *Namespace) Close() error {
	if n.fd < 0 {
		return nil
	}
	err := unix.Close(n.fd)
	n.fd = -1
	return err
}

// portsPerAddress is how many client ports FillTimeWait takes on one
// destination address: a quarter of the range, so that connect() finds a
// free port at once rather than search a nearly full range.
const portsPerAddress = 16384

// FillTimeWait makes count connections to port and closes each from the
// client end first, leaving count TIME_WAIT sockets whose remote port is
// port (ss's "dport = :port") for the next 60 seconds; under load a few in
// a thousand end with a reset instead. The connections go
// to 127.0.0.1, 127.0.0.2 and on, a destination address per 16,384
// sockets, against a listener of its own that closes each connection when
// it reads the client's EOF. port is best below the namespace's ephemeral
// range (1024-65535), where no client socket takes it as its own.
func (n *Namespace) FillTimeWait(ctx context.Context, port uint16, count int) error {
	var ln net.Listener
	if err := n.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", "0.0.0.0:"+strconv.Itoa(int(port)))
		return err
	}); err != nil {
		return fmt.Errorf("netns: fill TIME_WAIT: %w", err)
	}
	var servers sync.WaitGroup
	var accepted, dialed atomic.Int64
	servers.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			servers.Go(func() {
				// The client closes first; the server's close answers its
				// FIN, and the client's end goes to TIME_WAIT.
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			})
		}
	})
	defer func() {
		ln.Close()
		servers.Wait()
	}()

	addrs := (count + portsPerAddress - 1) / portsPerAddress
	if addrs > 254 {
		return fmt.Errorf("netns: fill TIME_WAIT: %d sockets need more than 254 loopback addresses", count)
	}
	// Connections are made in the kernel, in connect() and in softirq, on
	// every core: a few clients per core keep them all busy.
	workers := max(addrs, 4*runtime.NumCPU())
	var made atomic.Int64
	errs := make([]error, workers)
	var clients sync.WaitGroup
	for i := range workers {
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(i%addrs + 1)}), port).String()
		clients.Go(func() {
			errs[i] = n.Do(func() error {
				for ctx.Err() == nil && made.Add(1) <= int64(count) {
					c, err := net.Dial("tcp4", dst)
					if err != nil {
						return err
					}
					dialed.Add(1)
					c.Close()
				}
				return ctx.Err()
			})
		})
	}
	clients.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("netns: fill TIME_WAIT: %w", err)
	}
	// Closing the listener resets the connections still waiting in its
	// queue, which then leave no TIME_WAIT: wait until all are accepted.
	for accepted.Load() < dialed.Load() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("netns: fill TIME_WAIT: %w", ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}
