package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode json: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return nil
}

// WriteText writes r for people: the host's settings, the scenarios side
// by side, and one sentence per scenario saying which end held the
// TIME_WAIT and why.
func WriteText(w io.Writer, r *Report) error {
	var b bytes.Buffer
	b.WriteString(hostLine(r))
	b.WriteString("\n\n")
	if len(r.Runs) == 0 {
		b.WriteString("No scenario ran.\n")
	} else {
		writeTable(&b, r.Runs)
	}
	for i := range r.Runs {
		run := &r.Runs[i]
		b.WriteString("\n")
		b.WriteString(wrap(run.Scenario.Name+": "+Explain(run), 100))
		for _, d := range Details(run) {
			b.WriteString(wrap(d, 100))
		}
		for _, n := range run.Notes {
			b.WriteString(wrap("  note: "+n, 100))
		}
		b.WriteString(expectationLines(run))
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("report: write text: %w", err)
	}
	return nil
}

func hostLine(r *Report) string {
	h := r.Host
	parts := []string{"twbench"}
	if r.Version != "" {
		parts[0] += " " + r.Version
	}
	if h.Kernel != "" {
		parts = append(parts, "kernel "+h.Kernel)
	}
	if lo, hi, err := h.PortRange(); err == nil {
		parts = append(parts, fmt.Sprintf("ports %d-%d (%s usable)", lo, hi, commas(int64(h.UsablePorts(lo, hi)))))
	}
	if v, ok := h.Int(sockstat.SysctlTWReuse); ok {
		d, _ := h.TWReuseDelay()
		parts = append(parts, fmt.Sprintf("tcp_tw_reuse=%d (after %v)", v, d))
	}
	if v, ok := h.Int(sockstat.SysctlTimestamps); ok {
		parts = append(parts, fmt.Sprintf("tcp_timestamps=%d", v))
	}
	if v, ok := h.Int(sockstat.SysctlMaxTWBuckets); ok {
		parts = append(parts, "tcp_max_tw_buckets="+commas(int64(v)))
	}
	return strings.Join(parts, " · ")
}

// row is a line of the side-by-side table.
type row struct {
	label string
	cells []string
}

func writeTable(b *bytes.Buffer, runs []Run) {
	rows := tableRows(runs)
	widths := make([]int, len(runs)+1)
	for _, r := range rows {
		widths[0] = max(widths[0], len(r.label))
		for i, c := range r.cells {
			widths[i+1] = max(widths[i+1], len(c))
		}
	}
	for _, r := range rows {
		line := pad(r.label, widths[0])
		for i, c := range r.cells {
			line += "   " + pad(c, widths[i+1])
		}
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}
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
		return commasFloat(s.Rate, -1) + "/s open, ≤" + strconv.Itoa(s.Concurrency) + " conns"
	}
	return "closed, " + strconv.Itoa(s.Concurrency) + " conns"
}

// counts returns the sum of the counts in m and a list of the non-zero
// ones, "ECONNRESET 5, timeout 2", by name.
func counts(m map[string]int64) (total int64, list string) {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if n := m[k]; n > 0 {
			total += n
			parts = append(parts, k+" "+commas(n))
		}
	}
	return total, strings.Join(parts, ", ")
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

