package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twbench/twbench/sockstat"
)

// PlanFormats lists the formats a plan is written in.
func PlanFormats() []string { return []string{"text", "json"} }

// WritePlan writes r in format, one of PlanFormats; as a table of the
// plans, one a line, when table is set and the format is text.
func WritePlan(w io.Writer, r *PlanReport, format string, table bool) error {
	switch {
	case format == "json":
		return writePlanJSON(w, r)
	case format != "text":
		return fmt.Errorf("report: plan format %q: want %s", format, strings.Join(PlanFormats(), " or "))
	case table:
		return writePlanTable(w, r)
	}
	return writePlanText(w, r)
}

func writePlanJSON(w io.Writer, r *PlanReport) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode plan: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("report: write plan: %w", err)
	}
	return nil
}

// planWidth is the widest line the text writes; planLabel the width of
// its labels.
const (
	planWidth = 100
	planLabel = 22
)

// writePlanText writes each plan as a block: the workload, what each end
// holds, the ports, the ceilings, what is needed, and the advice.
func writePlanText(w io.Writer, r *PlanReport) error {
	var b bytes.Buffer
	writePlanHost(&b, r)
	for i := range r.Plans {
		pl := &r.Plans[i]
		b.WriteByte('\n')
		planLine(&b, "workload", workloadParts(&pl.Workload, true)...)
		b.WriteByte('\n')
		writePlanEnds(&b, pl)
		p := &pl.Ports
		ports := []string{"not known: the port range was not read"}
		if p.PortRange != "" {
			ports = []string{fmt.Sprintf("%s in use per pair of %s usable (%s)",
				commas(p.InUse), commas(int64(p.UsablePorts)), shareText(p.Share))}
			if pl.Workload.ConnectionsPerRequest > 0 {
				ports = append(ports, fmt.Sprintf("each held %s in the %s regime", seconds(holdIn(p, pl.Workload.Regime)), pl.Workload.Regime))
			} else {
				ports = append(ports, "held by a keep-alive pool")
			}
			if p.ExhaustedAfterS != nil {
				ports = append(ports, fmt.Sprintf("they run out after %s at this rate (EADDRNOTAVAIL)", seconds(*p.ExhaustedAfterS)))
			}
		}
		planLine(&b, "client ports", ports...)
		planLine(&b, "max requests/s", ceilingParts(pl)...)
		for i, part := range remedyParts(pl) {
			label := ""
			if i == 0 {
				label = "remedies"
			}
			planLine(&b, label, part)
		}
		planLine(&b, "needed", neededText(pl))
		planLine(&b, "advice", pl.Advice)
		writePlanExpectations(&b, pl)
	}
	writePlanNotes(&b, r)
	return flushPlan(w, &b)
}

// writePlanTable writes the plans one a line: the articles' table with
// this host's settings.
func writePlanTable(w io.Writer, r *PlanReport) error {
	var b bytes.Buffer
	writePlanHost(&b, r)
	if len(r.Plans) > 0 {
		planLine(&b, "assumed", workloadParts(&r.Plans[0].Workload, false)...)
	}
	b.WriteByte('\n')
	rows := [][]string{{"closer", "req/s", "client TW", "server TW", "memory", "buckets", "ports", "run out", "max/s", "sources"}}
	for i := range r.Plans {
		pl := &r.Plans[i]
		name := string(pl.Workload.Closer)
		if pl.Workload.Scenario != "" {
			name = pl.Workload.Scenario
		}
		if i > 0 && name != rows[len(rows)-1][0] {
			rows = append(rows, nil)
		}
		buckets := "-"
		if c, s := pl.Client.TWBucketsShare, pl.Server.TWBucketsShare; c != nil && s != nil {
			buckets = shareText(max(*c, *s))
		}
		out, ceil, sources := "-", "-", "-"
		if v := pl.Ports.ExhaustedAfterS; v != nil {
			out = seconds(*v)
		}
		if v := ceilingIn(pl.Ports.PerPair, pl.Workload.Regime); v != nil {
			ceil = rateText(*v)
		}
		if v := pl.Needed.Sources; v != nil {
			sources = strconv.Itoa(*v)
		}
		rows = append(rows, []string{name, planRate(pl.Workload.Rate),
			commas(pl.Client.TimeWait), commas(pl.Server.TimeWait),
			bytesText(pl.Client.MemoryBytes + pl.Server.MemoryBytes), buckets, shareText(pl.Ports.Share), out, ceil, sources})
	}
	planColumns(&b, rows)
	b.WriteByte('\n')
	b.WriteString(planWrap("TW: TIME_WAIT at steady state (rate × share × length); memory: what both ends hold of it; buckets: the larger end's share of tcp_max_tw_buckets; ports: the client's in use over usable, per pair; run out: until EADDRNOTAVAIL; max/s: the ceiling per pair; sources: the source addresses that keep the ports under the target share.", 0))
	writePlanNotes(&b, r)
	return flushPlan(w, &b)
}

