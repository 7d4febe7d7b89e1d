package target

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
)

// MaxReusePort bounds the listeners one target may open on its port with
// SO_REUSEPORT.
const MaxReusePort = 64

// ListenOptions are the socket options of a built-in target's listening
// sockets. The zero value listens as Go does: one socket, SO_REUSEADDR
// on.
type ListenOptions struct {
	// NoReuseAddr clears SO_REUSEADDR, which Go sets on every listener:
	// bind then fails with EADDRINUSE while any socket on the port is
	// left, TIME_WAIT included, as in a C server that never sets it.
	NoReuseAddr bool `json:"no_reuseaddr,omitempty"`
	// ReusePort opens this many listening sockets on the port, each with
	// SO_REUSEPORT, among which the kernel spreads new connections by
	// their 4-tuple's hash; 0 and 1 open one, without it.
	ReusePort int `json:"reuseport,omitempty"`
}

// Validate says what is wrong with the options.
func (o ListenOptions) Validate() error {
	if o.ReusePort < 0 || o.ReusePort > MaxReusePort {
		return fmt.Errorf("reuseport %d: want 1 to %d listeners", o.ReusePort, MaxReusePort)
	}
	return nil
}

// Describe is the options in a few words for a banner; "" for Go's
// default.
func (o ListenOptions) Describe() string {
	var s string
	if o.NoReuseAddr {
		s = "without SO_REUSEADDR"
	}
	if o.ReusePort > 1 {
		if s != "" {
			s += ", "
		}
		s += strconv.Itoa(o.ReusePort) + " listeners with SO_REUSEPORT"
	}
	return s
}

// listeners are a target's listening sockets on one port, each with its
// count of accepted connections.
type listeners struct {
	all      []net.Listener
	accepted []*atomic.Int64
}

// listen opens the listening sockets on addr. With several, the first
// picks the port when addr gives 0, and the others take the same.
func (o ListenOptions) listen(addr string) (*listeners, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("target: listen on %s: %w", addr, err)
	}
	lc := net.ListenConfig{Control: o.control}
	ls := &listeners{}
	for i := range max(o.ReusePort, 1) {
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			ls.close()
			return nil, fmt.Errorf("target: listen on %s: %w", addr, err)
		}
		if i == 0 {
			addr = ln.Addr().String()
		}
		ls.all = append(ls.all, ln)
		ls.accepted = append(ls.accepted, new(atomic.Int64))
	}
	return ls, nil
}

func (ls *listeners) close() {
	for _, ln := range ls.all {
		_ = ln.Close()
	}
}

// counts returns each listener's accepted connections, in order.
func (ls *listeners) counts() []int64 {
	out := make([]int64, len(ls.accepted))
	for i, n := range ls.accepted {
		out[i] = n.Load()
	}
	return out
}

// control sets the options on a socket before its bind.
func (o ListenOptions) control(_, _ string, c syscall.RawConn) error {
	if !o.NoReuseAddr && o.ReusePort <= 1 {
		return nil
	}
	var serr error
	err := c.Control(func(fd uintptr) { serr = setListenOptions(fd, o) })
	return errors.Join(err, serr)
}
