package loadgen

import "errors"

// runLoops runs the event loops to the end of the run and returns what
// their schedules did.
func (g *Generator) runLoops() (pacerStats, error) {
	var errs []error
	g.wakeMu.Lock()
	for _, l := range g.loops {
		errs = append(errs, l.open())
	}
	g.wakeMu.Unlock()
	defer func() {
		g.wakeMu.Lock()
		defer g.wakeMu.Unlock()
		for _, l := range g.loops {
			l.close()
		}
	}()
	if err := errors.Join(errs...); err != nil {
		return pacerStats{}, err
	}
	total := int64(0)
	if g.cfg.Rate > 0 {
		total = g.intended()
	}
	done := make(chan struct{}, len(g.loops))
	for _, l := range g.loops {
		l.total = total
		go func() {
			defer func() { done <- struct{}{} }()
			l.run()
		}()
	}
	for range g.loops {
		<-done
	}
	var ps pacerStats
	for _, l := range g.loops {
		ps.scheduled += l.ps.scheduled
		ps.queued += l.ps.queued
		ps.unsent += l.ps.unsent
		g.latency.h.Merge(l.latency)
		g.lag.h.Merge(l.lag)
	}
	return ps, nil
}

// wakeLoops has every loop look at the generator's state at once.
func (g *Generator) wakeLoops() {
	g.wakeMu.Lock()
	defer g.wakeMu.Unlock()
	for _, l := range g.loops {
		if l.wakefd >= 0 {
			l.wake()
		}
	}
}