func flushPlan(w io.Writer, b *bytes.Buffer) error {
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("report: write plan: %w", err)
	}
	return nil
}

func writePlanHost(b *bytes.Buffer, r *PlanReport) {
	b.WriteString("twbench plan")
	if r.From != "" {
		b.WriteString(" of " + r.From)
	}
	b.WriteString("\n")
	h := r.Host
	kernel := h.Kernel
	if kernel == "" {
		kernel = "unknown"
	}
	parts := []string{"kernel " + kernel}
	if lo, hi, err := h.PortRange(); err == nil {
		parts = append(parts, fmt.Sprintf("ip_local_port_range %d-%d (%s usable)", lo, hi, commas(int64(h.UsablePorts(lo, hi)))))
	}
	if v, ok := h.Int(sockstat.SysctlTWReuse); ok {
		d, _ := h.TWReuseDelay()
		parts = append(parts, fmt.Sprintf("tcp_tw_reuse=%d (after %s)", v, seconds(d.Seconds())))
	}
	if v, ok := h.Int(sockstat.SysctlTimestamps); ok {
		parts = append(parts, fmt.Sprintf("tcp_timestamps=%d", v))
	}
	if v, ok := h.Int(sockstat.SysctlMaxTWBuckets); ok {
		parts = append(parts, "tcp_max_tw_buckets="+commas(int64(v)))
	}
	o := r.TimeWaitObject
	obj := fmt.Sprintf("%s %s each, from /proc/slabinfo", o.Slab, bytesText(o.Bytes))
	if o.From != sockstat.SizeFromSlabinfo {
		obj = fmt.Sprintf("%s %s each, assumed", o.Slab, bytesText(o.Bytes))
	}
	planLine(b, "host", append(parts, obj)...)
}

// workloadParts describes a workload; without the rate and closer when
// all is false, for a table whose rows give them.
func workloadParts(w *Workload, all bool) []string {
	var parts []string
	if all {
		if w.Scenario != "" {
			parts = append(parts, "scenario "+w.Scenario+" as measured")
		}
		parts = append(parts, planRate(w.Rate)+" requests/s")
		if spec, ok := w.Closer.Spec(); ok {
			parts = append(parts, "closer "+string(w.Closer)+": "+spec.Summary)
		}
		perConn := "requests per connection"
		if w.RequestsPerConn == 1 {
			perConn = "request per connection"
		}
		if w.ConnectionsPerRequest > 0 {
			parts = append(parts, commas(int64(w.RequestsPerConn))+" "+perConn,
				fmt.Sprintf("first FIN: client %s, server %s", shareText(w.ClientCloseShare), shareText(w.ServerCloseShare)))
		}
	}
	parts = append(parts, "connection lifetime "+seconds(w.LifetimeS), "latency "+seconds(w.LatencyS),
		fmt.Sprintf("TIME_WAIT %s (%s)", seconds(w.TimeWaitS), w.TimeWaitFrom))
	if w.ClientPortRange != "" {
		parts = append(parts, "client port range "+w.ClientPortRange)
	}
	parts = append(parts, fmt.Sprintf("%s × %s", plural(w.Sources, "source"), plural(w.Destinations, "destination")),
		w.Regime+" regime", "target "+shareText(w.TargetShare)+" of the ports")
	return parts
}

func plural(n int, word string) string { return plural64(int64(n), word) }

func plural64(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "s") {
		return commas(n) + " " + word + "es"
	}
	return commas(n) + " " + word + "s"
}

