package loadgen

import (
	"bufio"
	"errors"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// slotState is where a slot's request stands.
type slotState uint8

const (
	slotIdle       slotState = iota // no request in flight; fd may be a connection kept alive
	slotBackoff                     // a failed closed-loop attempt, waiting out failPause
	slotConnecting                  // connect() in progress
	slotWriting                     // the request is being written
	slotReading                     // the response is being read
	slotClosing                     // the response is read; the server's close is awaited
)

// slotBufSize is a slot's receive buffer, and its response reader's, as
// a worker's: a Content-Length, Transfer-Encoding or Connection line longer
// than it is a bad response, whichever client reads it.
const slotBufSize = 4096

// readBudget is how many bytes a slot reads of one long response before it
// lets the loop's other slots have their turn.
const readBudget = 256 << 10

// slot is one connection of an event loop, and the request it carries: a
// worker's part, as a state the loop steps on each event.
type slot struct {
	l     *loop
	index int32
	gen   int32 // the connection's number: an event for an earlier one is dropped
	fd    int   // -1: no connection
	state slotState
	ready bool // in the loop's ready list

	// What epoll said of fd that reads and writes have not yet used up:
	// it says each once (edge-triggered).
	readable, writable bool
	rdhup              bool // the server's FIN (or RST) had arrived
	hup                bool // an error, or both directions shut

	source     int           // of Config.Sources
	linger     bool          // SO_LINGER {1, 0} is set: close() sends RST
	connStart  time.Duration // since the run's start
	connReqs   int
	halfClosed bool // the client has sent its FIN
	last       bool // the request is its connection's last
	from       time.Duration
	begin      time.Duration
	out        []byte // of the request, what is not yet written
	tcpLeft    int    // of a raw TCP response, the bytes still to read
	event      unix.EpollEvent

	// buf[r:w] holds what was read and not yet taken: during a parse, the
	// response so far from its first byte.
	buf  []byte
	r, w int
	eof  bool       // the server's FIN has been read
	rerr unix.Errno // a read failed with it: ECONNRESET
	br   *bufio.Reader
	resp responseReader // reads br
	fast fastSource
	slow slowParse

	// at and the links order the slot in list, the loop's deadlines or
	// backoffs.
	at         time.Duration
	list       *slotList
	prev, next *slot
}

func (s *slot) init(l *loop, index int) {
	g := l.g
	s.l, s.index, s.fd = l, int32(index), -1
	s.buf = make([]byte, slotBufSize)
	s.br = bufio.NewReaderSize(nil, slotBufSize)
	s.resp = responseReader{br: s.br, maxHeader: g.maxHeader, maxBody: g.maxBody}
	s.fast.s, s.slow.s = s, s
}

// resume steps a slot made ready: one free in closed loop starts its next
// request; one that stopped reading to let the others have their turn
// reads on.
func (s *slot) resume(now time.Duration) {
	switch s.state {
	case slotIdle:
		if s.l.g.cfg.Rate == 0 && s.l.g.claimAt(s.l.g.start.Add(now)) {
			begin := s.l.now()
			s.start(begin, begin)
		}
	case slotReading:
		s.read(now)
	}
}

// onEvent takes in what epoll says of the slot's connection.
func (s *slot) onEvent(events uint32, now time.Duration) {
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		s.readable = true
	}
	if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		s.writable = true
	}
	if events&unix.EPOLLRDHUP != 0 {
		s.rdhup = true
	}
	if events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		s.hup = true
	}
	switch s.state {
	case slotConnecting:
		if s.writable {
			s.connected(now)
		}
	case slotWriting:
		if s.writable {
			s.write(now)
		}
	case slotReading:
		if s.readable {
			s.read(now)
		}
	case slotClosing:
		if s.readable {
			s.awaitClose(now)
		}
	}
	// An idle connection kept alive keeps what it was told for its next
	// request, as a worker's would: a FIN that came meanwhile fails it.
}

// start starts a request whose intended start was from, on the slot's
// connection or a new one.
func (s *slot) start(from, begin time.Duration) {
	s.from, s.begin = from, begin
	s.l.deadlines.push(s, begin+s.l.g.cfg.Timeout)
	if s.fd < 0 {
		s.dial(begin)
		return
	}
	s.carry(begin)
}

// carry sends the request on the slot's open connection.
func (s *slot) carry(now time.Duration) {
	g := s.l.g
	s.connReqs++
	s.last = g.perConn > 0 && s.connReqs >= g.perConn
	switch g.cfg.Protocol {
	case Connect: // the handshake was the request
		if s.last && g.cfg.HalfClose {
			if errno := s.shutdownWrite(); errno != 0 {
				s.failRequest(now, s.opError("shutdown", "shutdown", errno))
				return
			}
		}
		s.completed(s.l.now(), false)
		return
	case TCP:
		s.out = g.keepReq
	default:
		s.out = g.keepReq
		if s.last {
			s.out = g.lastReq
		}
	}
	s.state = slotWriting
	s.write(now)
}

