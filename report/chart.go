package report

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/twbench/twbench/sockstat"
)

// The charts of the HTML report are drawn here, to SVG, so that the report
// is one file that needs no script and no network.

const (
	chartWidth = 18 * vg.Centimeter
	panelH     = 7 * vg.Centimeter
)

// stateColor gives each state drawn the same colour on every chart.
func stateColor(s sockstat.State) color.RGBA {
	switch s {
	case sockstat.TimeWait:
		return color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	case sockstat.Established:
		return color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	case sockstat.FinWait1:
		return color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	case sockstat.FinWait2:
		return color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}
	case sockstat.CloseWait:
		return color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}
	case sockstat.LastAck:
		return color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	}
	return color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}
}

// chartedStates are the states the socket charts draw, in legend order:
// TIME_WAIT, ESTABLISHED and the closing states.
func chartedStates() []sockstat.State {
	return []sockstat.State{sockstat.TimeWait, sockstat.Established, sockstat.FinWait1,
		sockstat.FinWait2, sockstat.CloseWait, sockstat.LastAck, sockstat.Closing}
}

// timeRange is the shared time axis of a run's charts: from the baseline
// (or the load's start) to the last sample (or the load's end).
func timeRange(r *Run) (lo, hi float64) {
	lo, hi = 0, r.DurationS
	for _, p := range r.Throughput {
		lo, hi = min(lo, p.T), max(hi, p.T)
	}
	for _, e := range namedEnds(r) {
		for _, p := range e.e.Series {
			lo, hi = min(lo, p.T), max(hi, p.T)
		}
	}
	if hi <= lo {
		hi = lo + 1
	}
	return lo, hi
}

// statesChart draws the socket states of the client end over those of
// the server end, on one time axis and one count scale, so that the end
// holding the TIME_WAIT stands out.
func statesChart(r *Run) ([]byte, error) {
	lo, hi := timeRange(r)
	var top uint32 = 1
	var drawn []sockstat.State
	ends := namedEnds(r)
	for _, s := range chartedStates() {
		seen := s == sockstat.TimeWait || s == sockstat.Established
		for _, e := range ends {
			for _, p := range e.e.Series {
				top = max(top, p.Counts[s])
				seen = seen || p.Counts[s] > 0
			}
		}
		if seen {
			drawn = append(drawn, s)
		}
	}
	var plots [][]*plot.Plot
	for _, end := range ends {
		end.name += " end"
		p := newPlot(end.name+": sockets by state (log scale)", "seconds from the load's start", "sockets")
		p.X.Min, p.X.Max = lo, hi
		// Head room for the legend: a fifth of the log axis.
		p.Y.Min, p.Y.Max = 0, math.Pow(float64(top)+1, 1.25)
		p.Y.Scale, p.Y.Tick.Marker = log1pScale{}, log1pTicks{}
		if !end.e.Sampled {
			p.Title.Text = end.name + ": not sampled (" + end.e.Reason + ")"
		}
		for _, s := range drawn {
			xys := make(plotter.XYs, len(end.e.Series))
			for i, pt := range end.e.Series {
				xys[i] = plotter.XY{X: pt.T, Y: float64(pt.Counts[s])}
			}
			if len(xys) == 0 {
				continue
			}
			width := vg.Points(1.2)
			if s == sockstat.TimeWait {
				width = vg.Points(2.5)
			}
			if err := addLine(p, xys, s.String(), stateColor(s), width); err != nil {
				return nil, fmt.Errorf("report: chart %s %s: %w", end.name, s, err)
			}
		}
		p.Add(loadMarks(r)...)
		plots = append(plots, []*plot.Plot{p})
	}
	return drawTiles(plots, vg.Length(len(plots))*panelH)
}

