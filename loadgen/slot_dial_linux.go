package loadgen

import (
	"time"

	"golang.org/x/sys/unix"
)

// dial opens a non-blocking socket with the run's options and starts its
// connect, from the next source address in turn.
func (s *slot) dial(now time.Duration) {
	l, g := s.l, s.l.g
	s.source = 0
	if n := len(l.sources); n > 1 {
		s.source = int((g.nextDial.Add(1) - 1) % uint64(n))
	}
	fd, errno := sysSocket(l.family)
	if errno != 0 {
		s.dialFailed(now, "socket", errno)
		return
	}
	op := ""
	if l.portRange != 0 {
		if errno = sysSetsockoptUint32(fd, unix.SOL_IP, unix.IP_LOCAL_PORT_RANGE, &l.portRange); errno != 0 {
			op = "setsockopt"
		}
	}
	if errno == 0 && len(l.sources) > 0 {
		// The port is left to connect() (see dialControl).
		if errno = sysSetsockoptInt32(fd, unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, &l.one); errno != 0 {
			op = "setsockopt"
		} else if errno = sysBind(fd, &l.sources[s.source]); errno != 0 {
			op = "bind"
		}
	}
	s.linger = false
	if errno == 0 && g.cfg.Closer == CloserClientRST {
		// Set before connect, as the closer is known: close() sends RST.
		if errno = sysSetLinger(fd, &l.lingerRST); errno != 0 {
			op = "setsockopt"
		}
		s.linger = true
	}
	if errno == 0 {
		if errno = sysConnect(fd, &l.target); errno == unix.EINPROGRESS {
			errno = 0
		} else if errno != 0 {
			op = "connect"
		}
	}
	if errno == 0 {
		s.gen++
		s.event = unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: s.index, Pad: s.gen}
		if errno = sysEpollAdd(l.epfd, fd, &s.event); errno != 0 {
			op = "epoll_ctl"
		}
	}
	if errno != 0 {
		sysClose(fd)
		s.dialFailed(now, op, errno)
		return
	}
	s.fd, s.state = fd, slotConnecting
	s.readable, s.writable, s.rdhup, s.hup = false, false, false, false
	s.r, s.w, s.eof, s.rerr = 0, 0, false, 0
	s.connStart, s.connReqs, s.halfClosed = now, 0, false
}

// connected takes the outcome of the connect in progress.
func (s *slot) connected(now time.Duration) {
	l, cfg := s.l, &s.l.g.cfg
	if s.hup {
		if errno := sysSoError(s.fd, &l.soError, &l.soErrorSize); errno != 0 {
			fd := s.fd
			s.fd = -1
			sysClose(fd)
			if errno == unix.ECONNRESET && cfg.Protocol == Connect && cfg.Closer == CloserServerRST && !l.g.cutOff() {
				// A server that resets each connection as soon as it
				// accepts it: the handshake, all a connect-only request
				// is, succeeded (see resetOnAccept).
				l.countOpened(s.source)
				l.closes.ServerRST++
				l.connLifetime += now - s.connStart
				s.completed(l.now(), false)
				s.done(now, false)
				return
			}
			s.dialFailed(now, "connect", errno)
			return
		}
	}
	l.countOpened(s.source)
	s.carry(now)
}

// dialFailed counts a connect that failed in system call op, and ends
// the attempt.
func (s *slot) dialFailed(now time.Duration, op string, errno unix.Errno) {
	s.l.lastEnd = now
	s.failErrno("dial", op, errno)
	s.done(now, true)
}
