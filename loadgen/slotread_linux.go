package loadgen

import (
	"errors"
	"io"
	"iter"
	"time"

	"golang.org/x/sys/unix"
)

// errWouldBlock is what a slot's buffer says when the response reader
// wants more than has arrived.
var errWouldBlock = errors.New("loadgen: more of the response has yet to arrive")

// errNeedMore is what a slow parse hands the loop when it waits for the
// socket.
var errNeedMore = errors.New("loadgen: waiting for the socket")

// fastSource is a slot's buffer as the response reader reads it: what has
// arrived, then the server's close or error, or errWouldBlock. A parse
// that meets errWouldBlock is thrown away and made again from the
// response's first byte when more has come: the parse is a function of the
// bytes, whatever pieces they came in, so its outcome is the one a worker's
// reader, which waits instead, comes to. Most responses come whole in one
// read and are parsed once, on the loop, with no switch of goroutine.
type fastSource struct {
	s   *slot
	off int // of s.buf, the next byte to hand out
}

func (f *fastSource) Read(p []byte) (int, error) {
	s := f.s
	switch {
	case f.off < s.w:
		n := copy(p, s.buf[f.off:s.w])
		f.off += n
		return n, nil
	case s.rerr != 0:
		return 0, s.opError("read", "read", s.rerr)
	case s.eof:
		return 0, io.EOF
	}
	return 0, errWouldBlock
}

// parse parses the response in s.buf[s.r:s.w] (its start, or all of it)
// and, when it is all there, takes it from the buffer.
func (f *fastSource) parse() error {
	s := f.s
	f.off = s.r
	s.br.Reset(f)
	err := s.resp.read()
	if err == errWouldBlock {
		return err
	}
	s.r = f.off - s.br.Buffered()
	return err
}

// slowParse reads a response longer than the slot's buffer: the same
// response reader, run as a coroutine (iter.Pull) that reads the socket
// itself and hands the loop back its turn whenever the socket has nothing
// more, or it has read readBudget bytes. The coroutine is made once per
// slot, the first time a response needs it, and serves the slot's later
// long responses.
type slowParse struct {
	s             *slot
	next          func() (error, bool)
	stop          func()
	yield         func(error) bool
	active        bool // a parse is under way
	stopped       bool // the loop is over: the coroutine ends
	timedOut, cut bool // the request's deadline came, or the run cut it off
	off           int  // of the slot's buffer, the next byte to hand the parse
	budget        int
}

// start parses the response that begins at s.buf[s.r], which fills the
// buffer.
func (p *slowParse) start(now time.Duration) {
	s := p.s
	if p.next == nil {
		p.next, p.stop = iter.Pull(p.run)
	}
	p.off, p.budget, p.timedOut, p.cut = s.r, readBudget, false, false
	s.br.Reset(p)
	p.active = true
	p.resume(now)
}

// run is the coroutine: a parse each time the loop asks.
func (p *slowParse) run(yield func(error) bool) {
	p.yield = yield
	for {
		err := p.s.resp.read()
		if p.stopped || !yield(err) {
			return
		}
	}
}

// resume lets the parse go on, and takes its end if it comes.
func (p *slowParse) resume(now time.Duration) {
	s := p.s
	p.budget = readBudget
	err, _ := p.next()
	if err == errNeedMore {
		return
	}
	p.active = false
	// What the reader holds past the response goes back to the slot.
	rest, _ := s.br.Peek(s.br.Buffered())
	s.r, s.w = 0, copy(s.buf, rest)
	s.responseRead(now, err)
}

