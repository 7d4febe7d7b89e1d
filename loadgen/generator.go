package loadgen

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Generator runs one workload once.
type Generator struct {
	cfg      Config
	addr     *net.TCPAddr
	addrPort string
	keepReq  []byte
	lastReq  []byte
	perConn  int // requests per connection; 0 keeps connections alive
	// The bounds on a response, with the defaults applied.
	maxHeader int
	maxBody   int64
	// dialers has one dialer per source address, or one without.
	dialers  []net.Dialer
	nextDial atomic.Uint64

	// The run is driven by workers, a goroutine per connection, or by
	// event loops; tallies are theirs.
	workers []*worker
	loops   []*loop
	tallies []*tally
	wakeMu  sync.Mutex // the loops' wake-up descriptors
	latency *recorder
	lag     *recorder

	started   atomic.Bool
	start     time.Time
	abortedAt atomic.Int64 // when the run was cut off, since start
	abortOnce sync.Once
	end       time.Time // zero without a duration
	claimed   atomic.Int64
	stopping  atomic.Bool // no request starts
	aborting  atomic.Bool // interrupted: requests in flight are cut off
	ending    atomic.Bool // the duration is over: requests in flight are cut off
	failed    atomic.Int64

	// onset holds, for each error class, the progress when the class was
	// first seen anywhere.
	onsetMu sync.Mutex
	onset   [NumErrorClasses]*Progress
}

// markOnset records the progress at the first error of class, if no
// worker has yet.
func (g *Generator) markOnset(class ErrorClass) {
	g.onsetMu.Lock()
	defer g.onsetMu.Unlock()
	if g.onset[class] == nil {
		p := g.Progress()
		g.onset[class] = &p
	}
}

// Check validates cfg, resolves its target, and tries its socket options
// and source addresses on a socket that connects nowhere: what New does
// before it makes a generator, for checking every workload before any
// runs.
func Check(cfg Config) (*net.TCPAddr, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, _ := ParseTarget(cfg.Target) // Validate parsed it
	addr, err := t.Resolve()
	if err != nil {
		return nil, err
	}
	ap := addr.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if err := checkDialOptions(ap, cfg.PortRange, cfg.Sources); err != nil {
		return nil, err
	}
	return addr, nil
}

// New validates cfg and resolves its target.
func New(cfg Config) (*Generator, error) {
	addr, err := Check(cfg)
	if err != nil {
		return nil, err
	}
	g := &Generator{
		cfg:       cfg,
		addr:      addr,
		addrPort:  addr.String(),
		perConn:   max(cfg.RequestsPerConn, 1),
		maxHeader: cmp.Or(cfg.MaxHeaderBytes, DefaultMaxHeaderBytes),
		maxBody:   cmp.Or(cfg.MaxBodyBytes, DefaultMaxBodyBytes),
		latency:   newRecorder(),
		lag:       newRecorder(),
	}
	if cfg.Closer == CloserNone {
		g.perConn = 0
	}
	// TCP keep-alive probes are off: they cost three setsockopt calls per
	// connection and a run's connections do not idle.
	base := net.Dialer{Timeout: cfg.Timeout, KeepAlive: -1, Control: dialControl(cfg.PortRange, len(cfg.Sources) > 0)}
	g.dialers = []net.Dialer{base}
	if len(cfg.Sources) > 0 {
		g.dialers = make([]net.Dialer, len(cfg.Sources))
		for i, src := range cfg.Sources {
			g.dialers[i] = base
			g.dialers[i].LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		}
	}
	t, _ := ParseTarget(cfg.Target) // Check parsed it
	g.keepReq, g.lastReq = request(cfg, t)
	if cfg.Client.Resolve() == ClientEventLoop {
		if g.loops, err = newLoops(g); err != nil {
			return nil, err
		}
		for _, l := range g.loops {
			g.tallies = append(g.tallies, &l.tally)
		}
		return g, nil
	}
	g.workers = make([]*worker, cfg.Concurrency)
	for i := range g.workers {
		g.workers[i] = newWorker(g)
		g.tallies = append(g.tallies, &g.workers[i].tally)
	}
	return g, nil
}

// Addr returns the address the generator connects to.
func (g *Generator) Addr() *net.TCPAddr { return g.addr }

// Completed returns the number of requests answered so far. It is safe to
// call while the generator runs.
func (g *Generator) Completed() int64 {
	var n int64
	for _, t := range g.tallies {
		n += t.completed.Load()
	}
	return n
}

// Failed returns the number of failed requests so far. It is safe to call
// while the generator runs.
func (g *Generator) Failed() int64 { return g.failed.Load() }

