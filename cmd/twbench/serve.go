package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/target"
)

const serveSynopsis = "twbench serve [--listen URL]... [--agent ADDR|off] [--token TOKEN]"

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SortFlags = false
	listens := fs.StringArray("listen", []string{"http://127.0.0.1:8080"},
		"a listener: "+scenario.ListenerSyntax()+"; repeat for more")
	agentAddr := fs.String("agent", defaultAgentAddr, "address of the built-in agent; other than loopback it needs a token; off: no agent")
	token := fs.String("token", "", "the agent's token (default $"+tokenEnv+")")
	if err := parseFlags(fs, args, stdout, serveSynopsis); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	var listeners []target.Listener
	var errs []error
	for _, raw := range *listens {
		l, err := scenario.ParseListener(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("--listen %w", err))
			continue
		}
		listeners = append(listeners, l)
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
	for _, l := range listeners {
		srv, err := l.Start()
		if err != nil {
			return err
		}
		servers = append(servers, srv)
		ports = append(ports, uint16(srv.Addr().Port))
		fmt.Fprintf(stdout, "twbench serve: %s (%s)\n", srv.URL(), l.Describe())
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
