package target

import "net"

// Instance is a running built-in target of either kind: the HTTP Server or
// the raw TCPServer. `twbench run` starts one for a scenario without a
// target, `twbench serve` one per listener.
type Instance interface {
	// Addr is the address it listens on.
	Addr() *net.TCPAddr
	// URL is the address as a target: http://host:port/ or
	// tcp://host:port.
	URL() string
	Policy() Policy
	// PeerErrors are the connection errors it has seen, by class.
	PeerErrors() PeerErrors
	// Accepted counts the connections it has accepted; Closes those it
	// closed, by who closed first.
	Accepted() int64
	Closes() Closes
	// ListenerAccepts counts those each listening socket accepted: one,
	// or one per SO_REUSEPORT listener.
	ListenerAccepts() []int64
	// Close stops it and waits for its connections.
	Close() error
}

var (
	_ Instance = (*Server)(nil)
	_ Instance = (*TCPServer)(nil)
)