// Run drives the workload until its duration or request count is reached,
// or ctx is cancelled; cancelling cuts off the requests in flight and marks
// the result interrupted. Run returns when every connection is closed.
func (g *Generator) Run(ctx context.Context) (*Result, error) {
	if g.started.Swap(true) {
		return nil, errors.New("loadgen: a Generator runs once")
	}
	g.start = time.Now()
	if g.cfg.Duration > 0 {
		g.end = g.start.Add(g.cfg.Duration)
	}
	// Each worker has a context of its own: a dial registers its timeout
	// with its context's parent, and on the run's context every dial of
	// every worker would queue for its one lock. Cancelling it cuts off the
	// worker's dial in progress. They are made before anything can cut.
	// The workers' contexts are not the run's: its cancellation reaches
	// them through abort, which cuts their dials first (cutDial).
	wctx := make([]context.Context, len(g.workers))
	for i, w := range g.workers {
		wctx[i], w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	}
	stop := context.AfterFunc(ctx, g.abort)
	defer stop()
	if g.cfg.Duration > 0 {
		end := time.AfterFunc(time.Until(g.end.Add(drainGrace)), g.endNow)
		defer end.Stop()
	}

	timeline := g.keepTimeline()
	var ps pacerStats
	if g.loops != nil {
		var err error
		if ps, err = g.runLoops(); err != nil {
			timeline()
			return nil, err
		}
	} else {
		ps = g.runWorkers(ctx, wctx)
	}
	// context.AfterFunc runs abort in a goroutine of its own: the workers
	// may all have seen the cancelled context and ended before it has run,
	// and the result would not say it was interrupted.
	if ctx.Err() != nil {
		g.abort()
	}

	res := g.collect()
	res.Scheduled, res.Queued, res.Unsent = ps.scheduled, ps.queued, ps.unsent
	res.Timeline = timeline()
	g.onsetMu.Lock()
	for c, p := range g.onset {
		if p != nil {
			res.Onset[c] = *p
		}
	}
	g.onsetMu.Unlock()
	return res, nil
}

// runWorkers runs the workers, each with its context, to the end of the
// run, and in open loop the pacer that hands them their sends.
func (g *Generator) runWorkers(ctx context.Context, wctx []context.Context) pacerStats {
	var ticks chan time.Duration
	if g.cfg.Rate > 0 {
		ticks = make(chan time.Duration)
	}
	var wg sync.WaitGroup
	for i, w := range g.workers {
		wg.Go(func() {
			defer w.cancel()
			w.run(wctx[i], ticks)
		})
	}
	var ps pacerStats
	if ticks != nil {
		ps = g.pace(ctx, ticks)
	}
	wg.Wait()
	return ps
}

// Progress is a run's cumulative counts at a moment.
type Progress struct {
	T           time.Duration // since the start
	Requests    int64
	Connections int64
	Errors      [NumErrorClasses]int64
}

// Progress returns the counts so far. It is safe to call while the
// generator runs.
func (g *Generator) Progress() Progress {
	p := Progress{T: time.Since(g.start)}
	for _, t := range g.tallies {
		p.Requests += t.completed.Load()
		p.Connections += t.opened.Load()
		for c := range t.errors {
			p.Errors[c] += t.errors[c].Load()
		}
	}
	return p
}

// keepTimeline records the progress at every whole second of the run, so
// that a report can say when errors began and at what rate. It returns the
// function that stops it and returns the record, ending with the moment
// it was stopped.
func (g *Generator) keepTimeline() (stop func() []Progress) {
	done := make(chan struct{})
	var line []Progress
	var wg sync.WaitGroup
	wg.Go(func() {
		timer := time.NewTimer(time.Second)
		defer timer.Stop()
		for next := time.Second; ; next += time.Second {
			select {
			case <-done:
				return
			case <-timer.C:
			}
			line = append(line, g.Progress())
			timer.Reset(time.Until(g.start.Add(next + time.Second)))
		}
	})
	return func() []Progress {
		close(done)
		wg.Wait()
		return append(line, g.Progress())
	}
}

// span returns how long the open-loop schedule lasts: one interval per
// intended send, but not past the duration.
func (g *Generator) span() time.Duration {
	d := g.cfg.due(g.intended())
	if g.cfg.Duration > 0 {
		d = min(d, g.cfg.Duration)
	}
	return d
}

// claim reports whether a closed-loop worker may start a request at now.
func (g *Generator) claim(ctx context.Context, now time.Time) bool {
	return ctx.Err() == nil && g.claimAt(now)
}

// claimAt reports whether a closed-loop request may start at now: the run
// is not stopping, its duration not over, its request count not reached.
func (g *Generator) claimAt(now time.Time) bool {
	if g.stopping.Load() {
		return false
	}
	if !g.end.IsZero() && !now.Before(g.end) {
		g.stopping.Store(true)
		return false
	}
	if g.cfg.Requests > 0 && g.claimed.Add(1) > g.cfg.Requests {
		g.stopping.Store(true)
		return false
	}
	return true
}

// pacerStats is what the pacer did.
type pacerStats struct {
	scheduled int64 // sends handed to a worker
	queued    int64 // of those, sends that found every worker busy and waited
	unsent    int64 // sends due before the end that were never handed out
}

