package harness

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/twbench/twbench/agent"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

// ends samples a run's two ends: the client end here, the server end here
// when the target is on this host, and the server end from a remote agent
// when one is given. Each sample is joined to the load's progress at the
// moment it was taken, which is what report.Build needs of it.
type ends struct {
	interval time.Duration
	progress Progress
	sampler  *sockstat.Sampler // nil: nothing is sampled here
	remote   *remoteEnd        // nil: no agent

	stopOnce sync.Once
	rem      *report.Remote // what the agent sent, once stopped

	mu              sync.Mutex
	samples         []report.Sample
	notes           []string
	clientUnsampled string
	serverUnsampled string
}

// endsConfig says what to sample.
type endsConfig struct {
	target      *net.TCPAddr // as the load dials it
	interval    time.Duration
	sources     []netip.Addr // the client end is split by these
	builtin     bool         // the target is the built-in one, on this host
	samplingOff string       // if set, sample nothing, for this reason
	agent       *agent.Client
}

// startEnds opens the samplers; none samples yet but the agent's stream,
// which starts at once so that its first sample can be the baseline.
func startEnds(ctx context.Context, cfg endsConfig, progress Progress) *ends {
	e := &ends{interval: cfg.interval, progress: progress}
	var err error
	if cfg.samplingOff != "" {
		e.clientUnsampled, e.serverUnsampled = cfg.samplingOff, cfg.samplingOff
	} else if e.sampler, err = sockstat.NewSampler(cfg.target.AddrPort()); err != nil {
		e.clientUnsampled = err.Error()
		e.serverUnsampled = err.Error()
		if !errors.Is(err, errors.ErrUnsupported) {
			e.notes = append(e.notes, "socket states not sampled: "+err.Error())
		}
	} else {
		e.sampler.SplitBySource(cfg.sources)
		if !cfg.builtin && !sockstat.IsLocalAddr(cfg.target.AddrPort().Addr()) {
			e.serverUnsampled = "the target " + cfg.target.String() + " is not on this host"
		}
	}
	if cfg.agent != nil {
		ap := cfg.target.AddrPort()
		e.remote = startRemote(ctx, cfg.agent, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), cfg.interval, progress)
	}
	return e
}

// record keeps a sample with the load's progress at that moment.
func (e *ends) record(s sockstat.Sample) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.samples = append(e.samples, report.Sample{Sample: s, Requests: e.progress.Completed(), Errors: e.progress.Failed()})
}

func (e *ends) note(msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.notes = append(e.notes, msg)
}

// baseline takes the first samples of both ends before the load starts,
// waiting a little for the agent's. A sampling loop's own first sample
// would race with the load's start.
func (e *ends) baseline(ctx context.Context) {
	if e.remote != nil {
		e.remote.waitFirst(ctx)
	}
	if e.sampler != nil {
		if s, err := e.sampler.Sample(); err == nil {
			e.record(s)
		} else {
			e.note("no baseline sample: " + err.Error())
		}
	}
}

// follow samples the ends here every interval until the returned stop is
// called, which returns when sampling has ended. Its first sample is taken
// at once.
func (e *ends) follow() (stop func()) {
	if e.sampler == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := e.sampler.Run(ctx, e.interval, e.record); err != nil {
			e.note("sampling stopped early: " + err.Error())
		}
	})
	return func() { cancel(); wg.Wait() }
}

// tail follows the ends for d after the load, or until ctx is done: a new
// sampling loop takes a sample the moment the load ends, then follows the
// last connections through their closing states. A last sample ends it.
func (e *ends) tail(ctx context.Context, d time.Duration) (sampled time.Duration) {
	begin := time.Now()
	stop := e.follow()
	select {
	case <-time.After(d):
		sampled = d
	case <-ctx.Done():
		sampled = time.Since(begin)
	}
	stop()
	if e.sampler != nil {
		if s, err := e.sampler.Sample(); err == nil {
			e.record(s)
		}
	}
	return sampled
}

// stop ends the agent's stream and closes the sampler. It may be called
// more than once.
func (e *ends) stop() {
	e.stopOnce.Do(func() {
		if e.remote != nil {
			e.rem = e.remote.stop()
		}
		if e.sampler != nil {
			e.sampler.Close()
		}
	})
}

// fill stops the ends and puts what they gathered into in.
func (e *ends) fill(in *report.Input) {
	e.stop()
	e.mu.Lock()
	defer e.mu.Unlock()
	in.Samples = e.samples
	in.ClientUnsampled, in.ServerUnsampled = e.clientUnsampled, e.serverUnsampled
	in.Notes = append(in.Notes, e.notes...)
	if e.sampler != nil {
		in.Notes = append(in.Notes, e.sampler.Notes()...)
	}
	in.Remote = e.rem
}
