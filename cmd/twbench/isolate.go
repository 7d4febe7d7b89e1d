package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/harness"
	"github.com/twbench/twbench/internal/netns"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// jobCommand is the hidden subcommand twbench starts itself with to run a
// job in private namespaces (harness.Isolate).
const jobCommand = "__job"

// topologyFlags adds --topology and the namespace settings' flags to fs:
// run's and watch's, from the tables that define them.
func topologyFlags(fs *pflag.FlagSet) {
	var names []string
	for _, t := range scenario.Topologies() {
		names = append(names, t.Name+" ("+t.What+")")
	}
	fs.String("topology", "", "where the client and the built-in target run: "+strings.Join(names, "; ")+" (docs/topologies.md)")
	for _, n := range scenario.NamespaceSettings() {
		fs.String(n.Flag(), "", n.Help+"; with --topology netns or veth only")
	}
}

// topologyOverrides are the run flags of topologyFlags and the proxy, as
// scenario overrides.
func topologyOverrides() []override {
	o := []override{{"topology", "topology"}}
	for _, n := range scenario.NamespaceSettings() {
		o = append(o, override{n.Flag(), n.Key})
	}
	return append(o, override{"proxy", "proxy"}, override{"upstream-keepalive", "upstream_keepalive"})
}

// childCommand is how a job's child process is started: this binary
// again, with the hidden subcommand.
func childCommand(progress bool, stdin io.Reader, stdout, stderr io.Writer) harness.ChildCommand {
	args := []string{jobCommand}
	if progress {
		args = append(args, "--progress")
	}
	return harness.ChildCommand{Path: "/proc/self/exe", Name: "twbench", Args: args, Stdin: stdin, Stdout: stdout, Stderr: stderr}
}

// probeTopologies makes the most demanding topology among the
// scenarios' once, before anything runs, so that a host that refuses
// namespaces is told at once, in one line, with exit code 2.
func probeTopologies(ctx context.Context, scenarios []scenario.Scenario, stderr io.Writer) error {
	topology := ""
	for _, sc := range scenarios {
		switch sc.TopologyName() {
		case scenario.TopologyVeth:
			topology = scenario.TopologyVeth
		case scenario.TopologyNetns:
			if topology == "" {
				topology = scenario.TopologyNetns
			}
		}
	}
	if topology == "" {
		return nil
	}
	job := harness.Job{Topology: topology, UserNamespace: netns.NeedsUserNamespace(), Probe: true}
	_, err := harness.Isolate(ctx, job, childCommand(false, nil, io.Discard, stderr))
	return topologyError(err)
}

// topologyError makes refused namespaces bad usage: exit code 2.
func topologyError(err error) error {
	var ue *harness.UnavailableError
	if errors.As(err, &ue) {
		return usageError{err}
	}
	return err
}

// measureIsolated runs a scenario in private namespaces: in a child
// process, which draws the status line and progress bar itself.
func measureIsolated(ctx context.Context, sc scenario.Scenario, opts measureOptions) (report.Run, error) {
	job := harness.Job{Topology: sc.TopologyName(), Sysctls: sc.Sysctls(), UserNamespace: netns.NeedsUserNamespace(),
		Scenario: &sc, Options: harness.JobOptions{Notes: opts.notes, StartAt: opts.startAt, Offset: opts.offset,
			Shard: opts.shard, Watch: opts.watch, Client: opts.client}}
	if opts.noSampling {
		job.Options.SamplingOff = samplingOff
	}
	run, err := harness.Isolate(ctx, job, childCommand(opts.progress, nil, os.Stdout, opts.status))
	return run, topologyError(err)
}

// jobCmd is the child's side: it runs the job it was started with and
// sends its outcome back. Its status line and progress bar, and a watched
// command's output, go to the terminal as the parent's would.
func jobCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet(jobCommand, pflag.ContinueOnError)
	progress := fs.Bool("progress", false, "draw the progress bar or live line")
	if err := parseFlags(fs, args, stdout, "twbench "+jobCommand+" (started by twbench itself)"); err != nil {
		return err
	}
	job, err := harness.ReadJob()
	if err != nil {
		return err
	}
	opts := harness.Options{Files: raiseFileLimit(), TimeWaitObject: sockstat.ReadTimeWaitObject()}
	stdio := harness.Stdio{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr}
	if job.Watch != nil {
		line := newLiveLine(stderr, *progress)
		stdio.Stdout, stdio.Stderr = line, line
		opts.Observer = status{w: stderr, bar: *progress, line: line}
	} else {
		opts.Observer = status{w: stderr, bar: *progress}
	}
	if err := harness.RunJob(ctx, job, opts, stdio); err != nil {
		return fmt.Errorf("%s: %w", jobCommand, err)
	}
	return nil
}

// topologyChecks refuses what a private topology cannot do: read the
// server end from an agent (the server is inside).
func topologyChecks(scenarios []scenario.Scenario, agentURL string) error {
	for _, sc := range scenarios {
		if sc.Private() && agentURL != "" {
			return usagef("run: --server-agent reads a server on another host, and scenario %s runs its server inside topology %s: give one or the other",
				sc.Name, sc.TopologyName())
		}
	}
	return nil
}