// pace hands the open-loop send times to the workers and closes ticks when
// the run's duration or request count is reached. A send that finds every
// worker busy waits for one (queued); its latency still runs from its
// intended time. At the end of the duration, sends that are due but not yet
// handed out are dropped and counted unsent (after endGrace), so -d bounds
// the run even when the target cannot keep up.
func (g *Generator) pace(ctx context.Context, ticks chan<- time.Duration) (ps pacerStats) {
	defer close(ticks)
	// The pacer's short sleeps block its thread (preciseSleep), which must
	// then be its own.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer preciseThread()()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var ended <-chan time.Time
	var cutoff time.Time
	if g.cfg.Duration > 0 {
		cutoff = g.end.Add(endGrace)
		t := time.NewTimer(time.Until(cutoff))
		defer t.Stop()
		ended = t.C
	}
	total := g.intended()
	for i := int64(0); i < total; i++ {
		due := g.cfg.due(i)
		if wait := due - time.Since(g.start); wait > 0 {
			if wait < preciseSleepMax {
				preciseSleep(wait)
			} else {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
				}
			}
		}
		if ctx.Err() != nil {
			return ps
		}
		if !cutoff.IsZero() && !time.Now().Before(cutoff) {
			ps.unsent = total - i
			return ps
		}
		select {
		case ticks <- due:
		default:
			ps.queued++
			select {
			case ticks <- due:
			case <-ctx.Done():
				return ps
			case <-ended:
				ps.unsent = total - i
				return ps
			}
		}
		ps.scheduled++
	}
	return ps
}

// endGrace is how long after the end of the duration the pacer still
// hands out sends that were due before it. A pacer a few milliseconds behind
// at the end is jitter; one further behind cannot keep up, and its backlog
// is dropped (unsent) so that -d bounds the run.
const endGrace = 50 * time.Millisecond

// drainGrace is how long after the end of the duration the requests in
// flight may still finish; then they are cut off (Result.Cut). Every
// closed-loop run ends with a request in flight on each connection, and
// any run on a loaded machine with some that take tens of milliseconds:
// cut at once, they would count as cut and their connections as closed
// by the client, whatever the closer. A server that has not answered
// within a second no longer holds the run up to its timeout.
const drainGrace = time.Second

// intended returns how many sends the open-loop schedule holds.
func (g *Generator) intended() int64 { return g.cfg.sends() }

// abort cuts off the requests in flight, once: it runs when the run's
// context is cancelled.
func (g *Generator) abort() {
	g.abortOnce.Do(func() {
		g.abortedAt.Store(int64(time.Since(g.start)))
		g.aborting.Store(true)
		g.stopping.Store(true)
		g.cutInFlight()
	})
}

// endNow cuts off the requests still in flight drainGrace after the end of
// the duration: -d bounds the run, whatever the server does.
func (g *Generator) endNow() {
	g.ending.Store(true)
	g.stopping.Store(true)
	g.cutInFlight()
}

// cutOff reports whether requests in flight are being cut off, by an
// interruption or the end of the duration.
func (g *Generator) cutOff() bool { return g.aborting.Load() || g.ending.Load() }

// cutInFlight cuts off every request in flight: its connection's deadline
// is moved to the past, and a dial in progress is cut off (cutDial), then
// cancelled. A worker
// checks cutOff after it sets a deadline, so that one moved here cannot be
// overwritten unseen.
func (g *Generator) cutInFlight() {
	if g.loops != nil {
		g.wakeLoops() // each loop cuts its own
		return
	}
	past := time.Unix(1, 0)
	for _, w := range g.workers {
		if c := w.current.Load(); c != nil {
			_ = c.SetDeadline(past)
		}
		w.cutDial()
		w.cancel()
	}
}

// collect sums the workers' tallies.
func (g *Generator) collect() *Result {
	res := &Result{
		Start:       g.start,
		StatusCodes: make(map[int]int64),
		Latency:     g.latency.h,
		Lag:         g.lag.h,
		Interrupted: g.aborting.Load(),
	}
	last := g.start
	if n := len(g.cfg.Sources); n > 0 {
		res.Sources = make([]SourceStats, n)
		for i, a := range g.cfg.Sources {
			res.Sources[i].Addr = a
		}
	}
	for _, t := range g.tallies {
		t.addTo(res)
		if t.lastEnd.After(last) {
			last = t.lastEnd
		}
	}
	// The run lasts until its last request ended, and in open loop at
	// least as long as its schedule; an interrupted run until the
	// interruption.
	res.Elapsed = last.Sub(g.start)
	if g.cfg.Rate > 0 {
		res.Elapsed = max(res.Elapsed, g.span())
	}
	if res.Interrupted {
		res.Elapsed = time.Duration(g.abortedAt.Load())
	}
	return res
}
