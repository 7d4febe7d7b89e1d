package target

import "fmt"

// Listener kinds.
const (
	KindHTTP = "http"
	KindTCP  = "tcp"
)

// Listener is a built-in target to start: an HTTP or a raw TCP server on
// an address, with its close policy. `twbench serve --listen` and
// `twbench watch --serve` describe one in the same words
// (scenario.ParseListener).
type Listener struct {
	// Kind is KindHTTP or KindTCP.
	Kind string
	// Addr is host:port; port 0 is one of the kernel's choosing.
	Addr   string
	Policy Policy
	// TCP is the raw TCP server's configuration (its Policy is Policy);
	// its RequestsPerConn and Listen apply to an HTTP listener too.
	TCP TCPConfig
}

// Start starts the listener.
func (l Listener) Start() (Instance, error) {
	if l.Kind == KindTCP {
		cfg := l.TCP
		cfg.Policy = l.Policy
		return StartTCP(l.Addr, cfg)
	}
	return StartOn(l.Addr, l.Policy, RequestsPerConn(l.TCP.RequestsPerConn), Listen(l.TCP.Listen))
}

// Describe says what the listener does with each connection, for a
// banner: "close policy close; a request's X-Twbench-Close header sets it
// per connection".
func (l Listener) Describe() string {
	if opts := l.TCP.Listen.Describe(); opts != "" {
		return l.describe() + "; " + opts
	}
	return l.describe()
}

func (l Listener) describe() string {
	what := fmt.Sprintf("close policy %s", l.Policy)
	if l.Policy != KeepAlive && l.TCP.RequestsPerConn > 1 {
		what += fmt.Sprintf(", closed after every %d responses", l.TCP.RequestsPerConn)
	}
	if l.Kind != KindTCP {
		return fmt.Sprintf("%s; a request's %s header sets it per connection", what, PolicyHeader)
	}
	if l.TCP.RequestSize == 0 {
		return fmt.Sprintf("close policy %s, connect-only", l.Policy)
	}
	what = fmt.Sprintf("close policy %s, %d-byte requests, %d-byte responses", l.Policy, l.TCP.RequestSize, l.TCP.ResponseSize)
	if l.Policy != KeepAlive && l.TCP.RequestsPerConn > 1 {
		what += fmt.Sprintf(", closed after every %d responses", l.TCP.RequestsPerConn)
	}
	return what
}