// throughputChart draws completed requests and failed ones per second,
// between consecutive samples, and the open loop's target rate.
func throughputChart(r *Run) ([]byte, error) {
	if r.Watch != nil {
		return nil, errors.New("a watched command's requests over time are not known, only its summary's total")
	}
	lo, hi := timeRange(r)
	p := newPlot("throughput", "seconds from the load's start", "per second")
	p.X.Min, p.X.Max = lo, hi
	p.Y.Min = 0
	var done, failed plotter.XYs
	for i := 1; i < len(r.Throughput); i++ {
		a, b := r.Throughput[i-1], r.Throughput[i]
		dt := b.T - a.T
		if dt <= 0 {
			continue
		}
		// Each rate is drawn at the end of the interval it covers.
		done = append(done, plotter.XY{X: b.T, Y: float64(b.Requests-a.Requests) / dt})
		failed = append(failed, plotter.XY{X: b.T, Y: float64(b.Errors-a.Errors) / dt})
	}
	if len(done) > 0 {
		if err := addLine(p, done, "requests/s", stateColor(sockstat.Established), vg.Points(1.5)); err != nil {
			return nil, fmt.Errorf("report: throughput chart: %w", err)
		}
		if r.Errors != nil && totalErrors(r) > 0 {
			if err := addLine(p, failed, "errors/s", stateColor(sockstat.TimeWait), vg.Points(1.5)); err != nil {
				return nil, fmt.Errorf("report: throughput chart: %w", err)
			}
		}
	}
	if r.Scenario.Rate > 0 {
		target := plotter.XYs{{X: 0, Y: r.Scenario.Rate}, {X: r.DurationS, Y: r.Scenario.Rate}}
		if err := addLine(p, target, "target rate", color.Gray{Y: 0x80}, 0, vg.Points(4), vg.Points(3)); err != nil {
			return nil, fmt.Errorf("report: throughput chart: %w", err)
		}
	}
	p.Add(loadMarks(r)...)
	peak := r.Scenario.Rate
	for _, xy := range done {
		peak = max(peak, xy.Y)
	}
	for _, xy := range failed {
		peak = max(peak, xy.Y)
	}
	p.Y.Max = 1.3 * max(peak, 1) // head room for the legend
	p.Y.Tick.Marker = plainTicks{}
	return drawTiles([][]*plot.Plot{{p}}, panelH)
}

func totalErrors(r *Run) int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// latencyChart draws the latency percentile curve from the run's
// HdrHistogram: latency against percentile, with the percentiles spread
// as 1/(1-q), so that the tail (99%, 99.9%, ...) gets as much room as the
// median.
func latencyChart(r *Run) ([]byte, error) {
	if r.Watch != nil {
		return nil, errors.New("a watched command's summary gives some percentiles, not a histogram: they are in the table")
	}
	h, err := decodeHistogram(r.LatencyHDR)
	if err != nil {
		return nil, err
	}
	if h.TotalCount() == 0 {
		return nil, errors.New("report: latency chart: no latency was recorded")
	}
	// The curve stops where the histogram runs out of values: at about
	// 1/count from 100%.
	nines := math.Max(1, math.Min(6, math.Log10(float64(h.TotalCount()))))
	var xys plotter.XYs
	const steps = 40 // per factor of ten
	for i := 0; i <= int(nines*steps); i++ {
		x := float64(i) / steps
		q := 100 * (1 - math.Pow(10, -x))
		xys = append(xys, plotter.XY{X: x, Y: float64(h.ValueAtQuantile(q)) / 1000})
	}
	xys = append(xys, plotter.XY{X: nines, Y: float64(h.Max()) / 1000})
	p := newPlot("latency by percentile", "percentile", "milliseconds")
	p.X.Min, p.X.Max = 0, nines
	p.Y.Min = 0
	p.X.Tick.Marker = percentileTicks{}
	p.Y.Tick.Marker = plainTicks{}
	if err := addLine(p, xys, "", stateColor(sockstat.Established), vg.Points(1.5)); err != nil {
		return nil, fmt.Errorf("report: latency chart: %w", err)
	}
	p.Add(plotter.NewGrid())
	return drawTiles([][]*plot.Plot{{p}}, panelH)
}

