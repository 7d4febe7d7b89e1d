package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/target"
)

// Explain says in one sentence which end held the TIME_WAIT and why, and
// in another how many requests failed, if any did.
func Explain(r *Run) string {
	if r.Watch != nil {
		return explainWatch(r)
	}
	c, s := &r.Client, &r.Server
	failed := failures(r)
	if r.Requests == 0 {
		if failed == "" {
			return "no request was sent."
		}
		return "no request succeeded: " + failed + "."
	}
	var held string
	switch {
	case !c.Sampled && !s.Sampled:
		held = "socket states were not sampled (" + firstNonEmpty(c.Reason, s.Reason) + ")"
	case !s.Sampled:
		held = fmt.Sprintf("the client had %s TIME_WAIT at peak, %.2f new per request (the server end was not sampled: %s)",
			commas(int64(c.Peak["TIME_WAIT"])), perRequest(c), s.Reason)
	default:
		held = whoHeld(r)
	}
	msg := held + ", " + why(r) + "."
	if failed != "" {
		msg += " " + strings.ToUpper(failed[:1]) + failed[1:] + "."
	}
	return msg
}

func whoHeld(r *Run) string {
	c, s := &r.Client, &r.Server
	cn, sn := c.NewTimeWait, s.NewTimeWait
	cPeak, sPeak := commas(int64(c.Peak["TIME_WAIT"])), commas(int64(s.Peak["TIME_WAIT"]))
	// An end holds the TIME_WAIT when it has nearly all of the new sockets.
	switch {
	case cn+sn == 0 || float64(cn+sn) < 0.01*float64(max(r.Requests, 1)):
		msg := "neither end held TIME_WAIT during the load"
		if cn+sn > 0 {
			msg += fmt.Sprintf(" (%s new on the client, %s on the server, for %s requests)",
				commas(cn), commas(sn), commas(r.Requests))
		}
		if n := timeWaitOverflow(r); n > 0 {
			msg += fmt.Sprintf(" (the kernel kept none for %s closes, past tcp_max_tw_buckets: TCPTimeWaitOverflow)", commas(n))
		}
		return msg
	case sn >= 20*cn:
		return fmt.Sprintf("the server held the TIME_WAIT (%s at peak, %.2f new per request; the client %s at peak)",
			sPeak, perRequest(s), cPeak)
	case cn >= 20*sn:
		return fmt.Sprintf("the client held the TIME_WAIT (%s at peak, %.2f new per request; the server %s at peak)",
			cPeak, perRequest(c), sPeak)
	}
	return fmt.Sprintf("both ends held TIME_WAIT (client %s at peak, %.2f new per request; server %s, %.2f)",
		cPeak, perRequest(c), sPeak, perRequest(s))
}

// why explains the closes: who sent the first FIN, what the workload did
// to make it so, and what that costs in client ports.
func why(r *Run) string {
	c := r.Closes
	total := c.Total()
	sc := r.Scenario
	dominant := func(n int64) bool { return float64(n) >= 0.99*float64(total) }
	conns := commas(total) + " connection"
	if total != 1 {
		conns += "s"
	}
	// how says how the scenario's closer made the first close what it
	// was, in the closer table's words, or that the closer asked for
	// another.
	how := func(n int64, otherwise string) string {
		spec, ok := sc.Closer.Spec()
		if !ok || spec.Asked(c) != n {
			return fmt.Sprintf(" although the closer was %q", sc.Closer) + otherwise
		}
		each := commasFloat(float64(r.Requests)/float64(max(total, 1)), 0) + " requests"
		if each == "1 requests" {
			each = "1 request"
		}
		return ": " + spec.How(sc.Protocol, sc.RequestsPerConn, sc.HalfClose, each)
	}
	switch {
	case dominant(c.ServerFirst):
		return "because the server sent the first FIN on " + percent(c.ServerFirst, total) + " of " + conns +
			how(c.ServerFirst, ": the server closed them itself") + portCost(r)
	case dominant(c.ClientFirst):
		return "because the client sent the first FIN on " + percent(c.ClientFirst, total) + " of " + conns +
			how(c.ClientFirst, "") + portCost(r)
	case dominant(c.ClientRST + c.ServerRST):
		end := "the client"
		if c.ServerRST > c.ClientRST {
			end = "the server"
		}
		return "because " + end + " reset " + percent(c.ClientRST+c.ServerRST, total) + " of " + conns +
			" with RST (SO_LINGER 0), which leaves no TIME_WAIT on either end"
	}
	return fmt.Sprintf("with the first close mixed over %s: server FIN %s, client FIN %s, client RST %s, server RST %s",
		conns, percent(c.ServerFirst, total), percent(c.ClientFirst, total),
		percent(c.ClientRST, total), percent(c.ServerRST, total)) + portCost(r)
}

