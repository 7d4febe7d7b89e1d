package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/twbench/twbench/loadgen"
)

// mergeCounts sums what is counted.
func (m *Run) mergeCounts(parts []*part) error {
	for _, p := range parts {
		r := p.run
		m.Requests += r.Requests
		m.Connections += r.Connections
		addCounts(m.Errors, r.Errors)
		addCounts(m.StatusCodes, r.StatusCodes)
		if len(r.CloseErrors) > 0 {
			if m.CloseErrors == nil {
				m.CloseErrors = map[string]int64{}
			}
			addCounts(m.CloseErrors, r.CloseErrors)
		}
		if r.ServerErrors != nil {
			if m.ServerErrors == nil {
				m.ServerErrors = map[string]int64{}
			}
			addCounts(m.ServerErrors, r.ServerErrors)
		}
		for class, msg := range r.ErrorExamples {
			if m.ErrorExamples == nil {
				m.ErrorExamples = map[string]string{}
			}
			if _, ok := m.ErrorExamples[class]; !ok {
				m.ErrorExamples[class] = msg
			}
		}
		m.Closes.ClientFirst += r.Closes.ClientFirst
		m.Closes.ServerFirst += r.Closes.ServerFirst
		m.Closes.ClientRST += r.Closes.ClientRST
		m.Closes.ServerRST += r.Closes.ServerRST
		m.Closes.AtEnd += r.Closes.AtEnd
		if c := r.CutOff; c != nil {
			if m.CutOff == nil {
				m.CutOff = &CutOff{}
			}
			m.CutOff.AtEnd += c.AtEnd
			m.CutOff.ByInterrupt += c.ByInterrupt
		}
		m.Interrupted = m.Interrupted || r.Interrupted
		if r.TimeWaitSeconds != nil && (m.TimeWaitSeconds == nil || *r.TimeWaitSeconds > *m.TimeWaitSeconds) {
			v := *r.TimeWaitSeconds
			m.TimeWaitSeconds = &v
		}
	}
	return nil
}

func addCounts(to, from map[string]int64) {
	for k, v := range from {
		to[k] += v
	}
}

// mergeLatency merges the shards' histograms: the percentiles are the
// merged histogram's, not a mix of the shards'.
func (m *Run) mergeLatency(parts []*part) error {
	latency := loadgen.NewHistogram()
	lag := loadgen.NewHistogram()
	lagExact, scheduled := true, false
	for _, p := range parts {
		if err := mergeHistogram(latency, p.run.LatencyHDR, p, "latency_hdr"); err != nil {
			return err
		}
		if sc := p.run.Schedule; sc != nil {
			scheduled = true
			if sc.LagHDR == "" {
				lagExact = false
			} else if err := mergeHistogram(lag, sc.LagHDR, p, "schedule.lag_hdr"); err != nil {
				return err
			}
		}
	}
	m.LatencyUS = percentiles(latency)
	if hdr, err := latency.EncodeV2(); err == nil {
		m.LatencyHDR = string(hdr)
	}
	if !scheduled {
		return nil
	}
	m.Schedule = &Schedule{Rate: m.Scenario.Rate}
	for _, p := range parts {
		if sc := p.run.Schedule; sc != nil {
			m.Schedule.Scheduled += sc.Scheduled
			m.Schedule.Late += sc.Late
			m.Schedule.Queued += sc.Queued
			m.Schedule.Unsent += sc.Unsent
			if !lagExact {
				l := &m.Schedule.LagUS
				l.P50, l.P90, l.P99 = max(l.P50, sc.LagUS.P50), max(l.P90, sc.LagUS.P90), max(l.P99, sc.LagUS.P99)
				l.P999, l.Max, l.Mean = max(l.P999, sc.LagUS.P999), max(l.Max, sc.LagUS.Max), max(l.Mean, sc.LagUS.Mean)
			}
		}
	}
	if lagExact {
		m.Schedule.LagUS = percentiles(lag)
		if hdr, err := lag.EncodeV2(); err == nil {
			m.Schedule.LagHDR = string(hdr)
		}
	} else {
		m.Notes = append(m.Notes, "lag_us is each percentile's highest among the shards: a shard's report has no lag histogram to merge (written before twbench kept one)")
	}
	return nil
}

