package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/twbench/twbench/harness"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

const watchSynopsis = "twbench watch [flags] -- COMMAND [ARG...]"

// errCommandFailed is a watched command that failed: exit code 3, the
// report written. Its expectations may all have held: the load was not
// what was asked for all the same.
var errCommandFailed = errors.New("watch: the command failed")

func watchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("watch", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetInterspersed(false) // what follows the command is its own
	targetFlag := fs.String("target", "", "the server end to watch: ADDR:PORT, or a URL with an IP address (default: the first http:// URL among the command's arguments)")
	serve := fs.String("serve", "", "start twbench's built-in target for the command, and put its {url}, {addr} and {port} in the command's arguments: "+scenario.ListenerSyntax())
	watches := fs.StringArray("watch", nil, watchHelp)
	serverAgent := fs.String("server-agent", "", "read the server end from the twbench agent at this URL (http://host:9911); its token from $TWBENCH_TOKEN")
	interval := fs.Duration("sample-interval", scenario.DefaultSampleInterval, "socket-state sampling interval")
	grace := fs.Duration("grace", harness.DefaultGrace, "on Ctrl-C or SIGTERM the command's process group gets SIGINT, and SIGKILL this long after")
	format := fs.String("format", "", formatHelp())
	output := fs.StringP("output", "o", "", "write the report to this file, created when the command has ended; the text table still goes to stdout")
	noProgress := fs.Bool("no-progress", false, "no live line under the command's output (it only ever shows when stderr is a terminal)")
	expects := fs.StringArray("expect", nil, "an expectation over the report, such as 'watch.first_close == \"server\"' (repeatable)")
	topologyFlags(fs)
	if err := parseFlags(fs, args, stdout, watchSynopsis); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return usagef("watch: no command given: %s", watchSynopsis)
	}
	topology, err := watchTopology(fs)
	if err != nil {
		return err
	}
	spec, opts, err := watchSetup(fs, argv, *targetFlag, *serve, *watches, *serverAgent)
	if err != nil {
		return err
	}
	if err := checkWatchTopology(topology, spec, *serverAgent); err != nil {
		return err
	}
	outFormat, err := resolveFormat(*format, *output)
	if err != nil {
		return err
	}
	if *interval < scenario.MinSampleInterval {
		return usagef("--sample-interval %v: at least %v", *interval, scenario.MinSampleInterval)
	}
	if *grace <= 0 {
		return usagef("--grace %v: want a duration above 0", *grace)
	}
	checks, err := flagChecks(*expects)
	if err != nil {
		return err
	}
	if err := checkOutputPath(*output); err != nil {
		return err
	}

	spec.SampleInterval, spec.Grace = *interval, *grace
	host, hostErr := sockstat.ReadHost()
	if hostErr != nil {
		opts.Notes = append(opts.Notes, "host settings not read: "+hostErr.Error())
	}
	opts.Host, opts.Files, opts.TimeWaitObject = host, raiseFileLimit(), sockstat.ReadTimeWaitObject()
	line := newLiveLine(stderr, !*noProgress && isTerminal(stderr))
	spec.Stdout, spec.Stderr, spec.Stdin = line, line, commandStdin()
	opts.Observer = status{w: stderr, bar: !*noProgress && isTerminal(stderr), line: line}

	var run report.Run
	if topology.Private() {
		run, err = watchIsolated(ctx, topology, spec, opts, !*noProgress && isTerminal(stderr), stdout, stderr)
	} else {
		run, err = harness.Watch(ctx, spec, opts)
	}
	if errors.Is(err, harness.ErrStart) {
		return usagef("watch: %w", err)
	}
	if err != nil {
		return err
	}
	unmet := checkRun(&run, checks)
	rep := &report.Report{Schema: report.Schema, Version: version(), Host: host, Runs: []report.Run{run}}
	var out *reportFile
	if *output != "" {
		if out, err = createReportFile(*output); err != nil {
			_ = outFormat.Write(stdout, rep) // the report must not be lost
			return fmt.Errorf("write report: %w", err)
		}
		defer out.discard()
	}
	if err := writeReport(rep, outFormat, out, stdout); err != nil && !stdoutGone(err) {
		return err
	}
	switch {
	case ctx.Err() != nil:
		return errInterrupted
	case commandFailed(run.Watch) != "":
		return errors.Join(append([]error{fmt.Errorf("%w: %s", errCommandFailed, commandFailed(run.Watch))}, unmet...)...)
	case len(unmet) > 0:
		return expectationError{errors.Join(unmet...)}
	}
	return nil
}

// watchSetup turns watch's flags into what the harness takes, checking
// each: the target (given, served, or the command's own URL), the
// --watch endpoints, the agent.
func watchSetup(fs *pflag.FlagSet, argv []string, targetFlag, serve string, watches []string, agentURL string) (harness.WatchSpec, harness.Options, error) {
	spec := harness.WatchSpec{Argv: argv}
	var opts harness.Options
	var err error
	if opts.Watch, err = parseWatched(watches); err != nil {
		return spec, opts, err
	}
	if opts.Agent, err = agentClient(agentURL); err != nil {
		return spec, opts, err
	}
	switch {
	case targetFlag != "" && serve != "":
		return spec, opts, usagef("watch: --target names a server of yours, --serve starts twbench's: give one, not both")
	case serve != "":
		l, err := scenario.ParseListener(serve)
		if err != nil {
			return spec, opts, usagef("--serve %w", err)
		}
		spec.Serve = &l
		return spec, opts, nil
	case targetFlag == "":
		if u, ok := targetInArgs(argv[1:]); ok {
			targetFlag = u
		} else if len(opts.Watch) == 0 {
			return spec, opts, usagef("watch: nothing to watch: give --target, --serve or --watch, or a URL among the command's arguments")
		} else {
			return spec, opts, nil
		}
	}
	if spec.Target, err = parseTarget(targetFlag); err != nil {
		if !fs.Changed("target") {
			return spec, opts, usagef("watch: the command's URL %q: %w (give --target ADDR:PORT)", targetFlag, err)
		}
		return spec, opts, usagef("watch: --target %q: %w", targetFlag, err)
	}
	spec.TargetURL = targetFlag
	return spec, opts, nil
}

// checkOutputPath checks, before the command runs, that -o can be
// written where it says, without creating anything: the file is created
// when the command has ended, so that a command that cannot be started
// leaves nothing behind.
func checkOutputPath(path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usagef("-o %s: is a directory", path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return usagef("-o %s: %w", path, err)
	case !fi.IsDir():
		return usagef("-o %s: %s is not a directory", path, dir)
	}
	return nil
}

// commandFailed says how a watched command failed; "" if it exited 0 or
// twbench stopped it.
func commandFailed(w *report.Watch) string {
	switch {
	case w == nil:
		return ""
	case w.Signal != "":
		return "it was ended by " + w.Signal + lastLine(w.Output.Stderr)
	case w.ExitCode != nil && *w.ExitCode != 0:
		return fmt.Sprintf("it exited with status %d%s", *w.ExitCode, lastLine(w.Output.Stderr))
	}
	return ""
}

// lastLine quotes the last line of a command's stderr, if it wrote any.
func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return fmt.Sprintf(" (%q)", l)
		}
	}
	return ""
}

// commandStdin is the watched command's input: twbench's, unless that is
// a terminal, which a command in a process group of its own cannot read.
func commandStdin() io.Reader {
	if term.IsTerminal(int(os.Stdin.Fd())) {
		return nil
	}
	return os.Stdin
}
