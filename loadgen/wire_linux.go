package loadgen

import (
	"io"
	"unsafe"

	"golang.org/x/sys/unix"
)

const canFuse = true

// rw is the wire's step inside the poller's read: it writes the waiting
// request, then reads what has arrived, or asks to wait (false).
func (c *wire) rw(fd uintptr) bool {
	if c.out != nil {
		n, err := rawIO(unix.SYS_WRITE, fd, c.out)
		for err == unix.EINTR {
			n, err = rawIO(unix.SYS_WRITE, fd, c.out)
		}
		switch {
		case err == nil && n == len(c.out):
			c.out = nil
		case err == nil || err == unix.EAGAIN:
			c.out = c.out[max(n, 0):]
			return true
		default:
			c.out = nil
			c.err = c.opError("write", err)
			return true
		}
	}
	n, err := rawIO(unix.SYS_READ, fd, c.in)
	for err == unix.EINTR {
		n, err = rawIO(unix.SYS_READ, fd, c.in)
	}
	switch {
	case err == unix.EAGAIN:
		return false
	case err != nil:
		c.err = c.opError("read", err)
	case n == 0:
		c.err = io.EOF
	}
	c.n = max(n, 0)
	return true
}

// rawIO is write(2) or read(2) (trap) on a non-blocking socket, without
// telling the scheduler (see wire): it never blocks.
func rawIO(trap, fd uintptr, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
