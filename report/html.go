package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/twbench/twbench/sockstat"
)

// htmlRun is one scenario's section of the HTML report.
type htmlRun struct {
	ID, Name, Description string
	Finding               string
	Details               []string
	Expectations          []Expectation
	Notes                 []string
	// Charts are SVG elements drawn by this package, or the reason one
	// could not be drawn.
	Charts []htmlChart
	Rows   []htmlRow
}

type htmlChart struct {
	Kind, Caption string
	SVG           template.HTML
	Missing       string
}

type htmlRow struct{ Label, Value string }

// htmlTable is the side-by-side table of the text report; its header
// links each scenario to its section.
type htmlTable struct {
	Header []htmlLink
	Rows   []htmlTableRow
}

type htmlLink struct{ Text, ID string }

type htmlTableRow struct {
	Label string
	Cells []string
}

// WriteHTML writes r as one HTML file that needs nothing else to open:
// no script, no stylesheet or font to fetch, the charts inlined as SVG.
// Per scenario: the socket states of both ends over time, throughput over
// time, the latency percentile curve and the close-behaviour table.
func WriteHTML(w io.Writer, r *Report) error {
	page := struct {
		Host        string
		Sysctls     []htmlRow
		Summary     *htmlTable
		Runs        []htmlRun
		Schema      string
		Interrupted bool
	}{Host: hostLine(r), Schema: r.Schema}
	for _, name := range sockstat.HostSysctls() {
		if v, ok := r.Host.Sysctl[name]; ok {
			page.Sysctls = append(page.Sysctls, htmlRow{name, v})
		}
	}
	if len(r.Runs) > 0 {
		rows := tableRows(r.Runs)
		page.Summary = &htmlTable{}
		for i, name := range rows[0].cells {
			page.Summary.Header = append(page.Summary.Header, htmlLink{name, runID(i, name)})
		}
		for _, tr := range rows[1:] {
			page.Summary.Rows = append(page.Summary.Rows, htmlTableRow{tr.label, tr.cells})
		}
	}
	for i := range r.Runs {
		run := &r.Runs[i]
		page.Interrupted = page.Interrupted || run.Interrupted
		hr := htmlRun{
			ID:           runID(i, run.Scenario.Name),
			Name:         run.Scenario.Name,
			Description:  run.Scenario.Description,
			Finding:      Explain(run),
			Details:      Details(run),
			Expectations: run.Expectations,
			Notes:        run.Notes,
		}
		for _, c := range []struct {
			kind, caption string
			draw          func(*Run) ([]byte, error)
		}{
			{"states", "Sockets by state over time, the client end above the server end (then each watched endpoint's two), on one time axis and one scale. The dashed lines mark the load's start and end.", statesChart},
			{"throughput", "Completed requests (and failed ones, if any) per second between samples; the dashed line is the open loop's target rate.", throughputChart},
			{"latency", "Latency at each percentile, from the run's HdrHistogram; the axis spreads the tail so that 99%, 99.9% and 99.99% each get as much room as 0 to 90%.", latencyChart},
		} {
			ch := htmlChart{Kind: c.kind, Caption: c.caption}
			svg, err := c.draw(run)
			if err != nil {
				ch.Missing = err.Error()
			} else {
				ch.SVG = template.HTML(svg) // drawn here, not user input
			}
			hr.Charts = append(hr.Charts, ch)
		}
		for _, tr := range tableRows(r.Runs[i : i+1])[1:] {
			hr.Rows = append(hr.Rows, htmlRow{tr.label, tr.cells[0]})
		}
		hr.Rows = append(hr.Rows, htmlRow{"ports per qps, its inputs", portInputs(run)})
		for _, sc := range page.Sysctls {
			hr.Rows = append(hr.Rows, htmlRow{strings.TrimPrefix(sc.Label, "net.ipv4."), sc.Value})
		}
		page.Runs = append(page.Runs, hr)
	}
	var b bytes.Buffer
	if err := htmlPage().Execute(&b, page); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("report: write html: %w", err)
	}
	return nil
}