// mergeHistogram adds an encoded histogram of p's to h.
func mergeHistogram(h *hdrhistogram.Histogram, encoded string, p *part, key string) error {
	name := p.run.Scenario.Name
	if encoded == "" {
		if key == "latency_hdr" && p.run.Requests > 0 {
			return fmt.Errorf("%s: scenario %s has no %s: its latency cannot be merged", p.s.Input, name, key)
		}
		return nil
	}
	if len(encoded) > MaxHistogramLen {
		return fmt.Errorf("%s: scenario %s: %s of %d bytes: at most %d", p.s.Input, name, key, len(encoded), MaxHistogramLen)
	}
	from, err := hdrhistogram.Decode([]byte(encoded))
	if err != nil {
		return fmt.Errorf("%s: scenario %s: %s: %w", p.s.Input, name, key, err)
	}
	if dropped := h.Merge(from); dropped > 0 {
		return fmt.Errorf("%s: scenario %s: %s holds %d values outside twbench's range (1 µs to 1 h)", p.s.Input, name, key, dropped)
	}
	return nil
}

// mergeKernelCounters adds up the counters of distinct network
// namespaces: the counters are namespace-wide, so shards in one namespace
// each saw the others' too, and count once (the highest of them).
func (m *Run) mergeKernelCounters(parts []*part) {
	byDomain := map[string]map[string]int64{}
	for _, p := range parts {
		d := byDomain[p.s.domain]
		if d == nil {
			d = map[string]int64{}
			byDomain[p.s.domain] = d
		}
		for k, v := range p.run.KernelCounters {
			d[k] = max(d[k], v)
		}
	}
	for _, d := range byDomain {
		addCounts(m.KernelCounters, d)
	}
}

// mergeStart says when the fleet was to start and how late its last
// shard started.
func (m *Run) mergeStart(parts []*part, t0 time.Time) {
	last := t0
	var at time.Time
	for _, p := range parts {
		last = maxTime(last, p.start)
		if a, err := time.Parse(time.RFC3339Nano, p.run.StartAt); err == nil && (at.IsZero() || a.Before(at)) {
			at = a
		}
	}
	m.Fleet.StartSpreadMS = round(float64(last.Sub(t0))/1e6, 3)
	if !at.IsZero() {
		late := round(float64(last.Sub(at))/1e6, 3)
		m.StartAt, m.StartLateMS = at.UTC().Format(time.RFC3339Nano), &late
	}
}

// mergePerSecond adds up the shards' seconds one by one: the first second
// of each shard's load, the second, and so on, which --start-at lines up.
func mergePerSecond(parts []*part) []SecondPoint {
	var out []SecondPoint
	for _, p := range parts {
		for k, sp := range p.run.PerSecond {
			if k == len(out) {
				out = append(out, SecondPoint{})
			}
			o := &out[k]
			o.T = max(o.T, sp.T)
			o.Requests += sp.Requests
			o.Connections += sp.Connections
			for class, n := range sp.Errors {
				if o.Errors == nil {
					o.Errors = map[string]int64{}
				}
				o.Errors[class] += n
			}
		}
	}
	if out == nil {
		out = []SecondPoint{}
	}
	return out
}

// mergeSampling sums the samples and keeps the worst of the intervals and
// costs.
func mergeSampling(parts []*part) *Sampling {
	var out *Sampling
	var cost float64
	for _, p := range parts {
		sm := p.run.Sampling
		if sm == nil {
			continue
		}
		if out == nil {
			out = &Sampling{IntervalS: sm.IntervalS}
		}
		out.Samples += sm.Samples
		out.MeanIntervalS = max(out.MeanIntervalS, sm.MeanIntervalS)
		out.MaxCostMS = max(out.MaxCostMS, sm.MaxCostMS)
		cost += sm.MeanCostMS * float64(sm.Samples)
	}
	if out != nil && out.Samples > 0 {
		out.MeanCostMS = round(cost/float64(out.Samples), 3)
	}
	return out
}