// writePlanEnds writes what each end holds, side by side.
func writePlanEnds(b *bytes.Buffer, pl *Plan) {
	held := func(e *PlanEnd) string {
		s := commas(e.TimeWaitHeld)
		switch e.HeldBy {
		case HeldByFourTuples:
			s += " (4-tuples)"
		case HeldByTWBuckets:
			s += " (tcp_max_tw_buckets)"
		}
		return s
	}
	buckets := func(e *PlanEnd) string {
		if e.TWBucketsShare == nil {
			return "not read"
		}
		return shareText(*e.TWBucketsShare)
	}
	rows := [][]string{
		{"", "client", "server"},
		{"TIME_WAIT", commas(pl.Client.TimeWait), commas(pl.Server.TimeWait)},
		{"  held", held(&pl.Client), held(&pl.Server)},
		{"  memory", bytesText(pl.Client.MemoryBytes), bytesText(pl.Server.MemoryBytes)},
		{"  tcp_max_tw_buckets", buckets(&pl.Client), buckets(&pl.Server)},
	}
	width := 0
	for _, r := range rows {
		width = max(width, utf8.RuneCountInString(r[1]))
	}
	for _, r := range rows {
		line := planPad(r[0], planLabel) + planPad(r[1], width+4) + r[2]
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
}

func holdIn(p *PlanPorts, regime string) float64 {
	if regime == RegimeLoopback {
		return p.PortHoldS.Loopback
	}
	return p.PortHoldS.Network
}

// ceilingParts gives the ceilings in both regimes, over all pairs and,
// with more than one, per pair.
func ceilingParts(pl *Plan) []string {
	p := &pl.Ports
	if p.MaxSustainableQPS.Network == nil || p.MaxSustainableQPS.Loopback == nil {
		if pl.Workload.ConnectionsPerRequest == 0 {
			return []string{"no ceiling: a keep-alive pool opens no new connections"}
		}
		return []string{"not known: the port range was not read"}
	}
	var parts []string
	pairs := pl.Workload.Sources * pl.Workload.Destinations
	for _, regime := range []string{RegimeNetwork, RegimeLoopback} {
		s := regime + " " + rateText(*ceilingIn(p.MaxSustainableQPS, regime))
		if pairs > 1 {
			s += fmt.Sprintf(" (%s per pair)", rateText(*ceilingIn(p.PerPair, regime)))
		}
		if regime == pl.Workload.Regime {
			s += ", planned"
		}
		parts = append(parts, s)
	}
	return append(parts, "over "+plural(pairs, "pair"))
}

func neededText(pl *Plan) string {
	n := &pl.Needed
	pool := "a keep-alive pool of " + plural64(n.PooledConnections, "connection")
	if n.Sources == nil || n.Destinations == nil {
		return pool
	}
	return fmt.Sprintf("%s, or %s, or %s (under %s of the ports per pair)",
		plural(*n.Sources, "source address"), plural(*n.Destinations, "destination"), pool, shareText(pl.Workload.TargetShare))
}

func writePlanExpectations(b *bytes.Buffer, pl *Plan) {
	for i := range pl.Expectations {
		e := &pl.Expectations[i]
		verdict := "met"
		if !e.OK {
			verdict = "FAILED"
		}
		planLine(b, "expect "+verdict, e.Describe())
	}
}

func writePlanNotes(b *bytes.Buffer, r *PlanReport) {
	for _, n := range r.Notes {
		b.WriteByte('\n')
		b.WriteString(planWrap("note: "+n, 2))
	}
}

// planLine writes a label and its parts joined by " · ", wrapped at
// planWidth under the first part: between parts where the next fits on a
// line of its own, else between words.
func planLine(b *bytes.Buffer, label string, parts ...string) {
	indent := strings.Repeat(" ", planLabel)
	line := planPad(label, planLabel)
	n := utf8.RuneCountInString(line)
	room := planWidth - planLabel
	for i, part := range parts {
		w := utf8.RuneCountInString(part)
		if i > 0 {
			if n+3+w <= planWidth || w > room {
				line += " ·"
				n += 2
			} else {
				// A part that fits a line of its own starts one, without
				// the separator.
				b.WriteString(line + "\n")
				line, n = indent, planLabel
			}
		}
		for _, word := range strings.Fields(part) {
			ww := utf8.RuneCountInString(word)
			fresh := n == planLabel
			switch {
			case fresh:
			case n+1+ww > planWidth:
				b.WriteString(line + "\n")
				line, n = indent, planLabel
			default:
				line += " "
				n++
			}
			line += word
			n += ww
		}
	}
	b.WriteString(line + "\n")
}

// planWrap breaks text at planWidth, indenting continuation lines.
func planWrap(text string, indent int) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(text) {
		w := utf8.RuneCountInString(word)
		switch {
		case i == 0:
		case n+1+w > planWidth:
			b.WriteString("\n" + strings.Repeat(" ", indent))
			n = indent
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += w
	}
	return b.String() + "\n"
}

func planPad(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s + " "
}

// planColumns writes rows as columns, the first left-aligned and the
// rest right-aligned; a nil row is a blank line.
func planColumns(b *bytes.Buffer, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0:
				line.WriteString(c + pad)
			default:
				line.WriteString("  " + pad + c)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}
