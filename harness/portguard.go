package harness

import (
	"fmt"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// guardShare is the share of a host's ephemeral ports a run may leave in
// TIME_WAIT where they cannot be taken back.
const guardShare = 0.9

// guardPorts caps the requests of a scenario that would otherwise hold
// every ephemeral port of the host, where the kernel never hands a
// TIME_WAIT port back early and shares the ports among all destinations:
// macOS (the host whose TIME_WAIT length is a setting, net.inet.tcp.msl).
// There the default suite's client-closes (40,000 connections at 4,000/s)
// would use up the 16,384 ports in 4 s, and every program on the Mac would
// fail to connect for the next 30 s. The cap is guardShare of the ports'
// worth of connections in one TIME_WAIT length (in closed loop, whose rate
// is not known beforehand, of the whole run), and the note says so. On
// Linux a port comes back on loopback after tcp_tw_reuse_delay, and
// elsewhere is held for its destination only.
func guardPorts(sc scenario.Scenario, host sockstat.Host) (scenario.Scenario, string) {
	tw, setting, fixed := host.TimeWaitSetting()
	spec, _ := sc.Closer.Spec()
	if !fixed || spec.Closer != loadgen.CloserClient {
		return sc, ""
	}
	lo, hi, err := host.PortRange()
	if err != nil {
		return sc, ""
	}
	usable := host.UsablePorts(lo, hi)
	perConn := int64(max(sc.RequestsPerConn, 1))
	limit := int64(guardShare*float64(usable)) * perConn
	// The requests the run would make within one TIME_WAIT length.
	within := sc.Requests
	if d := time.Duration(sc.Duration); sc.Rate > 0 && d > 0 {
		if byRate := int64(sc.Rate * min(d, tw).Seconds()); within == 0 || byRate < within {
			within = byRate
		}
	}
	if within > 0 && within <= limit {
		return sc, ""
	}
	if sc.Requests == 0 || sc.Requests > limit {
		sc.Requests = limit
	}
	return sc, fmt.Sprintf("capped at %d requests: each connection the client closes holds its port %s in TIME_WAIT (twice %s), "+
		"and this kernel never hands such a port back early and shares the ports among all destinations, so the run would have "+
		"taken all %d usable ports and left every program on this host unable to connect; it takes %d%% of them at most",
		sc.Requests, tw, setting, usable, int(guardShare*100))
}
