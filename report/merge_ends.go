package report

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/sockstat"
)

// endKey says which sockets a shard's end holds, and in words: shards with
// the same key sampled the same sockets.
type endKey func(p *part, e *End) (key, where string)

// clientKey: the client end is every socket in the shard's network
// namespace connected to the target, the other shards' in that namespace
// included.
func clientKey(p *part, _ *End) (string, string) {
	return p.s.domain + " " + p.run.Target, p.s.domainText + ", to " + p.run.Target
}

// serverKey: an agent's server end is its host's sockets on the target's
// port, whichever shard asked; a server end sampled here is the shard's
// network namespace's, as the client end.
func serverKey(p *part, e *End) (string, string) {
	if e.Source == SourceAgent {
		where := "agent " + e.AgentURL
		if e.Matched != "" {
			where += " (" + e.Matched + ")"
		}
		return where, where
	}
	return clientKey(p, e)
}

// endGroup is one set of sockets, and the shards that sampled it.
type endGroup struct {
	where    string
	parts    []*part // the shards whose end it is
	sampled  []*part // of those, the ones that sampled it
	requests int64   // the requests of parts: the sockets of all of them
}

func (g *endGroup) summary() EndGroup {
	eg := EndGroup{Where: g.where, Shards: []int{}}
	for _, p := range g.sampled {
		eg.Shards = append(eg.Shards, p.s.index)
	}
	return eg
}

// point is a sample on the fleet's time axis.
type point struct {
	at     time.Time
	counts sockstat.Counts
}

