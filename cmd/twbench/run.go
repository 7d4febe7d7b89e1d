package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

// override is a run flag that overrides a scenario field, and the field's
// key in a scenario file.
type override struct{ flag, key string }

func overrideFlags() []override {
	return append([]override{
		{"target", "target"},
		{"protocol", "protocol"},
		{"closer", "closer"},
		{"concurrency", "concurrency"},
		{"rate", "rate"},
		{"duration", "duration"},
		{"requests", "requests"},
		{"timeout", "timeout"},
		{"sample-interval", "sample_interval"},
		{"request-size", "request_size"},
		{"response-size", "response_size"},
		{"requests-per-conn", "requests_per_conn"},
		{"half-close", "half_close"},
		{"client-port-range", "client_port_range"},
		{"source", "source"},
		{"max-header-bytes", "max_header_bytes"},
		{"max-body-bytes", "max_body_bytes"},
	}, topologyOverrides()...)
}

const runSynopsis = "twbench run [SCENARIO...] [flags]"

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SortFlags = false
	file := fs.StringP("file", "f", "", "scenario catalogue (default: the embedded scenarios.yaml)")
	all := fs.Bool("all", false, "run every scenario in the catalogue, not only its default suite")
	suites := fs.StringArray("suite", nil, "run the catalogue's suite NAME, such as mitigations (repeatable)")
	fs.String("target", "", "http://host:port/path or tcp://host:port to load (default: the built-in target on 127.0.0.1)")
	fs.String("protocol", "", loadgen.ProtocolHelp())
	fs.String("closer", "", "who sends the first FIN: "+loadgen.CloserHelp())
	fs.IntP("concurrency", "c", 0, "connections in flight: closed loop, or the cap in open loop (default 64)")
	fs.Float64("rate", 0, "open-loop arrivals per second; 0 = closed loop")
	fs.DurationP("duration", "d", 0, "how long to send requests (default 10s unless -n is given)")
	fs.Int64P("requests", "n", 0, "how many requests to send; the run stops at -d or -n, whichever comes first")
	fs.Duration("timeout", 0, "per-request timeout, from connect to the server's close (default 10s)")
	fs.Duration("sample-interval", 0, "socket-state sampling interval (default 100ms)")
	fs.Int("request-size", 0, "tcp: bytes the client sends per request (default 64)")
	fs.Int("response-size", 0, "tcp: bytes the server answers per request (default 64)")
	fs.Int("requests-per-conn", 0, "requests per connection before the closer closes it (default 1; none: the whole run)")
	fs.Bool("half-close", false, "closer client: shutdown(SHUT_WR) after the last request, then read to EOF")
	fs.String("client-port-range", "", "per-socket ephemeral port range LO-HI (IP_LOCAL_PORT_RANGE, Linux 6.3+)")
	fs.String("source", "", "local addresses to spread connections over, ADDR,ADDR,...")
	fs.Int("max-header-bytes", 0, fmt.Sprintf("the most a response's header block may take: past it, header_too_large (default %d)", loadgen.DefaultMaxHeaderBytes))
	fs.Int64("max-body-bytes", 0, fmt.Sprintf("the most a response's body may take, discarded as it comes: past it, body_too_large (default %d)", loadgen.DefaultMaxBodyBytes))
	topologyFlags(fs)
	fs.Bool("proxy", false, "put the built-in reverse proxy between the client and the built-in target; its upstream is watched as \"upstream\"")
	fs.Bool("upstream-keepalive", false, "with --proxy: reuse upstream connections (without: one per request, over HTTP/1.0, closed by the upstream)")
	format := fs.String("format", "", formatHelp())
	output := fs.StringP("output", "o", "", "write the report to this file; the text table still goes to stdout")
	noProgress := fs.Bool("no-progress", false, "no progress bar (it only ever shows when stderr is a terminal)")
	noSampling := fs.Bool("no-sampling", false, "no socket-state sampling: the load alone, to measure what sampling costs it")
	watches := fs.StringArray("watch", nil, watchHelp)
	client := fs.String("client", "", "what drives the connections: eventloop (epoll, Linux's default) or goroutine (Go's net package)")
	serverAgent := fs.String("server-agent", "", "read the server end from the twbench agent at this URL (http://host:9911); its token from $TWBENCH_TOKEN")
	expects := fs.StringArray("expect", nil, "an expectation over every scenario's report, such as 'server.time_wait_per_request > 0.9' (repeatable)")
	fleet := addFleetFlags(fs)
	if err := parseFlags(fs, args, stdout, runSynopsis); err != nil {
		return err
	}
	toStdout(output, format)

	outFormat, err := resolveFormat(*format, *output)
	if err != nil {
		return err
	}
	loadClient, err := loadgen.ParseClient(*client)
	if err != nil {
		return usagef("--client %w", err)
	}
	if *all && (fs.NArg() > 0 || len(*suites) > 0) {
		return usagef("run: --all runs every scenario; name scenarios or suites, or give --all, not both")
	}
	if *noSampling {
		for _, f := range []string{"server-agent", "sample-interval", "watch"} {
			if fs.Changed(f) {
				return usagef("run: --no-sampling turns sampling off; give --%s or --no-sampling, not both", f)
			}
		}
	}
	host, hostErr := sockstat.ReadHost()
	scenarios, err := selectScenarios(fs, *file, selection{all: *all, suites: *suites}, host)
	if err != nil {
		return err
	}
	plan, err := fleet.plan(fs, scenarios, time.Now())
	if err != nil {
		return err
	}
	if err := topologyChecks(scenarios, *serverAgent); err != nil {
		return err
	}
	agent, err := agentClient(*serverAgent)
	if err != nil {
		return err
	}
	watched, err := parseWatched(*watches)
	if err != nil {
		return err
	}
	extraChecks, err := flagChecks(*expects)
	if err != nil {
		return err
	}
	// The report's file is opened last of all the checks, and first
	// before the load: a path that cannot be written fails now.
	var out *reportFile
	if *output != "" {
		if out, err = createReportFile(*output); err != nil {
			return usagef("-o: %w", err)
		}
		defer out.discard()
	}

	rep := &report.Report{Schema: report.Schema, Version: version(), Host: host, Runs: []report.Run{}, Shard: plan.info()}
	opts := measureOptions{progress: !*noProgress && isTerminal(stderr), status: stderr, host: host, agent: agent,
		noSampling: *noSampling, watch: watched, twObject: sockstat.ReadTimeWaitObject(), client: loadClient}
	if hostErr != nil {
		opts.notes = append(opts.notes, "host settings not read: "+hostErr.Error())
	}
	opts.files = raiseFileLimit()
	if err := probeTopologies(ctx, scenarios, stderr); err != nil {
		return err
	}
	var failures, unmet []error
	for i, sc := range scenarios {
		if ctx.Err() != nil {
			break
		}
		plan.apply(i, &opts)
		run, err := measure(ctx, sc, opts)
		if err != nil {
			failures = append(failures, fmt.Errorf("scenario %s: %w", sc.Name, err))
			continue
		}
		checks, _ := scenarioChecks(&sc, new(report.Compiler)) // compiled once already, when the catalogue was loaded
		if checks = append(checks, extraChecks...); plan.sharded() {
			plan.deferChecks(&run, checks)
		} else {
			unmet = append(unmet, checkRun(&run, checks)...)
		}
		rep.Runs = append(rep.Runs, run)
		if run.Requests == 0 && !run.Interrupted {
			failures = append(failures, fmt.Errorf("scenario %s: %s", sc.Name, noRequest(&run)))
		}
	}
	report.LinkRemedies(rep.Runs)

	if err := writeReport(rep, outFormat, out, stdout); err != nil && !stdoutGone(err) {
		return err
	}
	switch {
	case ctx.Err() != nil:
		return errInterrupted
	case len(failures) > 0:
		return errors.Join(append(failures, unmet...)...)
	case len(unmet) > 0:
		return expectationError{errors.Join(unmet...)}
	}
	return nil
}

