package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/target"
)

const serveSynopsis = "twbench serve [--listen URL]... [--agent ADDR|off] [--token TOKEN]"

// listenSpec is one listener of `twbench serve`:
// http://host:port?policy=close, or ?closer=server in the closers' words.
type listenSpec struct {
	raw    string
	scheme string
	addr   string
	policy target.Policy
}

// parseListenSpec parses a --listen value. The scheme names the listener's
// kind; only http is served in this version.
func parseListenSpec(raw string) (listenSpec, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return listenSpec{}, fmt.Errorf("--listen %q: want http://host:port, with ?policy=keep-alive|close|rst or ?closer=...", raw)
	}
	spec := listenSpec{raw: raw, scheme: u.Scheme, addr: u.Host, policy: target.KeepAlive}
	switch u.Scheme {
	case "http":
	case "tcp":
		return listenSpec{}, fmt.Errorf("--listen %q: raw TCP listeners are not in this version (http)", raw)
	default:
		return listenSpec{}, fmt.Errorf("--listen %q: unknown listener kind %q (http)", raw, u.Scheme)
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
		if k != "policy" && k != "closer" {
			return listenSpec{}, fmt.Errorf("--listen %q: unknown option %q (policy, closer)", raw, k)
		}
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
		if loadgen.Supports(loadgen.HTTP11, closer) != nil {
			return listenSpec{}, fmt.Errorf("--listen %q: closer %q: want client, server, client-rst, server-rst or none", raw, c)
		}
		sc := scenario.Scenario{Closer: closer}
		spec.policy = sc.ServerPolicy()
	}
	return spec, nil
}

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SortFlags = false
	listens := fs.StringArray("listen", []string{"http://127.0.0.1:8080"},
		"a listener: http://host:port, optionally ?policy=keep-alive|close|rst or ?closer=server|server-rst|...; repeat for more")
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

	var servers []*target.Server
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	var ports []uint16
	for _, spec := range specs {
		srv, err := target.StartOn(spec.addr, spec.policy)
		if err != nil {
			return err
		}
		servers = append(servers, srv)
		ports = append(ports, uint16(srv.Addr().Port))
		fmt.Fprintf(stdout, "twbench serve: %s (close policy %s; a request's %s header sets it per connection)\n",
			srv.URL(), spec.policy, target.PolicyHeader)
	}
	if *agentAddr == "off" {
		<-ctx.Done()
		return nil
	}
	ln, agent, err := listenAgent(*agentAddr, tokenFrom(*token), ports, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "twbench serve: agent %s\n", agentBanner(ln, tokenFrom(*token)))
	return serveAgent(ctx, ln, agent)
}
