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

// Namespace is a network namespace of this process's own. Its settings
// are those FillTimeWait needs (settings).
type Namespace struct {
	fd int // /proc/thread-self/ns/net of the thread that created it
}

// settings are the namespace's sysctls, set in it alone: every ephemeral
// port, no loopback reuse of a port still in TIME_WAIT (which would take
// sockets back as fast as they are made), and room for a million TIME_WAIT
// sockets.
var settings = [][2]string{
	{"net/ipv4/ip_local_port_range", "1024 65535"},
	{"net/ipv4/tcp_tw_reuse", "0"},
	{"net/ipv4/tcp_max_tw_buckets", "1048576"},
}

// New creates a network namespace with its loopback interface up.
func New() (*Namespace, error) {
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
	if err := n.Do(setUp); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// setUp brings the loopback interface up and applies the settings; it runs
// inside the namespace, where /proc/sys/net is the namespace's.
func setUp() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns: bring lo up: %w", err)
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("netns: bring lo up: %w", err)
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("netns: read lo's flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("netns: bring lo up: %w", err)
	}
	for _, kv := range settings {
		if err := os.WriteFile("/proc/sys/"+kv[0], []byte(kv[1]), 0); err != nil {
			return fmt.Errorf("netns: set %s: %w", kv[0], err)
		}
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
