package report

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rivo/uniseg"

	"github.com/twbench/twbench/sockstat"
)

// The text report is for a terminal: no line is wider than textWidth
// columns. Sentences wrap at proseWidth, which reads more easily. Lines
// are measured in bytes where that is the larger, as it is for ≤, µ or ·,
// so that tools that count bytes (mawk's length, cut -b) agree.
const (
	textWidth  = 120
	proseWidth = 100
	// columnGap is the space before each scenario's column of the table.
	columnGap = 3
	// minColumn is the narrowest a scenario's column is made before the
	// scenarios are stacked in groups instead: most cells fit in it
	// unbroken ("> 10,000,000/s (in force)").
	minColumn = 25
)

// WriteText writes r for people: the host's settings, the scenarios side
// by side (in groups, one below the other, when they do not all fit in
// 120 columns), and one sentence per scenario saying which end held the
// TIME_WAIT and why.
func WriteText(w io.Writer, r *Report) error {
	var b bytes.Buffer
	for _, line := range fill(joined(hostParts(r), " · "), proseWidth, 2, byteLen) {
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")
	if len(r.Runs) == 0 {
		b.WriteString("No scenario ran.\n")
	} else {
		writeTable(&b, tableRows(r.Runs))
	}
	for i := range r.Runs {
		run := &r.Runs[i]
		b.WriteString("\n")
		b.WriteString(wrap(run.Scenario.Name+": "+Explain(run), proseWidth))
		for _, d := range Details(run) {
			b.WriteString(wrap(d, proseWidth))
		}
		for _, n := range run.Notes {
			b.WriteString(wrap("  note: "+n, proseWidth))
		}
		b.WriteString(expectationLines(run))
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("report: write text: %w", err)
	}
	return nil
}

// hostLine is the host's settings on one line, as HTML shows them.
func hostLine(r *Report) string { return strings.Join(hostParts(r), " · ") }

func hostParts(r *Report) []string {
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
	return parts
}

// writeTable writes rows with the scenarios side by side, which is how
// an expert compares them. A column is as wide as its cells, up to a
// share of the 120 columns; a longer cell (a list of states, a long
// target) wraps inside its column, after a comma where it can. When the
// scenarios do not fit side by side at minColumn each, they are stacked:
// groups of as many as fit, one table below the other, each with the
// labels and the scenarios' names.
//
// Columns line up in terminal columns. What a column costs of the 120 is
// its width plus the most bytes beyond one per column that any of its
// cells has (2 for "≤64 conns"), so that no line is over 120 bytes either.
func writeTable(b *bytes.Buffer, rows []row) {
	labelW := 0 // the labels are ASCII: columns and bytes alike
	for _, r := range rows {
		labelW = max(labelW, stringWidth(r.label))
	}
	room := textWidth - labelW
	natural := make([]int, len(rows[0].cells)) // each column's cost unwrapped
	extra := make([]int, len(rows[0].cells))   // and its bytes beyond its columns
	for _, r := range rows {
		for i, c := range r.cells {
			extra[i] = max(extra[i], len(c)-stringWidth(c))
		}
	}
	for _, r := range rows {
		for i, c := range r.cells {
			natural[i] = max(natural[i], stringWidth(c)+extra[i])
		}
	}
	for from, n := 0, 0; from < len(natural); from += n {
		// The group grows while its columns need not be narrower than
		// minColumn, or need no wrapping at all.
		n = 1
		for from+n < len(natural) {
			group := natural[from : from+n+1]
			if c := columnCap(group, room); c < minColumn && c < slices.Max(group) {
				break
			}
			n++
		}
		if from > 0 {
			b.WriteByte('\n')
		}
		limit := columnCap(natural[from:from+n], room)
		writeGroup(b, rows, from, from+n, labelW, limit, extra[from:from+n])
	}
}

// columnCap returns the widest a column may be for columns of these
// natural widths to fit in room, gaps included: wide enough for the
// narrow ones, the rest sharing what is left.
func columnCap(natural []int, room int) int {
	left := room - columnGap*len(natural)
	sorted := slices.Sorted(slices.Values(natural))
	for i, w := range sorted {
		if w*(len(sorted)-i) > left {
			return max(left/(len(sorted)-i), 1)
		}
		left -= w
	}
	return sorted[len(sorted)-1]
}

// writeGroup writes the columns [from, to) of rows, each cell wrapped so
// that its column costs at most limit: limit less its extra bytes.
func writeGroup(b *bytes.Buffer, rows []row, from, to, labelW, limit int, extra []int) {
	cells := make([][][]string, len(rows)) // row, column, line
	widths := make([]int, to-from)
	for i, r := range rows {
		for j, c := range r.cells[from:to] {
			lines := fill(cellPieces(c), max(limit-extra[j], 1), 0, stringWidth)
			cells[i] = append(cells[i], lines)
			for _, l := range lines {
				widths[j] = max(widths[j], stringWidth(l))
			}
		}
	}
	for i, r := range rows {
		height := 1
		for _, lines := range cells[i] {
			height = max(height, len(lines))
		}
		for k := range height {
			label := ""
			if k == 0 {
				label = r.label
			}
			line := pad(label, labelW)
			for j, lines := range cells[i] {
				cell := ""
				if k < len(lines) {
					cell = lines[k]
				}
				line += strings.Repeat(" ", columnGap) + pad(cell, widths[j])
			}
			b.WriteString(strings.TrimRight(line, " "))
			b.WriteByte('\n')
		}
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
			b.WriteString(wrap("expect FAILED ("+e.Source+"): "+e.Describe(), proseWidth))
		}
	}
	return b.String()
}