// writeReport writes the report: to out in format, and as text to stdout;
// or, without out, to stdout in format.
func writeReport(rep *report.Report, format report.Format, out *reportFile, stdout io.Writer) error {
	write := func(w io.Writer) error { return format.Write(w, rep) }
	if out == nil {
		return write(stdout)
	}
	if err := out.commit(write); err != nil {
		// The report must not be lost: it still goes to stdout.
		_ = write(stdout)
		return err
	}
	return report.WriteText(stdout, rep)
}

// noRequest says why a run that was not interrupted answered no request.
func noRequest(run *report.Run) string {
	var errs int64
	for _, n := range run.Errors {
		errs += n
	}
	switch {
	case errs > 0:
		return "no request succeeded" + firstError(run)
	case run.CutOff != nil && run.CutOff.AtEnd > 0:
		return fmt.Sprintf("no request was answered within the run's %s: %s in flight were cut off at its end",
			run.Scenario.Duration, strconv.FormatInt(run.CutOff.AtEnd, 10))
	}
	return fmt.Sprintf("no request was answered within the run's %s", run.Scenario.Duration)
}

// firstError describes the run's most frequent error.
func firstError(run *report.Run) string {
	var top string
	var n int64
	for _, class := range slices.Sorted(maps.Keys(run.Errors)) {
		if c := run.Errors[class]; c > n {
			top, n = class, c
		}
	}
	if n == 0 {
		return ""
	}
	msg := fmt.Sprintf(" (%s × %d", top, n)
	if ex := run.ErrorExamples[top]; ex != "" {
		msg += ": " + ex
	}
	return msg + ")"
}