// write writes what is left of the request, then reads the response.
func (s *slot) write(now time.Duration) {
	cfg := &s.l.g.cfg
	for len(s.out) > 0 {
		if !s.writable {
			return // until epoll says there is room
		}
		n, errno := sysWrite(s.fd, s.out)
		switch errno {
		case 0:
			s.out = s.out[n:]
		case unix.EAGAIN:
			s.writable = false
		default:
			s.failRequest(now, s.opError("write", "write", errno))
			return
		}
	}
	if s.last && cfg.HalfClose {
		if errno := s.shutdownWrite(); errno != 0 {
			s.failRequest(now, s.opError("shutdown", "shutdown", errno))
			return
		}
	}
	if cfg.Protocol == TCP {
		if cfg.ResponseSize == 0 {
			s.completed(s.l.now(), false)
			return
		}
		s.tcpLeft = cfg.ResponseSize
	}
	s.state = slotReading
	// What epoll said before the request (a FIN on a connection kept
	// alive) is read now: it will not say it again.
	if s.readable {
		s.read(now)
	}
}

// shutdownWrite sends the client's FIN while it goes on reading.
func (s *slot) shutdownWrite() unix.Errno {
	switch s.peer() {
	case peerClosed, peerReset:
		// The server closed first after all: awaitClose records it.
	default:
		s.halfClosed = true
	}
	return sysShutdown(s.fd, unix.SHUT_WR)
}

// completed counts the request answered at end, and closes its connection
// as the closer has it: as a worker's do.
func (s *slot) completed(end time.Duration, serverCloses bool) {
	l := s.l
	cfg := &l.g.cfg
	l.lastEnd = end
	l.requests++
	l.completed.Add(1)
	_ = l.latency.RecordValue(min(max((end-s.from).Microseconds(), 0), histMax))
	if cfg.Protocol == HTTP10 || cfg.Protocol == HTTP11 {
		code := s.resp.status
		l.statuses[code]++
		if code >= 400 {
			l.count(ErrHTTPStatus, nil)
		}
	}
	if s.fd < 0 { // a connection reset as it was accepted (connected)
		return
	}
	closer := cfg.Closer
	switch {
	case s.halfClosed:
		// The client's FIN went first; the server answers it with its own.
		s.awaitClose(end)
	case serverCloses || (s.last && (closer == CloserServer || closer == CloserServerRST)):
		// The server said it would close, or was asked to: wait for it,
		// so its FIN comes first even if it is slow to send it.
		s.awaitClose(end)
	case s.last || s.r < s.w:
		// Bytes after the response: the server sent more than its
		// response, and they would be read as the next one. The
		// connection is not used again, whatever the closer.
		s.hangUpAfterResponse(end, closer == CloserClientRST)
		s.done(end, false)
	default:
		s.done(end, false) // kept alive
	}
}

// awaitClose waits, within the request's deadline, for the server to
// close the connection, then closes it. The request is done; a server that
// does not close, or sends more, is a close error, not a failed request.
func (s *slot) awaitClose(now time.Duration) {
	l := s.l
	s.state = slotClosing
	for {
		switch {
		case s.r < s.w: // bytes the server sent after its response
			l.closeErrors[ErrBadResponse]++
			s.hangUp(now, false)
		case s.eof:
			if s.halfClosed {
				l.closes.ClientFirst++ // the server's answer to the client's FIN
			} else {
				l.closes.ServerFirst++
			}
			s.release(now, false)
		case s.rerr == unix.ECONNRESET:
			l.closes.ServerRST++
			s.release(now, false)
		case s.rerr != 0:
			if !l.g.cutOff() {
				l.closeErrors[errnoClass(s.rerr)]++
			}
			s.hangUp(now, false)
		case s.readable:
			s.fill()
			continue
		default:
			return // until epoll says the server closed, or the deadline
		}
		s.done(now, false)
		return
	}
}

// failRequest counts a failed request and closes its connection, unless
// the failure was the server's close.
func (s *slot) failRequest(now time.Duration, err error) {
	s.l.lastEnd = now
	s.l.fail(err, s.source)
	s.closeFailed(now, err)
	s.done(now, true)
}

// closeFailed closes the connection of a failed request: as the server's
// close if the failure was it (its FIN or RST), or from the client's end.
func (s *slot) closeFailed(now time.Duration, err error) {
	reset := errors.Is(err, unix.ECONNRESET)
	switch {
	case s.halfClosed && !reset:
		s.hangUp(now, false) // the client's FIN went first
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		s.l.closes.ServerFirst++
		s.release(now, false)
	case reset:
		s.l.closes.ServerRST++
		s.release(now, false)
	default:
		s.hangUp(now, false)
	}
}