// Details says, a sentence each, what ran out and when, how the
// connections spread over source addresses, and what the built-in target
// saw of the client's resets.
func Details(r *Run) []string {
	var out []string
	for i := range r.Exhaustion {
		out = append(out, exhaustionLine(r, &r.Exhaustion[i]))
	}
	if len(r.Ports.Sources) > 0 {
		out = append(out, sourcesLine(r))
	}
	if n, list := counts(r.ServerErrors); n > 0 {
		out = append(out, "the built-in target saw "+list+" on its connections")
	}
	return out
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
	return msg
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

// Explain says in one sentence which end held the TIME_WAIT and why, and
// in another how many requests failed, if any did.
func Explain(r *Run) string {
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
	switch {
	case dominant(c.ServerFirst):
		msg := "because the server sent the first FIN on " + percent(c.ServerFirst, total) + " of " + conns
		switch {
		case sc.Protocol == loadgen.HTTP10:
			msg += ": http1.0 without keep-alive is read to EOF, as ab does, so the server is the active closer"
		case sc.Closer == loadgen.CloserServer && sc.Protocol == loadgen.Connect:
			msg += ": it closed each connection as soon as it accepted it, and the client waited for its EOF"
		case sc.Closer == loadgen.CloserServer && sc.Protocol == loadgen.TCP:
			msg += ": it closed after its response" + afterN(sc) + ", and the client waited for its EOF"
		case sc.Closer == loadgen.CloserServer:
			msg += ": the client sent Connection: close" + afterN(sc) + " and waited for the server's EOF"
		default:
			msg += fmt.Sprintf(" although the closer was %q: the server closed them itself", sc.Closer)
		}
		return msg + portCost(r)
	case dominant(c.ClientFirst):
		msg := "because the client sent the first FIN on " + percent(c.ClientFirst, total) + " of " + conns
		switch {
		case sc.HalfClose:
			msg += ": its shutdown(SHUT_WR) after the request was that FIN; the server read it, answered and closed, and the client closed last yet holds the TIME_WAIT, which follows the first FIN, not the first close()"
		case sc.Closer == loadgen.CloserClient && sc.Protocol == loadgen.Connect:
			msg += ": it closed each one right after the handshake"
		case sc.Closer == loadgen.CloserClient:
			msg += ": it closed each one as soon as the response was read" + afterN(sc) + ", while the server still held it open"
		case sc.Closer == loadgen.CloserNone:
			each := commasFloat(float64(r.Requests)/float64(total), 0)
			noun := "requests"
			if each == "1" {
				noun = "request"
			}
			msg += fmt.Sprintf(": they were kept alive, %s %s each, and closed by twbench when the load stopped", each, noun)
		default:
			msg += fmt.Sprintf(" although the closer was %q", sc.Closer)
		}
		return msg + portCost(r)
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

// afterN says after how many requests connections were closed, if more
// than one.
func afterN(sc scenario.Scenario) string {
	if sc.RequestsPerConn > 1 {
		return " after " + commas(int64(sc.RequestsPerConn)) + " requests"
	}
	return ""
}

// portCost says what the client's share of the TIME_WAIT costs in ports.
func portCost(r *Run) string {
	p := &r.Ports
	net, loop := p.MaxSustainableQPS.Network, p.MaxSustainableQPS.Loopback
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
	if *loop != *net {
		msg += fmt.Sprintf(" (%s/s on loopback, where tcp_tw_reuse hands a port back after %s)",
			rateText(*loop), seconds(p.ReuseDelayS))
	}
	return msg
}

// rateText writes a ceiling as the report keeps it: whole, or below 100 to
// two decimals.
func rateText(v float64) string {
	if v < 100 {
		return commasFloat(v, 2)
	}
	return commasFloat(v, 0)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func percent(n, total int64) string {
	if total == 0 {
		return "0%"
	}
	v := 100 * float64(n) / float64(total)
	if v == 100 || v == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + "%"
}

// ms formats microseconds as milliseconds.
func ms(us int64) string {
	v := float64(us) / 1000
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// seconds formats a duration in seconds for people.
func seconds(v float64) string {
	switch {
	case v == 0:
		return "0 s"
	case v < 0.001:
		return strconv.FormatFloat(v*1e6, 'f', 0, 64) + " µs"
	case v < 1:
		return strconv.FormatFloat(v*1e3, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " s"
}

// commas formats n with thousands separators.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// commasFloat formats v with thousands separators and digits decimals
// (-1: as few as needed).
func commasFloat(v float64, digits int) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	whole, frac, hasFrac := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return s
	}
	out := commas(n)
	if n == 0 && strings.HasPrefix(whole, "-") {
		out = "-0"
	}
	if hasFrac {
		out += "." + frac
	}
	return out
}

func pad(s string, width int) string {
	if n := len([]rune(s)); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

// wrap breaks text into lines of at most width columns, indenting the
// continuation lines by two spaces.
func wrap(text string, width int) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Fields(text) {
		n := len([]rune(word))
		if i > 0 {
			if line+1+n > width {
				b.WriteString("\n  ")
				line = 2
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		b.WriteString(word)
		line += n
	}
	b.WriteByte('\n')
	return b.String()
}

// expectationLines says how many of a run's expectations were met, and
// which were not, with the values of the figures they name.
func expectationLines(r *Run) string {
	if len(r.Expectations) == 0 {
		return ""
	}
	var b strings.Builder
	met := 0
	for _, e := range r.Expectations {
		if e.OK {
			met++
		}
	}
	fmt.Fprintf(&b, "expect: %d of %d met\n", met, len(r.Expectations))
	for _, e := range r.Expectations {
		if !e.OK {
			b.WriteString(wrap("expect FAILED ("+e.Source+"): "+e.Describe(), 100))
		}
	}
	return b.String()
}
