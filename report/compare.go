package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/twbench/twbench/scenario"
)

// A Figure is one number compare looks at, and which way is better.
type Figure struct {
	Name string
	// LowerIsBetter: latency, TIME_WAIT, errors, port cost. Otherwise
	// higher is better (qps).
	LowerIsBetter bool
	Unit          string
	value         func(r *Run, lat *latencyFigures) (float64, bool)
}

// latencyFigures are a run's latency percentiles, read from its encoded
// HdrHistogram when it has one, from the summary otherwise.
type latencyFigures struct {
	p          Percentiles
	fromHDR    bool
	decodeFail string
}

func runLatency(r *Run) *latencyFigures {
	h, err := decodeHistogram(r.LatencyHDR)
	if err != nil {
		return &latencyFigures{p: r.LatencyUS, decodeFail: err.Error()}
	}
	return &latencyFigures{p: quantiles(h), fromHDR: true}
}

// Figures lists what compare compares, by the names of the JSON report.
func Figures() []Figure {
	lat := func(pick func(Percentiles) int64) func(*Run, *latencyFigures) (float64, bool) {
		return func(_ *Run, l *latencyFigures) (float64, bool) { return float64(pick(l.p)), true }
	}
	perRequest := func(e func(*Run) *End) func(*Run, *latencyFigures) (float64, bool) {
		return func(r *Run, _ *latencyFigures) (float64, bool) {
			end := e(r)
			if !end.Sampled || end.TimeWaitPerRequest == nil {
				return 0, false
			}
			return *end.TimeWaitPerRequest, true
		}
	}
	peak := func(e func(*Run) *End) func(*Run, *latencyFigures) (float64, bool) {
		return func(r *Run, _ *latencyFigures) (float64, bool) {
			end := e(r)
			return float64(end.Peak["TIME_WAIT"]), end.Sampled
		}
	}
	client := func(r *Run) *End { return &r.Client }
	server := func(r *Run) *End { return &r.Server }
	return []Figure{
		{"qps", false, "/s", func(r *Run, _ *latencyFigures) (float64, bool) { return r.QPS, true }},
		{"latency_us.p50", true, "µs", lat(func(p Percentiles) int64 { return p.P50 })},
		{"latency_us.p90", true, "µs", lat(func(p Percentiles) int64 { return p.P90 })},
		{"latency_us.p99", true, "µs", lat(func(p Percentiles) int64 { return p.P99 })},
		{"latency_us.p999", true, "µs", lat(func(p Percentiles) int64 { return p.P999 })},
		{"latency_us.max", true, "µs", lat(func(p Percentiles) int64 { return p.Max })},
		{"errors", true, "", func(r *Run, _ *latencyFigures) (float64, bool) { return float64(totalErrors(r)), true }},
		{"client.time_wait_per_request", true, "", perRequest(client)},
		{"server.time_wait_per_request", true, "", perRequest(server)},
		{"client.peak.TIME_WAIT", true, "", peak(client)},
		{"server.peak.TIME_WAIT", true, "", peak(server)},
		{"ports.ports_per_qps", true, "s", func(r *Run, _ *latencyFigures) (float64, bool) { return r.Ports.PortsPerQPS, true }},
	}
}

// figuresOnly returns the parts of r that Figures and compareRuns read;
// the rest (series, maps of counts, notes, expectations) is left out.
func figuresOnly(r *Run) Run {
	end := func(e *End) End {
		return End{Sampled: e.Sampled, Source: e.Source, TimeWaitPerRequest: e.TimeWaitPerRequest,
			Peak: map[string]int{"TIME_WAIT": e.Peak["TIME_WAIT"]}}
	}
	return Run{
		Scenario: r.Scenario, Target: r.Target, BuiltinTarget: r.BuiltinTarget,
		DurationS: r.DurationS, QPS: r.QPS, Errors: r.Errors,
		LatencyUS: r.LatencyUS, LatencyHDR: r.LatencyHDR,
		Client: end(&r.Client), Server: end(&r.Server),
		Ports:       Ports{PortsPerQPS: r.Ports.PortsPerQPS},
		Interrupted: r.Interrupted,
	}
}

// Limits are the regressions compare tolerates, in percent: Default for
// every figure, PerFigure overriding it (nil: no limit for that figure). A
// PerFigure key may name a group, the part of figures' names before a dot
// ("latency_us" for latency_us.p50 ... latency_us.max); a figure's own
// name wins over its group. A figure with no limit is shown, never failed.
type Limits struct {
	Default   *float64
	PerFigure map[string]*float64
}

func (l Limits) of(figure string) (float64, bool) {
	v, ok := l.PerFigure[figure]
	if !ok {
		group, _, _ := strings.Cut(figure, ".")
		v, ok = l.PerFigure[group]
	}
	if ok {
		if v == nil {
			return 0, false
		}
		return *v, true
	}
	if l.Default != nil {
		return *l.Default, true
	}
	return 0, false
}

// Comparison is compare's outcome: every scenario in both reports.
type Comparison struct {
	Scenarios []ScenarioComparison
	// OnlyBase and OnlyHead name the scenarios in one report only.
	OnlyBase, OnlyHead []string
	Notes              []string
}

// ScenarioComparison compares one scenario's figures.
type ScenarioComparison struct {
	Name    string
	Figures []FigureChange
	// Differs lists scenario settings that are not the same in both runs,
	// so that a change in the figures may be no regression at all.
	Differs []string
	// Interrupted says which run was cut short, and when; its figures are
	// then not comparable, and none is called better or worse.
	Interrupted string
}

// FigureChange is one figure in both runs.
type FigureChange struct {
	Figure     Figure
	Base, Head float64
	// Missing is set when either run lacks the figure (an end not
	// sampled); HasBase and HasHead say which has it. A figure the head
	// lacks and the base has, under a limit, is a regression: a check
	// that cannot be made must not pass.
	Missing          bool
	HasBase, HasHead bool
	// Change is (head - base) / base in percent, ±Inf when base is 0;
	// Worse is the change in the bad direction (negative: it improved).
	Change, Worse float64
	Limit         *float64
	Regressed     bool
	// Incomparable is set when either run was interrupted: under a limit
	// the figure then fails, as a check that cannot be made must.
	Incomparable bool
}

// Regressions returns the figures that got worse by more than their limit.
func (c *Comparison) Regressions() []string {
	var out []string
	for _, s := range c.Scenarios {
		if s.Interrupted != "" && slices.ContainsFunc(s.Figures, func(f FigureChange) bool { return f.Regressed }) {
			out = append(out, fmt.Sprintf("%s: %s: its figures cannot be checked against the limits", s.Name, s.Interrupted))
			continue
		}
		for _, f := range s.Figures {
			if f.Regressed && f.Missing {
				out = append(out, fmt.Sprintf("%s: %s is missing from the head run (base %s): it cannot be checked against the %s allowed",
					s.Name, f.Figure.Name, f.Figure.format(f.Base), percentText(*f.Limit)))
				continue
			}
			if f.Regressed {
				out = append(out, fmt.Sprintf("%s: %s got worse by %s (%s -> %s), more than the %s allowed",
					s.Name, f.Figure.Name, percentText(f.Worse), f.Figure.format(f.Base), f.Figure.format(f.Head), percentText(*f.Limit)))
			}
		}
	}
	return out
}

// Compare compares every scenario in both reports, by name. A scenario run
// more than once in a report is compared by its first run.
func Compare(base, head *Report, limits Limits) *Comparison {
	c := &Comparison{}
	baseRuns, headRuns := firstRuns(base, "base", c), firstRuns(head, "head", c)
	listed := map[string]bool{}
	for _, hr := range head.Runs {
		name := hr.Scenario.Name
		if _, ok := baseRuns[name]; !ok && !listed[name] {
			listed[name] = true
			c.OnlyHead = append(c.OnlyHead, name)
		}
	}
	clear(listed)
	for _, br := range base.Runs {
		name := br.Scenario.Name
		if listed[name] {
			continue
		}
		listed[name] = true
		hr, ok := headRuns[name]
		if !ok {
			c.OnlyBase = append(c.OnlyBase, name)
			continue
		}
		c.Scenarios = append(c.Scenarios, compareRuns(baseRuns[name], hr, limits, c))
	}
	slices.Sort(c.Notes)
	return c
}

func firstRuns(r *Report, which string, c *Comparison) map[string]*Run {
	m := map[string]*Run{}
	for i := range r.Runs {
		name := r.Runs[i].Scenario.Name
		if _, dup := m[name]; dup {
			c.Notes = append(c.Notes, fmt.Sprintf("%s has scenario %s more than once: its first run is compared", which, name))
			continue
		}
		m[name] = &r.Runs[i]
	}
	return m
}

