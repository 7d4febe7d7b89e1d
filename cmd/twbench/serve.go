package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/target"
)

const serveSynopsis = "twbench serve [--listen URL]... [--agent ADDR|off] [--token TOKEN]"

// listenSpec is one listener of `twbench serve`:
// http://host:port?policy=close, or ?closer=server in the closers' words;
// tcp://host:port?closer=server&request_size=64&response_size=64 for raw
// TCP (request_size=0: connect-only clients).
type listenSpec struct {
	raw    string
	scheme string
	addr   string
	policy target.Policy
	tcp    target.TCPConfig // for tcp; its RequestsPerConn for http too
}

// parseListenSpec parses a --listen value. The scheme names the listener's
// kind: http or tcp.
func parseListenSpec(raw string) (listenSpec, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return listenSpec{}, fmt.Errorf("--listen %q: want http://host:port or tcp://host:port, with ?policy=keep-alive|close|rst or ?closer=...", raw)
	}
	spec := listenSpec{raw: raw, scheme: u.Scheme, addr: u.Host, policy: target.KeepAlive,
		tcp: target.TCPConfig{RequestSize: scenario.DefaultRequestSize, ResponseSize: scenario.DefaultResponseSize, RequestsPerConn: 1}}
	switch u.Scheme {
	case "http", "tcp":
	default:
		return listenSpec{}, fmt.Errorf("--listen %q: unknown listener kind %q (http, tcp)", raw, u.Scheme)
	}
	if u.Path != "" && u.Path != "/" {
		return listenSpec{}, fmt.Errorf("--listen %q: the server answers every path; give none", raw)
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return listenSpec{}, fmt.Errorf("--listen %q: want host:port (port 0: one of the kernel's choosing)", raw)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return listenSpec{}, fmt.Errorf("--listen %q: port %q is not a TCP port", raw, port)
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "policy", "closer", "requests_per_conn":
		case "request_size", "response_size":
			if u.Scheme != "tcp" {
				return listenSpec{}, fmt.Errorf("--listen %q: %s is for tcp listeners", raw, k)
			}
		default:
			return listenSpec{}, fmt.Errorf("--listen %q: unknown option %q (policy, closer, requests_per_conn; request_size, response_size for tcp)", raw, k)
		}
	}
	for _, opt := range []struct {
		key      string
		min, max int
		to       *int
	}{
		{"request_size", 0, loadgen.MaxMessageSize, &spec.tcp.RequestSize},
		{"response_size", 0, loadgen.MaxMessageSize, &spec.tcp.ResponseSize},
		{"requests_per_conn", 1, loadgen.MaxRequestsPerConn, &spec.tcp.RequestsPerConn},
	} {
		v := q.Get(opt.key)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < opt.min || n > opt.max {
			return listenSpec{}, fmt.Errorf("--listen %q: %s %q: want %d to %d", raw, opt.key, v, opt.min, opt.max)
		}
		*opt.to = n
	}
	switch p, c := q.Get("policy"), q.Get("closer"); {
	case p != "" && c != "":
		return listenSpec{}, fmt.Errorf("--listen %q: give policy or closer, not both", raw)
	case p != "":
		if spec.policy = target.Policy(p); !spec.policy.Valid() {
			return listenSpec{}, fmt.Errorf("--listen %q: policy %q: want keep-alive, close or rst", raw, p)
		}
	case c != "":
		closer := loadgen.Closer(c)
		if !closer.Valid() {
			return listenSpec{}, fmt.Errorf("--listen %q: closer %q: want %s", raw, c, loadgen.ListClosers(loadgen.Closers(), "or"))
		}
		// A connect-only listener gets no requests: the closers that
		// work for it are connect's.
		if spec.scheme == "tcp" && spec.tcp.RequestSize == 0 {
			if err := loadgen.Supports(loadgen.Connect, closer); err != nil {
				return listenSpec{}, fmt.Errorf("--listen %q: a connect-only listener (request_size=0): %w", raw, err)
			}
		}
		spec.policy = closer.ServerPolicy()
	}
	spec.tcp.Policy = spec.policy
	return spec, nil
}

// start starts the listener.
func (spec listenSpec) start() (target.Instance, string, error) {
	if spec.scheme == "tcp" {
		srv, err := target.StartTCP(spec.addr, spec.tcp)
		if err != nil {
			return nil, "", err
		}
		what := fmt.Sprintf("close policy %s, %d-byte requests, %d-byte responses", spec.policy, spec.tcp.RequestSize, spec.tcp.ResponseSize)
		if spec.policy != target.KeepAlive && spec.tcp.RequestsPerConn > 1 {
			what += fmt.Sprintf(", closed after every %d responses", spec.tcp.RequestsPerConn)
		}
		if spec.tcp.RequestSize == 0 {
			what = fmt.Sprintf("close policy %s, connect-only", spec.policy)
		}
		return srv, what, nil
	}
	srv, err := target.StartOn(spec.addr, spec.policy, target.RequestsPerConn(spec.tcp.RequestsPerConn))
	if err != nil {
		return nil, "", err
	}
	what := fmt.Sprintf("close policy %s", spec.policy)
	if spec.policy != target.KeepAlive && spec.tcp.RequestsPerConn > 1 {
		what += fmt.Sprintf(", closed after every %d responses", spec.tcp.RequestsPerConn)
	}
	return srv, fmt.Sprintf("%s; a request's %s header sets it per connection", what, target.PolicyHeader), nil
}

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SortFlags = false
	listens := fs.StringArray("listen", []string{"http://127.0.0.1:8080"},
		"a listener: http://host:port or tcp://host:port, optionally ?policy=keep-alive|close|rst or ?closer="+
			strings.ReplaceAll(loadgen.ListClosers(loadgen.Closers(), ""), ", ", "|")+", &requests_per_conn=N, and for tcp &request_size=N&response_size=N (request_size=0: connect-only); repeat for more")
	agentAddr := fs.String("agent", defaultAgentAddr, "address of the built-in agent; other than loopback it needs a token; off: no agent")
	token := fs.String("token", "", "the agent's token (default $"+tokenEnv+")")
	if err := parseFlags(fs, args, stdout, serveSynopsis); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	var specs []listenSpec
	var errs []error
	for _, raw := range *listens {
		spec, err := parseListenSpec(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		specs = append(specs, spec)
	}
	if len(errs) > 0 {
		return usageError{errors.Join(errs...)}
	}

	var servers []target.Instance
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	var ports []uint16
	for _, spec := range specs {
		srv, what, err := spec.start()
		if err != nil {
			return err
		}
		servers = append(servers, srv)
		ports = append(ports, uint16(srv.Addr().Port))
		fmt.Fprintf(stdout, "twbench serve: %s (%s)\n", srv.URL(), what)
	}
	if *agentAddr == "off" {
		<-ctx.Done()
		return nil
	}
	ln, srv, err := listenAgent(*agentAddr, tokenFrom(*token), ports, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "twbench serve: agent %s\n", agentBanner(ln, tokenFrom(*token)))
	return serveAgent(ctx, ln, srv)
}