// grid returns the times from first to last, every step, at most
// maxGridPoints of them.
func grid(first, last time.Time, step time.Duration) []time.Time {
	const maxGridPoints = 20_000
	step = max(step, 10*time.Millisecond)
	if span := last.Sub(first); span/step > maxGridPoints {
		step = span / maxGridPoints
	}
	var out []time.Time
	for t := first; !t.After(last); t = t.Add(step) {
		out = append(out, t)
	}
	if len(out) == 0 || out[len(out)-1].Before(last) {
		out = append(out, last)
	}
	return out
}

// mergeThroughput adds up the shards' cumulative counts on one time axis,
// each shard's interpolated between its samples.
func mergeThroughput(parts []*part, t0 time.Time, step time.Duration) []ThroughputPoint {
	var first, last time.Time
	for _, p := range parts {
		if n := len(p.run.Throughput); n > 0 {
			a := p.start.Add(seconds2d(p.run.Throughput[0].T))
			b := p.start.Add(seconds2d(p.run.Throughput[n-1].T))
			if first.IsZero() || a.Before(first) {
				first = a
			}
			last = maxTime(last, b)
		}
	}
	out := []ThroughputPoint{}
	if first.IsZero() {
		return out
	}
	for _, g := range grid(first, last, step) {
		tp := ThroughputPoint{T: round(g.Sub(t0).Seconds(), 3)}
		for _, p := range parts {
			req, errs := cumulativeAt(p.run.Throughput, g.Sub(p.start).Seconds())
			tp.Requests += req
			tp.Errors += errs
		}
		out = append(out, tp)
	}
	return out
}

// cumulativeAt interpolates cumulative counts at t, seconds from the
// load's start: none before it.
func cumulativeAt(line []ThroughputPoint, t float64) (requests, errs int64) {
	prev := ThroughputPoint{}
	for _, p := range line {
		if p.T <= 0 {
			continue // before the load: nothing done yet
		}
		if t <= p.T {
			if t <= prev.T {
				return prev.Requests, prev.Errors
			}
			w := (t - prev.T) / (p.T - prev.T)
			return prev.Requests + int64(w*float64(p.Requests-prev.Requests)), prev.Errors + int64(w*float64(p.Errors-prev.Errors))
		}
		prev = p
	}
	return prev.Requests, prev.Errors
}

func seconds2d(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// mergeExhaustion adds up the shards' exhaustion of each resource: counts
// and rates summed over the shards that ran out, the first error the
// fleet's first, the prediction the fleet's ceiling.
func mergeExhaustion(parts []*part, t0 time.Time, ports *Ports) []Exhaustion {
	var out []Exhaustion
	ratios := map[string]bool{}
	for _, p := range parts {
		for _, e := range p.run.Exhaustion {
			k := slices.IndexFunc(out, func(o Exhaustion) bool { return o.Error == e.Error })
			first := round(p.start.Sub(t0).Seconds()+e.FirstS, 3)
			if k < 0 {
				out = append(out, Exhaustion{Error: e.Error, FirstS: first, Regime: e.Regime})
				k = len(out) - 1
				ratios[e.Error] = true
			}
			o := &out[k]
			o.Count += e.Count
			o.FirstS = min(o.FirstS, first)
			o.OfferedRate = round(o.OfferedRate+e.OfferedRate, 1)
			o.ConnectedRate = round(o.ConnectedRate+e.ConnectedRate, 1)
			ratios[e.Error] = ratios[e.Error] && e.Ratio != nil
		}
	}
	for k := range out {
		o := &out[k]
		ceil := ports.MaxSustainableQPS.Network
		if o.Regime == RegimeLoopback {
			ceil = ports.MaxSustainableQPS.Loopback
		}
		if ceil != nil && ports.ConnectionsPerRequest > 0 {
			v := round(*ceil*ports.ConnectionsPerRequest, 2)
			o.PredictedRate = &v
			if ratios[o.Error] && v > 0 {
				r := round(o.ConnectedRate/v, 3)
				o.Ratio = &r
			}
		}
	}
	return out
}
