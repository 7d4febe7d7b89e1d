package report

import (
	"fmt"
	"strings"

	"github.com/twbench/twbench/sockstat"
)

// advice says in one sentence what to do about a plan, in the terms of
// the articles on TIME_WAIT: keep connections alive, let the server close
// first, more source addresses (or destinations), tcp_tw_reuse on the
// client side only. It never suggests tcp_tw_recycle: Linux 4.12 removed
// it, and before that it broke clients behind NAT.
func advice(pl *Plan, h sockstat.Host, obj sockstat.TimeWaitObject) string {
	w, p := &pl.Workload, &pl.Ports
	if spec, ok := w.Closer.Spec(); ok && spec.KeepsAlive {
		return fmt.Sprintf("A keep-alive pool of about %s connections carries %s requests/s and opens no new ones, so neither end holds TIME_WAIT until the pool closes: keep it.",
			commas(pl.Needed.PooledConnections), planRate(w.Rate))
	}
	overTarget := p.UsablePorts > 0 && p.Share > w.TargetShare
	if w.ClientCloseShare > 0 && (p.ExhaustedAfterS != nil || overTarget) {
		trouble := fmt.Sprintf("The client's ports to each destination run out after %s at this rate (EADDRNOTAVAIL)",
			seconds(*orZero(p.ExhaustedAfterS)))
		if p.ExhaustedAfterS == nil {
			trouble = fmt.Sprintf("The client holds %s of its ports to each destination, over the target of %s",
				shareText(p.Share), shareText(w.TargetShare))
		}
		return trouble + ": " + portRemedies(pl, h) + "."
	}
	for _, e := range []struct {
		name string
		end  *PlanEnd
	}{{"client", &pl.Client}, {"server", &pl.Server}} {
		if s := e.end.TWBucketsShare; s != nil && *s > 1 {
			buckets, _ := h.Int(sockstat.SysctlMaxTWBuckets)
			allowed := e.end.TimeWait
			if p.FourTuples > 0 {
				allowed = min(allowed, p.FourTuples)
			}
			return fmt.Sprintf("The %s's %s TIME_WAIT sockets exceed tcp_max_tw_buckets (%s), so the kernel destroys the rest early (TCPTimeWaitOverflow); at %s each they cost little memory, so raise tcp_max_tw_buckets rather than cut the TIME_WAIT short.",
				e.name, commas(allowed), commas(int64(buckets)), bytesText(obj.Bytes))
		}
	}
	switch {
	case w.ClientCloseShare > 0:
		msg := fmt.Sprintf("The client holds %s TIME_WAIT sockets", commas(pl.Client.TimeWaitHeld))
		if p.UsablePorts > 0 {
			msg += fmt.Sprintf(" and %s of its ports to each destination", shareText(p.Share))
		}
		if c := ceilingIn(p.PerPair, w.Regime); c != nil {
			msg += fmt.Sprintf(", under its ceiling of %s requests/s per pair", rateText(*c))
		}
		return msg + ": fine at this rate; to grow, keep connections alive or let the server close first."
	case w.ServerCloseShare > 0:
		return fmt.Sprintf("The server closes first and holds the TIME_WAIT (%s sockets, %s), which costs the client no ports: keep it that way.",
			commas(pl.Server.TimeWaitHeld), bytesText(pl.Server.MemoryBytes))
	}
	return "Resets leave no TIME_WAIT on either end, but they discard data still in flight and the peer sees ECONNRESET: prefer keep-alive, or let the server close first with a FIN."
}

// portRemedies lists what would keep the client's ports: the articles'
// remedies, sized for this plan.
func portRemedies(pl *Plan, h sockstat.Host) string {
	msg := fmt.Sprintf("keep connections alive (a pool of %s would do), let the server close first", commas(pl.Needed.PooledConnections))
	if n := pl.Needed.Sources; n != nil {
		msg += fmt.Sprintf(", or spread them over %d source addresses", *n)
		if d := pl.Needed.Destinations; d != nil {
			msg += fmt.Sprintf(" (or %d destinations)", *d)
		}
	}
	// tcp_tw_reuse only helps where it is not in force already, and it
	// takes TCP timestamps.
	w, p := &pl.Workload, &pl.Ports
	hold := p.PortHoldS.Network
	if w.Regime == RegimeLoopback {
		hold = p.PortHoldS.Loopback
	}
	stamps, ok := h.Int(sockstat.SysctlTimestamps)
	if reused := w.LifetimeS + w.ClientCloseShare*min(w.TimeWaitS, p.ReuseDelayS); hold > reused && (!ok || stamps != 0) {
		msg += fmt.Sprintf("; tcp_tw_reuse=1 on the client side only would let connect() take a port back after %s", seconds(p.ReuseDelayS))
	}
	return msg
}

func ceilingIn(c Ceilings, regime string) *float64 {
	if regime == RegimeLoopback {
		return c.Loopback
	}
	return c.Network
}

func orZero(v *float64) *float64 {
	if v == nil {
		return new(float64)
	}
	return v
}

// planRate writes a rate of requests: whole from 100/s, below that with
// up to two decimals (0.5, 12.25).
func planRate(v float64) string {
	if v >= 100 {
		return commasFloat(v, 0)
	}
	return strings.TrimRight(strings.TrimRight(commasFloat(v, 2), "0"), ".")
}

// shareText writes a share as a percentage: 85%, 85.1%, 1,062.7%.
func shareText(v float64) string {
	s := commasFloat(100*v, 1)
	return strings.TrimSuffix(s, ".0") + "%"
}

// bytesText writes a size in bytes for people: 256 B, 6.9 MiB.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return strings.TrimSuffix(commasFloat(v, 1), ".0") + " " + []string{"KiB", "MiB", "GiB", "TiB"}[i]
}
