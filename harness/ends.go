package harness

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twbench/twbench/agent"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

// Endpoint is an address and port whose two ends a run samples besides
// its target's, as --watch NAME=ADDR:PORT names it: a proxy's upstream, a
// database, a sidecar. The unspecified address matches the port alone.
type Endpoint struct {
	Name string
	Addr netip.AddrPort
}

// EndTimeWait is one end's TIME_WAIT count in its latest sample, for a
// progress line.
type EndTimeWait struct {
	// End names it: "client", "server", "upstream client".
	End      string
	TimeWait int
}

// Live is what an observer can show of the ends while a run goes on.
// Its methods may be called from any goroutine.
type Live interface {
	// TimeWait appends each sampled end's TIME_WAIT count in its latest
	// sample to dst.
	TimeWait(dst []EndTimeWait) []EndTimeWait
	// Closed counts the target's connections seen to close so far: the
	// new TIME_WAIT sockets on its two ends.
	Closed() int64
}

// ends samples a run's ends: the target's client end here, its server
// end here when the target is on this host, its server end from a remote
// agent when one is given, and the two ends of each watched endpoint
// here. Each sample is joined to the load's progress at the moment it was
// taken, which is what report.Build needs of it.
type ends struct {
	interval time.Duration
	progress Progress
	// points are the target's (the first; its sampler is nil when it is
	// not sampled here) and the watched endpoints'.
	points []*endpoint
	remote *remoteEnd // nil: no agent
	closed atomic.Int64

	stopOnce sync.Once
	rem      *report.Remote // what the agent sent, once stopped

	mu    sync.Mutex
	notes []string
}

// endpoint is one address whose two ends are sampled here.
type endpoint struct {
	name    string // "" for the target
	addr    string
	sampler *sockstat.Sampler // nil: not sampled

	// Guarded by ends.mu.
	samples                          []report.Sample
	clientUnsampled, serverUnsampled string
	// clientHolders and serverHolders are from the sample where each
	// end's TIME_WAIT peaked, at clientPeak and serverPeak.
	clientHolders, serverHolders *report.HoldersAt
	clientPeak, serverPeak       uint32
}

// endsConfig says what to sample.
type endsConfig struct {
	// target is the target's address as the load dials it; invalid when
	// there is none.
	target      netip.AddrPort
	noTarget    string // why there is none
	interval    time.Duration
	sources     []netip.Addr // the target's client end is split by these
	builtin     bool         // the target is the built-in one, on this host
	samplingOff string       // if set, sample nothing, for this reason
	agent       *agent.Client
	watch       []Endpoint
	// netns, if set, is where the samplers are opened.
	netns Netns
}

// startEnds opens the samplers; none samples yet but the agent's stream,
// which starts at once so that its first sample can be the baseline.
func startEnds(ctx context.Context, cfg endsConfig, progress Progress) *ends {
	e := &ends{interval: cfg.interval, progress: progress}
	target := &endpoint{}
	switch {
	case !cfg.target.IsValid():
		target.clientUnsampled, target.serverUnsampled = cfg.noTarget, cfg.noTarget
	default:
		target.addr = cfg.target.String()
		e.open(target, cfg, cfg.target)
		if target.sampler != nil {
			target.sampler.SplitBySource(cfg.sources)
		}
		if target.sampler != nil && !cfg.builtin && !sockstat.IsLocalAddr(cfg.target.Addr()) {
			target.serverUnsampled = "the target " + cfg.target.String() + " is not on this host"
		}
	}
	e.points = append(e.points, target)
	for _, w := range cfg.watch {
		p := &endpoint{name: w.Name, addr: w.Addr.String()}
		e.open(p, cfg, w.Addr)
		if p.sampler != nil && !w.Addr.Addr().IsUnspecified() && !sockstat.IsLocalAddr(w.Addr.Addr()) {
			p.serverUnsampled = "the endpoint " + w.Addr.String() + " is not on this host"
		}
		e.points = append(e.points, p)
	}
	if cfg.agent != nil && cfg.target.IsValid() {
		e.remote = startRemote(ctx, cfg.agent, netip.AddrPortFrom(cfg.target.Addr().Unmap(), cfg.target.Port()), cfg.interval, progress)
	}
	return e
}

// open opens an endpoint's sampler, or says why it is not sampled.
func (e *ends) open(p *endpoint, cfg endsConfig, addr netip.AddrPort) {
	if cfg.samplingOff != "" {
		p.clientUnsampled, p.serverUnsampled = cfg.samplingOff, cfg.samplingOff
		return
	}
	err := inNetns(cfg.netns, func() error {
		var err error
		p.sampler, err = sockstat.NewSampler(addr)
		return err
	})
	if err != nil {
		p.sampler = nil
		p.clientUnsampled, p.serverUnsampled = err.Error(), err.Error()
		if !errors.Is(err, errors.ErrUnsupported) {
			e.notes = append(e.notes, "socket states not sampled: "+err.Error())
		}
	}
}

