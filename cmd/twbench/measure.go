package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/twbench/twbench/agent"
	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
	"github.com/twbench/twbench/target"
)

// tail is how long sampling goes on after the load, to see the last
// connections through their closing states.
const tail = time.Second

type measureOptions struct {
	progress bool          // draw a progress bar on status
	status   io.Writer     // where a line per scenario goes (stderr)
	notes    []string      // notes for every run
	host     sockstat.Host // the host's settings, read once for the whole run
	files    fileLimit
	// agent, if set, reads the server end from a remote twbench agent.
	agent *agent.Client
	// noSampling turns socket-state sampling off (--no-sampling).
	noSampling bool
}

// samplingOff is why an end was not sampled when sampling was turned off.
const samplingOff = "turned off with --no-sampling"

// fileLimit is the process's limit on open files (RLIMIT_NOFILE).
type fileLimit struct {
	known      bool
	soft, hard uint64
}

// note says when the limit is too low for a scenario's connections.
func (l fileLimit) note(sc scenario.Scenario, builtin bool) string {
	need := uint64(sc.Concurrency) + 64 // the sampler, the listener, stdio, the runtime
	if builtin {
		need += uint64(sc.Concurrency) // the server's end of each connection
	}
	if !l.known || need <= l.soft {
		return ""
	}
	return fmt.Sprintf("the open-files limit (RLIMIT_NOFILE) is %d, raised to the hard limit, and %d connections need about %d descriptors: expect EMFILE errors (raise the hard limit with ulimit -Hn)",
		l.soft, sc.Concurrency, need)
}

// startBuiltin starts the built-in target for sc.
func startBuiltin(sc scenario.Scenario) (target.Instance, error) {
	tcp, cfg := sc.BuiltinTarget()
	if tcp {
		return target.StartTCP("127.0.0.1:0", cfg)
	}
	return target.Start(cfg.Policy, target.RequestsPerConn(cfg.RequestsPerConn))
}

