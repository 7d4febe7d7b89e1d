package loadgen

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

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
	// Offset delays the open-loop schedule: send i is due at Offset +
	// i/Rate from the start. A shard of a fleet takes its place in the
	// fleet's schedule with it (Shard.Of).
	Offset time.Duration
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
	// MaxHeaderBytes and MaxBodyBytes bound each HTTP response's header
	// block (interim responses and trailers included) and its body; 0 is
	// DefaultMaxHeaderBytes and DefaultMaxBodyBytes. A response past
	// either fails as header_too_large or body_too_large.
	MaxHeaderBytes int
	MaxBodyBytes   int64
	// Client is what drives the connections: the event loop (Linux) or a
	// goroutine per connection; the default is the event loop where there
	// is one.
	Client Client
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
	uri, err := requestURI(u)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", raw, err)
	}
	t := Target{Scheme: u.Scheme, Host: u.Host, Name: u.Hostname(), Port: 80, Path: uri}
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

// requestURI returns u's path and query as a request line carries them.
// url.URL.RequestURI escapes the path but leaves the query as given, where
// a space would end the request's target early and UTF-8 is not allowed:
// every byte a query may not hold (RFC 3986) is percent-encoded, and an
// escape that is not one is refused, as url refuses it in the path.
func requestURI(u *url.URL) (string, error) {
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery == "" && !u.ForceQuery {
		return path, nil
	}
	const hex = "0123456789ABCDEF"
	q := u.RawQuery
	b := make([]byte, 0, len(path)+1+len(q))
	b = append(append(b, path...), '?')
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return "", fmt.Errorf("invalid escape %q in the query", q[i:min(i+3, len(q))])
			}
			b = append(b, c)
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0:
			b = append(b, c)
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
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
