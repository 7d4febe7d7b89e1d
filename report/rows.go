package report

import (
	"slices"
	"strconv"
	"strings"

	"github.com/twbench/twbench/sockstat"
)

// row is a line of the side-by-side table.
type row struct {
	label string
	cells []string
}

// tableRows returns the rows of the side-by-side table: a header row of
// the scenarios' names, then one row per figure, one cell per run.
func tableRows(runs []Run) []row {
	rows := []row{{label: ""}}
	add := func(label string, cell func(*Run) string) {
		r := row{label: label}
		for i := range runs {
			r.cells = append(r.cells, cell(&runs[i]))
		}
		rows = append(rows, r)
	}
	for i := range runs {
		rows[0].cells = append(rows[0].cells, runs[i].Scenario.Name)
	}
	add("protocol, closer", func(r *Run) string {
		if r.Watch != nil {
			return "watched command"
		}
		return string(r.Scenario.Protocol) + ", " + string(r.Scenario.Closer)
	})
	if slices.ContainsFunc(runs, func(r Run) bool { return r.Watch != nil }) {
		add("command", func(r *Run) string {
			if r.Watch == nil {
				return "-"
			}
			return CommandLine(r.Watch.Command, 200)
		})
	}
	add("load", loadCell)
	if slices.ContainsFunc(runs, func(r Run) bool { return r.Topology != nil }) {
		add("topology", topologyCell)
	}
	add("target", func(r *Run) string {
		if r.BuiltinTarget {
			return "built-in " + strings.TrimSuffix(strings.TrimPrefix(r.Target, "http://"), "/")
		}
		return r.Target
	})
	add("duration", func(r *Run) string {
		s := strconv.FormatFloat(r.DurationS, 'f', 2, 64) + " s"
		if r.Interrupted {
			s += " (interrupted)"
		}
		return s
	})
	unknown := func(r *Run) bool { return r.Watch != nil && r.Watch.Tool == "" } // a watched command without a summary
	add("requests", func(r *Run) string {
		if unknown(r) {
			return "- (not known)"
		}
		return commas(r.Requests)
	})
	add("connections", func(r *Run) string {
		if r.Watch != nil && r.Watch.Connections.From == "active_opens" {
			return commas(r.Connections) + " (namespace)"
		}
		return commas(r.Connections)
	})
	add("qps", func(r *Run) string {
		if unknown(r) {
			return "-"
		}
		return commasFloat(r.QPS, 1)
	})
	add("errors", func(r *Run) string {
		if unknown(r) {
			return "-"
		}
		return errorsCell(r)
	})
	add("latency p50 / p99", func(r *Run) string {
		return latencyMS(r, "p50", r.LatencyUS.P50) + " / " + latencyMS(r, "p99", r.LatencyUS.P99) + " ms"
	})
	add("latency p99.9 / max", func(r *Run) string {
		return latencyMS(r, "p999", r.LatencyUS.P999) + " / " + latencyMS(r, "max", r.LatencyUS.Max) + " ms"
	})
	add("late sends / lag p99", func(r *Run) string {
		sc := r.Schedule
		switch {
		case r.Watch != nil:
			return "-"
		case sc == nil:
			return "closed loop"
		}
		cell := commas(sc.Late) + " / " + ms(sc.LagUS.P99) + " ms"
		if sc.Unsent > 0 {
			cell += ", " + commas(sc.Unsent) + " unsent"
		}
		return cell
	})
	add("first to close", closesCell)
	for _, end := range []string{"client", "server"} {
		pick := func(r *Run) *End {
			if end == "client" {
				return &r.Client
			}
			return &r.Server
		}
		add(end+" TIME_WAIT peak/final", func(r *Run) string { return timeWaitCell(pick(r)) })
		add(end+" new TIME_WAIT/req", func(r *Run) string { return newTimeWaitCell(pick(r)) })
		add(end+" other states, peak", func(r *Run) string {
			e := pick(r)
			if !e.Sampled {
				return "-"
			}
			return otherStates(e.Peak)
		})
	}
	for _, name := range watchedNames(runs) {
		for _, end := range []string{"client", "server"} {
			pick := func(r *Run) *End {
				w, ok := r.Watched.Lookup(name)
				switch {
				case !ok:
					return nil
				case end == "client":
					return &w.Client
				}
				return &w.Server
			}
			add(name+" "+end+" TIME_WAIT peak/final", func(r *Run) string { return timeWaitCell(pick(r)) })
			add(name+" "+end+" new TIME_WAIT/req", func(r *Run) string { return newTimeWaitCell(pick(r)) })
		}
	}
	if slices.ContainsFunc(runs, func(r Run) bool { return r.Server.Source == SourceAgent }) {
		add("server end from", agentCell)
	}
	add("ports per qps", func(r *Run) string { return seconds(r.Ports.PortsPerQPS) })
	add("max qps, network", func(r *Run) string { return ceilingCell(r, RegimeNetwork) })
	add("max qps, loopback", func(r *Run) string { return ceilingCell(r, RegimeLoopback) })
	if slices.ContainsFunc(runs, func(r Run) bool { return portsRanOut(&r) != nil }) {
		add("no port (EADDRNOTAVAIL) from", func(r *Run) string {
			e := portsRanOut(r)
			if e == nil {
				return "-"
			}
			return strconv.FormatFloat(e.FirstS, 'f', 2, 64) + " s, after " + commas(e.ConnectionsBefore) + " conns"
		})
		add("max qps, measured", func(r *Run) string {
			e := portsRanOut(r)
			if e == nil || e.MeasuredCeiling == nil {
				return "-"
			}
			cell := rateText(*e.MeasuredCeiling) + "/s"
			if e.MeasuredRatio != nil {
				cell += " (" + strconv.FormatFloat(*e.MeasuredRatio, 'f', 3, 64) + " of predicted)"
			}
			return cell
		})
		add("failed connects, system CPU", func(r *Run) string {
			e := portsRanOut(r)
			if e == nil {
				return "-"
			}
			cell := commas(e.Count)
			if a := e.CPUAfter; a != nil && a.SystemUSPerAttempt != nil {
				cell += ", " + micros(*a.SystemUSPerAttempt) + " each"
			}
			return cell
		})
	}
	add("TIME_WAIT length", func(r *Run) string {
		if r.TimeWaitSeconds == nil {
			if r.Ports.TimeWaitFrom != "" {
				return strconv.FormatFloat(r.Ports.TimeWaitS, 'f', 1, 64) + " s (2 × " + r.Ports.TimeWaitFrom + ")"
			}
			return "60 s (assumed)"
		}
		return strconv.FormatFloat(*r.TimeWaitSeconds, 'f', 1, 64) + " s (measured)"
	})
	// Under a topology the counters are the client's namespace's, and a
	// server in a namespace of its own has its own.
	where := "host"
	if slices.ContainsFunc(runs, func(r Run) bool { return r.Topology != nil }) {
		where = "host or client ns"
	}
	serverNS := slices.ContainsFunc(runs, func(r Run) bool { return r.Server.Source == SourceNamespace })
	for _, k := range []string{"TW", "TWRecycled", "TCPTimeWaitOverflow"} {
		label := "kernel " + k
		if k == "TW" {
			label = "kernel TW (created, " + where + ")"
		}
		add(label, func(r *Run) string { return counterCell(r.KernelCounters, k) })
		if serverNS {
			add("server ns "+k, func(r *Run) string {
				if r.Server.Source != SourceNamespace {
					return "-"
				}
				return counterCell(r.Server.KernelCounters, k)
			})
		}
	}
	remedyRows(runs, add)
	return rows
}