// timeWaitOverflow counts the closes the run's own namespaces kept no
// TIME_WAIT for (tcp_max_tw_buckets); 0 on the host, whose counter is
// every program's.
func timeWaitOverflow(r *Run) int64 {
	if r.Topology == nil {
		return 0
	}
	n := r.KernelCounters["TCPTimeWaitOverflow"]
	if r.Server.Source == SourceNamespace {
		n += r.Server.KernelCounters["TCPTimeWaitOverflow"]
	}
	return n
}

// portCost says what the client's share of the TIME_WAIT costs in ports.
func portCost(r *Run) string {
	p := &r.Ports
	net, loop := p.MaxSustainableQPS.Network, p.MaxSustainableQPS.Loopback
	if n := r.KernelCounters["TCPTimeWaitOverflow"]; r.Topology != nil && p.ClientCloseShare >= 0.5 &&
		float64(n) >= 0.5*float64(r.Closes.ClientFirst) && n > 0 {
		// The client's namespace dropped the TIME_WAIT of most of its
		// closes: their ports were free at once.
		return fmt.Sprintf("; each close would have held a client port for %s in TIME_WAIT, but for %s of them none was kept and the port was free at once",
			seconds(p.PortsPerQPS), commas(n))
	}
	if p.ClientCloseShare < 0.5 || net == nil || loop == nil || p.ConnectionsPerRequest < 0.5 {
		if p.ConnectionsPerRequest >= 0.5 && p.ConnectionLifetimeS > 0 {
			return fmt.Sprintf("; each client port is free again the moment its connection closes, after %s",
				seconds(p.ConnectionLifetimeS))
		}
		return ""
	}
	who := "one source address sustains"
	if n := len(p.Sources); n > 1 {
		who = fmt.Sprintf("these %d source addresses sustain", n)
	}
	msg := fmt.Sprintf("; each request holds a client port for %s, so %s about %s new connections/s to this target over a network",
		seconds(p.PortsPerQPS), who, rateText(*net))
	if p.PortHoldS.Network < p.PortsPerQPS {
		// tcp_tw_reuse=1: connect() takes a port back from TIME_WAIT over
		// a network too.
		return fmt.Sprintf("; each request leaves a client port in TIME_WAIT for %s, but tcp_tw_reuse=1 hands it back after %s, so %s about %s new connections/s to this target, over a network as on loopback",
			seconds(p.PortsPerQPS), seconds(p.ReuseDelayS), who, rateText(*net))
	}
	if *loop != *net {
		msg += fmt.Sprintf(" (%s/s on loopback, where tcp_tw_reuse hands a port back after %s)",
			rateText(*loop), seconds(p.ReuseDelayS))
	}
	return msg
}

// failures describes the failed requests and closes, or returns "".
func failures(r *Run) string {
	var msg string
	if n, list := counts(r.Errors); n > 0 {
		msg = fmt.Sprintf("%s of %s requests failed (%s)", commas(n), commas(n+r.Requests), list)
	}
	if n, list := counts(r.CloseErrors); n > 0 {
		if msg != "" {
			msg += "; "
		}
		msg += "the server did not close as it was to (" + list + ")"
	}
	return msg
}

func perRequest(e *End) float64 {
	if e.TimeWaitPerRequest == nil {
		return 0
	}
	return *e.TimeWaitPerRequest
}

// Details says, a sentence each, where the ends were (a topology's
// namespaces and their settings), what ran out and when, how the
// connections spread over source addresses, and what the built-in target
// saw of the client's resets.
func Details(r *Run) []string {
	var out []string
	if r.Watch != nil {
		out = append(out, watchDetails(r))
	}
	if r.Topology != nil {
		out = append(out, topologyParts(r))
	}
	for _, end := range namedEnds(r) {
		if line := holdersLine(end.name, end.e); line != "" {
			out = append(out, line)
		}
	}
	for i := range r.Exhaustion {
		out = append(out, exhaustionLine(r, &r.Exhaustion[i]))
	}
	if len(r.Ports.Sources) > 0 {
		out = append(out, sourcesLine(r))
	}
	if n, list := counts(r.ServerErrors); n > 0 {
		out = append(out, "the built-in target saw "+list+" on its connections")
	}
	return append(out, remedyLines(r)...)
}

