package report

import (
	"fmt"
	"math"
	"time"

	"github.com/twbench/twbench/loadgen"
)

// SecondPoint is what happened in one second of the load (the last may be
// shorter): requests completed, connections opened and failed requests by
// class, counted in that second alone.
type SecondPoint struct {
	// T is the end of the second, in seconds from the load's start.
	T           float64          `json:"t"`
	Requests    int64            `json:"requests"`
	Connections int64            `json:"connections"`
	Errors      map[string]int64 `json:"errors,omitempty"`
}

// Exhaustion describes a run that ran out of a resource for new
// connections: client ports (EADDRNOTAVAIL) or descriptors (EMFILE,
// ENFILE). The run goes on; this says when it began, at what rate, and
// how that compares with the port figures' prediction.
type Exhaustion struct {
	Error string `json:"error"`
	Count int64  `json:"count"`
	// FirstS is when the first such error came, in seconds from the load's
	// start.
	FirstS float64 `json:"first_s"`
	// From the first error to the end of the load: connection attempts per
	// second (those made and those refused) and connections made per
	// second, which is what the resource allowed.
	OfferedRate   float64 `json:"offered_rate"`
	ConnectedRate float64 `json:"connected_rate"`
	// PredictedRate is the new connections per second the port figures
	// allow in the regime in force (max_sustainable_qps × connections per
	// request); null when they give no ceiling. Ratio is ConnectedRate /
	// PredictedRate.
	PredictedRate *float64 `json:"predicted_rate"`
	Regime        string   `json:"regime"`
	Ratio         *float64 `json:"ratio"`

	// ConnectionsBefore counts the connections made before the first
	// error: for EADDRNOTAVAIL, before any port could come back, the
	// ports there were to use.
	ConnectionsBefore int64 `json:"connections_before"`
	// MeasuredCeiling is the ceiling derived from what the run measured:
	// the ports used before the first EADDRNOTAVAIL, each held as long as
	// a connection holds its port in the regime in force (with the
	// TIME_WAIT length read from the kernel's timers), per connection per
	// request. MeasuredRatio is it over the regime's max_sustainable_qps,
	// the prediction from the settings. Both are null for another error,
	// when the TIME_WAIT length was not measured, when the client closed
	// no connection first, and when the first error came so late that
	// ports may have come back before it.
	MeasuredCeiling *float64 `json:"measured_ceiling"`
	MeasuredRatio   *float64 `json:"measured_ratio"`
	// CPUBefore and CPUAfter are the process's CPU time from the load's
	// start to the first error and from there to the end of the load, each
	// with the connection attempts made in it: a connect() that fails
	// with EADDRNOTAVAIL has first searched the whole port range, in the
	// kernel. Absent when the CPU time was not sampled.
	CPUBefore *PhaseCPU `json:"cpu_before,omitempty"`
	CPUAfter  *PhaseCPU `json:"cpu_after,omitempty"`
}

// exhaustionClasses are the errors of a resource running out.
var exhaustionClasses = []loadgen.ErrorClass{loadgen.ErrAddrNotAvail, loadgen.ErrTooManyFiles, loadgen.ErrTooManyFilesSystem}

// connectFailures are the classes of a connection attempt that failed.
var connectFailures = []loadgen.ErrorClass{loadgen.ErrAddrNotAvail, loadgen.ErrTooManyFiles,
	loadgen.ErrTooManyFilesSystem, loadgen.ErrConnRefused}

func perSecond(line []loadgen.Progress) []SecondPoint {
	out := make([]SecondPoint, 0, len(line))
	var prev loadgen.Progress
	for _, p := range line {
		if p.T <= prev.T && len(out) > 0 {
			continue
		}
		sp := SecondPoint{
			T:           round(p.T.Seconds(), 3),
			Requests:    p.Requests - prev.Requests,
			Connections: p.Connections - prev.Connections,
		}
		for c := range p.Errors {
			if n := p.Errors[c] - prev.Errors[c]; n > 0 {
				if sp.Errors == nil {
					sp.Errors = map[string]int64{}
				}
				sp.Errors[loadgen.ErrorClass(c).String()] = n
			}
		}
		out = append(out, sp)
		prev = p
	}
	return out
}

// attempts returns the connection attempts at p: made and refused.
func attempts(p loadgen.Progress) float64 {
	n := p.Connections
	for _, c := range connectFailures {
		n += p.Errors[c]
	}
	return float64(n)
}