func compareRuns(b, h *Run, limits Limits, c *Comparison) ScenarioComparison {
	sc := ScenarioComparison{Name: b.Scenario.Name}
	bs, hs := b.Scenario, h.Scenario
	for _, d := range []struct{ key, base, head string }{
		{"protocol", string(bs.Protocol), string(hs.Protocol)},
		{"closer", string(bs.Closer), string(hs.Closer)},
		{"concurrency", strconv.Itoa(bs.Concurrency), strconv.Itoa(hs.Concurrency)},
		{"rate", strconv.FormatFloat(bs.Rate, 'f', -1, 64), strconv.FormatFloat(hs.Rate, 'f', -1, 64)},
		{"duration", bs.Duration.String(), hs.Duration.String()},
		{"requests", strconv.FormatInt(bs.Requests, 10), strconv.FormatInt(hs.Requests, 10)},
		{"request_size", strconv.Itoa(bs.RequestSize), strconv.Itoa(hs.RequestSize)},
		{"response_size", strconv.Itoa(bs.ResponseSize), strconv.Itoa(hs.ResponseSize)},
		{"requests_per_conn", strconv.Itoa(bs.RequestsPerConn), strconv.Itoa(hs.RequestsPerConn)},
		{"half_close", strconv.FormatBool(bs.HalfClose), strconv.FormatBool(hs.HalfClose)},
		{"client_port_range", orNone(bs.ClientPortRange), orNone(hs.ClientPortRange)},
		{"source", orNone(strings.Join(bs.Sources, ",")), orNone(strings.Join(hs.Sources, ","))},
		{"target", targetKind(b), targetKind(h)},
		{"server end", serverEnd(b), serverEnd(h)},
		{"topology", bs.TopologyName(), hs.TopologyName()},
		{"namespace settings", namespaceSettingsText(bs), namespaceSettingsText(hs)},
		{"proxy", proxyText(bs), proxyText(hs)},
	} {
		if d.base != d.head {
			sc.Differs = append(sc.Differs, fmt.Sprintf("%s %s -> %s", d.key, d.base, d.head))
		}
	}
	var cut []string
	for _, r := range []struct {
		which string
		run   *Run
	}{{"base", b}, {"head", h}} {
		if r.run.Interrupted {
			cut = append(cut, fmt.Sprintf("the %s run was interrupted after %s of its %s", r.which,
				seconds(r.run.DurationS), r.run.Scenario.Duration))
		}
	}
	sc.Interrupted = strings.Join(cut, "; ")
	bl, hl := runLatency(b), runLatency(h)
	for which, l := range map[string]*latencyFigures{"base": bl, "head": hl} {
		if !l.fromHDR {
			c.Notes = append(c.Notes, fmt.Sprintf("%s: %s latency from the summary, not the histogram (%s)", sc.Name, which, l.decodeFail))
		}
	}
	for _, f := range Figures() {
		fc := FigureChange{Figure: f}
		bv, bok := f.value(b, bl)
		hv, hok := f.value(h, hl)
		if !bok || !hok {
			fc.Missing, fc.HasBase, fc.HasHead = true, bok, hok
			fc.Base, fc.Head = bv, hv
			fc.Incomparable = sc.Interrupted != ""
			if lim, ok := limits.of(f.Name); ok {
				fc.Limit = &lim
				fc.Regressed = (bok && !hok) || fc.Incomparable
			}
			sc.Figures = append(sc.Figures, fc)
			continue
		}
		fc.Base, fc.Head = bv, hv
		switch {
		case bv == hv:
			fc.Change = 0
		case bv == 0:
			fc.Change = math.Inf(1)
			if hv < 0 {
				fc.Change = math.Inf(-1)
			}
		default:
			fc.Change = (hv - bv) / math.Abs(bv) * 100
		}
		fc.Worse = fc.Change
		if !f.LowerIsBetter {
			fc.Worse = -fc.Change
		}
		fc.Incomparable = sc.Interrupted != ""
		if lim, ok := limits.of(f.Name); ok {
			fc.Limit = &lim
			fc.Regressed = fc.Worse > lim || fc.Incomparable
		}
		sc.Figures = append(sc.Figures, fc)
	}
	return sc
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// targetKind names a run's target for comparing settings: the built-in
// one (whose port changes every run) or the URL.
func targetKind(r *Run) string {
	if r.BuiltinTarget {
		return "built-in"
	}
	return r.Target
}

// serverEnd says where a run's server end was read.
func serverEnd(r *Run) string {
	switch {
	case !r.Server.Sampled:
		return "not sampled"
	case r.Server.Source != "":
		return r.Server.Source
	}
	return "this host"
}

func (f Figure) format(v float64) string {
	var s string
	switch {
	case f.Name == "qps":
		s = commasFloat(v, 1)
	case strings.HasSuffix(f.Name, "time_wait_per_request"):
		s = strconv.FormatFloat(v, 'f', 4, 64)
	case f.Name == "ports.ports_per_qps":
		return seconds(v)
	default:
		s = commasFloat(v, 0)
	}
	if f.Unit != "" && f.Unit != "/s" {
		s += " " + f.Unit
	}
	return s
}

// WriteComparison writes the comparison as a table: per scenario, each
// figure in the base and the head run, the change, and the limit if one
// was set.
func WriteComparison(w io.Writer, c *Comparison) error {
	var b bytes.Buffer
	if len(c.Scenarios) == 0 {
		b.WriteString("No scenario is in both reports.\n")
	}
	for i, s := range c.Scenarios {
		if i > 0 {
			b.WriteByte('\n')
		}
		rows := [][]string{{s.Name, "base", "head", "change", "limit", ""}}
		for _, f := range s.Figures {
			r := []string{"  " + f.Figure.Name, "-", "-", "-", "", ""}
			switch {
			case !f.Missing:
				r[1], r[2], r[3] = f.Figure.format(f.Base), f.Figure.format(f.Head), signed(f.Change)
			case f.HasBase:
				r[1], r[2] = f.Figure.format(f.Base), "missing"
			case f.HasHead:
				r[1], r[2] = "missing", f.Figure.format(f.Head)
			}
			if f.Limit != nil {
				r[4] = "≤" + percentText(*f.Limit) + " worse"
			}
			switch {
			case f.Regressed && f.Incomparable:
				r[5] = "NOT COMPARABLE"
			case f.Incomparable:
				r[5] = "not comparable"
			case f.Regressed:
				r[5] = "REGRESSED"
			case !f.Missing && f.Worse <= -0.05: // shown as -0.1% or more
				r[5] = "better"
			}
			rows = append(rows, r)
		}
		writeColumns(&b, rows)
		if len(s.Differs) > 0 {
			b.WriteString("  note: the scenario differs: " + strings.Join(s.Differs, ", ") + "\n")
		}
		if s.Interrupted != "" {
			b.WriteString("  note: " + s.Interrupted + ": no figure is called better or worse\n")
		}
	}
	for _, n := range c.Notes {
		b.WriteString("note: " + n + "\n")
	}
	if len(c.OnlyBase) > 0 {
		b.WriteString("only in base: " + strings.Join(c.OnlyBase, ", ") + "\n")
	}
	if len(c.OnlyHead) > 0 {
		b.WriteString("only in head: " + strings.Join(c.OnlyHead, ", ") + "\n")
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("report: write comparison: %w", err)
	}
	return nil
}

// writeColumns writes rows as left-aligned columns, numbers right-aligned.
func writeColumns(b *bytes.Buffer, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			gap := widths[i] - len([]rune(c))
			switch {
			case i == 0:
				line.WriteString(c + strings.Repeat(" ", gap))
			case i < 4:
				line.WriteString("   " + strings.Repeat(" ", gap) + c)
			default:
				line.WriteString("   " + c + strings.Repeat(" ", gap))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
}

// namespaceSettingsText lists a scenario's namespace settings, key=value,
// in the table's order, or "none".
func namespaceSettingsText(s scenario.Scenario) string {
	var parts []string
	for _, n := range scenario.NamespaceSettings() {
		if v, ok := s.NamespaceSettings[n.Key]; ok {
			parts = append(parts, n.Key+"="+v)
		}
	}
	return orNone(strings.Join(parts, ","))
}

// proxyText says whether a scenario had the built-in proxy, and how.
func proxyText(s scenario.Scenario) string {
	switch {
	case !s.Proxy:
		return "none"
	case s.UpstreamKeepAlive:
		return "upstream keep-alive"
	}
	return "upstream close"
}
