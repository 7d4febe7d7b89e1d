package harness

import (
	"context"
	"errors"
	"net/netip"
	"slices"
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
	// inServer says both its ends are in the server's namespace (the
	// built-in proxy's upstream): it is sampled there alone.
	inServer bool
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
	name string // "" for the target
	addr string
	// samplers sample it, one in each namespace of the run (a topology's
	// client and server namespaces); none: not sampled. Its sample is the
	// sum of theirs: a socket is in one namespace only.
	samplers []*sockstat.Sampler
	// clientFrom and serverFrom are the samplers whose part of the last
	// sample held the most TIME_WAIT at each end: those that name their
	// holders.
	clientFrom, serverFrom int

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
	// places are the namespaces each endpoint is sampled in, nil for the
	// process's own, the server's last; none is the process's own alone.
	places []Netns
	// inside says every endpoint is in the run's private namespaces: none
	// is "not on this host".
	inside bool
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
		e.open(target, cfg, cfg.target, cfg.places)
		for _, s := range target.samplers {
			s.SplitBySource(cfg.sources)
		}
		if target.sampled() && !cfg.builtin && !cfg.inside && !sockstat.IsLocalAddr(cfg.target.Addr()) {
			target.serverUnsampled = "the target " + cfg.target.String() + " is not on this host"
		}
	}
	e.points = append(e.points, target)
	for _, w := range cfg.watch {
		p := &endpoint{name: w.Name, addr: w.Addr.String()}
		places := cfg.places
		if w.inServer && len(places) > 1 {
			places = places[len(places)-1:]
		}
		e.open(p, cfg, w.Addr, places)
		if p.sampled() && !cfg.inside && !w.Addr.Addr().IsUnspecified() && !sockstat.IsLocalAddr(w.Addr.Addr()) {
			p.serverUnsampled = "the endpoint " + w.Addr.String() + " is not on this host"
		}
		e.points = append(e.points, p)
	}
	if cfg.agent != nil && cfg.target.IsValid() {
		e.remote = startRemote(ctx, cfg.agent, netip.AddrPortFrom(cfg.target.Addr().Unmap(), cfg.target.Port()), cfg.interval, progress)
	}
	return e
}

// open opens an endpoint's samplers, or says why it is not sampled.
func (e *ends) open(p *endpoint, cfg endsConfig, addr netip.AddrPort, places []Netns) {
	if cfg.samplingOff != "" {
		p.clientUnsampled, p.serverUnsampled = cfg.samplingOff, cfg.samplingOff
		return
	}
	if len(places) == 0 {
		places = []Netns{nil}
	}
	for _, ns := range places {
		var s *sockstat.Sampler
		var err error
		if ns == nil {
			s, err = sockstat.NewSampler(addr)
		} else {
			s, err = sockstat.NewSamplerIn(addr, ns.Do)
		}
		if err != nil {
			p.close()
			p.samplers = nil
			p.clientUnsampled, p.serverUnsampled = err.Error(), err.Error()
			if !errors.Is(err, errors.ErrUnsupported) {
				e.notes = append(e.notes, "socket states not sampled: "+err.Error())
			}
			return
		}
		p.samplers = append(p.samplers, s)
	}
}

// sampled reports whether the endpoint is sampled.
func (p *endpoint) sampled() bool { return len(p.samplers) > 0 }

// sample takes a sample of each of the endpoint's samplers and adds them
// up: its sockets are in one namespace or another, never in two. The
// sample's time is the first's, its cost the sum.
func (p *endpoint) sample() (sockstat.Sample, error) {
	var out sockstat.Sample
	var clientTW, serverTW uint32
	for i, s := range p.samplers {
		smp, err := s.Sample()
		if err != nil {
			return sockstat.Sample{}, err
		}
		if c := smp.Client[sockstat.TimeWait]; i == 0 || c > clientTW {
			p.clientFrom, clientTW = i, c
		}
		if c := smp.Server[sockstat.TimeWait]; i == 0 || c > serverTW {
			p.serverFrom, serverTW = i, c
		}
		if i == 0 {
			out = smp
			continue
		}
		addCounts(&out.Client, &smp.Client)
		addCounts(&out.Server, &smp.Server)
		for j := range min(len(out.BySource), len(smp.BySource)) {
			addCounts(&out.BySource[j], &smp.BySource[j])
		}
		out.ClientNewTimeWait += smp.ClientNewTimeWait
		out.ServerNewTimeWait += smp.ServerNewTimeWait
		out.MaxTimeWaitLeft = max(out.MaxTimeWaitLeft, smp.MaxTimeWaitLeft)
		out.Cost += smp.Cost
	}
	return out, nil
}

func addCounts(to, c *sockstat.Counts) {
	for s := range c {
		to[s] += c[s]
	}
}

// holders returns the addresses that held each end's TIME_WAIT in the
// last sample, from the namespace that held most of them.
func (p *endpoint) holders() (client, server sockstat.TimeWaitHolders) {
	client, _ = p.samplers[p.clientFrom].Holders()
	_, server = p.samplers[p.serverFrom].Holders()
	return client, server
}

// notes are what the samplers say of how they sampled, each once.
func (p *endpoint) notes() []string {
	var out []string
	for _, s := range p.samplers {
		for _, n := range s.Notes() {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

func (p *endpoint) close() {
	for _, s := range p.samplers {
		s.Close()
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
		c, sv := p.holders()
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
		if p.sampled() {
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
		if s, err := p.sample(); err == nil {
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
			if err := sockstat.RunSampling(ctx, e.interval, p.sample, func(s sockstat.Sample) { e.record(p, s) }); err != nil {
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
		if s, err := p.sample(); err == nil {
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
			p.close()
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
	in.Notes = append(in.Notes, t.notes()...)
	in.Remote = e.rem
}
