package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// Exit codes.
const (
	exitOK          = 0
	exitExpectation = 1 // an expectation or a comparison failed
	exitUsage       = 2 // bad usage or input
	exitRunFailed   = 3 // the run itself failed
	exitInterrupted = 130
)

// usageError is bad usage or input: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errInterrupted reports a run cut short by a signal; the report was
// still written.
var errInterrupted = errors.New("interrupted: the report covers the run up to the interruption")

// errQuietExit ends the process with a code and nothing printed.
type errQuietExit int

func (e errQuietExit) Error() string { return "" }

func exitCode(err error) int {
	var ue usageError
	var qe errQuietExit
	var ee expectationError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &qe):
		return int(qe)
	case errors.As(err, &ee):
		return exitExpectation
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	}
	return exitRunFailed
}

const usage = `twbench measures what closing connections costs: which end closed first,
TIME_WAIT on the client and on the server, and ephemeral ports per request.

Usage:
  twbench run [SCENARIO...] [flags]   run scenarios (default: the built-in suite)
  twbench watch [flags] -- CMD [ARG...]
                                      run any load tool (ab, wrk, hey...) and sample both ends
  twbench list [-f FILE]              list the scenarios in the catalogue
  twbench serve [--listen URL]...     the built-in target as a server, with its agent
  twbench agent [--listen ADDR]       serve this host's socket states to runs and Prometheus
  twbench compare BASE.json HEAD.json compare two JSON reports; exit 1 on a regression
  twbench merge REPORT...             merge the reports of a fleet's shards (run --shard)
  twbench plan [--rate R | --table]   capacity planning from settings or a measured --from report
  twbench version                     print the version
  twbench help [COMMAND]              show help

Run 'twbench run --help' for the run flags, 'twbench watch --help' for watch's.
`

// run is the whole command, with main's process-wide effects (signals,
// exit) left out so tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return runCmd(ctx, rest, stdout, stderr)
	case "watch":
		return watchCmd(ctx, rest, stdout, stderr)
	case "list":
		return listCmd(rest, stdout, stderr)
	case "agent":
		return agentCmd(ctx, rest, stdout, stderr)
	case "serve":
		return serveCmd(ctx, rest, stdout, stderr)
	case "compare":
		return compareCmd(ctx, rest, stdout)
	case "merge":
		return mergeCmd(ctx, rest, os.Stdin, stdout)
	case "plan":
		return planCmd(ctx, rest, stdout)
	case jobCommand:
		return jobCmd(ctx, rest, stdout, stderr)
	case "version", "--version":
		if len(rest) > 0 {
			return usagef("version: unexpected argument %q", rest[0])
		}
		return versionCmd(stdout)
	case "help", "-h", "--help":
		if len(rest) > 0 && rest[0] != "help" {
			return run(ctx, []string{rest[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usagef("unknown command %q", cmd)
}

// parseFlags parses args, printing the flags on --help.
func parseFlags(fs *pflag.FlagSet, args []string, stdout io.Writer, synopsis string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintf(stdout, "Usage:\n  %s\n\nFlags:\n%s", synopsis, fs.FlagUsages())
		return errQuietExit(exitOK)
	}
	if err != nil {
		return usagef("%s: %w", fs.Name(), err)
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
