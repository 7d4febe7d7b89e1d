package main

import (
	"context"
	"io"
	"time"

	"github.com/twbench/twbench/agent"
	"github.com/twbench/twbench/harness"
	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// measureOptions are what run gives every scenario it measures.
type measureOptions struct {
	progress bool          // draw a progress bar on status
	status   io.Writer     // where a line per scenario goes (stderr)
	notes    []string      // notes for every run
	host     sockstat.Host // the host's settings, read once for the whole run
	files    harness.FileLimit
	// agent, if set, reads the server end from a remote twbench agent.
	agent *agent.Client
	// noSampling turns socket-state sampling off (--no-sampling).
	noSampling bool
	// startAt, offset and shard make the run a shard of a fleet
	// (fleetPlan.apply).
	startAt time.Time
	offset  time.Duration
	shard   *report.RunShard
	// watch are the --watch endpoints.
	watch []harness.Endpoint
	// twObject is the size of a TIME_WAIT socket in the kernel.
	twObject sockstat.TimeWaitObject
	// client drives the connections (--client).
	client loadgen.Client
}

// samplingOff is why an end was not sampled when sampling was turned off.
const samplingOff = "turned off with --no-sampling"

// measure runs one scenario with the harness, which tells status what it
// is doing.
func measure(ctx context.Context, sc scenario.Scenario, opts measureOptions) (report.Run, error) {
	if sc.Private() {
		return measureIsolated(ctx, sc, opts)
	}
	hopts := harness.Options{
		Host:           opts.host,
		Notes:          opts.notes,
		Files:          opts.files,
		Agent:          opts.agent,
		Observer:       status{w: opts.status, bar: opts.progress},
		StartAt:        opts.startAt,
		Offset:         opts.offset,
		Shard:          opts.shard,
		Watch:          opts.watch,
		TimeWaitObject: opts.twObject,
		Client:         opts.client,
	}
	if opts.noSampling {
		hopts.SamplingOff = samplingOff
	}
	return harness.Measure(ctx, sc, hopts)
}