// timeWaitCell is an end's TIME_WAIT at its peak and at the end; e is
// nil for an endpoint the run did not watch.
func timeWaitCell(e *End) string {
	switch {
	case e == nil:
		return "-"
	case !e.Sampled:
		return "not sampled"
	}
	cell := commas(int64(e.Peak["TIME_WAIT"])) + " / " + commas(int64(e.Final["TIME_WAIT"]))
	if n := e.Baseline["TIME_WAIT"]; n > 0 {
		cell += " (" + commas(int64(n)) + " before)"
	}
	return cell
}

// newTimeWaitCell is an end's new TIME_WAIT per request, and their count.
func newTimeWaitCell(e *End) string {
	switch {
	case e == nil || !e.Sampled:
		return "-"
	case e.TimeWaitPerRequest == nil:
		return "- (" + commas(e.NewTimeWait) + ")"
	}
	return strconv.FormatFloat(*e.TimeWaitPerRequest, 'f', 2, 64) + " (" + commas(e.NewTimeWait) + ")"
}

// watchedNames lists the watched endpoints of runs, each once, in the
// order they first appear.
func watchedNames(runs []Run) []string {
	var names []string
	for i := range runs {
		for _, w := range runs[i].Watched {
			if !slices.Contains(names, w.Name) {
				names = append(names, w.Name)
			}
		}
	}
	return names
}

