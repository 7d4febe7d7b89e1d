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
		switch {
		case err == nil && n == len(c.out):
			c.out = nil
		case err == nil || err == unix.EAGAIN:
			c.out = c.out[n:]
			return true
		default:
			c.out = nil
			c.err = c.opError("write", err)
			return true
		}
	}
	if len(c.in) == 0 { // a read of nothing reads nothing; it is not EOF
		return true
	}
	n, err := rawIO(unix.SYS_READ, fd, c.in)
	switch {
	case err == unix.EAGAIN:
		return false
	case err != nil:
		c.err = c.opError("read", err)
	case n == 0:
		c.err = io.EOF
	}
	c.n = n
	return true
}

// rawIO is write(2) or read(2) (trap) on a non-blocking socket, without
// telling the scheduler (see wire): it never blocks. A call a signal
// interrupts is made again; a failed one counts 0 bytes.
func rawIO(trap, fd uintptr, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, _, e := unix.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
		default:
			return 0, e
		}
	}
}
