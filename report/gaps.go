package report

import (
	"fmt"
	"time"
)

// reuseGapNote says how far the client's new TIME_WAIT count may fall
// short when samples were further apart than the TIME_WAIT reuse delay.
// Where tcp_tw_reuse lets connect() take a client's TIME_WAIT port back
// after the delay (1 s on loopback by default), a socket that enters
// TIME_WAIT and is reused before the next sample is never seen. Of the
// connections the client closed during a gap g longer than the delay d,
// those closed in its first g - d may be lost: about that share of them.
// It returns "" when no gap was long enough to lose one.
func reuseGapNote(in Input, p *Ports, connections int64) string {
	samples := in.Samples
	if in.ClientUnsampled != "" || len(samples) < 2 || p.ClientCloseShare == 0 || p.ReuseDelayS <= 0 {
		return ""
	}
	hold := p.PortHoldS.Network
	if p.MaxSustainableQPS.InForce == RegimeLoopback {
		hold = p.PortHoldS.Loopback
	}
	if hold >= p.ConnectionLifetimeS+p.ClientCloseShare*p.TimeWaitS {
		return "" // no reuse in force: a TIME_WAIT socket lasts until a sample sees it
	}
	delay := time.Duration(p.ReuseDelayS * float64(time.Second))
	perRequest := p.ConnectionsPerRequest * p.ClientCloseShare
	var missed float64
	var widest time.Duration
	for i := 1; i < len(samples); i++ {
		gap := samples[i].At.Sub(samples[i-1].At)
		widest = max(widest, gap)
		if gap <= delay {
			continue
		}
		closed := float64(samples[i].Requests-samples[i-1].Requests) * perRequest
		missed += closed * float64(gap-delay) / float64(gap)
	}
	if missed < 1 {
		return ""
	}
	return fmt.Sprintf("samples were up to %s apart, longer than tcp_tw_reuse_delay (%s): a client port reused before the next sample "+
		"was never seen in TIME_WAIT, so client.new_time_wait may be low by up to about %s of the %s connections the client closed "+
		"(sample more often with --sample-interval, or on a host with fewer sockets)",
		seconds(widest.Seconds()), seconds(p.ReuseDelayS), commas(int64(missed+0.5)),
		commas(int64(float64(connections)*p.ClientCloseShare+0.5)))
}