// timedOut ends a request whose deadline has come.
func (s *slot) timedOut(now time.Duration) {
	l := s.l
	switch s.state {
	case slotConnecting:
		fd := s.fd
		s.fd = -1
		sysClose(fd) // the handshake never completed: no connection
		l.lastEnd = now
		l.fail(s.timeoutError("dial"), s.source)
		s.done(now, true)
	case slotWriting, slotReading:
		if s.slow.active {
			s.slow.timedOut = true
			s.slow.resume(now)
			return
		}
		op := "read"
		if s.state == slotWriting {
			op = "write"
		}
		s.failRequest(now, s.timeoutError(op))
	case slotClosing: // the server did not close in time
		l.closeErrors[ErrTimeout]++
		s.hangUp(now, false)
		s.done(now, false)
	}
}

// cut cuts off the slot's request in flight, if it has one.
func (s *slot) cut(now time.Duration) {
	l := s.l
	switch s.state {
	case slotConnecting:
		// As a worker's cutDial: shutdown(2) tells a connection made,
		// whose FIN it sends, from a connect it stops.
		fd := s.fd
		s.fd = -1
		if cut, _ := cutConnectFD(fd); cut == dialCutMade {
			l.countOpened(s.source)
			l.closes.ClientFirst++
			l.connLifetime += now - s.connStart
		}
		sysClose(fd)
		l.lastEnd = now
		l.countCut()
		s.done(now, false)
	case slotWriting, slotReading:
		if s.slow.active {
			s.slow.cut = true
			s.slow.resume(now)
			return
		}
		s.failRequest(now, errAborted)
	case slotClosing:
		s.hangUp(now, false)
		s.done(now, false)
	case slotBackoff: // nothing in flight, and nothing to come
		l.backoffs.remove(s)
		s.state = slotIdle
	}
}

// done ends the slot's request: the slot is free, in closed loop for its
// next request (after failPause if it failed), in open loop for the next
// send.
func (s *slot) done(now time.Duration, failed bool) {
	l := s.l
	if s.list != nil {
		s.list.remove(s)
	}
	s.state = slotIdle
	s.out = nil
	if l.g.cfg.Rate > 0 {
		l.idle.push(s)
		return
	}
	if failed && !l.g.stopping.Load() {
		if wait := failPause - (now - s.begin); wait > 0 {
			s.state = slotBackoff
			l.backoffs.push(s, s.begin+failPause)
			return
		}
	}
	l.makeReady(s)
}

// peer reports what the client can see of the server's end, without
// waiting: what the reads saw, or a look at the socket (see peerState).
func (s *slot) peer() peer {
	switch {
	case s.rerr == unix.ECONNRESET:
		return peerReset
	case s.eof:
		return peerClosed
	}
	n, errno := sysPeek(s.fd, &s.l.peek)
	switch {
	case errno == 0 && n == 0:
		return peerClosed
	case errno == 0:
		return peerSentData
	case errno == unix.EAGAIN:
		return peerOpen
	case errno == unix.ECONNRESET:
		return peerReset
	}
	return peerUnknown
}

// hangUp closes the connection from the client's end, with RST if rst, and
// records who closed first: the server, if its FIN or RST had already
// arrived. It returns what it saw of the server's end.
func (s *slot) hangUp(now time.Duration, rst bool) peer {
	l := s.l
	state := s.peer()
	if s.halfClosed && state != peerReset {
		state = peerOpen // whatever came since, the client's FIN came first
	}
	reset := false
	switch state {
	case peerClosed:
		l.closes.ServerFirst++
	case peerReset:
		l.closes.ServerRST++
	case peerSentData:
		// Unread data makes the kernel answer close() with RST.
		l.closes.ClientRST++
	default:
		if rst {
			reset = true
			l.closes.ClientRST++
		} else {
			l.closes.ClientFirst++
		}
	}
	s.release(now, reset)
	return state
}

// hangUpAfterResponse closes a connection whose last response was read in
// full, counting a close error if the server sent more than its response.
func (s *slot) hangUpAfterResponse(now time.Duration, rst bool) {
	extra := s.r < s.w
	if s.hangUp(now, rst) == peerSentData || extra {
		s.l.closeErrors[ErrBadResponse]++
	}
}

// release closes the connection, with RST if rst.
func (s *slot) release(now time.Duration, rst bool) {
	l := s.l
	if s.linger != rst {
		v := &l.lingerDefault
		if rst {
			v = &l.lingerRST
		}
		_ = sysSetLinger(s.fd, v)
		s.linger = rst
	}
	sysClose(s.fd)
	s.fd = -1
	l.connLifetime += now - s.connStart
	s.r, s.w = 0, 0
}
