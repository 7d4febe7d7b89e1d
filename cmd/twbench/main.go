// Twbench is a load generator whose subject is how connections close: which
// end sends the first FIN, how many sockets that leaves in TIME_WAIT on the
// client and on the server, and how many ephemeral ports each request
// costs. It measures throughput and latency too, side by side with those.
//
// Usage:
//
//	twbench run [SCENARIO...] [flags]
//	twbench watch [flags] -- COMMAND [ARG...]
//	twbench list [-f FILE]
//	twbench serve [--listen URL]... [--agent ADDR|off]
//	twbench agent [--listen ADDR] [--token TOKEN]
//	twbench compare BASE.json HEAD.json [--max-regression 5%]
//	twbench merge REPORT... [-o FILE] [--expect EXPR]...
//	twbench plan [--rate R --closer C | --table | --from REPORT.json]
//	twbench version
//
// Run `twbench help` or see README.md for the flags and the report.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// A closed stdout (twbench run | head) makes writes fail with EPIPE
	// instead of killing the process, so that the run's own exit code,
	// and its failed expectations on stderr, survive.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one kills the process as usual.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var quiet errQuietExit
	if err != nil && !errors.As(err, &quiet) {
		fmt.Fprintln(os.Stderr, "twbench:", err)
	}
	os.Exit(exitCode(err))
}