// decodeHistogram reads a latency_hdr value: HdrHistogram V2, compressed,
// base64.
func decodeHistogram(encoded string) (*hdrhistogram.Histogram, error) {
	if encoded == "" {
		return nil, errors.New("report: no latency histogram in the run")
	}
	if _, err := base64.StdEncoding.DecodeString(encoded); err != nil {
		return nil, fmt.Errorf("report: latency_hdr is not base64: %w", err)
	}
	h, err := hdrhistogram.Decode([]byte(encoded))
	if err != nil {
		return nil, fmt.Errorf("report: decode latency_hdr: %w", err)
	}
	return h, nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	for _, ts := range []*draw.TextStyle{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle,
		&p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		ts.Font.Variant = "Sans"
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(12), -vg.Points(2)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	return p
}

// loadMarks marks the load's start and end on a time axis.
func loadMarks(r *Run) []plot.Plotter {
	return []plot.Plotter{vline{x: 0, label: "load start"}, vline{x: r.DurationS, label: "load end"}}
}

// vline is a dashed vertical line across a plot, labelled at its foot.
type vline struct {
	x     float64
	label string
}

func (v vline) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(v.x)
	c.SetColor(color.Gray{Y: 0x60})
	c.SetLineWidth(vg.Points(0.8))
	c.SetLineDash([]vg.Length{vg.Points(3), vg.Points(3)}, 0)
	var path vg.Path
	path.Move(vg.Point{X: x, Y: c.Min.Y})
	path.Line(vg.Point{X: x, Y: c.Max.Y})
	c.Stroke(path)
	sty := draw.TextStyle{Color: color.Gray{Y: 0x40}, Font: p.X.Tick.Label.Font, Handler: p.X.Tick.Label.Handler,
		XAlign: draw.XLeft, YAlign: draw.YTop, Rotation: math.Pi / 2}
	// At the foot of the line: the legend is at the top.
	c.FillText(sty, vg.Point{X: x - vg.Points(2), Y: c.Min.Y + vg.Points(4)}, v.label)
}

// drawTiles draws plots in a grid of one column, aligned on their axes,
// and returns the SVG element.
func drawTiles(plots [][]*plot.Plot, height vg.Length) ([]byte, error) {
	c := vgsvg.New(chartWidth, height)
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(10), PadTop: vg.Points(4),
		PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("report: draw chart: %w", err)
	}
	// Inline in HTML: the XML prolog has no place there.
	out := b.Bytes()
	if i := bytes.Index(out, []byte("<svg")); i > 0 {
		out = out[i:]
	}
	return out, nil
}

// log1pScale is a logarithmic scale that has room for zero: it draws
// log10(1+y), so 0, 64 and 14,000 sockets all read on one axis.
type log1pScale struct{}

func (log1pScale) Normalize(lo, hi, y float64) float64 {
	a, b := math.Log10(1+max(lo, 0)), math.Log10(1+max(hi, 0))
	if b <= a {
		return 0
	}
	return (math.Log10(1+max(y, 0)) - a) / (b - a)
}

// log1pTicks marks 0 and the powers of ten.
type log1pTicks struct{}

func (log1pTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := []plot.Tick{{Value: 0, Label: "0"}}
	if hi < 100 {
		ticks = append(ticks, plot.Tick{Value: 1, Label: "1"}) // else too near 0
	}
	for v := 10.0; v <= hi; v *= 10 {
		ticks = append(ticks, plot.Tick{Value: v, Label: humanCount(v)})
	}
	return ticks
}

func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// percentileTicks labels a 1/(1-q) axis: 0%, 90%, 99%, 99.9% ...
type percentileTicks struct{}

func (percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for x := math.Ceil(lo); x <= hi+1e-9; x++ {
		label := "0%"
		if x > 0 {
			label = strings.TrimRight(strings.TrimRight(strconv.FormatFloat(100*(1-math.Pow(10, -x)), 'f', int(x), 64), "0"), ".") + "%"
		}
		ticks = append(ticks, plot.Tick{Value: x, Label: label})
	}
	return ticks
}

// plainTicks are gonum's default ticks, labelled without trailing zeros
// ("5000", not "5000.00").
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(round(ticks[i].Value, 6), 'f', -1, 64)
		}
	}
	return ticks
}

// addLine draws xys on p in c, width wide (0: the default), dashed if
// dashes are given, and names it in the legend unless label is empty.
func addLine(p *plot.Plot, xys plotter.XYs, label string, c color.Color, width vg.Length, dashes ...vg.Length) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color, l.Dashes = c, dashes
	if width > 0 {
		l.Width = width
	}
	p.Add(l)
	if label != "" {
		p.Legend.Add(label, l)
	}
	return nil
}
