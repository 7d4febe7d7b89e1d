package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// The environment variables that stand for --shard and --start-at, so that
// a Kubernetes Indexed Job can set them from JOB_COMPLETION_INDEX.
const (
	shardEnv   = "TWBENCH_SHARD"
	startAtEnv = "TWBENCH_START_AT"
)

// maxStartAway bounds --start-at: an instant further away either way is a
// mistake, not a plan.
const maxStartAway = 24 * time.Hour

// fleetFlags are run's flags for one shard of a fleet.
type fleetFlags struct {
	shard, startAt *string
}

func addFleetFlags(fs *pflag.FlagSet) fleetFlags {
	return fleetFlags{
		shard: fs.String("shard", "", "run shard I of N of the load, I from 0 (or 1 to N): its share of -c, --rate and -n; "+
			"the expectations are left for twbench merge (default $"+shardEnv+")"),
		startAt: fs.String("start-at", "", "start the load at this instant, RFC 3339 or +DURATION from now, so that shards start together (default $"+startAtEnv+")"),
	}
}

// fleetPlan is what the fleet flags ask of a run.
type fleetPlan struct {
	shard   loadgen.Shard // zero: not a shard
	startAt time.Time     // zero: at once
	// parts holds each scenario's shard part, in the order run.
	parts []shardPart
}

// shardPart is a scenario's shard: its offset in the fleet's schedule and
// what the report records of the fleet.
type shardPart struct {
	offset time.Duration
	fleet  *report.RunShard
}

// plan reads the fleet flags, or the environment for those not given, and
// makes each scenario its shard's share.
func (f fleetFlags) plan(fs *pflag.FlagSet, scenarios []scenario.Scenario, now time.Time) (fleetPlan, error) {
	var p fleetPlan
	if text, from, ok := flagOrEnv(fs, "shard", *f.shard, shardEnv); ok {
		sh, err := loadgen.ParseShard(text)
		if err != nil {
			return p, usagef("%s %w", from, err)
		}
		p.shard = sh
	}
	if text, from, ok := flagOrEnv(fs, "start-at", *f.startAt, startAtEnv); ok {
		at, err := parseStartAt(text, now)
		if err != nil {
			return p, usagef("%s %w", from, err)
		}
		if len(scenarios) > 1 {
			return p, usagef("%s: lines up one scenario's load across shards; run one scenario per process (have %d: %s)",
				from, len(scenarios), scenarioNames(scenarios))
		}
		p.startAt = at
	}
	if p.shard.IsZero() {
		return p, nil
	}
	var errs []error
	for i := range scenarios {
		s := &scenarios[i]
		fleet := &report.RunShard{Concurrency: s.Concurrency, Rate: s.Rate, Requests: s.Requests, Expect: []report.Deferred{}}
		offset, problems := s.TakeShare(p.shard)
		for _, fe := range problems {
			errs = append(errs, fmt.Errorf("--shard %s: scenario %s: %w", p.shard, s.Name, fe))
		}
		p.parts = append(p.parts, shardPart{offset: offset, fleet: fleet})
	}
	if len(errs) > 0 {
		return p, usageError{errors.Join(errs...)}
	}
	return p, nil
}

// flagOrEnv returns the flag's value if it was given, else the
// environment variable's, and says which it was.
func flagOrEnv(fs *pflag.FlagSet, flag, value, env string) (text, from string, ok bool) {
	if fs.Changed(flag) {
		return value, "--" + flag, true
	}
	if v := os.Getenv(env); v != "" {
		return v, "$" + env, true
	}
	return "", "", false
}

// parseStartAt reads an instant: RFC 3339, or +DURATION from now.
func parseStartAt(text string, now time.Time) (time.Time, error) {
	text = strings.TrimSpace(text)
	var at time.Time
	if rest, ok := strings.CutPrefix(text, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return at, fmt.Errorf("%q: want an RFC 3339 time, such as 2026-05-04T12:00:00Z, or +DURATION from now, such as +10s", text)
		}
		at = now.Add(d)
	} else {
		var err error
		if at, err = time.Parse(time.RFC3339Nano, text); err != nil {
			return at, fmt.Errorf("%q: want an RFC 3339 time, such as 2026-05-04T12:00:00Z, or +DURATION from now, such as +10s", text)
		}
	}
	if away := at.Sub(now); away > maxStartAway || away < -maxStartAway {
		return at, fmt.Errorf("%q is %v from now: want an instant within %v", text, away.Round(time.Second), maxStartAway)
	}
	return at, nil
}

// sharded reports whether the run is a shard of a fleet.
func (p *fleetPlan) sharded() bool { return !p.shard.IsZero() }

// apply sets the options of the i-th scenario's run.
func (p *fleetPlan) apply(i int, opts *measureOptions) {
	opts.startAt = p.startAt
	if i < len(p.parts) {
		opts.offset, opts.shard = p.parts[i].offset, p.parts[i].fleet
	}
}

// info says which shard the report is, and where it ran; nil if not a
// shard.
func (p *fleetPlan) info() *report.ShardInfo {
	if !p.sharded() {
		return nil
	}
	info := &report.ShardInfo{Index: p.shard.Index, Count: p.shard.Count}
	info.Hostname, _ = os.Hostname()
	info.Netns, _ = sockstat.NetNamespace() // empty where unknown: merge then goes by the host's name
	return info
}

// deferChecks records a shard's expectations for merge instead of checking
// them: they are the fleet's, and a shard's share would not meet them.
func (p *fleetPlan) deferChecks(run *report.Run, checks []*report.Check) {
	if run.Shard == nil || len(checks) == 0 {
		return
	}
	for _, c := range checks {
		run.Shard.Expect = append(run.Shard.Expect, report.Deferred{Expr: c.Expr, Source: c.Source})
	}
	run.Notes = append(run.Notes, fmt.Sprintf(
		"shard %s: its %d expectations are the fleet's: twbench merge checks them on the merged figures", p.shard, len(checks)))
}

func scenarioNames(scenarios []scenario.Scenario) string {
	names := make([]string, len(scenarios))
	for i := range scenarios {
		names[i] = scenarios[i].Name
	}
	return strings.Join(names, ", ")
}

// toStdout reads -o - as the report to stdout, alone, in --format or else
// JSON: what a pod writes for `kubectl logs | twbench merge -`.
func toStdout(output, format *string) {
	if *output != "-" {
		return
	}
	*output = ""
	if *format == "" {
		*format = "json"
	}
}
