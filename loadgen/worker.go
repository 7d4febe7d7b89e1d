package loadgen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// peer is what the client can see of the server's end of a connection.
type peer uint8

const (
	peerUnknown  peer = iota
	peerOpen          // nothing from the server: it has not closed
	peerClosed        // the server's FIN has arrived
	peerReset         // the server's RST has arrived
	peerSentData      // unread bytes: closing now would send RST
)

// errAborted marks a request cut off by the run's cancellation.
var errAborted = errors.New("loadgen: run interrupted")

// badResponseError is a response that could not be parsed as HTTP.
type badResponseError struct{ err error }

func (e *badResponseError) Error() string { return "bad HTTP response: " + e.err.Error() }
func (e *badResponseError) Unwrap() error { return e.err }

// worker drives one connection at a time and keeps its own tallies, which
// the generator sums when the run is over.
type worker struct {
	tally // with the generator, g

	conn       *net.TCPConn
	connStart  time.Time
	connReqs   int
	halfClosed bool      // the client has sent its FIN on conn
	due        time.Time // the current request's intended start
	wire       wire      // conn, as br reads it
	br         *bufio.Reader
	resp       responseReader // reads br

	// current is conn, published for the generator to cut off when the run
	// is interrupted or its duration is over; cancel cancels the worker's
	// context, and with it a dial in progress.
	current atomic.Pointer[net.TCPConn]
	cancel  context.CancelFunc
	// dialers are the generator's, one per source address, with the
	// worker's controlDial. dialing is the socket of the dial in progress,
	// and dialCut what cutDial did to it.
	dialers []net.Dialer
	dialMu  sync.Mutex
	dialing syscall.RawConn
	dialCut dialCut

	source  int // the source of the connection being dialled
	latency batch
	lag     batch
}

func newWorker(g *Generator) *worker {
	br := bufio.NewReaderSize(nil, 4096)
	w := &worker{
		br:      br,
		resp:    responseReader{br: br, maxHeader: g.maxHeader, maxBody: g.maxBody},
		latency: batch{to: g.latency},
		lag:     batch{to: g.lag},
	}
	w.tally.init(g)
	w.wire.init()
	w.dialers = make([]net.Dialer, len(g.dialers))
	for i, d := range g.dialers {
		if canCutDial {
			d.ControlContext = w.controlDial(d.Control)
		}
		w.dialers[i] = d
	}
	return w
}

// run sends requests until the run ends: in closed loop back to back, in
// open loop one per tick from the pacer.
func (w *worker) run(ctx context.Context, ticks <-chan time.Duration) {
	if ticks == nil {
		for {
			now := time.Now()
			if !w.g.claim(ctx, now) {
				break
			}
			w.do(ctx, now, now)
		}
	} else {
		for due := range ticks {
			intended := w.g.start.Add(due)
			now := time.Now()
			lag := now.Sub(intended)
			w.lag.record(lag)
			if lag > LateAfter {
				w.late++
			}
			w.do(ctx, intended, now)
		}
	}
	if w.conn != nil { // a keep-alive connection, closed at the end as promised
		w.closes.AtEnd++
		w.hangUpAfterResponse(w.g.cfg.Closer == CloserClientRST)
	}
	w.latency.flush()
	w.lag.flush()
}

// do sends one request, on the worker's open connection or a new one.
// Latency runs from from, the request's intended send time in open loop.
func (w *worker) do(ctx context.Context, from, begin time.Time) {
	deadline := begin.Add(w.g.cfg.Timeout)
	w.due = from
	if w.conn == nil && !w.dial(ctx, begin) {
		w.backOff(ctx, begin)
		return
	}
	w.connReqs++
	last := w.g.perConn > 0 && w.connReqs >= w.g.perConn
	cfg := &w.g.cfg
	var serverCloses bool
	var err error
	switch cfg.Protocol {
	case Connect: // the handshake was the request
		err = w.conn.SetDeadline(deadline)
		if err == nil && w.g.cutOff() { // after SetDeadline, so a cut cannot be overwritten
			err = errAborted
		}
		if err == nil && last && cfg.HalfClose {
			err = w.shutdownWrite()
		}
	case TCP:
		err = w.exchangeTCP(last, deadline)
	default:
		serverCloses, err = w.exchange(last, deadline)
	}
	end := time.Now()
	w.lastEnd = end
	if err != nil {
		w.fail(err)
		w.closeFailed(err)
		w.backOff(ctx, begin)
		return
	}
	w.requests++
	w.completed.Add(1)
	w.latency.record(end.Sub(from))
	if cfg.Protocol == HTTP10 || cfg.Protocol == HTTP11 {
		code := w.resp.status
		w.statuses[code]++
		if code >= 400 {
			w.count(ErrHTTPStatus, nil)
		}
	}

	closer := cfg.Closer
	switch {
	case w.halfClosed:
		// The client's FIN went first; the server answers it with its own.
		w.awaitClose()
	case serverCloses || (last && (closer == CloserServer || closer == CloserServerRST)):
		// The server said it would close, or was asked to: wait for it,
		// so its FIN comes first even if it is slow to send it.
		w.awaitClose()
	case last || w.br.Buffered() > 0:
		// Bytes after the response: the server sent more than its
		// response, and they would be read as the next one. The
		// connection is not used again, whatever the closer.
		w.hangUpAfterResponse(closer == CloserClientRST)
	}
}

