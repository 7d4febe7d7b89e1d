package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Protocol is what the client speaks on a connection.
type Protocol string

const (
	// HTTP10 sends "GET / HTTP/1.0" with no Connection header and reads the
	// response until the server closes: what ab does without -k.
	HTTP10 Protocol = "http1.0"
	// HTTP11 keeps connections alive unless the closer ends them after each
	// request.
	HTTP11 Protocol = "http1.1"
	// TCP writes a request of RequestSize bytes and reads a response of
	// ResponseSize bytes: no framing, both ends know the lengths.
	TCP Protocol = "tcp"
	// Connect opens a connection and closes it: the handshake is the
	// request.
	Connect Protocol = "connect"
)

// Closer is the end that sends the first FIN (or RST) of each connection.
type Closer string

const (
	// CloserClient closes each connection as soon as its response is read,
	// while the server still holds it open: the client's FIN comes first
	// and the TIME_WAIT is the client's.
	CloserClient Closer = "client"
	// CloserServer asks the server to close ("Connection: close", or
	// HTTP/1.0) and waits for its EOF before closing: the server's FIN comes
	// first and the TIME_WAIT is the server's.
	CloserServer Closer = "server"
	// CloserClientRST closes each connection with SO_LINGER {1, 0}: the
	// client sends RST, and neither end keeps a TIME_WAIT.
	CloserClientRST Closer = "client-rst"
	// CloserServerRST waits for the server to close as with CloserServer;
	// against the built-in target the server closes with RST.
	CloserServerRST Closer = "server-rst"
	// CloserNone keeps a pool of connections alive and closes them (client
	// first) only at the end of the run.
	CloserNone Closer = "none"
)

// Protocols lists the protocols this version drives.
func Protocols() []Protocol { return []Protocol{HTTP10, HTTP11, TCP, Connect} }

// Closers lists every closer.
func Closers() []Closer {
	return []Closer{CloserClient, CloserServer, CloserClientRST, CloserServerRST, CloserNone}
}

// Supports reports whether protocol p can be driven with closer c, and if
// not, why.
func Supports(p Protocol, c Closer) error {
	if !validProtocol(p) {
		return fmt.Errorf("unknown protocol %q (want http1.0, http1.1, tcp or connect)", p)
	}
	known := false
	for _, k := range Closers() {
		known = known || c == k
	}
	if !known {
		return fmt.Errorf("unknown closer %q (want one of client, server, client-rst, server-rst, none)", c)
	}
	switch p {
	case HTTP11, TCP:
		return nil
	case HTTP10:
		if c == CloserServer || c == CloserServerRST {
			return nil
		}
		return fmt.Errorf("closer %q needs keep-alive, which http1.0 does not have: use http1.1, or closer server", c)
	case Connect:
		if c == CloserNone {
			return errors.New("closer \"none\" keeps connections open for requests, and connect sends none: use client, server, client-rst or server-rst")
		}
	}
	return nil
}

// Scheme returns the target URL scheme protocol p takes.
func (p Protocol) Scheme() string {
	if p == TCP || p == Connect {
		return "tcp"
	}
	return "http"
}

// PortRange is a client ephemeral port range, both ends included; the zero
// value is the host's range.
type PortRange struct{ Lo, Hi uint16 }

// IsZero reports whether r leaves the range to the host.
func (r PortRange) IsZero() bool { return r == PortRange{} }

// Len returns the number of ports in r.
func (r PortRange) Len() int { return int(r.Hi) - int(r.Lo) + 1 }

func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Lo, r.Hi) }

// ParsePortRange parses "LO-HI".
func ParsePortRange(text string) (PortRange, error) {
	lo, hi, ok := strings.Cut(text, "-")
	if !ok {
		return PortRange{}, fmt.Errorf("%q: want LO-HI, such as 40000-40099", text)
	}
	l, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	h, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	if err1 != nil || err2 != nil || l == 0 || l > h {
		return PortRange{}, fmt.Errorf("%q: want LO-HI with 1 <= LO <= HI <= 65535", text)
	}
	return PortRange{uint16(l), uint16(h)}, nil
}

// Limits on the raw TCP sizes.
const (
	MaxMessageSize = 16 << 20
	// MaxRequestsPerConn bounds RequestsPerConn; more is keep-alive.
	MaxRequestsPerConn = 1 << 30
)

