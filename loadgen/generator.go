package loadgen

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Generator runs one workload once.
type Generator struct {
	cfg      Config
	target   Target
	addr     *net.TCPAddr
	addrPort string
	keepReq  []byte
	lastReq  []byte
	perConn  int // requests per connection; 0 keeps connections alive
	dialer   net.Dialer

	workers []*worker
	latency *recorder
	lag     *recorder

	started  atomic.Bool
	start    time.Time
	end      time.Time // zero without a duration
	claimed  atomic.Int64
	stopping atomic.Bool // no request starts
	aborting atomic.Bool // requests in flight are cut off
	failed   atomic.Int64
}

// New validates cfg and resolves its target.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, _ := ParseTarget(cfg.Target) // Validate parsed it
	addr, err := t.Resolve()
	if err != nil {
		return nil, err
	}
	g := &Generator{
		cfg:      cfg,
		target:   t,
		addr:     addr,
		addrPort: addr.String(),
		perConn:  1,
		// TCP keep-alive probes are off: they cost three setsockopt calls
		// per connection and a run's connections do not idle.
		dialer:  net.Dialer{Timeout: cfg.Timeout, KeepAlive: -1},
		latency: newRecorder(),
		lag:     newRecorder(),
	}
	if cfg.Closer == CloserNone {
		g.perConn = 0
	}
	g.keepReq, g.lastReq = request(cfg.Protocol, cfg.Closer, t)
	g.workers = make([]*worker, cfg.Concurrency)
	for i := range g.workers {
		g.workers[i] = newWorker(g)
	}
	return g, nil
}

// Addr returns the address the generator connects to.
func (g *Generator) Addr() *net.TCPAddr { return g.addr }

// Completed returns the number of requests answered so far. It is safe to
// call while the generator runs.
func (g *Generator) Completed() int64 {
	var n int64
	for _, w := range g.workers {
		n += w.completed.Load()
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
	stop := context.AfterFunc(ctx, g.abort)
	defer stop()

	var ticks chan time.Duration
	if g.cfg.Rate > 0 {
		ticks = make(chan time.Duration)
	}
	var wg sync.WaitGroup
	for _, w := range g.workers {
		wg.Go(func() { w.run(ctx, ticks) })
	}
	var scheduled, late int64
	if ticks != nil {
		scheduled, late = g.pace(ctx, ticks)
	}
	wg.Wait()

	res := g.collect()
	res.Scheduled, res.Late = scheduled, late
	return res, nil
}

// claim reports whether a closed-loop worker may start a request at now.
func (g *Generator) claim(now time.Time) bool {
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

// pace hands the open-loop send times to the workers and closes ticks when
// the run's duration or request count is reached. A send that finds every
// worker busy waits for one, and is counted late; its latency still runs
// from its intended time.
func (g *Generator) pace(ctx context.Context, ticks chan<- time.Duration) (scheduled, late int64) {
	defer close(ticks)
	// The pacer's short sleeps block its thread (preciseSleep), which must
	// then be its own.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := int64(0); ; i++ {
		if g.cfg.Requests > 0 && i >= g.cfg.Requests {
			return scheduled, late
		}
		due := dueAt(g.cfg.Rate, i)
		if g.cfg.Duration > 0 && due >= g.cfg.Duration {
			return scheduled, late
		}
		if wait := due - time.Since(g.start); wait > 0 {
			if wait < preciseSleepMax {
				preciseSleep(wait)
				if ctx.Err() != nil {
					return scheduled, late
				}
			} else {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return scheduled, late
				}
			}
		}
		select {
		case ticks <- due:
		default:
			late++
			select {
			case ticks <- due:
			case <-ctx.Done():
				return scheduled, late
			}
		}
		scheduled++
	}
}

// abort cuts off the requests in flight: it runs when the run's context is
// cancelled.
func (g *Generator) abort() {
	g.aborting.Store(true)
	g.stopping.Store(true)
	past := time.Unix(1, 0)
	for _, w := range g.workers {
		if c := w.current.Load(); c != nil {
			_ = c.SetDeadline(past)
		}
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
	for _, w := range g.workers {
		res.Requests += w.requests
		res.Connections += w.connections
		res.Aborted += w.aborted
		for c, n := range w.errors {
			res.Errors[c] += n
			if res.FirstError[c] == "" {
				res.FirstError[c] = w.firstError[c]
			}
		}
		for code, n := range w.statuses {
			res.StatusCodes[code] += n
		}
		res.Closes.add(w.closes)
		res.ConnLifetime += w.connLifetime
		if w.lastEnd.After(last) {
			last = w.lastEnd
		}
	}
	res.Elapsed = last.Sub(g.start)
	if res.Elapsed <= 0 {
		res.Elapsed = time.Since(g.start)
	}
	return res
}
