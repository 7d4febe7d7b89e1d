package report

import (
	"math"

	"github.com/twbench/twbench/sockstat"
)

// portModel is what a workload's requests cost in client ports: the inputs
// of the port figures. Build measures them in a run; plan takes them from
// a report or from its flags. Both derive the figures here, so that a plan
// made from a report gives that report's ceilings.
type portModel struct {
	ConnectionsPerRequest float64
	LifetimeS             float64
	// ClientCloseShare is the share of connections the client closed
	// first, and so held in TIME_WAIT for TimeWaitS.
	ClientCloseShare float64
	TimeWaitS        float64
	ReuseDelayS      float64
}

// hold returns how long one connection holds its client port in each
// regime. A port is held for the connection's life, and after it for the
// TIME_WAIT if the client closed first, unless tcp_tw_reuse lets connect()
// take it back after the reuse delay. tcp_tw_reuse=2 applies on loopback
// only, 1 everywhere; both need TCP timestamps.
func (c portModel) hold(h sockstat.Host) Regimes {
	reuse, _ := h.Int(sockstat.SysctlTWReuse)
	stamps, ok := h.Int(sockstat.SysctlTimestamps)
	stampsOn := !ok || stamps != 0
	full := c.LifetimeS + c.ClientCloseShare*c.TimeWaitS
	reused := c.LifetimeS + c.ClientCloseShare*min(c.TimeWaitS, c.ReuseDelayS)
	hold := Regimes{Loopback: full, Network: full}
	if stampsOn && (reuse == 1 || reuse == 2) {
		hold.Loopback = reused
	}
	if stampsOn && reuse == 1 {
		hold.Network = reused
	}
	return hold
}

// portsPerQPS returns the ports held at steady state per request/s
// without TIME_WAIT reuse.
func (c portModel) portsPerQPS() float64 {
	return (c.LifetimeS + c.ClientCloseShare*c.TimeWaitS) * c.ConnectionsPerRequest
}

// ceilings returns max_sustainable_qps in each regime: usable ports over
// the port time a request costs there; nil where it costs none.
func (c portModel) ceilings(usable int, hold Regimes) (loopback, network *float64) {
	return ceiling(usable, hold.Loopback*c.ConnectionsPerRequest), ceiling(usable, hold.Network*c.ConnectionsPerRequest)
}

// poolCapacity is the requests/s a keep-alive pool of n connections
// carries when each request holds its connection latencyS: Little's law,
// n = rate × latency. Unbounded when a request holds it no time at all.
func poolCapacity(n int, latencyS float64) float64 {
	if latencyS <= 0 {
		return math.Inf(1)
	}
	return float64(n) / latencyS
}

// pooledConnections returns the new connections/s at rate when a pool
// carries capacity requests/s: the requests beyond it each cost what a
// request costs without the pool, as with Go's Transport when every
// pooled connection is busy.
func (c portModel) pooledConnections(rate, capacity float64) float64 {
	return max(rate-capacity, 0) * c.ConnectionsPerRequest
}