// Config is one workload.
type Config struct {
	Protocol Protocol
	Closer   Closer
	// Target is an http:// URL, or for TCP and Connect a tcp://host:port
	// address. A host name is resolved once, at New.
	Target string
	// Concurrency is the number of connections in flight: in closed loop,
	// each sends its next request when the last is answered; in open loop,
	// it caps the requests in flight.
	Concurrency int
	// Rate is the open-loop arrival rate in requests per second; 0 runs
	// closed loop.
	Rate float64
	// Duration and Requests end the run, whichever comes first; 0 is no
	// limit, but one of them must be set.
	Duration time.Duration
	Requests int64
	// Timeout bounds each request, from connect to the end of the
	// response, and the wait for the server's close.
	Timeout time.Duration

	// RequestSize and ResponseSize are the raw TCP message lengths.
	RequestSize  int
	ResponseSize int
	// RequestsPerConn is how many requests a connection carries before the
	// closer ends it; 0 is 1, or for CloserNone the whole run.
	RequestsPerConn int
	// HalfClose makes the client shut down its sending side after the
	// connection's last request (its FIN goes first) and read the
	// response and the server's EOF before it closes.
	HalfClose bool
	// PortRange narrows the client's ephemeral ports per socket
	// (IP_LOCAL_PORT_RANGE, Linux 6.3+).
	PortRange PortRange
	// Sources are local addresses to spread connections over, in turn;
	// none leaves the choice to the kernel.
	Sources []netip.Addr
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if err := Supports(c.Protocol, c.Closer); err != nil {
		errs = append(errs, err)
	}
	t, err := ParseTarget(c.Target)
	if err != nil {
		errs = append(errs, err)
	} else if validProtocol(c.Protocol) && t.Scheme != c.Protocol.Scheme() {
		errs = append(errs, fmt.Errorf("target %q: protocol %s wants a %s:// target", c.Target, c.Protocol, c.Protocol.Scheme()))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d: want at least 1", c.Concurrency))
	}
	if c.Rate < 0 {
		errs = append(errs, fmt.Errorf("rate %g: want 0 (closed loop) or more", c.Rate))
	}
	if c.Duration < 0 {
		errs = append(errs, fmt.Errorf("duration %v: want 0 or more", c.Duration))
	}
	if c.Requests < 0 {
		errs = append(errs, fmt.Errorf("requests %d: want 0 or more", c.Requests))
	}
	if c.Duration == 0 && c.Requests == 0 {
		errs = append(errs, errors.New("neither duration nor requests is set: the run would not end"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %v: want more than 0", c.Timeout))
	}
	errs = append(errs, c.validateShape()...)
	if !c.PortRange.IsZero() && (c.PortRange.Lo == 0 || c.PortRange.Lo > c.PortRange.Hi) {
		errs = append(errs, fmt.Errorf("client port range %s: want LO-HI with 1 <= LO <= HI", c.PortRange))
	}
	for _, a := range c.Sources {
		if !a.IsValid() {
			errs = append(errs, errors.New("source: an empty address"))
		}
	}
	return errors.Join(errs...)
}

// validateShape checks the options that shape a connection against the
// protocol and closer.
func (c Config) validateShape() []error {
	var errs []error
	if c.Protocol == TCP {
		if c.RequestSize < 1 || c.RequestSize > MaxMessageSize {
			errs = append(errs, fmt.Errorf("request size %d: want 1 to %d bytes", c.RequestSize, MaxMessageSize))
		}
		if c.ResponseSize < 0 || c.ResponseSize > MaxMessageSize {
			errs = append(errs, fmt.Errorf("response size %d: want 0 to %d bytes", c.ResponseSize, MaxMessageSize))
		}
	} else if c.RequestSize != 0 || c.ResponseSize != 0 {
		errs = append(errs, fmt.Errorf("request and response sizes apply to protocol tcp, not %s", c.Protocol))
	}
	errs = append(errs, c.ValidateRequestsPerConn()...)
	if c.HalfClose && c.Closer != CloserClient {
		errs = append(errs, fmt.Errorf("half-close: the client's shutdown sends the first FIN, so it goes with closer client, not %s", c.Closer))
	}
	return errs
}

// ValidateRequestsPerConn checks RequestsPerConn against the protocol and
// closer.
func (c Config) ValidateRequestsPerConn() []error {
	var errs []error
	switch n := c.RequestsPerConn; {
	case n < 0 || n > MaxRequestsPerConn:
		errs = append(errs, fmt.Errorf("requests per connection %d: want 1 to %d", n, MaxRequestsPerConn))
	case n >= 1 && c.Closer == CloserNone:
		errs = append(errs, fmt.Errorf("requests per connection %d: closer none keeps connections for the whole run; choose the end that closes them after %d requests (client, server, client-rst, server-rst)", n, n))
	case n > 1 && c.Protocol == HTTP10:
		errs = append(errs, fmt.Errorf("requests per connection %d: http1.0 has no keep-alive; use http1.1", n))
	case n > 1 && c.Protocol == Connect:
		errs = append(errs, fmt.Errorf("requests per connection %d: connect sends no requests", n))
	}
	return errs
}

func validProtocol(p Protocol) bool {
	for _, k := range Protocols() {
		if p == k {
			return true
		}
	}
	return false
}

// Target is a parsed http:// or tcp:// target.
type Target struct {
	Scheme string // "http" or "tcp"
	Host   string // host:port as given, for the Host header
	Name   string // the host without the port
	Port   int
	Path   string // with the query, never empty; "/" for tcp
}

// ParseTarget parses an http://host:port/path target URL, the port
// defaulting to 80, or a tcp://host:port address.
func ParseTarget(raw string) (Target, error) {
	const want = "want an http://host:port/path URL or a tcp://host:port address"
	if !strings.Contains(raw, "://") {
		return Target{}, fmt.Errorf("target %q: %s", raw, want)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", raw, err)
	}
	switch u.Scheme {
	case "http", "tcp":
	case "https":
		return Target{}, fmt.Errorf("target %q: https is not supported: twbench measures TCP close behaviour over plain HTTP", raw)
	default:
		return Target{}, fmt.Errorf("target %q: %s", raw, want)
	}
	if u.Hostname() == "" {
		return Target{}, fmt.Errorf("target %q: no host", raw)
	}
	t := Target{Scheme: u.Scheme, Host: u.Host, Name: u.Hostname(), Port: 80, Path: u.RequestURI()}
	p := u.Port()
	if u.Scheme == "tcp" {
		if p == "" {
			return Target{}, fmt.Errorf("target %q: a tcp:// target needs a port", raw)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return Target{}, fmt.Errorf("target %q: a tcp:// target is host:port, with no path", raw)
		}
		t.Path = "/"
	}
	if p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Target{}, fmt.Errorf("target %q: port %q is not a TCP port", raw, p)
		}
		t.Port = n
	}
	return t, nil
}