// exhaustionLine says when a resource ran out and how that compares with
// the ceiling the port figures predict.
func exhaustionLine(r *Run, e *Exhaustion) string {
	what := "no free client port"
	if e.Error != loadgen.ErrAddrNotAvail.String() {
		what = "no file descriptor"
	}
	msg := fmt.Sprintf("%s (%s) %s times from %s s into the load: from then on %s connection attempts/s were made and %s/s connected",
		e.Error, what, commas(e.Count), strconv.FormatFloat(e.FirstS, 'f', 2, 64),
		commasFloat(e.OfferedRate, 1), commasFloat(e.ConnectedRate, 1))
	if e.PredictedRate != nil && e.Error == loadgen.ErrAddrNotAvail.String() {
		msg += fmt.Sprintf("; the port figures predict %s/s in the %s regime (%s usable ports, each held %s)",
			commasFloat(*e.PredictedRate, 1), e.Regime, commas(int64(r.Ports.UsablePorts)), seconds(portHold(r)))
		if e.Ratio != nil {
			msg += fmt.Sprintf(", measured/predicted %.2f", *e.Ratio)
		}
	}
	if e.MeasuredCeiling != nil {
		msg += fmt.Sprintf("; measured: %s before the first, %.1f%% of the usable ports, each held %s, make a ceiling of %s/s",
			plural64(e.ConnectionsBefore, "connection"), 100*float64(e.ConnectionsBefore)/float64(max(r.Ports.UsablePorts, 1)),
			seconds(portHold(r)), commasFloat(*e.MeasuredCeiling, 1))
		if e.MeasuredRatio != nil {
			msg += fmt.Sprintf(", %.3f of the %s/s predicted", *e.MeasuredRatio, ceilingText(r))
		}
	}
	if a, b := e.CPUAfter, e.CPUBefore; a != nil && a.SystemUSPerAttempt != nil {
		msg += fmt.Sprintf("; each connection attempt after it cost %s of system time (%s s in %s attempts)",
			micros(*a.SystemUSPerAttempt), strconv.FormatFloat(a.SystemS, 'f', 2, 64), commas(a.Attempts))
		if b != nil && b.SystemUSPerAttempt != nil {
			msg += fmt.Sprintf(", against %s before it", micros(*b.SystemUSPerAttempt))
		}
	}
	return msg
}

// ceilingText is the ceiling of the regime in force, as the table prints
// it.
func ceilingText(r *Run) string {
	c := r.Ports.MaxSustainableQPS.Network
	if r.Ports.MaxSustainableQPS.InForce == RegimeLoopback {
		c = r.Ports.MaxSustainableQPS.Loopback
	}
	if c == nil {
		return "-"
	}
	return rateText(*c)
}

// micros is a time in µs, as ms past a millisecond.
func micros(us float64) string {
	if us >= 1000 {
		return strconv.FormatFloat(us/1000, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(us, 'f', 1, 64) + " µs"
}

func portHold(r *Run) float64 {
	if r.Ports.MaxSustainableQPS.InForce == RegimeLoopback {
		return r.Ports.PortHoldS.Loopback
	}
	return r.Ports.PortHoldS.Network
}

// sourcesLine says how the connections spread over the source addresses.
func sourcesLine(r *Run) string {
	var parts []string
	for _, s := range r.Ports.Sources {
		part := s.Address + " " + commas(s.Connections) + " (" + commas(int64(s.PeakInUse)) + " ports in use at peak"
		if s.NoPort > 0 {
			part += ", " + commas(s.NoPort) + " EADDRNOTAVAIL"
		}
		part += ")"
		parts = append(parts, part)
	}
	return fmt.Sprintf("connections by source address, %s usable ports each: %s", commas(int64(r.Ports.Sources[0].UsablePorts)), strings.Join(parts, ", "))
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// closerNote points out connections that were not closed first by the
// end the closer named: a server that ignored the policy, or closed
// keep-alive connections itself.
func closerNote(sc scenario.Scenario, c loadgen.Closes) string {
	spec, ok := sc.Closer.Spec()
	if !ok {
		return ""
	}
	if spec.KeepsAlive {
		if n := c.ServerFirst + c.ServerRST; n > 0 {
			return fmt.Sprintf("the server closed %d of %d keep-alive connections before the end of the load (%d FIN, %d RST): "+
				"servers do at a limit of requests per connection (nginx's keepalive_requests), after an idle timeout, or when they shut down",
				n, c.Total(), c.ServerFirst, c.ServerRST)
		}
		return ""
	}
	other := c.Total() - spec.Asked(c)
	// Those still open when the load ended were the client's to close.
	serverSide := spec.ServerPolicy != target.KeepAlive
	if serverSide {
		other -= min(c.AtEnd, other)
	}
	var notes []string
	if other > 0 {
		notes = append(notes, fmt.Sprintf("closer %s: %d of %d connections did not end with %s first (server FIN %d, client FIN %d, client RST %d, server RST %d)",
			sc.Closer, other, c.Total(), spec.First, c.ServerFirst, c.ClientFirst, c.ClientRST, c.ServerRST))
	}
	if serverSide && c.AtEnd > 0 {
		notes = append(notes, fmt.Sprintf("%d connections were part-way through their %d requests when the load ended, and the client closed them",
			c.AtEnd, sc.RequestsPerConn))
	}
	return strings.Join(notes, "; ")
}