// points returns the group's samples, every sampling shard's, in time
// order: they are all samples of the same sockets.
func (g *endGroup) points(end func(*Run) *End) []point {
	var out []point
	for _, p := range g.sampled {
		for _, pt := range end(p.run).Series {
			out = append(out, point{at: p.start.Add(seconds2d(pt.T)), counts: pt.Counts})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// mergeEnd merges one end of the shards' runs: the distinct sets of
// sockets (groups) summed, each set counted once however many shards
// sampled it.
func mergeEnd(parts []*part, t0 time.Time, step time.Duration, name string, key endKey) (End, []*endGroup, []string) {
	end := func(r *Run) *End {
		if name == "client" {
			return &r.Client
		}
		return &r.Server
	}
	var groups []*endGroup
	byKey := map[string]*endGroup{}
	var reasons []string
	var unsampled []int
	for _, p := range parts {
		e := end(p.run)
		k, where := key(p, e)
		g := byKey[k]
		if g == nil {
			g = &endGroup{where: where}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.parts = append(g.parts, p)
		g.requests += p.run.Requests
		if e.Sampled {
			g.sampled = append(g.sampled, p)
			continue
		}
		unsampled = append(unsampled, p.s.index)
		if !slices.Contains(reasons, e.Reason) {
			reasons = append(reasons, e.Reason)
		}
	}
	var sampled []*endGroup
	for _, g := range groups {
		if len(g.sampled) > 0 {
			sampled = append(sampled, g)
		}
	}
	out := End{Baseline: map[string]int{}, Peak: map[string]int{}, Final: map[string]int{}, Series: []Point{}}
	var notes []string
	if len(sampled) == 0 {
		out.Reason = strings.Join(reasons, "; ")
		return out, nil, nil
	}
	out.Sampled = true
	if len(unsampled) > 0 {
		notes = append(notes, fmt.Sprintf("%s end: %s did not sample it (%s): its counts are the other shards'",
			name, shardList(unsampled), strings.Join(reasons, "; ")))
	}
	var requests int64
	var series [][]point
	for _, g := range sampled {
		pts := g.points(end)
		series = append(series, pts)
		requests += g.requests
		var newTW int64
		first, last := g.sampled[0], g.sampled[0]
		for _, p := range g.sampled {
			e := end(p.run)
			newTW = max(newTW, e.NewTimeWait)
			for st, n := range e.Peak {
				out.Peak[st] = max(out.Peak[st], n) // summed below when there are several groups
			}
			if p.start.Before(first.start) {
				first = p
			}
			if lastAt(p, end).After(lastAt(last, end)) {
				last = p
			}
		}
		out.NewTimeWait += newTW
		addStates(out.Baseline, end(first.run).Baseline)
		addStates(out.Final, end(last.run).Final)
		if len(g.sampled) > 1 {
			notes = append(notes, fmt.Sprintf("%s end: %s sampled the same sockets (%s): counted once", name, shardList(indexes(g.sampled)), g.where))
		}
	}
	if len(sampled) == 1 {
		for _, pt := range series[0] {
			out.Series = append(out.Series, Point{T: round(pt.at.Sub(t0).Seconds(), 3), Counts: pt.counts})
		}
	} else {
		out.Series, out.Peak = sumSeries(series, t0, step)
	}
	if requests > 0 {
		v := round(float64(out.NewTimeWait)/float64(requests), 4)
		out.TimeWaitPerRequest = &v
	}
	var total int64
	for _, p := range parts {
		total += p.run.Requests
	}
	if requests < total {
		out.RequestsSampled = &requests
	}
	agentEnd(&out, sampled, end, t0)
	return out, sampled, notes
}

// lastAt returns when a shard's end was last sampled.
func lastAt(p *part, end func(*Run) *End) time.Time {
	s := end(p.run).Series
	if len(s) == 0 {
		return p.start
	}
	return p.start.Add(seconds2d(s[len(s)-1].T))
}

// sumSeries adds up several groups' samples on one time axis: at each step,
// each group's last sample at or before it (its first, before it had any),
// and returns each state's peak over the sums.
func sumSeries(series [][]point, t0 time.Time, step time.Duration) ([]Point, map[string]int) {
	var first, last time.Time
	for _, s := range series {
		if len(s) == 0 {
			continue
		}
		if first.IsZero() || s[0].at.Before(first) {
			first = s[0].at
		}
		last = maxTime(last, s[len(s)-1].at)
	}
	peak := map[string]int{}
	for _, st := range sockstat.ConnStates() {
		peak[st.String()] = 0
	}
	out := []Point{}
	if first.IsZero() {
		return out, peak
	}
	next := make([]int, len(series))
	for _, at := range grid(first, last, step) {
		var sum sockstat.Counts
		for k, s := range series {
			for next[k] < len(s) && !s[next[k]].at.After(at) {
				next[k]++
			}
			if len(s) == 0 {
				continue
			}
			c := s[max(next[k]-1, 0)].counts
			for st := range sum {
				sum[st] += c[st]
			}
		}
		for _, st := range sockstat.ConnStates() {
			peak[st.String()] = max(peak[st.String()], int(sum[st]))
		}
		out = append(out, Point{T: round(at.Sub(t0).Seconds(), 3), Counts: sum})
	}
	return out, peak
}

func addStates(to, from map[string]int) {
	for k, v := range from {
		to[k] += v
	}
}

func indexes(parts []*part) []int {
	out := make([]int, len(parts))
	for i, p := range parts {
		out[i] = p.s.index
	}
	return out
}

// shardList writes "shard 1" or "shards 0, 1, 2".
func shardList(idx []int) string {
	items := make([]string, len(idx))
	for i, n := range idx {
		items[i] = strconv.Itoa(n)
	}
	if len(idx) == 1 {
		return "shard " + items[0]
	}
	return "shards " + shortList(items, 12)
}

// agentEnd fills in where an end read from agents came from: one agent's
// details as they were; several agents' URLs and counters together.
func agentEnd(out *End, groups []*endGroup, end func(*Run) *End, t0 time.Time) {
	var urls, matched []string
	counters := map[string]int64{}
	allAgent := true
	for _, g := range groups {
		e := end(g.sampled[0].run)
		if e.Source != SourceAgent {
			allAgent = false
			continue
		}
		urls = append(urls, e.AgentURL)
		if e.Matched != "" && !slices.Contains(matched, e.Matched) {
			matched = append(matched, e.Matched)
		}
		// One agent's counters, however many shards read them.
		most := map[string]int64{}
		for _, p := range g.sampled {
			for k, v := range end(p.run).KernelCounters {
				most[k] = max(most[k], v)
			}
		}
		addCounts(counters, most)
	}
	if !allAgent || len(urls) == 0 {
		return
	}
	out.Source = SourceAgent
	out.AgentURL = strings.Join(urls, ", ")
	out.Matched = strings.Join(matched, ", ")
	out.KernelCounters = counters
	if len(groups) == 1 && len(groups[0].sampled) == 1 {
		p := groups[0].sampled[0]
		e := end(p.run)
		out.Host, out.ClockOffsetMS, out.ClockRTTMS = e.Host, e.ClockOffsetMS, e.ClockRTTMS
		shift := p.start.Sub(t0).Seconds()
		for _, gap := range e.Gaps {
			gap.From = round(gap.From+shift, 3)
			if gap.To != nil {
				to := round(*gap.To+shift, 3)
				gap.To = &to
			}
			out.Gaps = append(out.Gaps, gap)
		}
		if len(out.Gaps) > 0 {
			out.MissingFrom = &out.Gaps[0].From
		}
		return
	}
	// Several shards' streams of one agent: its host, if they agree.
	if len(groups) == 1 {
		out.Host = end(groups[0].sampled[0].run).Host
	}
}

// mergePorts recomputes the port figures for the fleet: a shard's port
// cost per request, from the fleet's closes and lifetimes, and the usable
// ports and ceilings of all the fleet's source addresses together.
func (m *Run) mergePorts(parts []*part, clientGroups []*endGroup, t0 time.Time, step time.Duration) {
	first := parts[0].run
	p := Ports{PortRange: first.Ports.PortRange, PortRangeFrom: first.Ports.PortRangeFrom, TimeWaitFrom: first.Ports.TimeWaitFrom,
		ReuseDelayS: first.Ports.ReuseDelayS, TimeWaitS: first.Ports.TimeWaitS}
	p.MaxSustainableQPS.InForce = first.Ports.MaxSustainableQPS.InForce
	var lifetime float64
	bySource := map[string][]*part{}
	for _, q := range parts {
		r := q.run
		lifetime += r.Ports.ConnectionLifetimeS * float64(r.Closes.Total())
		if r.Ports.TimeWaitMeasured && (!p.TimeWaitMeasured || r.Ports.TimeWaitS > p.TimeWaitS) {
			p.TimeWaitS, p.TimeWaitMeasured = r.Ports.TimeWaitS, true
		}
		srcs := r.Shard.Sources
		if len(srcs) == 0 {
			srcs = []string{"unknown (" + q.s.domainText + ")"}
		}
		for _, a := range srcs {
			bySource[a] = append(bySource[a], q)
		}
	}
	m.Fleet.Sources = slices.Sorted(maps.Keys(bySource))
	closes := m.Closes.Total()
	if m.Requests > 0 {
		p.ConnectionsPerRequest = float64(closes) / float64(m.Requests)
	}
	if closes > 0 {
		p.ClientCloseShare = float64(m.Closes.ClientFirst) / float64(closes)
		p.ConnectionLifetimeS = lifetime / float64(closes)
	}
	cost := portModel{ConnectionsPerRequest: p.ConnectionsPerRequest, LifetimeS: p.ConnectionLifetimeS,
		ClientCloseShare: p.ClientCloseShare, TimeWaitS: p.TimeWaitS, ReuseDelayS: p.ReuseDelayS}
	host := parts[0].s.Report.Host
	p.PortHoldS = cost.hold(host)
	p.PortsPerQPS = cost.portsPerQPS()
	perSource := 0
	if first.Ports.PortRange != "" {
		perSource = first.Ports.UsablePorts / max(len(first.Scenario.Sources), 1)
		p.UsablePorts = perSource * len(bySource)
	}
	if len(bySource) > 1 || len(first.Ports.Sources) > 0 {
		for _, a := range m.Fleet.Sources {
			p.Sources = append(p.Sources, sourceUse(a, bySource[a], clientGroups, perSource, t0, step))
		}
	}
	m.Ports = p
	if m.Scenario.Closer == loadgen.CloserNone {
		m.Ports.PortsPerQPS = 0
		if m.QPS > 0 {
			m.Ports.PortsPerQPS = float64(m.Scenario.Concurrency) / m.QPS
		}
		return
	}
	if p.PortRange != "" {
		m.Ports.MaxSustainableQPS.Loopback, m.Ports.MaxSustainableQPS.Network = cost.ceilings(p.UsablePorts, p.PortHoldS)
	}
}

// sourceUse is what one source address of the fleet was used for: by the
// shards that had it, and in the client ends only they sampled.
func sourceUse(addr string, parts []*part, clientGroups []*endGroup, perSource int, t0 time.Time, step time.Duration) SourceUse {
	use := SourceUse{Address: addr, UsablePorts: perSource}
	for _, p := range parts {
		r := p.run
		if i := slices.IndexFunc(r.Ports.Sources, func(s SourceUse) bool { return s.Address == addr }); i >= 0 {
			use.Connections += r.Ports.Sources[i].Connections
			use.NoPort += r.Ports.Sources[i].NoPort
			continue
		}
		use.Connections += r.Connections
		use.NoPort += r.Errors[loadgen.ErrAddrNotAvail.String()]
	}
	var series [][]point
	for _, g := range clientGroups {
		only := true
		for _, p := range g.parts {
			only = only && slices.Contains(parts, p) && len(p.run.Shard.Sources) <= 1
		}
		if only {
			series = append(series, g.points(func(r *Run) *End { return &r.Client }))
		}
	}
	sum, _ := sumSeries(series, t0, step)
	for _, pt := range sum {
		use.PeakInUse = max(use.PeakInUse, pt.Counts.Total())
		use.PeakTimeWait = max(use.PeakTimeWait, int(pt.Counts[sockstat.TimeWait]))
	}
	return use
}
