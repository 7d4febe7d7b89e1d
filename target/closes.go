package target

import (
	"net"
	"sync/atomic"
)

// Closes counts a built-in target's connections by which end closed
// first, as the target saw each one at its close: whether the client's
// FIN had arrived by then (the socket in CLOSE_WAIT, on Linux, or its EOF
// read), or an RST. Crossing FINs count as the server's.
type Closes struct {
	ServerFirst int64
	ClientFirst int64
	ServerRST   int64
	ClientRST   int64
	// Unknown counts closes whose order could not be told: the socket's
	// state cannot be read on this system, and no EOF had been read.
	Unknown int64
}

// closeCounter is a target's Closes, counted as connections close.
type closeCounter struct {
	serverFirst, clientFirst, serverRST, clientRST, unknown atomic.Int64
}

// count counts the close of c: the target resets it, or the client had
// reset it or sent its FIN (sawEOF), or the kernel says which.
func (cc *closeCounter) count(c *net.TCPConn, reset, peerReset, sawEOF bool) {
	switch peer, ok := false, true; {
	case reset:
		cc.serverRST.Add(1)
	case peerReset:
		cc.clientRST.Add(1)
	case sawEOF:
		cc.clientFirst.Add(1)
	default:
		if peer, ok = peerClosedFirst(c); !ok {
			cc.unknown.Add(1)
		} else if peer {
			cc.clientFirst.Add(1)
		} else {
			cc.serverFirst.Add(1)
		}
	}
}

func (cc *closeCounter) load() Closes {
	return Closes{ServerFirst: cc.serverFirst.Load(), ClientFirst: cc.clientFirst.Load(),
		ServerRST: cc.serverRST.Load(), ClientRST: cc.clientRST.Load(), Unknown: cc.unknown.Load()}
}
