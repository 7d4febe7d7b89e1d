package sockstat

import (
	"context"
	"net/netip"
	"time"
)

// Sample is one reading of the socket states of a port's two ends.
type Sample struct {
	At   time.Time     // when the dump was requested
	Cost time.Duration // how long the dump took

	Client Counts // sockets whose remote port is the port
	Server Counts // sockets whose local port is the port
	// BySource splits the client end by local address, in the order of
	// the sources the Sampler was given (SplitBySource).
	BySource []Counts

	// ClientNewTimeWait and ServerNewTimeWait count the TIME_WAIT sockets
	// that appeared since the previous sample; in the first sample of a
	// Sampler they are 0.
	ClientNewTimeWait int
	ServerNewTimeWait int

	// MaxTimeWaitLeft is the longest time left on any TIME_WAIT socket's
	// timer: for a socket that has just entered TIME_WAIT, the TIME_WAIT
	// length itself.
	MaxTimeWaitLeft time.Duration
}

// costRatio bounds the sampler's duty cycle: after a sample that took d, the
// next one waits at least costRatio×d, so sampling takes at most 1/costRatio
// of a core however many sockets the host holds. It is 25, not 20: the
// process's CPU time runs about 4% above its samples' wall time (5.2% of a
// core against 5.0% at 20, with 110k TIME_WAIT sockets on the port), and
// the bound is 5%.
const costRatio = 25

// NextWait returns how long to wait after a sample that cost cost, at the
// requested interval.
func NextWait(interval, cost time.Duration) time.Duration {
	return max(interval, costRatio*cost)
}

// maxFailures is how many samples in a row may fail before Run gives up.
const maxFailures = 3

// Run samples every interval until ctx is done, handing each sample to fn.
// The first sample is taken at once. An expensive sample stretches the
// interval (NextWait) rather than keep a core busy. A failed sample is
// skipped; Run returns nil when ctx ends it, or the error of the last of
// three failed samples in a row.
func (s *Sampler) Run(ctx context.Context, interval time.Duration, fn func(Sample)) error {
	return RunSampling(ctx, interval, s.Sample, fn)
}

// RunSampling is Run for any way of taking a sample: several samplers'
// joined, say.
func RunSampling(ctx context.Context, interval time.Duration, sample func() (Sample, error), fn func(Sample)) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		begin := time.Now()
		smp, err := sample()
		cost := time.Since(begin)
		if err != nil {
			if failures++; failures == maxFailures {
				return err
			}
		} else {
			failures = 0
			fn(smp)
		}
		timer.Reset(time.Until(begin.Add(NextWait(interval, cost))))
	}
}

// NewSamplerIn opens a sampler inside a network namespace: in runs a
// function there (netns.Namespace.Do), and the sampler samples that
// namespace's sockets, whichever goroutine takes its samples; after a
// failed sample it opens its socket there again.
func NewSamplerIn(target netip.AddrPort, in func(func() error) error) (*Sampler, error) {
	var s *Sampler
	err := in(func() error {
		var err error
		s, err = NewSampler(target)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.setIn(in)
	return s, nil
}