// latencyMS is a latency percentile in ms, or "-" for one a watched
// command's summary did not give.
func latencyMS(r *Run, key string, us int64) string {
	if r.Watch != nil && !slices.Contains(r.Watch.LatencyGiven, key) {
		return "-"
	}
	return ms(us)
}

// loadCell is the table's short form of scenario.Scenario.Load: the
// duration and request count have rows of their own.
func loadCell(r *Run) string {
	s := r.Scenario
	if r.Watch != nil {
		if s.Concurrency > 0 {
			return "its own, " + strconv.Itoa(s.Concurrency) + " conns"
		}
		return "its own"
	}
	if s.Rate > 0 {
		// A shard's share of a rate can be a third of it: 6 digits.
		rate, _ := strconv.ParseFloat(strconv.FormatFloat(s.Rate, 'g', 6, 64), 64)
		return commasFloat(rate, -1) + "/s open, ≤" + strconv.Itoa(s.Concurrency) + " conns"
	}
	return "closed, " + strconv.Itoa(s.Concurrency) + " conns"
}

func errorsCell(r *Run) string {
	cell := "0"
	if total, list := counts(r.Errors); total > 0 {
		cell = commas(total) + " (" + list + ")"
	}
	if total, list := counts(r.CloseErrors); total > 0 {
		cell += "; failed closes: " + list
	}
	return cell
}

func closesCell(r *Run) string {
	c := r.Closes
	total := c.Total()
	if total == 0 {
		return "-"
	}
	var parts []string
	for _, p := range []struct {
		name string
		n    int64
	}{{"server", c.ServerFirst}, {"client", c.ClientFirst}, {"client RST", c.ClientRST}, {"server RST", c.ServerRST}} {
		if p.n > 0 {
			parts = append(parts, p.name+" "+percent(p.n, total))
		}
	}
	return strings.Join(parts, ", ")
}

func otherStates(peak map[string]int) string {
	var parts []string
	for _, s := range sockstat.ConnStates() {
		if s == sockstat.TimeWait {
			continue
		}
		if n := peak[s.String()]; n > 0 {
			parts = append(parts, s.String()+" "+commas(int64(n)))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// ceilingShown is the highest port ceiling the table prints as a number.
const ceilingShown = 10_000_000

func ceilingCell(r *Run, regime string) string {
	v := r.Ports.MaxSustainableQPS.Network
	if regime == RegimeLoopback {
		v = r.Ports.MaxSustainableQPS.Loopback
	}
	s := "-"
	switch {
	case v == nil:
	case *v >= ceilingShown:
		// Ports are not what limits such a rate; JSON has the figure.
		s = "> " + commasFloat(ceilingShown, 0) + "/s"
	default:
		s = rateText(*v) + "/s"
	}
	if r.Ports.MaxSustainableQPS.InForce == regime {
		s += " (in force)"
	}
	return s
}

// portsRanOut is the run's EADDRNOTAVAIL exhaustion, or nil.
func portsRanOut(r *Run) *Exhaustion {
	for i := range r.Exhaustion {
		if r.Exhaustion[i].Error == "EADDRNOTAVAIL" {
			return &r.Exhaustion[i]
		}
	}
	return nil
}

// topologyCell names a run's topology, and says when it was made
// without root.
func topologyCell(r *Run) string {
	switch {
	case r.Topology == nil:
		return "host"
	case r.Topology.UserNamespace:
		return r.Topology.Name + " (user namespace)"
	}
	return r.Topology.Name
}

// counterCell is a kernel counter's change, or "-" when not read.
func counterCell(c map[string]int64, k string) string {
	v, ok := c[k]
	if !ok {
		return "-"
	}
	return commas(v)
}
