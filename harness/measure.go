package harness

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/twbench/twbench/agent"
	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
	"github.com/twbench/twbench/target"
)

// DefaultTail is how long sampling goes on after the load, to see the last
// connections through their closing states.
const DefaultTail = time.Second

// Options are a run's settings beyond its scenario: what the command read
// once for every scenario, and whom to tell what the run is doing.
type Options struct {
	// Host is the host's settings, read once for the whole run.
	Host sockstat.Host
	// Notes go into every run's report.
	Notes []string
	// Files is the process's limit on open files.
	Files FileLimit
	// Agent, if set, reads the server end from a remote twbench agent.
	Agent *agent.Client
	// SamplingOff, if set, turns socket-state sampling off; it is the
	// reason the report gives for both ends.
	SamplingOff string
	// Tail is how long sampling goes on after the load; 0 is DefaultTail.
	Tail time.Duration
	// Observer, if set, is told what the run is doing.
	Observer Observer
	// StartAt, if set, is when the load is to start: the run waits for it
	// after its baseline, so that the shards of a fleet start together.
	StartAt time.Time
	// Shard, if set, makes the run a shard of a fleet: the scenario is its
	// share (scenario.TakeShare), Offset its place in the fleet's open-loop
	// schedule, and Shard what its report records of the fleet.
	Shard  *report.RunShard
	Offset time.Duration
	// Watch are more endpoints to sample, each as a client end and a
	// server end (--watch).
	Watch []Endpoint
	// TimeWaitObject is the size of a TIME_WAIT socket in the kernel,
	// read once (sockstat.ReadTimeWaitObject); zero: not known.
	TimeWaitObject sockstat.TimeWaitObject
	// Netns, if set, is the network namespace the run's sockets are in:
	// Watch opens its samplers, reads the kernel's counters, starts the
	// built-in target and the command inside it. Measure does not use it:
	// its load dials from whichever thread runs it, in the process's own
	// namespace; a load in private namespaces runs in a child process
	// whose own namespace is the client's (Isolate).
	Netns Netns
	// Client drives the load's connections; the default is loadgen's.
	Client loadgen.Client

	// network is the private network of a job Isolate runs: set in the
	// child process only (RunJob).
	network *network
}

// Netns is a network namespace of the run's own; *netns.Namespace is
// one.
type Netns interface {
	// Do runs f on a thread inside the namespace and returns its error.
	// The sockets f opens are the namespace's, and so are the processes
	// it starts, which are the thread's children: f must not return
	// before they end if they are to outlive nothing but twbench.
	Do(f func() error) error
}

// inNetns runs f inside ns, or here if ns is nil.
func inNetns(ns Netns, f func() error) error {
	if ns == nil {
		return f()
	}
	return ns.Do(f)
}

// Progress is the load's progress while it runs.
type Progress interface {
	Completed() int64 // requests answered so far
	Failed() int64    // requests failed so far
}

// Observer is told what a run is doing, for a status line or a progress
// bar: the harness itself prints nothing.
type Observer interface {
	// Starting is called once the target is up and its ends are being
	// sampled, before the baseline and the load.
	Starting(sc scenario.Scenario, target string)
	// Loading is called as the load starts; live has the ends' TIME_WAIT
	// as they are sampled. The stop it returns is called when the load
	// has ended, and returns when the observer is done with p and live.
	Loading(sc scenario.Scenario, p Progress, live Live) (stop func())
	// Watching is called as a watched command starts, with the command
	// as it runs and the target whose ends are sampled ("" for none). The
	// stop it returns is called when the command has ended, and returns
	// when the observer is done with live.
	Watching(command []string, target string, live Live) (stop func())
}

// FileLimit is the process's limit on open files (RLIMIT_NOFILE).
type FileLimit struct {
	Known      bool
	Soft, Hard uint64
}

