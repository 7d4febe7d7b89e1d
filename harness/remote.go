package harness

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/twbench/twbench/agent"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

// Timings of the server-end stream from a remote agent.
const (
	// agentFirstWait bounds the wait for the agent's first sample, the
	// baseline, before the load starts.
	agentFirstWait = 2 * time.Second
	// agentRetry is the pause before the stream is opened again after it
	// failed.
	agentRetry = 500 * time.Millisecond
	// agentCallTimeout bounds a host-info request.
	agentCallTimeout = 3 * time.Second
	// clockProbes is the number of exchanges the clock estimate picks from.
	clockProbes = 5
)

// agentStall is how long a stream may stay silent before it counts as
// dead: a host that dies sends no FIN. The agent stretches its interval to
// 25× a sample's cost, which this does not know: the 5 s floor covers
// samples of up to 200 ms (110,000 TIME_WAIT sockets took 25 to 45 ms
// here).
func agentStall(interval time.Duration) time.Duration {
	return max(5*time.Second, 10*interval)
}

// remoteEnd streams the server end from a remote agent for one scenario.
// The load never waits for it, except for the baseline: a dead agent costs
// the run its server series from then on, and nothing else.
type remoteEnd struct {
	client *agent.Client
	query  agent.SeriesQuery
	// progress is the load's, joined to each sample.
	progress Progress

	first  chan struct{} // closed at the first sample
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	rem     report.Remote
	before  sockstat.Counters
	last    time.Time // the last sample's time, on this host's clock
	gapOpen bool
}

// startRemote probes the agent's clock and settings, then streams the
// server end of target until stop.
func startRemote(ctx context.Context, client *agent.Client, target netip.AddrPort, interval time.Duration,
	progress Progress) *remoteEnd {
	r := &remoteEnd{
		client:   client,
		query:    agent.SeriesQuery{Target: target, Interval: interval},
		progress: progress,
		first:    make(chan struct{}),
		done:     make(chan struct{}),
		rem:      report.Remote{URL: client.URL()},
	}
	began := time.Now()
	pctx, cancel := context.WithTimeout(ctx, agentCallTimeout)
	clock, info, err := client.ProbeClock(pctx, clockProbes)
	cancel()
	if err != nil {
		r.openGap(began, err)
	} else {
		r.rem.Clock = &clock
		r.rem.Host = &info.Host
		r.before = info.Counters
	}
	sctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.stream(sctx, began)
	return r
}

// stream keeps a series stream open until ctx ends, opening it again
// whenever it fails.
func (r *remoteEnd) stream(ctx context.Context, began time.Time) {
	defer close(r.done)
	var firstOnce sync.Once
	for ctx.Err() == nil {
		err := r.streamOnce(ctx, &firstOnce)
		if ctx.Err() != nil {
			return
		}
		r.openGap(began, err)
		select {
		case <-time.After(agentRetry):
		case <-ctx.Done():
		}
	}
}

// streamOnce reads the agent's clock if it was never read, then streams
// until the stream ends; it says why.
func (r *remoteEnd) streamOnce(ctx context.Context, firstOnce *sync.Once) error {
	r.mu.Lock()
	clock := r.rem.Clock
	r.mu.Unlock()
	if clock == nil {
		// The clock was never read: read it now, or no sample can be
		// placed on the run's time axis.
		pctx, cancel := context.WithTimeout(ctx, agentCallTimeout)
		c, info, err := r.client.ProbeClock(pctx, clockProbes)
		cancel()
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.rem.Clock, r.rem.Host, r.before = &c, &info.Host, info.Counters
		clock = &c
		r.mu.Unlock()
	}
	err := r.client.Stream(ctx, r.query, agentStall(r.query.Interval),
		func(h agent.SeriesHeader) {
			r.mu.Lock()
			r.rem.Matched = h.Matched
			r.mu.Unlock()
		},
		func(s sockstat.Sample) {
			s.At = s.At.Add(-clock.Offset)
			r.add(s)
			firstOnce.Do(func() { close(r.first) })
		})
	if err == nil {
		err = errors.New("the stream ended")
	}
	return err
}

func (r *remoteEnd) add(s sockstat.Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gapOpen {
		r.rem.Gaps[len(r.rem.Gaps)-1].To = s.At
		r.gapOpen = false
	}
	r.rem.Samples = append(r.rem.Samples, report.Sample{Sample: s, Requests: r.progress.Completed(), Errors: r.progress.Failed()})
	r.last = s.At
}

// openGap records that samples stop after the last one (or since began,
// before any), because of err; a gap already open keeps its first reason.
func (r *remoteEnd) openGap(began time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gapOpen {
		return
	}
	from := r.last
	if from.IsZero() {
		from = began
	}
	// The client's errors name the agent already.
	reason := err.Error()
	if !strings.Contains(reason, r.client.URL()) {
		reason = "agent " + r.client.URL() + ": " + reason
	}
	r.rem.Gaps = append(r.rem.Gaps, report.RemoteGap{From: from, Reason: reason})
	r.gapOpen = true
}

// lastServerTimeWait returns the server end's TIME_WAIT in the agent's
// latest sample; ok is false before the first.
func (r *remoteEnd) lastServerTimeWait() (n int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.rem.Samples) == 0 {
		return 0, false
	}
	return int(r.rem.Samples[len(r.rem.Samples)-1].Server[sockstat.TimeWait]), true
}

// waitFirst waits, up to agentFirstWait, for the first sample: the
// baseline, before the load starts.
func (r *remoteEnd) waitFirst(ctx context.Context) {
	select {
	case <-r.first:
	case <-time.After(agentFirstWait):
	case <-ctx.Done():
	}
}

// stop ends the stream, reads the agent host's counters once more, and
// returns the server end as the agent reported it.
func (r *remoteEnd) stop() *report.Remote {
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	rem := r.rem
	if len(rem.Samples) == 0 {
		rem.Unreachable = "the agent " + rem.URL + " sent no samples"
		if len(rem.Gaps) > 0 {
			rem.Unreachable = rem.Gaps[0].Reason
		}
		rem.Gaps = nil
		return &rem
	}
	if r.before != nil && !r.gapOpen {
		ctx, cancel := context.WithTimeout(context.Background(), agentCallTimeout)
		info, err := r.client.HostInfo(ctx)
		cancel()
		if err == nil && info.Counters != nil {
			rem.Counters = info.Counters.Sub(r.before)
		}
	}
	return &rem
}
