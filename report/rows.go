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
		return string(r.Scenario.Protocol) + ", " + string(r.Scenario.Closer)
	})
	add("load", loadCell)
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
	add("requests", func(r *Run) string { return commas(r.Requests) })
	add("connections", func(r *Run) string { return commas(r.Connections) })
	add("qps", func(r *Run) string { return commasFloat(r.QPS, 1) })
	add("errors", errorsCell)
	add("latency p50 / p99", func(r *Run) string {
		return ms(r.LatencyUS.P50) + " / " + ms(r.LatencyUS.P99) + " ms"
	})
	add("latency p99.9 / max", func(r *Run) string {
		return ms(r.LatencyUS.P999) + " / " + ms(r.LatencyUS.Max) + " ms"
	})
	add("late sends / lag p99", func(r *Run) string {
		sc := r.Schedule
		if sc == nil {
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
		add(end+" TIME_WAIT peak/final", func(r *Run) string {
			e := pick(r)
			if !e.Sampled {
				return "not sampled"
			}
			cell := commas(int64(e.Peak["TIME_WAIT"])) + " / " + commas(int64(e.Final["TIME_WAIT"]))
			if n := e.Baseline["TIME_WAIT"]; n > 0 {
				cell += " (" + commas(int64(n)) + " before)"
			}
			return cell
		})
		add(end+" new TIME_WAIT/req", func(r *Run) string {
			e := pick(r)
			if !e.Sampled {
				return "-"
			}
			if e.TimeWaitPerRequest == nil {
				return "- (" + commas(e.NewTimeWait) + ")"
			}
			return strconv.FormatFloat(*e.TimeWaitPerRequest, 'f', 2, 64) + " (" + commas(e.NewTimeWait) + ")"
		})
		add(end+" other states, peak", func(r *Run) string {
			e := pick(r)
			if !e.Sampled {
				return "-"
			}
			return otherStates(e.Peak)
		})
	}
	if slices.ContainsFunc(runs, func(r Run) bool { return r.Server.Source == SourceAgent }) {
		add("server end from", agentCell)
	}
	add("ports per qps", func(r *Run) string { return seconds(r.Ports.PortsPerQPS) })
	add("max qps, network", func(r *Run) string { return ceilingCell(r, RegimeNetwork) })
	add("max qps, loopback", func(r *Run) string { return ceilingCell(r, RegimeLoopback) })
	add("TIME_WAIT length", func(r *Run) string {
		if r.TimeWaitSeconds == nil {
			if r.Ports.TimeWaitFrom != "" {
				return strconv.FormatFloat(r.Ports.TimeWaitS, 'f', 1, 64) + " s (2 × " + r.Ports.TimeWaitFrom + ")"
			}
			return "60 s (assumed)"
		}
		return strconv.FormatFloat(*r.TimeWaitSeconds, 'f', 1, 64) + " s (measured)"
	})
	for _, k := range []string{"TW", "TWRecycled", "TCPTimeWaitOverflow"} {
		label := "kernel " + k
		if k == "TW" {
			label = "kernel TW (created, host)"
		}
		add(label, func(r *Run) string {
			v, ok := r.KernelCounters[k]
			if !ok {
				return "-"
			}
			return commas(v)
		})
	}
	return rows
}

// loadCell is the table's short form of scenario.Scenario.Load: the
// duration and request count have rows of their own.
func loadCell(r *Run) string {
	s := r.Scenario
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