// Resolve returns the target's address, looking the host up if it is a
// name. A name's first address is used for the whole run.
func (t Target) Resolve() (*net.TCPAddr, error) {
	addr, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(t.Name, strconv.Itoa(t.Port)))
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Host, err)
	}
	return addr, nil
}

// request returns the request bytes for a connection's requests: keep for
// those that leave it open, last for the one after which the server is to
// close it.
func request(cfg Config, t Target) (keep, last []byte) {
	const tail = "User-Agent: twbench\r\nAccept: */*\r\n"
	closing := ""
	switch cfg.Closer {
	case CloserServer:
		closing = "Connection: close\r\n"
	case CloserServerRST:
		// The header asks `twbench serve` to reset, whatever its listener's
		// policy, so one server serves every closer; other servers ignore it.
		closing = "Connection: close\r\nX-Twbench-Close: rst\r\n"
	}
	switch cfg.Protocol {
	case Connect:
		return nil, nil
	case TCP:
		// Printable filler, so a capture reads as what it is.
		r := bytes.Repeat([]byte("twbench."), cfg.RequestSize/8+1)[:cfg.RequestSize]
		return r, r
	case HTTP10:
		// What ab sends: no Connection header, so the server closes.
		rst := ""
		if cfg.Closer == CloserServerRST {
			rst = "X-Twbench-Close: rst\r\n"
		}
		r := []byte("GET " + t.Path + " HTTP/1.0\r\nHost: " + t.Host + "\r\n" + rst + tail + "\r\n")
		return r, r
	}
	keep = []byte("GET " + t.Path + " HTTP/1.1\r\nHost: " + t.Host + "\r\n" + tail + "\r\n")
	last = keep
	if closing != "" {
		last = []byte("GET " + t.Path + " HTTP/1.1\r\nHost: " + t.Host + "\r\n" + closing + tail + "\r\n")
	}
	return keep, last
}
