package loadgen

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// wire is a worker's connection as its response reader sees it. A request
// handed to it (send) is written by the read that follows, from inside the
// poller's read, and both are raw system calls (rw): a system call the Go
// scheduler knows of that takes more than 20 µs, as a loopback write does
// (it runs the receiver's side of TCP too), makes the runtime hand the
// goroutine's processor to another thread, and keeps its monitor thread
// waking every 20 µs to do so.
//
// After the write, rw reads once before it waits, as Go's own Read does:
// the poller clears the socket's readiness when the read begins, so a FIN
// or bytes that came before it (a server that half-closed an idle
// connection) would otherwise wake nothing, and the request would wait
// out its timeout.
type wire struct {
	conn *net.TCPConn
	raw  syscall.RawConn
	out  []byte // a request not yet written
	in   []byte // the reader's buffer, during a raw read
	n    int
	err  error
	step func(fd uintptr) bool // rw, bound once
}

func (c *wire) init() { c.step = c.rw }

// reset makes the wire carry conn, or nothing.
func (c *wire) reset(conn *net.TCPConn) {
	c.conn, c.raw, c.out = conn, nil, nil
	if conn != nil {
		c.raw, _ = conn.SyscallConn() // a *net.TCPConn always has one
	}
}

// send hands req to the next read, or writes it now when fused is false.
func (c *wire) send(req []byte, fused bool) error {
	if fused && canFuse && c.raw != nil {
		c.out = req
		return nil
	}
	_, err := c.conn.Write(req)
	return err
}

// Read reads from the connection, first writing the request handed to
// send, if one is waiting.
func (c *wire) Read(p []byte) (int, error) {
	if !canFuse || c.raw == nil {
		return c.conn.Read(p)
	}
	c.in, c.n, c.err = p, 0, nil
	err := c.raw.Read(c.step)
	c.in = nil
	if err != nil { // the deadline, or the connection closed under it
		c.out = nil
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "raw-read" {
			oe.Op = "read" // as the net package's Read says it
		}
		return 0, err
	}
	if c.out != nil { // not written in one piece: the rest the ordinary way
		out := c.out
		c.out = nil
		if _, err := c.conn.Write(out); err != nil {
			return 0, err
		}
		return c.conn.Read(p)
	}
	return c.n, c.err
}

// opError wraps a system call's error as the net package would, so that it
// reads and classifies the same.
func (c *wire) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.conn.LocalAddr(), Addr: c.conn.RemoteAddr(),
		Err: os.NewSyscallError(op, err)}
}
