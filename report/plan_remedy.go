package report

import (
	"fmt"
	"maps"
	"math"

	"github.com/twbench/twbench/sockstat"
)

// PlanRemedy is what a remedy does to a plan, in its regime over every
// pair: the ceiling on new requests/s, the new connections/s at the
// plan's rate and how long each holds its client port, with the remedy
// and without it.
type PlanRemedy struct {
	// Name is the remedy: "tcp_tw_reuse=1", "keep-alive pool of 32".
	Name string `json:"name"`
	// MaxSustainableQPS is the ceiling with the remedy, Without the
	// ceiling without it; null where there is none (a keep-alive
	// workload opens no new connections).
	MaxSustainableQPS *float64 `json:"max_sustainable_qps"`
	Without           *float64 `json:"max_sustainable_qps_without"`
	// NewConnectionsPerS is the connections opened per second at the
	// plan's rate, with the remedy and without.
	NewConnectionsPerS        float64 `json:"new_connections_per_s"`
	NewConnectionsPerSWithout float64 `json:"new_connections_per_s_without"`
	// PortHoldS is how long a new connection holds its client port, with
	// the remedy and without.
	PortHoldS        float64 `json:"port_hold_s"`
	PortHoldSWithout float64 `json:"port_hold_s_without"`
	// PoolCapacity is, for a pool, the requests/s it carries by Little's
	// law (connections / latency); absent for a setting.
	PoolCapacity *float64 `json:"pool_capacity,omitempty"`
}

// CompareTWReuse adds to pl, planned on a host whose tcp_tw_reuse was
// set to assume it, the plan's figures with the host's own value, was
// ("" when it was not read: the kernel then reuses nothing).
func CompareTWReuse(pl *Plan, h sockstat.Host, was string, obj sockstat.TimeWaitObject) {
	without := h
	without.Sysctl = maps.Clone(h.Sysctl)
	if was == "" {
		delete(without.Sysctl, sockstat.SysctlTWReuse)
	} else {
		without.Sysctl[sockstat.SysctlTWReuse] = was
	}
	b := NewPlan(pl.Workload, without, obj)
	conns := pl.Workload.Rate * pl.Workload.ConnectionsPerRequest
	pl.Remedies = append(pl.Remedies, PlanRemedy{Name: "tcp_tw_reuse=" + h.Sysctl[sockstat.SysctlTWReuse],
		MaxSustainableQPS:  ceilingIn(pl.Ports.MaxSustainableQPS, pl.Workload.Regime),
		Without:            ceilingIn(b.Ports.MaxSustainableQPS, pl.Workload.Regime),
		NewConnectionsPerS: conns, NewConnectionsPerSWithout: conns,
		PortHoldS: holdIn(&pl.Ports, pl.Workload.Regime), PortHoldSWithout: holdIn(&b.Ports, pl.Workload.Regime)})
}

// ComparePool adds to pl what a keep-alive pool of n connections does to
// it: the pool carries n / latency requests/s on connections it keeps
// (Little's law), and only the requests beyond that open connections, so
// the ceiling is the pool's capacity plus the plan's own.
func ComparePool(pl *Plan, n int) {
	w := &pl.Workload
	m := portModel{ConnectionsPerRequest: w.ConnectionsPerRequest}
	capacity := poolCapacity(n, w.LatencyS)
	without := ceilingIn(pl.Ports.MaxSustainableQPS, w.Regime)
	r := PlanRemedy{Name: "keep-alive pool of " + plural(n, "connection"), Without: without,
		NewConnectionsPerS: round(m.pooledConnections(w.Rate, capacity), 3), NewConnectionsPerSWithout: w.Rate * w.ConnectionsPerRequest,
		PortHoldS: holdIn(&pl.Ports, w.Regime), PortHoldSWithout: holdIn(&pl.Ports, w.Regime)}
	if !math.IsInf(capacity, 1) {
		c := round(capacity, 3)
		r.PoolCapacity = &c
		if without != nil {
			v := round(capacity+*without, 3)
			r.MaxSustainableQPS = &v
		}
	}
	pl.Remedies = append(pl.Remedies, r)
}

// remedyParts describes each remedy of a plan, a line each.
func remedyParts(pl *Plan) []string {
	var out []string
	for _, r := range pl.Remedies {
		s := r.Name + ": "
		if r.PoolCapacity != nil {
			s += fmt.Sprintf("carries %s requests/s on kept connections (%s / %s); ", rateText(*r.PoolCapacity),
				commas(int64(math.Round(*r.PoolCapacity*pl.Workload.LatencyS))), seconds(pl.Workload.LatencyS))
		} else if r.PortHoldS != r.PortHoldSWithout {
			s += fmt.Sprintf("each port held %s, not %s; ", seconds(r.PortHoldS), seconds(r.PortHoldSWithout))
		} else {
			s += fmt.Sprintf("each port held %s, as without it; ", seconds(r.PortHoldS))
		}
		s += fmt.Sprintf("%s new connections/s at this rate (without: %s); max requests/s %s (without: %s)",
			rateText(r.NewConnectionsPerS), rateText(r.NewConnectionsPerSWithout), ceilingOrNone(r.MaxSustainableQPS), ceilingOrNone(r.Without))
		out = append(out, s)
	}
	return out
}

func ceilingOrNone(v *float64) string {
	if v == nil {
		return "none"
	}
	return rateText(*v)
}