// Note says when the limit is too low for a scenario's connections.
func (l FileLimit) Note(sc scenario.Scenario, builtin bool) string {
	need := uint64(sc.Concurrency) + 64 // the sampler, the listener, stdio, the runtime
	if builtin {
		need += uint64(sc.Concurrency) // the server's end of each connection
	}
	if !l.Known || need <= l.Soft {
		return ""
	}
	return fmt.Sprintf("the open-files limit (RLIMIT_NOFILE) is %d, raised to the hard limit, and %d connections need about %d descriptors: expect EMFILE errors (raise the hard limit with ulimit -Hn)",
		l.Soft, sc.Concurrency, need)
}

// Measure runs one scenario: the built-in target if the scenario has no
// target, the socket samplers for both ends, a wait for the instant the
// load is to start at if there is one (the baseline is taken just before
// it), the load, and a short tail of sampling after it.
func Measure(ctx context.Context, sc scenario.Scenario, opts Options) (report.Run, error) {
	r := newRun(sc, opts)
	defer r.close()
	if err := r.startTarget(); err != nil {
		return report.Run{}, err
	}
	if err := r.newLoad(); err != nil {
		return report.Run{}, err
	}
	r.startSampling(ctx)
	r.observer.Starting(sc, r.in.Target)
	r.waitStart(ctx, baselineLead)
	r.baseline(ctx)
	r.waitStart(ctx, 0)
	if err := r.load(ctx); err != nil {
		return report.Run{}, err
	}
	r.tail(ctx)
	return r.assemble(), nil
}

// run is one scenario's run, step by step.
type run struct {
	sc       scenario.Scenario
	opts     Options
	observer Observer
	in       report.Input

	srv target.Instance // the built-in target; nil for another
	// stopped are the built-in target's instances a restart stopped
	// (restart.go): their counts are the run's too.
	stopped []target.Instance
	// upstream is the built-in proxy's upstream target; nil without one.
	upstream target.Instance
	cfg      loadgen.Config
	gen      *loadgen.Generator
	ends     *ends
	// before are the kernel's counters before the load, and beforeErr why
	// they could not be read; serverBefore, the server's namespace's, when
	// it has one of its own.
	before       sockstat.Counters
	beforeErr    error
	serverBefore sockstat.Counters
}

func newRun(sc scenario.Scenario, opts Options) *run {
	r := &run{
		sc:       sc,
		opts:     opts,
		observer: opts.Observer,
		in: report.Input{Scenario: sc, Target: sc.Target, Host: opts.Host, Notes: append([]string(nil), opts.Notes...),
			StartAt: opts.StartAt},
	}
	if r.observer == nil {
		r.observer = silent{}
	}
	if r.opts.Tail == 0 {
		r.opts.Tail = DefaultTail
	}
	if guarded, note := guardPorts(sc, opts.Host); note != "" {
		r.sc, r.in.Scenario = guarded, guarded
		r.in.Notes = append(r.in.Notes, note)
	}
	return r
}

// close stops what the steps started and has not been stopped yet.
func (r *run) close() {
	if r.ends != nil {
		r.ends.stop()
	}
	if r.srv != nil {
		r.srv.Close()
	}
	if r.upstream != nil {
		r.upstream.Close()
	}
}

// startTarget starts the built-in target if the scenario has no target,
// with the built-in proxy in front of it if the scenario asks, whose
// upstream is then watched.
func (r *run) startTarget() error {
	if r.sc.Target == "" {
		b, err := startBuiltin(r.sc, r.opts.network, "")
		if err != nil {
			return err
		}
		r.srv, r.upstream = b.front, b.upstream
		r.in.Target, r.in.Builtin = b.front.URL(), true
		if b.upstream != nil {
			r.opts.Watch = append(slices.Clip(r.opts.Watch), upstreamEndpoint(r.opts.Watch, b.upstream))
		}
	}
	if note := r.opts.Files.Note(r.sc, r.in.Builtin); note != "" {
		r.in.Notes = append(r.in.Notes, note)
	}
	return nil
}

