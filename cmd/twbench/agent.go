package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/agent"
)

// tokenEnv is the environment variable that holds the agent's token, for
// `twbench agent`/`serve` and for `twbench run --server-agent`.
const tokenEnv = "TWBENCH_TOKEN"

// defaultAgentAddr is where an agent listens unless told otherwise:
// loopback, where it needs no token.
const defaultAgentAddr = "127.0.0.1:9911"

// minTokenLen is the shortest token an agent on a non-loopback address
// accepts.
const minTokenLen = 16

const agentSynopsis = "twbench agent [--listen ADDR] [--token TOKEN] [--port P,...]"

func agentCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
	fs.SortFlags = false
	listen := fs.String("listen", defaultAgentAddr, "address to serve the agent's API on; other than loopback it needs a token")
	token := fs.String("token", "", "require this token (Authorization: Bearer TOKEN) on every request (default $"+tokenEnv+")")
	ports := fs.UintSlice("port", nil, "ports always reported on /metrics, e.g. the server's 80,443 (a run's ports are reported while it streams them)")
	if err := parseFlags(fs, args, stdout, agentSynopsis); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("agent: unexpected argument %q", fs.Arg(0))
	}
	var watch []uint16
	for _, p := range *ports {
		if p == 0 || p > 65535 {
			return usagef("--port %d: want 1 to 65535", p)
		}
		watch = append(watch, uint16(p))
	}
	ln, srv, err := listenAgent(*listen, tokenFrom(*token), watch, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "twbench agent: %s\n", agentBanner(ln, tokenFrom(*token)))
	return serveAgent(ctx, ln, srv)
}

// tokenFrom returns the token given on the command line, or else the one
// in the environment.
func tokenFrom(flag string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv(tokenEnv)
}

// listenAgent checks the agent's address and token and starts listening.
func listenAgent(addr, token string, ports []uint16, logTo io.Writer) (net.Listener, *agent.Server, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, usagef("--listen %q: want host:port, e.g. %s", addr, defaultAgentAddr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, nil, usagef("--listen %q: port %q is not a TCP port", addr, port)
	}
	if !loopbackHost(host) {
		switch {
		case token == "":
			return nil, nil, usagef("--listen %s is not a loopback address: give a --token (or $%s) of at least %d characters, which every request must then carry", addr, tokenEnv, minTokenLen)
		case len(token) < minTokenLen:
			return nil, nil, usagef("--token: %d characters; on a non-loopback address at least %d", len(token), minTokenLen)
		}
	}
	a, err := agent.New(agent.Config{
		Token: token,
		Ports: ports,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(logTo, "%s twbench agent: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
		},
	})
	if err != nil {
		return nil, nil, usageError{err}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("agent: %w", err)
	}
	return ln, a, nil
}

// loopbackHost reports whether a listen address's host is loopback only.
// An empty host or an unspecified address listens on every interface.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

func agentBanner(ln net.Listener, token string) string {
	auth := "no token: loopback only"
	if token != "" {
		auth = "token required"
	}
	return fmt.Sprintf("listening on http://%s (%s; %s, %s, %s)", ln.Addr(), auth, agent.PathSeries, agent.PathHost, agent.PathMetrics)
}

// serveAgent serves the agent on ln until ctx is done, then ends its
// streams and returns.
func serveAgent(ctx context.Context, ln net.Listener, a *agent.Server) error {
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    agent.MaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("agent: serve: %w", err)
	case <-ctx.Done():
	}
	cancel() // ends the streams, whose requests would keep Shutdown waiting
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("agent: shut down: %w", err)
	}
	return nil
}

// agentClient returns the client for run's --server-agent, or nil.
func agentClient(rawURL string) (*agent.Client, error) {
	if rawURL == "" {
		return nil, nil
	}
	c, err := agent.NewClient(strings.TrimSpace(rawURL), os.Getenv(tokenEnv))
	if err != nil {
		return nil, usagef("--server-agent: %w", err)
	}
	return c, nil
}
