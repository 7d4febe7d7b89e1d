package loadgen

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// failErrno counts a request that failed in system call sysOp (of op:
// dial, read, write) with errno: as the goroutine client's error would
// be classified. The message is made only for the class's first.
func (s *slot) failErrno(op, sysOp string, errno unix.Errno) {
	l := s.l
	if l.g.cutOff() {
		l.countCut()
		return
	}
	class := errnoClass(errno)
	var err error
	if l.firstError[class] == "" {
		err = s.opError(op, sysOp, errno)
	}
	l.count(class, err)
	if errno == unix.EADDRNOTAVAIL && len(l.sourceNoPorts) > 0 {
		l.sourceNoPorts[s.source]++
	}
}

// errnoClass is Classify of a system call's error: the errno's own class,
// or a timeout for those that mean one (as Errno.Timeout says).
func errnoClass(errno unix.Errno) ErrorClass {
	switch errno {
	case unix.EADDRNOTAVAIL:
		return ErrAddrNotAvail
	case unix.ECONNREFUSED:
		return ErrConnRefused
	case unix.ECONNRESET:
		return ErrConnReset
	case unix.EMFILE:
		return ErrTooManyFiles
	case unix.ENFILE:
		return ErrTooManyFilesSystem
	case unix.EPIPE:
		return ErrBrokenPipe
	case unix.EAGAIN, unix.ETIMEDOUT:
		return ErrTimeout
	}
	return ErrOther
}

// opError returns errno as the net package would have returned it for the
// same call, so that it reads the same: "dial tcp 127.0.0.1:80: connect:
// connection refused", "read tcp 127.0.0.1:40000->127.0.0.1:80: read:
// connection reset by peer".
func (s *slot) opError(op, sysOp string, errno unix.Errno) error {
	return s.netError(op, os.NewSyscallError(sysOp, errno))
}

// timeoutError is a deadline's error, as the net package's.
func (s *slot) timeoutError(op string) error { return s.netError(op, os.ErrDeadlineExceeded) }

func (s *slot) netError(op string, err error) error {
	oe := &net.OpError{Op: op, Net: "tcp", Addr: s.l.g.addr, Err: err}
	if op != "dial" && s.fd >= 0 {
		if sa, serr := unix.Getsockname(s.fd); serr == nil {
			switch a := sa.(type) {
			case *unix.SockaddrInet4:
				oe.Source = &net.TCPAddr{IP: a.Addr[:], Port: a.Port}
			case *unix.SockaddrInet6:
				oe.Source = &net.TCPAddr{IP: a.Addr[:], Port: a.Port}
			}
		}
	}
	return oe
}