// builtin is the built-in target of a run: the server the load
// connects to, and with the proxy, the proxy's upstream.
type builtin struct {
	front, upstream target.Instance
}

// startBuiltin starts the built-in target for sc: on at if given (a
// restart), else on 127.0.0.1, or in a private network on the server's
// address and a fixed port, below any ephemeral range
// (privateTargetPort). With the proxy, its upstream listens on the
// server's loopback, beside it.
func startBuiltin(sc scenario.Scenario, n *network, at string) (builtin, error) {
	front, upstream := "127.0.0.1:0", "127.0.0.1:0"
	if n != nil {
		front = netip.AddrPortFrom(n.serverAddr, privateTargetPort).String()
		upstream = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), privateUpstreamPort).String()
	}
	if at != "" {
		front = at
	}
	var b builtin
	err := n.inServer(func() error {
		var err error
		tcp, cfg := sc.BuiltinTarget()
		switch {
		case tcp:
			b.front, err = target.StartTCP(front, cfg)
			return err
		case !sc.Proxy:
			b.front, err = target.StartOn(front, cfg.Policy, target.RequestsPerConn(cfg.RequestsPerConn), target.Listen(cfg.Listen))
			return err
		}
		if b.upstream, err = target.StartOn(upstream, target.KeepAlive); err != nil {
			return err
		}
		var d net.Dialer
		pc := target.ProxyConfig{Policy: cfg.Policy, RequestsPerConn: cfg.RequestsPerConn,
			Upstream: b.upstream.Addr().String(), UpstreamKeepAlive: sc.UpstreamKeepAlive, Dial: d.DialContext}
		if n != nil && n.dialer != nil {
			pc.Dial = n.dialer.DialContext
		}
		if b.front, err = target.StartProxy(front, pc); err != nil {
			b.upstream.Close()
			b.upstream = nil
		}
		return err
	})
	return b, err
}

// upstreamName is the name the proxy's upstream is watched by.
const upstreamName = "upstream"

// upstreamEndpoint is the proxy's upstream as a watched endpoint: its
// client end is the proxy's connections, its server end the upstream
// target's. It is named upstream unless --watch took that name.
func upstreamEndpoint(watched []Endpoint, up target.Instance) Endpoint {
	name := upstreamName
	for slices.ContainsFunc(watched, func(e Endpoint) bool { return e.Name == name }) {
		name = "proxy-" + name
	}
	return Endpoint{Name: name, Addr: up.Addr().AddrPort(), inServer: true}
}

// newLoad sets up the load against the target; nothing is sent yet.
func (r *run) newLoad() error {
	r.cfg = r.sc.Config(r.in.Target)
	r.cfg.Offset = r.opts.Offset
	r.cfg.Client = r.opts.Client
	gen, err := loadgen.New(r.cfg)
	if err != nil {
		return err
	}
	r.gen = gen
	r.in.Loopback = gen.Addr().IP.IsLoopback()
	if r.opts.Shard != nil {
		sh := *r.opts.Shard
		sh.Sources = sourceAddrs(r.cfg.Sources, gen.Addr())
		r.in.Shard = &sh
	}
	return nil
}

// startSampling opens the samplers of the target's two ends, here and on
// the agent's host, and reads the kernel's counters before the load.
func (r *run) startSampling(ctx context.Context) {
	r.ends = startEnds(ctx, endsConfig{
		target:      r.gen.Addr().AddrPort(),
		interval:    time.Duration(r.sc.SampleInterval),
		sources:     r.cfg.Sources,
		builtin:     r.in.Builtin,
		samplingOff: r.opts.SamplingOff,
		agent:       r.opts.Agent,
		watch:       r.opts.Watch,
		places:      r.opts.network.places(),
		inside:      r.opts.network != nil,
	}, r.gen)
	r.before, r.beforeErr = sockstat.ReadCounters()
	r.in.ServerHost, r.serverBefore, _ = r.opts.network.serverSide()
}