// measure runs one scenario: the built-in target if the scenario has no
// target, the socket sampler for both ends, the load, and a short tail of
// sampling after it.
func measure(ctx context.Context, sc scenario.Scenario, opts measureOptions) (report.Run, error) {
	in := report.Input{Scenario: sc, Target: sc.Target, Host: opts.host, Notes: append([]string(nil), opts.notes...)}
	var srv target.Instance
	if sc.Target == "" {
		var err error
		if srv, err = startBuiltin(sc); err != nil {
			return report.Run{}, err
		}
		defer srv.Close()
		in.Target, in.Builtin = srv.URL(), true
	}
	if note := opts.files.note(sc, in.Builtin); note != "" {
		in.Notes = append(in.Notes, note)
	}
	cfg := sc.Config(in.Target)
	gen, err := loadgen.New(cfg)
	if err != nil {
		return report.Run{}, err
	}
	addr := gen.Addr()
	in.Loopback = addr.IP.IsLoopback()

	var sampler *sockstat.Sampler
	if opts.noSampling {
		in.ClientUnsampled, in.ServerUnsampled = samplingOff, samplingOff
	} else if sampler, err = sockstat.NewSampler(addr.AddrPort()); err != nil {
		in.ClientUnsampled = err.Error()
		in.ServerUnsampled = err.Error()
		if !errors.Is(err, errors.ErrUnsupported) {
			in.Notes = append(in.Notes, "socket states not sampled: "+err.Error())
		}
	} else {
		defer sampler.Close()
		sampler.SplitBySource(cfg.Sources)
		if !in.Builtin && !sockstat.IsLocalAddr(addr.AddrPort().Addr()) {
			in.ServerUnsampled = "the target " + addr.String() + " is not on this host"
		}
	}
	var remote *remoteEnd
	if opts.agent != nil {
		ap := addr.AddrPort()
		remote = startRemote(ctx, opts.agent, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), time.Duration(sc.SampleInterval),
			func() (int64, int64) { return gen.Completed(), gen.Failed() })
		defer func() {
			if in.Remote == nil {
				remote.stop()
			}
		}()
	}
	before, countersErr := sockstat.ReadCounters()

	fmt.Fprintf(opts.status, "twbench: %s: %s, closer %s, %s against %s\n",
		sc.Name, sc.Protocol, sc.Closer, sc.Load(), in.Target)

	var (
		mu      sync.Mutex
		samples []report.Sample
	)
	record := func(s sockstat.Sample) {
		mu.Lock()
		samples = append(samples, report.Sample{Sample: s, Requests: gen.Completed(), Errors: gen.Failed()})
		mu.Unlock()
	}
	// sample runs the sampler until the returned stop is called. Its
	// first sample is taken at once.
	sample := func() (stop func()) {
		if sampler == nil {
			return func() {}
		}
		sctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := sampler.Run(sctx, time.Duration(sc.SampleInterval), record); err != nil {
				mu.Lock()
				in.Notes = append(in.Notes, "sampling stopped early: "+err.Error())
				mu.Unlock()
			}
		})
		return func() { cancel(); wg.Wait() }
	}

	// The baseline, taken before the first connection: TIME_WAIT sockets
	// already there are not the run's. The sampling loop's own first sample
	// would race with the load's start.
	if remote != nil {
		remote.waitFirst(ctx)
	}
	if sampler != nil {
		if s, err := sampler.Sample(); err == nil {
			record(s)
		} else {
			in.Notes = append(in.Notes, "no baseline sample: "+err.Error())
		}
	}
	stopSampling := sample()
	stopProgress := startProgress(opts, sc, gen)
	res, err := gen.Run(ctx)
	stopProgress()
	stopSampling()
	if err != nil {
		return report.Run{}, err
	}
	// A new sampling loop takes a sample the moment the load ends, then
	// follows the last connections through their closing states.
	stopSampling = sample()
	select {
	case <-time.After(tail):
	case <-ctx.Done():
	}
	stopSampling()
	if sampler != nil {
		if s, err := sampler.Sample(); err == nil {
			record(s)
		}
	}

	if remote != nil {
		in.Remote = remote.stop()
	}
	if countersErr == nil {
		if after, err := sockstat.ReadCounters(); err == nil {
			in.Counters = after.Sub(before)
		}
	}
	in.Result = res
	in.Samples = samples
	if srv != nil {
		pe := srv.PeerErrors()
		in.ServerErrors = map[string]int64{"ECONNRESET": pe.ECONNRESET, "other": pe.Other}
	}
	if in.Counters != nil {
		in.Notes = append(in.Notes, counterNote(in.Counters)...)
	}
	return report.Build(in), nil
}

// counterNote points out kernel counters that change what the TIME_WAIT
// counts mean.
func counterNote(c sockstat.Counters) []string {
	if n := c["TCPTimeWaitOverflow"]; n > 0 {
		return []string{fmt.Sprintf("the kernel dropped %d TIME_WAIT sockets at tcp_max_tw_buckets (TCPTimeWaitOverflow): TIME_WAIT counts are lower than the closes", n)}
	}
	return nil
}

// startProgress draws a progress bar while the load runs, if opts say so,
// and returns the function that removes it.
func startProgress(opts measureOptions, sc scenario.Scenario, gen *loadgen.Generator) (stop func()) {
	if !opts.progress {
		return func() {}
	}
	byRequests := sc.Requests > 0 && (sc.Duration == 0 ||
		(sc.Rate > 0 && float64(sc.Requests)/sc.Rate < time.Duration(sc.Duration).Seconds()))
	total := time.Duration(sc.Duration).Milliseconds()
	if byRequests {
		total = sc.Requests
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(opts.status),
		progressbar.OptionSetDescription(sc.Name),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			n := gen.Completed()
			elapsed := time.Since(start)
			bar.Describe(fmt.Sprintf("%s %d req, %.0f/s, %d errors", sc.Name, n, float64(n)/elapsed.Seconds(), gen.Failed()))
			if byRequests {
				_ = bar.Set64(n)
			} else {
				_ = bar.Set64(min(elapsed.Milliseconds(), total))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		_ = bar.Clear()
	}
}