// Read hands the parse the slot's buffer, then reads the socket.
func (p *slowParse) Read(b []byte) (int, error) {
	s := p.s
	if p.off < s.w {
		n := copy(b, s.buf[p.off:s.w])
		p.off += n
		return n, nil
	}
	for {
		switch {
		case p.cut:
			return 0, errAborted
		case p.timedOut:
			return 0, s.timeoutError("read")
		case s.rerr != 0:
			return 0, s.opError("read", "read", s.rerr)
		case s.eof:
			return 0, io.EOF
		case s.readable && p.budget > 0:
			n, errno := sysRead(s.fd, b)
			switch {
			case errno == 0 && n > 0:
				p.budget -= n
				s.readAll(n < len(b))
				return n, nil
			case errno == 0:
				s.eof = true
			case errno == unix.EAGAIN:
				s.readable = false
			default:
				s.rerr = errno
			}
			continue
		}
		if s.readable { // the budget is spent: the others' turn
			s.l.makeReady(s)
		}
		if !p.yield(errNeedMore) {
			p.stopped = true
			return 0, errAborted
		}
	}
}

// stopSlow ends the slot's coroutine, if it has one.
func (s *slot) stopSlow() {
	if s.slow.stop != nil {
		s.slow.stopped = true
		s.slow.stop()
	}
}

// read reads the response on.
func (s *slot) read(now time.Duration) {
	switch {
	case s.slow.active:
		s.slow.resume(now)
	case s.l.g.cfg.Protocol == TCP:
		s.readTCP(now)
	default:
		s.readHTTP(now)
	}
}

// fill reads what has arrived into the buffer, and notes the server's
// close or error.
func (s *slot) fill() {
	if s.r == s.w {
		s.r, s.w = 0, 0
	}
	room := len(s.buf) - s.w
	n, errno := sysRead(s.fd, s.buf[s.w:])
	switch {
	case errno == unix.EAGAIN:
		s.readable = false
	case errno != 0:
		s.rerr = errno
	case n == 0:
		s.eof = true
	default:
		s.w += n
		s.readAll(n < room)
	}
}

// readAll takes in a read that returned data, all there was if short.
// epoll says when more comes, unless it has said the server closed: then
// the next read returns at once. If it said the server's FIN came (and no
// error), this was the last of the data, and the read that would return
// 0 is saved; after an error (RST), that read returns it.
func (s *slot) readAll(short bool) {
	switch {
	case !short || s.hup:
	case s.rdhup:
		s.eof = true
	default:
		s.readable = false
	}
}

// canFill reports whether a read may find more.
func (s *slot) canFill() bool { return s.readable && !s.eof && s.rerr == 0 }

// readHTTP reads an HTTP response. The response reader parses what the
// buffer holds; a response not all there yet is parsed again from its
// first byte when more comes. One longer than the buffer is read by the
// same parse, running as a coroutine (slowParse).
func (s *slot) readHTTP(now time.Duration) {
	for {
		if s.canFill() && s.w < len(s.buf) {
			s.fill()
		}
		err := s.fast.parse()
		if err != errWouldBlock {
			s.responseRead(now, err)
			return
		}
		if s.w == len(s.buf) {
			s.slow.start(now)
			return
		}
		if !s.canFill() {
			return // until epoll says more has come
		}
	}
}

// readTCP reads a raw TCP response: ResponseSize bytes.
func (s *slot) readTCP(now time.Duration) {
	budget := readBudget
	for s.tcpLeft > 0 {
		if s.r < s.w {
			n := min(s.w-s.r, s.tcpLeft)
			s.r += n
			s.tcpLeft -= n
			continue
		}
		switch {
		case s.rerr != 0:
			s.failRequest(now, s.opError("read", "read", s.rerr))
			return
		case s.eof:
			s.failRequest(now, io.ErrUnexpectedEOF) // the server closed before its response was complete
			return
		case !s.readable:
			return
		case budget <= 0:
			s.l.makeReady(s) // the others' turn
			return
		}
		budget -= len(s.buf)
		s.fill()
	}
	s.completed(s.l.now(), false)
}

// responseRead takes the end of an HTTP response's read.
func (s *slot) responseRead(now time.Duration, err error) {
	if err != nil {
		s.failRequest(now, err)
		return
	}
	s.completed(s.l.now(), s.resp.close)
}
