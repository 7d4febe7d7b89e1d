package loadgen

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The event loop's system calls. None of them blocks (every socket is
// non-blocking), so they are made raw, without telling the Go scheduler:
// its bookkeeping around a system call costs more than some of these
// calls, and one that takes over 20 µs (a loopback write runs the
// receiver's side of TCP too) would make it hand the loop's processor to
// another thread (see wire). epoll_pwait2, which blocks, is the exception.
//
// Each converts its pointers to uintptr in the argument list of the
// assembly RawSyscall6, as unsafe.Pointer's rule 4 asks, and every
// pointer is into memory the loop keeps (its fields, a slot's buffers):
// none points to the stack, and none escapes per call. Each returns the
// errno, 0 for none, and makes again a call a signal interrupted.

// sockaddr is a socket address as the kernel takes it.
type sockaddr struct {
	raw unix.RawSockaddrAny
	len uintptr
}

// makeSockaddr returns ap as an AF_INET address, or AF_INET6 if inet6.
func makeSockaddr(ap netip.AddrPort, inet6 bool) sockaddr {
	var sa sockaddr
	if inet6 {
		in6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa.raw))
		in6.Family = unix.AF_INET6
		in6.Addr = ap.Addr().As16()
		sa.len = unix.SizeofSockaddrInet6
	} else {
		in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa.raw))
		in4.Family = unix.AF_INET
		in4.Addr = ap.Addr().Unmap().As4()
		sa.len = unix.SizeofSockaddrInet4
	}
	// sin_port and sin6_port are both at offset 2, in network order.
	port := (*[2]byte)(unsafe.Add(unsafe.Pointer(&sa.raw), 2))
	port[0], port[1] = byte(ap.Port()>>8), byte(ap.Port())
	return sa
}

func sysSocket(family int) (int, unix.Errno) {
	for {
		fd, _, e := unix.RawSyscall6(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0, 0, 0)
		if e != unix.EINTR {
			return int(fd), e
		}
	}
}

func sysConnect(fd int, sa *sockaddr) unix.Errno {
	// Not made again on EINTR: a connect in progress would then fail with
	// EALREADY. A non-blocking connect returns EINPROGRESS, not EINTR.
	_, _, e := unix.RawSyscall6(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa.raw)), sa.len, 0, 0, 0)
	return e
}

func sysBind(fd int, sa *sockaddr) unix.Errno {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&sa.raw)), sa.len, 0, 0, 0)
		if e != unix.EINTR {
			return e
		}
	}
}

func sysSetsockoptInt32(fd, level, opt int, v *int32) unix.Errno {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(v)), 4, 0)
		if e != unix.EINTR {
			return e
		}
	}
}

func sysSetsockoptUint32(fd, level, opt int, v *uint32) unix.Errno {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(v)), 4, 0)
		if e != unix.EINTR {
			return e
		}
	}
}

func sysSetLinger(fd int, v *unix.Linger) unix.Errno {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_LINGER, uintptr(unsafe.Pointer(v)), unix.SizeofLinger, 0)
		if e != unix.EINTR {
			return e
		}
	}
}

// sysSoError returns and clears the socket's pending error, a connect's
// outcome, in *v, with size for the length. (A length of 0 would clear
// the error and return none.)
func sysSoError(fd int, v *int32, size *uint32) unix.Errno {
	*v, *size = 0, 4
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ERROR, uintptr(unsafe.Pointer(v)), uintptr(unsafe.Pointer(size)), 0)
		switch e {
		case 0:
			return unix.Errno(*v)
		case unix.EINTR:
		default:
			return e
		}
	}
}

func sysRead(fd int, p []byte) (int, unix.Errno) {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
		if e != unix.EINTR {
			return int(n), e
		}
	}
}

func sysWrite(fd int, p []byte) (int, unix.Errno) {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
		if e != unix.EINTR {
			return int(n), e
		}
	}
}

// sysPeek looks at the next byte without taking it, and without waiting:
// it returns 1 if the server sent data, 0 if its FIN has arrived, or the
// errno (EAGAIN: nothing yet).
func sysPeek(fd int, b *[1]byte) (int, unix.Errno) {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1, unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
		if e != unix.EINTR {
			return int(n), e
		}
	}
}

func sysShutdown(fd, how int) unix.Errno {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_SHUTDOWN, uintptr(fd), uintptr(how), 0, 0, 0, 0)
		if e != unix.EINTR {
			return e
		}
	}
}

func sysClose(fd int) {
	// Not made again on EINTR: the descriptor is gone whatever close says.
	_, _, _ = unix.RawSyscall6(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0, 0)
}

func sysEpollAdd(epfd, fd int, ev *unix.EpollEvent) unix.Errno {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), unix.EPOLL_CTL_ADD, uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
		if e != unix.EINTR {
			return e
		}
	}
}