// record keeps a sample of p with the load's progress at that moment, and
// the addresses that held each end's TIME_WAIT when it is the end's
// highest yet. It runs on the goroutine that took the sample.
func (e *ends) record(p *endpoint, s sockstat.Sample) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var req, failed int64
	if e.progress != nil {
		req, failed = e.progress.Completed(), e.progress.Failed()
	}
	p.samples = append(p.samples, report.Sample{Sample: s, Requests: req, Errors: failed})
	if p.name == "" {
		e.closed.Add(int64(s.ClientNewTimeWait + s.ServerNewTimeWait))
	}
	client, server := s.Client[sockstat.TimeWait], s.Server[sockstat.TimeWait]
	if client > 0 && client >= p.clientPeak || server > 0 && server >= p.serverPeak {
		c, sv := p.sampler.Holders()
		if client > 0 && client >= p.clientPeak {
			p.clientPeak, p.clientHolders = client, &report.HoldersAt{At: s.At, TimeWaitHolders: c}
		}
		if server > 0 && server >= p.serverPeak {
			p.serverPeak, p.serverHolders = server, &report.HoldersAt{At: s.At, TimeWaitHolders: sv}
		}
	}
}

func (e *ends) note(msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.notes = append(e.notes, msg)
}

// sampled returns the endpoints sampled here.
func (e *ends) sampled() []*endpoint {
	var out []*endpoint
	for _, p := range e.points {
		if p.sampler != nil {
			out = append(out, p)
		}
	}
	return out
}

// baseline takes the first samples of every end before the load starts,
// waiting a little for the agent's. A sampling loop's own first sample
// would race with the load's start.
func (e *ends) baseline(ctx context.Context) {
	if e.remote != nil {
		e.remote.waitFirst(ctx)
	}
	for _, p := range e.sampled() {
		if s, err := p.sampler.Sample(); err == nil {
			e.record(p, s)
		} else {
			e.note("no baseline sample: " + err.Error())
		}
	}
}

// follow samples the ends here every interval until the returned stop is
// called, which returns when sampling has ended. Each sampler's first
// sample is taken at once.
func (e *ends) follow() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, p := range e.sampled() {
		wg.Go(func() {
			if err := p.sampler.Run(ctx, e.interval, func(s sockstat.Sample) { e.record(p, s) }); err != nil {
				e.note("sampling stopped early: " + err.Error())
			}
		})
	}
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
	for _, p := range e.sampled() {
		if s, err := p.sampler.Sample(); err == nil {
			e.record(p, s)
		}
	}
	return sampled
}

// TimeWait appends each sampled end's TIME_WAIT in its latest sample.
func (e *ends) TimeWait(dst []EndTimeWait) []EndTimeWait {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.points {
		if len(p.samples) == 0 {
			continue
		}
		last := &p.samples[len(p.samples)-1]
		prefix := ""
		if p.name != "" {
			prefix = p.name + " "
		}
		dst = append(dst, EndTimeWait{prefix + "client", int(last.Client[sockstat.TimeWait])})
		// An agent's server end is the target's, in place of this host's.
		if p.serverUnsampled == "" && (p.name != "" || e.remote == nil) {
			dst = append(dst, EndTimeWait{prefix + "server", int(last.Server[sockstat.TimeWait])})
		}
	}
	if e.remote != nil {
		if n, ok := e.remote.lastServerTimeWait(); ok {
			dst = append(dst, EndTimeWait{"server", n})
		}
	}
	return dst
}

// Closed counts the new TIME_WAIT sockets on the target's ends so far.
func (e *ends) Closed() int64 { return e.closed.Load() }

// stop ends the agent's stream and closes the samplers. It may be called
// more than once.
func (e *ends) stop() {
	e.stopOnce.Do(func() {
		if e.remote != nil {
			e.rem = e.remote.stop()
		}
		for _, p := range e.sampled() {
			p.sampler.Close()
		}
	})
}

// fill stops the ends and puts what they gathered into in.
func (e *ends) fill(in *report.Input) {
	e.stop()
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.points[0]
	in.Samples = t.samples
	in.ClientUnsampled, in.ServerUnsampled = t.clientUnsampled, t.serverUnsampled
	in.ClientHolders, in.ServerHolders = t.clientHolders, t.serverHolders
	for _, p := range e.points[1:] {
		in.Watched = append(in.Watched, report.WatchedInput{
			Name: p.name, Address: p.addr, Samples: p.samples,
			ClientUnsampled: p.clientUnsampled, ServerUnsampled: p.serverUnsampled,
			ClientHolders: p.clientHolders, ServerHolders: p.serverHolders,
		})
	}
	in.Notes = append(in.Notes, e.notes...)
	if t.sampler != nil {
		in.Notes = append(in.Notes, t.sampler.Notes()...)
	}
	in.Remote = e.rem
}