// baseline takes the samples before the first connection: TIME_WAIT
// sockets already there are not the run's.
func (r *run) baseline(ctx context.Context) { r.ends.baseline(ctx) }

// load drives the load while the ends are sampled and the observer
// watches it.
func (r *run) load(ctx context.Context) error {
	stopSampling := r.ends.follow()
	stopObserving := r.observer.Loading(r.sc, r.gen, r.ends)
	stopCPU := sampleCPU()
	stopRestart := r.restartLater()
	res, err := r.gen.Run(ctx)
	stopRestart()
	r.in.CPU = stopCPU()
	stopObserving()
	stopSampling()
	if err != nil {
		return err
	}
	r.in.Result = res
	return nil
}

// tail follows the last connections through their closing states for
// opts.Tail, or until ctx is done.
//
// An interruption that ends the tail early marks the run interrupted,
// although its load was whole: its last closes were not all followed.
func (r *run) tail(ctx context.Context) {
	sampled := r.ends.tail(ctx, r.opts.Tail)
	if sampled < r.opts.Tail && r.in.Result != nil && !r.in.Result.Interrupted {
		r.in.TailCut = &report.TailCut{Sampled: sampled, Wanted: r.opts.Tail}
	}
}

// assemble stops the samplers and builds the run's report from what the
// steps gathered.
func (r *run) assemble() report.Run {
	r.ends.fill(&r.in)
	r.in.TimeWaitObject = r.opts.TimeWaitObject
	if r.beforeErr == nil {
		if after, err := sockstat.ReadCounters(); err == nil {
			r.in.Counters = after.Sub(r.before)
		}
	}
	r.in.Topology = r.opts.network.describe()
	if r.serverBefore != nil {
		if _, after, err := r.opts.network.serverSide(); err == nil {
			r.in.ServerCounters = after.Sub(r.serverBefore)
		}
	}
	// The built-in target's counts, over every instance of it the run
	// had: a restart stops one and starts another.
	var accepts []int64
	for _, srv := range append(slices.Clip(r.stopped), r.srv) {
		if srv == nil {
			continue
		}
		pe := srv.PeerErrors()
		if r.in.ServerErrors == nil {
			r.in.ServerErrors = map[string]int64{"ECONNRESET": 0, "other": 0}
		}
		r.in.ServerErrors["ECONNRESET"] += pe.ECONNRESET
		r.in.ServerErrors["other"] += pe.Other
		for i, n := range srv.ListenerAccepts() {
			if i == len(accepts) {
				accepts = append(accepts, 0)
			}
			accepts[i] += n
		}
	}
	if len(accepts) > 1 {
		r.in.ListenerAccepts = accepts
	}
	r.in.Notes = append(r.in.Notes, counterNotes(r.in.Counters, r.in.ServerCounters)...)
	return report.Build(r.in)
}

// counterNotes point out kernel counters that change what the TIME_WAIT
// counts mean: the client's (or the host's) and those of a server
// namespace of its own; either may be nil.
func counterNotes(client, server sockstat.Counters) []string {
	var out []string
	for _, c := range []struct {
		counters sockstat.Counters
		where    string
	}{{client, "the kernel"}, {server, "the server's namespace"}} {
		if n := c.counters["TCPTimeWaitOverflow"]; n > 0 {
			out = append(out, fmt.Sprintf("%s dropped %d TIME_WAIT sockets at tcp_max_tw_buckets (TCPTimeWaitOverflow): TIME_WAIT counts are lower than the closes, "+
				"and the port figures (ports per qps, the ceilings), which hold each port for the TIME_WAIT of the end that closed, overstate what those closes held", c.where, n))
		}
	}
	return out
}

// silent is the Observer of a run nobody watches.
type silent struct{}

func (silent) Starting(scenario.Scenario, string) {}

func (silent) Loading(scenario.Scenario, Progress, Live) func() { return func() {} }

func (silent) Watching([]string, string, Live) func() { return func() {} }
