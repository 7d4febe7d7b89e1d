package scenario

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/target"
)

// ListenerSyntax says how a listener is written, for flag help and
// errors.
func ListenerSyntax() string {
	return "http://host:port or tcp://host:port, optionally ?policy=keep-alive|close|rst or ?closer=" +
		strings.ReplaceAll(loadgen.ListClosers(loadgen.Closers(), ""), ", ", "|") +
		", &requests_per_conn=N, &reuseaddr=0 (no SO_REUSEADDR), &reuseport=N (N listeners with SO_REUSEPORT), and for tcp &request_size=N&response_size=N (request_size=0: connect-only)"
}

// ParseListener reads a built-in target written as a URL, as `twbench
// serve --listen` and `twbench watch --serve` take it:
// http://host:port?policy=close, or ?closer=server in the closers' words;
// tcp://host:port?closer=server&request_size=64&response_size=64 for raw
// TCP (request_size=0: connect-only clients). Its errors begin with the
// value, quoted, for the caller to put its flag before.
func ParseListener(raw string) (target.Listener, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return target.Listener{}, fmt.Errorf("%q: want http://host:port or tcp://host:port, with ?policy=keep-alive|close|rst or ?closer=...", raw)
	}
	l := target.Listener{Kind: u.Scheme, Addr: u.Host, Policy: target.KeepAlive,
		TCP: target.TCPConfig{RequestSize: DefaultRequestSize, ResponseSize: DefaultResponseSize, RequestsPerConn: 1}}
	switch u.Scheme {
	case target.KindHTTP, target.KindTCP:
	default:
		return target.Listener{}, fmt.Errorf("%q: unknown listener kind %q (http, tcp)", raw, u.Scheme)
	}
	if u.Path != "" && u.Path != "/" {
		return target.Listener{}, fmt.Errorf("%q: the server answers every path; give none", raw)
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return target.Listener{}, fmt.Errorf("%q: want host:port (port 0: one of the kernel's choosing)", raw)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return target.Listener{}, fmt.Errorf("%q: port %q is not a TCP port", raw, port)
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "policy", "closer", "requests_per_conn", "reuseaddr", "reuseport":
		case "request_size", "response_size":
			if u.Scheme != target.KindTCP {
				return target.Listener{}, fmt.Errorf("%q: %s is for tcp listeners", raw, k)
			}
		default:
			return target.Listener{}, fmt.Errorf("%q: unknown option %q (policy, closer, requests_per_conn, reuseaddr, reuseport; request_size, response_size for tcp)", raw, k)
		}
	}
	for _, opt := range []struct {
		key      string
		min, max int
		to       *int
	}{
		{"request_size", 0, loadgen.MaxMessageSize, &l.TCP.RequestSize},
		{"response_size", 0, loadgen.MaxMessageSize, &l.TCP.ResponseSize},
		{"requests_per_conn", 1, loadgen.MaxRequestsPerConn, &l.TCP.RequestsPerConn},
		{"reuseport", 1, target.MaxReusePort, &l.TCP.Listen.ReusePort},
	} {
		v := q.Get(opt.key)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < opt.min || n > opt.max {
			return target.Listener{}, fmt.Errorf("%q: %s %q: want %d to %d", raw, opt.key, v, opt.min, opt.max)
		}
		*opt.to = n
	}
	switch v := q.Get("reuseaddr"); v {
	case "", "1":
	case "0":
		l.TCP.Listen.NoReuseAddr = true
	default:
		return target.Listener{}, fmt.Errorf("%q: reuseaddr %q: want 1 (SO_REUSEADDR, Go's default) or 0 (none)", raw, v)
	}
	switch p, c := q.Get("policy"), q.Get("closer"); {
	case p != "" && c != "":
		return target.Listener{}, fmt.Errorf("%q: give policy or closer, not both", raw)
	case p != "":
		if l.Policy = target.Policy(p); !l.Policy.Valid() {
			return target.Listener{}, fmt.Errorf("%q: policy %q: want keep-alive, close or rst", raw, p)
		}
	case c != "":
		closer := loadgen.Closer(c)
		if !closer.Valid() {
			return target.Listener{}, fmt.Errorf("%q: closer %q: want %s", raw, c, loadgen.ListClosers(loadgen.Closers(), "or"))
		}
		// A connect-only listener gets no requests: the closers that
		// work for it are connect's.
		if l.Kind == target.KindTCP && l.TCP.RequestSize == 0 {
			if err := loadgen.Supports(loadgen.Connect, closer); err != nil {
				return target.Listener{}, fmt.Errorf("%q: a connect-only listener (request_size=0): %w", raw, err)
			}
		}
		l.Policy = closer.ServerPolicy()
	}
	l.TCP.Policy = l.Policy
	return l, nil
}
