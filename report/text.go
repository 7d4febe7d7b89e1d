package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/twbench/twbench/sockstat"
)

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

func pad(s string, width int) string {
	if n := len([]rune(s)); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}
