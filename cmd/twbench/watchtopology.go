package main

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/harness"
	"github.com/twbench/twbench/internal/netns"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
)

// watchTopology reads watch's --topology and namespace settings into a
// scenario, which checks them as it checks a scenario file's.
func watchTopology(fs *pflag.FlagSet) (scenario.Scenario, error) {
	sc := scenario.Scenario{Name: "watch"}
	for _, o := range topologyOverrides() {
		if fs.Lookup(o.flag) == nil || !fs.Changed(o.flag) {
			continue
		}
		if err := sc.Set(o.key, fs.Lookup(o.flag).Value.String()); err != nil {
			return sc, usagef("--%s: %w", o.flag, err)
		}
	}
	for _, fe := range sc.TopologyProblems() {
		flag := strings.ReplaceAll(fe.Field, "_", "-")
		if i := slices.IndexFunc(topologyOverrides(), func(o override) bool { return o.key == fe.Field }); i >= 0 {
			flag = topologyOverrides()[i].flag
		}
		return sc, usagef("--%s: %s", flag, fe.Problem())
	}
	return sc, nil
}

// checkWatchTopology refuses what a private topology cannot watch: a
// server on another host (--server-agent), and under veth a server the
// command brings itself (the command runs in the client's namespace;
// --serve's target in the server's).
func checkWatchTopology(sc scenario.Scenario, spec harness.WatchSpec, agentURL string) error {
	switch {
	case !sc.Private():
		return nil
	case agentURL != "":
		return usagef("watch: --server-agent reads a server on another host, and --topology %s runs the command inside namespaces of its own: give one or the other", sc.TopologyName())
	case sc.TopologyName() == scenario.TopologyVeth && spec.Serve == nil:
		return usagef("watch: --topology veth runs the command in the client's namespace and twbench's target in the server's: give --serve")
	}
	return nil
}

// watchIsolated runs the watched command in the topology's client
// namespace, and --serve's target in its server's, in a child process
// that draws the live line itself.
func watchIsolated(ctx context.Context, sc scenario.Scenario, spec harness.WatchSpec, opts harness.Options, progress bool,
	stdout, stderr io.Writer) (report.Run, error) {
	job := harness.Job{Topology: sc.TopologyName(), Sysctls: sc.Sysctls(), UserNamespace: netns.NeedsUserNamespace(),
		Watch: &harness.WatchJob{Argv: spec.Argv, Env: spec.Env, Dir: spec.Dir, Stdin: spec.Stdin != nil, Target: spec.Target,
			TargetURL: spec.TargetURL, Serve: spec.Serve, SampleInterval: spec.SampleInterval, Grace: spec.Grace},
		Options: harness.JobOptions{Notes: opts.Notes, SamplingOff: opts.SamplingOff, Watch: opts.Watch}}
	run, err := harness.Isolate(ctx, job, childCommand(progress, spec.Stdin, stdout, stderr))
	return run, topologyError(err)
}