// hangUpAfterResponse closes a connection whose last response was read in
// full, counting a close error if the server sent more than its response:
// bytes read with it, or waiting in the kernel (which then answers close()
// with RST).
func (w *worker) hangUpAfterResponse(rst bool) {
	extra := w.br.Buffered() > 0
	if w.hangUp(rst) == peerSentData || extra {
		w.closeErrors[ErrBadResponse]++
	}
}

// dial opens the worker's connection, from the next source address in
// turn.
func (w *worker) dial(ctx context.Context, begin time.Time) bool {
	w.source = 0
	if n := len(w.g.dialers); n > 1 {
		w.source = int((w.g.nextDial.Add(1) - 1) % uint64(n))
	}
	c, err := w.dialers[w.source].DialContext(ctx, "tcp", w.g.addrPort)
	if w.dialEnded() == dialCutMade {
		// Cut off after the handshake: a connection, closed by the
		// client (its FIN), whatever Go made of the dial.
		w.lastEnd = time.Now()
		w.countOpened()
		w.closes.ClientFirst++
		w.connLifetime += w.lastEnd.Sub(begin)
		if c != nil {
			_ = c.Close()
		}
		w.fail(errAborted)
		return false
	}
	if err != nil {
		w.lastEnd = time.Now()
		if w.resetOnAccept(err, begin) {
			return false
		}
		w.fail(err)
		return false
	}
	tc := c.(*net.TCPConn)
	w.countOpened()
	w.conn = tc
	w.connStart = begin
	w.connReqs = 0
	w.halfClosed = false
	w.wire.reset(tc)
	w.br.Reset(&w.wire)
	w.current.Store(tc)
	return true
}

// failPause is the least time a failed closed-loop attempt takes. A
// worker whose connects or requests fail at once (no free port or
// descriptor, a refused port, a server that resets every connection) would
// otherwise retry at once, spin a core on failing system calls and count
// tens of thousands of failures a second that are only the loop's speed.
const failPause = 10 * time.Millisecond

// backOff waits, in closed loop, after a failed attempt that began at
// begin, for the rest of failPause. In open loop the pacer sets the pace.
func (w *worker) backOff(ctx context.Context, begin time.Time) {
	wait := failPause - time.Since(begin)
	if w.g.cfg.Rate > 0 || wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// resetOnAccept handles a connect-only run against a server that resets
// each connection as soon as it accepts it: the RST can arrive before
// connect() has returned, which then fails with ECONNRESET. A peer can
// only reset an established connection, so the handshake, which is all a
// connect-only request is, succeeded, and the server reset it first.
func (w *worker) resetOnAccept(err error, begin time.Time) bool {
	cfg := &w.g.cfg
	if cfg.Protocol != Connect || cfg.Closer != CloserServerRST || !errors.Is(err, syscall.ECONNRESET) || w.g.cutOff() {
		return false
	}
	w.countOpened()
	w.requests++
	w.completed.Add(1)
	w.latency.record(w.lastEnd.Sub(w.due))
	w.closes.ServerRST++
	w.connLifetime += w.lastEnd.Sub(begin)
	return true
}

// countOpened counts a connection the kernel made.
func (w *worker) countOpened() { w.tally.countOpened(w.source) }

// exchange writes an HTTP request and reads the response, and reports
// whether the server said it will close the connection.
func (w *worker) exchange(last bool, deadline time.Time) (serverCloses bool, err error) {
	req := w.g.keepReq
	if last {
		req = w.g.lastReq
	}
	if err := w.send(req, last, deadline, true); err != nil {
		return false, err
	}
	if err := w.resp.read(); err != nil {
		return false, err
	}
	return w.resp.close, nil
}

// exchangeTCP writes a raw request and reads the response's bytes.
func (w *worker) exchangeTCP(last bool, deadline time.Time) error {
	if err := w.send(w.g.keepReq, last, deadline, w.g.cfg.ResponseSize > 0); err != nil {
		return err
	}
	if _, err := w.br.Discard(w.g.cfg.ResponseSize); err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF // the server closed before its response was complete
		}
		return err
	}
	return nil
}

// send writes a request, and after the connection's last one shuts down
// the sending side if the run half-closes. read says a read of the
// response follows, which may write the request (wire).
func (w *worker) send(req []byte, last bool, deadline time.Time, read bool) error {
	if err := w.conn.SetDeadline(deadline); err != nil {
		return err
	}
	if w.g.cutOff() { // after SetDeadline, so a cut cannot be overwritten
		return errAborted
	}
	halfClose := last && w.g.cfg.HalfClose
	// The request goes with the response's first read (wire), unless no
	// response is read (a raw TCP response of 0 bytes), the client's FIN
	// must follow it first, or bytes the server sent beyond its last
	// response wait in the buffer: that read would not reach the socket.
	if err := w.wire.send(req, read && !halfClose && w.br.Buffered() == 0); err != nil {
		return err
	}
	if halfClose {
		return w.shutdownWrite()
	}
	return nil
}

// shutdownWrite sends the client's FIN while it goes on reading.
func (w *worker) shutdownWrite() error {
	switch peerState(w.wire.raw) {
	case peerClosed, peerReset:
		// The server closed first after all: awaitClose records it.
	default:
		w.halfClosed = true
	}
	return w.conn.CloseWrite()
}

// fail counts a failed request on the worker's connection.
func (w *worker) fail(err error) { w.tally.fail(err, w.source) }

// serverClosed reports whether a read's err is the server's close, its
// FIN (EOF) or its RST, and if so records it and releases the connection.
func (w *worker) serverClosed(err error) bool {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		w.closes.ServerFirst++
	case errors.Is(err, syscall.ECONNRESET):
		w.closes.ServerRST++
	default:
		return false
	}
	w.release()
	return true
}

// closeFailed closes a connection whose request failed, unless the failure
// was the server's close.
func (w *worker) closeFailed(err error) {
	if w.halfClosed && !errors.Is(err, syscall.ECONNRESET) {
		w.hangUp(false) // the client's FIN went first
		return
	}
	if !w.serverClosed(err) {
		w.hangUp(false)
	}
}

// awaitClose waits, within the request's deadline, for the server to close
// the connection, then closes it. The request is done; a server that does
// not close, or sends more, is a close error, not a failed request.
func (w *worker) awaitClose() {
	_, err := w.br.ReadByte()
	switch {
	case w.halfClosed && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
		// The server's answer to the client's FIN: the client closed first.
		if errors.Is(err, io.EOF) {
			w.closes.ClientFirst++
		} else {
			w.closes.ServerRST++
		}
		w.release()
	case w.serverClosed(err):
	case err == nil:
		w.closeErrors[ErrBadResponse]++
		w.hangUp(false)
	default: // the server did not close in time
		if !w.cutOff(err) {
			w.closeErrors[Classify(err)]++
		}
		w.hangUp(false)
	}
}

// hangUp closes the connection from the client's end, with RST if rst, and
// records who closed first: the server, if its FIN or RST had already
// arrived. It returns what it saw of the server's end.
func (w *worker) hangUp(rst bool) peer {
	state := peerState(w.wire.raw)
	if w.halfClosed && state != peerReset {
		state = peerOpen // whatever came since, the client's FIN came first
	}
	switch state {
	case peerClosed:
		w.closes.ServerFirst++
	case peerReset:
		w.closes.ServerRST++
	case peerSentData:
		// Unread data makes the kernel answer close() with RST.
		w.closes.ClientRST++
	default:
		if rst {
			_ = w.conn.SetLinger(0)
			w.closes.ClientRST++
		} else {
			w.closes.ClientFirst++
		}
	}
	w.release()
	return state
}

func (w *worker) release() {
	_ = w.conn.Close()
	w.connLifetime += time.Since(w.connStart)
	w.current.Store(nil)
	w.conn = nil
	w.wire.reset(nil)
}