// wrap breaks text into lines of at most width bytes, and so columns,
// indenting the continuation lines by two spaces.
func wrap(text string, width int) string {
	var words []piece
	for _, w := range strings.Fields(text) {
		words = append(words, piece{w, " "})
	}
	return strings.Join(fill(words, width, 2, byteLen), "\n") + "\n"
}

// A piece is a part of a line that is not broken if it can be helped,
// and the glue that joins it to the piece before it on the same line.
type piece struct{ text, glue string }

// joined makes parts pieces joined by glue.
func joined(parts []string, glue string) []piece {
	var out []piece
	for _, p := range parts {
		out = append(out, piece{p, glue})
	}
	return out
}

// cellPieces breaks a table cell after its commas: "ESTABLISHED 15,",
// "CLOSE_WAIT 22".
func cellPieces(cell string) []piece {
	parts := strings.SplitAfter(cell, ", ")
	for i := range parts {
		parts[i] = strings.TrimSuffix(parts[i], " ")
	}
	return joined(parts, " ")
}

// fill lays pieces out in lines no wider than width as size measures
// them, continuation lines indented by indent spaces. A piece too wide
// for a line is broken at its spaces, and a word too wide at the width:
// no line is ever wider.
func fill(pieces []piece, width, indent int, size func(string) int) []string {
	avail := max(width-indent, 1)
	var lines []string
	line, started := "", false
	for _, p := range fitPieces(pieces, avail, size) {
		switch {
		case !started:
			line, started = p.text, true
		case size(line)+size(p.glue)+size(p.text) <= width:
			line += p.glue + p.text
		default:
			lines = append(lines, line)
			line = strings.Repeat(" ", indent) + p.text
		}
	}
	return append(lines, line)
}

// fitPieces returns pieces with each one wider than limit broken at its
// spaces, and each word wider than limit cut into limit-wide parts.
func fitPieces(pieces []piece, limit int, size func(string) int) []piece {
	var out []piece
	for _, p := range pieces {
		if size(p.text) <= limit {
			out = append(out, p)
			continue
		}
		for i, word := range strings.Fields(p.text) {
			glue := " "
			if i == 0 {
				glue = p.glue
			}
			for j, part := range cut(word, limit, size) {
				if j > 0 {
					glue = ""
				}
				out = append(out, piece{part, glue})
			}
		}
	}
	return out
}

// cut cuts s into parts no wider than limit as size measures them,
// between characters.
func cut(s string, limit int, size func(string) int) []string {
	var parts []string
	part, partW, state := "", 0, -1
	for s != "" {
		var cluster string
		cluster, s, _, state = uniseg.FirstGraphemeClusterInString(s, state)
		w := size(cluster)
		if partW > 0 && partW+w > limit {
			parts = append(parts, part)
			part, partW = "", 0
		}
		part += cluster
		partW += w
	}
	return append(parts, part)
}

// stringWidth is how many terminal columns s takes: wide characters take
// two, combining ones none.
func stringWidth(s string) int { return uniseg.StringWidth(s) }

// byteLen is the bytes of s, never fewer than its columns.
func byteLen(s string) int { return len(s) }

func pad(s string, w int) string {
	if n := stringWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}
