package loadgen

import (
	"context"
	"syscall"
	"time"
)

// dialCut is what cutting off a dial in progress did.
type dialCut uint8

const (
	dialNotCut    dialCut = iota // no connect in progress to cut
	dialCutUnmade                // the handshake had not completed: no connection was made
	dialCutMade                  // the connection was made, and the cut sent its FIN
)

// controlDial is the dial's socket setup: base's options, then the socket
// published for cutDial. A dial that begins once the cut has run is
// refused before its connect.
func (w *worker) controlDial(base func(network, address string, c syscall.RawConn) error) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	return func(ctx context.Context, network, address string, c syscall.RawConn) error {
		if base != nil {
			if err := base(network, address, c); err != nil {
				return err
			}
		}
		w.dialMu.Lock()
		defer w.dialMu.Unlock()
		if w.g.cutOff() {
			return errAborted
		}
		w.dialing, w.dialCut = c, dialNotCut
		return nil
	}
}

// dialEnded withdraws the socket of a dial that has returned, and says
// what a cut did to it.
func (w *worker) dialEnded() dialCut {
	w.dialMu.Lock()
	defer w.dialMu.Unlock()
	cut := w.dialCut
	w.dialing, w.dialCut = nil, dialNotCut
	return cut
}

// cutDial cuts off the worker's dial in progress, if it has one, through
// its socket; the worker's context is cancelled after it. A dial between
// its socket options and its connect is given a millisecond to connect.
func (w *worker) cutDial() {
	if !canCutDial {
		return
	}
	w.dialMu.Lock()
	defer w.dialMu.Unlock()
	for range 20 {
		if w.dialing == nil {
			return
		}
		cut, retry := cutConnect(w.dialing)
		if !retry {
			w.dialCut = cut
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
}