// runID is the HTML id of the i'th run's section: a scenario may run
// more than once.
func runID(i int, name string) string { return fmt.Sprintf("run-%d-%s", i+1, name) }

// portInputs spells out the ports-per-qps arithmetic.
func portInputs(r *Run) string {
	p := r.Ports
	parts := []string{
		fmt.Sprintf("connection lifetime %s", seconds(p.ConnectionLifetimeS)),
		fmt.Sprintf("client closed %.0f%%", 100*p.ClientCloseShare),
		fmt.Sprintf("TIME_WAIT %s", seconds(p.TimeWaitS)),
		fmt.Sprintf("%.4g connections per request", p.ConnectionsPerRequest),
		fmt.Sprintf("usable ports %s (%s)", commas(int64(p.UsablePorts)), p.PortRange),
	}
	return strings.Join(parts, " · ")
}

func htmlPage() *template.Template {
	return template.Must(template.New("report").Parse(htmlTemplate))
}

const htmlTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>twbench report{{range .Runs}} · {{.Name}}{{end}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2.5em; border-bottom: 1px solid #ccc; }
code, .host { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.9em; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 0.2em 0.8em 0.2em 0; vertical-align: top; border-bottom: 1px solid #eee; }
th { font-weight: 600; }
figure { margin: 1.5em 0; } figure svg { width: 100%; height: auto; max-width: 51em; }
svg text { font-family: "Liberation Sans", Arial, Helvetica, sans-serif !important; }
figcaption { color: #555; font-size: 0.9em; }
.finding { background: #f5f7fa; padding: 0.8em 1em; border-left: 4px solid #1f77b4; }
.ok { color: #2c7a2c; } .failed { color: #c62828; font-weight: 600; }
.missing { color: #c62828; }
</style>
</head>
<body>
<h1>twbench report</h1>
<p class="host">{{.Host}}</p>
{{if .Interrupted}}<p class="failed">The run was interrupted: the figures cover it up to the interruption.</p>{{end}}
{{if .Summary}}<h2 id="summary">Scenarios side by side</h2>
<table class="summary">
<tr><th></th>{{range .Summary.Header}}<th><a href="#{{.ID}}">{{.Text}}</a></th>{{end}}</tr>
{{range .Summary.Rows}}<tr><th>{{.Label}}</th>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{else}}<p>No scenario ran.</p>{{end}}
{{range .Runs}}
<section class="run" id="{{.ID}}">
<h2>{{.Name}}</h2>
{{if .Description}}<p>{{.Description}}</p>{{end}}
<p class="finding">{{.Name}}: {{.Finding}}</p>
{{range .Details}}<p class="detail">{{.}}</p>
{{end}}{{if .Expectations}}<ul class="expectations">
{{range .Expectations}}<li class="{{if .OK}}ok{{else}}failed{{end}}">{{if .OK}}met{{else}}FAILED{{end}}: <code>{{.Describe}}</code>{{if .Source}} ({{.Source}}){{end}}</li>
{{end}}</ul>{{end}}
{{range .Notes}}<p class="note">note: {{.}}</p>
{{end}}
{{range .Charts}}<figure class="chart" data-chart="{{.Kind}}">
{{if .Missing}}<p class="missing">No {{.Kind}} chart: {{.Missing}}</p>{{else}}{{.SVG}}{{end}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}
<h3>Close behaviour</h3>
<table class="close-behaviour">
{{range .Rows}}<tr><th>{{.Label}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
</section>
{{end}}
{{if .Sysctls}}<h2 id="kernel">Kernel settings</h2>
<table class="sysctl">
{{range .Sysctls}}<tr><th><code>{{.Label}}</code></th><td><code>{{.Value}}</code></td></tr>
{{end}}</table>{{end}}
<p><small>Written by twbench; the same figures are in the JSON report ({{.Schema}}).</small></p>
</body>
</html>
`
