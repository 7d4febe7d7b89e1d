package loadgen

import (
	"errors"
	"fmt"
	"net"
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
func Protocols() []Protocol { return []Protocol{HTTP10, HTTP11} }

// Closers lists every closer.
func Closers() []Closer {
	return []Closer{CloserClient, CloserServer, CloserClientRST, CloserServerRST, CloserNone}
}

// Supports reports whether protocol p can be driven with closer c, and if
// not, why.
func Supports(p Protocol, c Closer) error {
	switch p {
	case HTTP11:
		for _, k := range Closers() {
			if c == k {
				return nil
			}
		}
		return fmt.Errorf("unknown closer %q (want one of client, server, client-rst, server-rst, none)", c)
	case HTTP10:
		switch c {
		case CloserServer, CloserServerRST:
			return nil
		case CloserClient, CloserClientRST, CloserNone:
			return fmt.Errorf("closer %q needs keep-alive, which http1.0 does not have: use http1.1, or closer server", c)
		}
		return fmt.Errorf("unknown closer %q (want one of client, server, client-rst, server-rst, none)", c)
	}
	return fmt.Errorf("unknown protocol %q (want http1.0 or http1.1)", p)
}

// Config is one workload.
type Config struct {
	Protocol Protocol
	Closer   Closer
	// Target is an http:// URL. A host name is resolved once, at New.
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
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if err := Supports(c.Protocol, c.Closer); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseTarget(c.Target); err != nil {
		errs = append(errs, err)
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
	return errors.Join(errs...)
}

// Target is a parsed http:// target.
type Target struct {
	Host string // host:port as given, for the Host header
	Name string // the host without the port
	Port int
	Path string // with the query, never empty
}

// ParseTarget parses an http://host:port/path target URL. The port defaults
// to 80.
func ParseTarget(raw string) (Target, error) {
	if !strings.Contains(raw, "://") {
		return Target{}, fmt.Errorf("target %q: want an http://host:port/path URL", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", raw, err)
	}
	switch u.Scheme {
	case "http":
	case "https":
		return Target{}, fmt.Errorf("target %q: https is not supported: twbench measures TCP close behaviour over plain HTTP", raw)
	default:
		return Target{}, fmt.Errorf("target %q: want an http://host:port/path URL", raw)
	}
	if u.Hostname() == "" {
		return Target{}, fmt.Errorf("target %q: no host", raw)
	}
	t := Target{Host: u.Host, Name: u.Hostname(), Port: 80, Path: u.RequestURI()}
	if p := u.Port(); p != "" {
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
func request(p Protocol, c Closer, t Target) (keep, last []byte) {
	tail := "User-Agent: twbench\r\nAccept: */*\r\n"
	if c == CloserServerRST {
		// Asks `twbench serve` to reset, whatever its listener's policy, so
		// one server serves every closer; other servers ignore it.
		tail += "X-Twbench-Close: rst\r\n"
	}
	if p == HTTP10 {
		// What ab sends: no Connection header, so the server closes.
		r := []byte("GET " + t.Path + " HTTP/1.0\r\nHost: " + t.Host + "\r\n" + tail + "\r\n")
		return r, r
	}
	keep = []byte("GET " + t.Path + " HTTP/1.1\r\nHost: " + t.Host + "\r\n" + tail + "\r\n")
	last = keep
	if c == CloserServer || c == CloserServerRST {
		last = []byte("GET " + t.Path + " HTTP/1.1\r\nHost: " + t.Host + "\r\nConnection: close\r\n" + tail + "\r\n")
	}
	return keep, last
}