// at interpolates the cumulative progress at t from the timeline.
func at(line []loadgen.Progress, t time.Duration, f func(loadgen.Progress) float64) float64 {
	var prev loadgen.Progress
	for _, p := range line {
		if p.T >= t {
			if p.T == prev.T {
				return f(p)
			}
			w := float64(t-prev.T) / float64(p.T-prev.T)
			return f(prev) + w*(f(p)-f(prev))
		}
		prev = p
	}
	return f(prev)
}

// exhaustion describes each resource that ran out. Rates run from the
// first error to the end of the load: the duration, when requests that
// hung on past it (to their timeout) would otherwise stretch the span.
func exhaustion(res *loadgen.Result, duration time.Duration, p *Ports, cpu []CPUSample) (out []Exhaustion, notes []string) {
	line := res.Timeline
	if len(line) == 0 {
		return nil, nil
	}
	end := line[len(line)-1].T
	if duration > 0 && duration < end {
		end = duration
	}
	conns := func(q loadgen.Progress) float64 { return float64(q.Connections) }
	for _, c := range exhaustionClasses {
		n := res.Errors[c]
		onset := res.Onset[c]
		if n == 0 || onset.T <= 0 {
			continue
		}
		e := Exhaustion{Error: c.String(), Count: n, FirstS: round(onset.T.Seconds(), 3), Regime: p.MaxSustainableQPS.InForce,
			ConnectionsBefore: onset.Connections}
		if span := (end - onset.T).Seconds(); span > 0 {
			e.OfferedRate = round((at(line, end, attempts)-attempts(onset))/span, 1)
			e.ConnectedRate = round((at(line, end, conns)-conns(onset))/span, 1)
		}
		e.CPUBefore = phaseCPU(cpu, res.Start, res.Start.Add(onset.T), int64(attempts(onset)))
		e.CPUAfter = phaseCPU(cpu, res.Start.Add(onset.T), res.Start.Add(end), int64(at(line, end, attempts)-attempts(onset)))
		ceil, hold := p.MaxSustainableQPS.Network, p.PortHoldS.Network
		if e.Regime == RegimeLoopback {
			ceil, hold = p.MaxSustainableQPS.Loopback, p.PortHoldS.Loopback
		}
		// The wait for a port to come back, without the connection's own
		// life (a fraction of a millisecond here).
		wait := max(hold-p.ConnectionLifetimeS, 0)
		// Only a port held for the measured TIME_WAIT makes a measured
		// ceiling: under tcp_tw_reuse the hold is the reuse delay, a
		// setting, and the figure would repeat the prediction.
		heldTimeWait := hold >= p.PortsPerQPS*0.999
		if c == loadgen.ErrAddrNotAvail && ceil != nil && p.TimeWaitMeasured && heldTimeWait && p.ClientCloseShare > 0 &&
			p.ConnectionsPerRequest > 0 && onset.T.Seconds() < hold {
			// No port was held for its full time yet when the first
			// error came: what had been used by then was all there was.
			m := float64(onset.Connections) / (hold * p.ConnectionsPerRequest)
			shown := round(m, 1)
			if m < 100 {
				shown = round(m, 2)
			}
			e.MeasuredCeiling = &shown
			if *ceil > 0 {
				// Against the ceiling as printed: the settings' prediction.
				r := round(m / *ceil, 3)
				e.MeasuredRatio = &r
			}
		}
		if ceil != nil && p.ConnectionsPerRequest > 0 {
			v := round(*ceil*p.ConnectionsPerRequest, 2)
			e.PredictedRate = &v
			switch {
			case c != loadgen.ErrAddrNotAvail:
				// Descriptors are not ports: no ratio.
			case end.Seconds() < 2*wait:
				notes = append(notes, fmt.Sprintf(
					"%s: the load (%.1f s) was shorter than twice the time a port is held (%s in the %s regime), so the ports had not cycled and the rate after the first error is not the steady state that predicted_rate describes; run for at least %s to compare them",
					e.Error, end.Seconds(), seconds(wait), e.Regime, seconds(math.Ceil(20*wait)/10)))
			case v > 0:
				r := round(e.ConnectedRate/v, 3)
				e.Ratio = &r
			}
		}
		out = append(out, e)
	}
	return out, notes
}
