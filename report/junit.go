package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The JUnit XML that CI systems read (Jenkins, GitLab, GitHub's test
// reporters): the elements and attributes of the common schema, Jenkins'
// junit-4.xsd, and no others.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Error     *junitProblem `xml:"error,omitempty"`
	Failure   *junitProblem `xml:"failure,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes r as JUnit XML for CI systems: a test suite per run,
// a test case per expectation, named by its expression. An expectation
// that did not hold is a failure whose message gives the values of the
// figures it names; one that could not be evaluated (a figure null in
// this run) is an error. A run without expectations is a suite with no
// test case. Each suite's properties are the run's key figures, by their
// names in the JSON report, and its system-out the text report's
// sentences.
func WriteJUnit(w io.Writer, r *Report) error {
	doc := junitSuites{Name: "twbench"}
	var total float64
	for i := range r.Runs {
		s := junitRun(&r.Runs[i])
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		total += r.Runs[i].DurationS
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = junitSeconds(total)
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode junit: %w", err)
	}
	out := append([]byte(xml.Header), b...)
	out = append(out, '\n')
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("report: write junit: %w", err)
	}
	return nil
}

func junitRun(run *Run) junitSuite {
	s := junitSuite{
		Name:       run.Scenario.Name,
		Time:       junitSeconds(run.DurationS),
		Properties: junitProperties(run),
		SystemOut:  junitSentences(run),
	}
	// JUnit's timestamp has no zone (the schema's pattern has none): it is
	// UTC here, as in the JSON report.
	if t, err := time.Parse(time.RFC3339Nano, run.StartedAt); err == nil {
		s.Timestamp = t.UTC().Format("2006-01-02T15:04:05")
	}
	for i := range run.Expectations {
		e := &run.Expectations[i]
		c := junitCase{Name: e.Expr, Classname: run.Scenario.Name, Time: junitSeconds(0)}
		where := ""
		if e.Source != "" {
			where = " (" + e.Source + ")"
		}
		switch {
		case e.OK:
		case e.Error != "":
			c.Error = &junitProblem{Message: e.Describe(), Type: "expectation-not-evaluated",
				Text: "expect" + where + ": " + e.Describe()}
			s.Errors++
		default:
			c.Failure = &junitProblem{Message: e.Describe(), Type: "expectation-not-met",
				Text: "expect FAILED" + where + ": " + e.Describe()}
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(s.Cases)
	return s
}

// junitProperties are a run's key figures, named as in the JSON report
// and in expectations; a figure this run does not have is left out.
func junitProperties(run *Run) []junitProperty {
	var props []junitProperty
	add := func(name, value string) { props = append(props, junitProperty{name, value}) }
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	sc := run.Scenario
	add("scenario.protocol", string(sc.Protocol))
	add("scenario.closer", string(sc.Closer))
	add("scenario.concurrency", strconv.Itoa(sc.Concurrency))
	add("scenario.rate", num(sc.Rate))
	add("target", run.Target)
	add("requests", strconv.FormatInt(run.Requests, 10))
	add("connections", strconv.FormatInt(run.Connections, 10))
	add("qps", num(round(run.QPS, 1)))
	errs, _ := counts(run.Errors)
	add("errors", strconv.FormatInt(errs, 10))
	add("latency_us.p50", strconv.FormatInt(run.LatencyUS.P50, 10))
	add("latency_us.p99", strconv.FormatInt(run.LatencyUS.P99, 10))
	add("closes.client_first", strconv.FormatInt(run.Closes.ClientFirst, 10))
	add("closes.server_first", strconv.FormatInt(run.Closes.ServerFirst, 10))
	for _, end := range []struct {
		name string
		e    *End
	}{{"client", &run.Client}, {"server", &run.Server}} {
		if !end.e.Sampled {
			continue
		}
		add(end.name+".peak.TIME_WAIT", strconv.Itoa(end.e.Peak["TIME_WAIT"]))
		if v := end.e.TimeWaitPerRequest; v != nil {
			add(end.name+".time_wait_per_request", num(*v))
		}
	}
	add("ports.ports_per_qps", num(run.Ports.PortsPerQPS))
	ceil := run.Ports.MaxSustainableQPS
	if ceil.InForce != "" {
		add("ports.max_sustainable_qps.in_force", ceil.InForce)
	}
	if ceil.Network != nil {
		add("ports.max_sustainable_qps.network", num(*ceil.Network))
	}
	if ceil.Loopback != nil {
		add("ports.max_sustainable_qps.loopback", num(*ceil.Loopback))
	}
	if run.TimeWaitSeconds != nil {
		add("time_wait_seconds", num(*run.TimeWaitSeconds))
	}
	if run.Interrupted {
		add("interrupted", "true")
	}
	return props
}

// junitSentences are what the text report says of a run.
func junitSentences(run *Run) string {
	lines := []string{run.Scenario.Name + ": " + Explain(run)}
	lines = append(lines, Details(run)...)
	for _, n := range run.Notes {
		lines = append(lines, "note: "+n)
	}
	return strings.Join(lines, "\n")
}

func junitSeconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }
