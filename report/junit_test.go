package report_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/twbench/twbench/report"
)

// junitFixture is the fixture with expectations: ab-finding one met and
// one failed, client-closes none, keepalive one that cannot be evaluated
// (a keep-alive pool has no port ceiling).
func junitFixture(t *testing.T) *report.Report {
	t.Helper()
	rep := fixture()
	for _, c := range []struct {
		run          int
		expr, source string
	}{
		{0, "client.peak.TIME_WAIT == 0", "scenarios.yaml:12"},
		{0, "server.time_wait_per_request < 0.1", "--expect"},
		{2, "ports.max_sustainable_qps.network > 100", "scenarios.yaml:30"},
	} {
		check, err := report.CompileCheck(c.expr, c.source)
		if err != nil {
			t.Fatal(err)
		}
		rep.Runs[c.run].Expectations = append(rep.Runs[c.run].Expectations, check.Eval(&rep.Runs[c.run]))
	}
	return rep
}

func writeJUnit(t *testing.T, rep *report.Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJUnit(&b, rep); err != nil {
		t.Fatalf("WriteJUnit: %v", err)
	}
	return b.Bytes()
}

// TestWriteJUnit parses the JUnit report back and checks what CI systems
// show: a suite per run, a case per expectation, a failure with the
// figures' values, an error for what could not be evaluated, the counts.
func TestWriteJUnit(t *testing.T) {
	out := writeJUnit(t, junitFixture(t))
	golden(t, "report.junit.xml.golden", out)

	type problem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Name     string   `xml:"name,attr"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Errors   int      `xml:"errors,attr"`
		Suites   []struct {
			Name       string `xml:"name,attr"`
			Tests      int    `xml:"tests,attr"`
			Failures   int    `xml:"failures,attr"`
			Errors     int    `xml:"errors,attr"`
			Time       string `xml:"time,attr"`
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name      string   `xml:"name,attr"`
				Classname string   `xml:"classname,attr"`
				Failure   *problem `xml:"failure"`
				Error     *problem `xml:"error"`
			} `xml:"testcase"`
			SystemOut string `xml:"system-out"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("the JUnit report is not XML: %v\n%s", err, out)
	}
	if !bytes.HasPrefix(out, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("the JUnit report does not begin with an XML declaration:\n%.80s", out)
	}
	if doc.Name != "twbench" || len(doc.Suites) != 3 {
		t.Fatalf("testsuites %q with %d suites; want twbench with 3", doc.Name, len(doc.Suites))
	}
	var names []string
	for _, s := range doc.Suites {
		names = append(names, s.Name)
	}
	if want := []string{"ab-finding", "client-closes", "keepalive"}; !slices.Equal(names, want) {
		t.Errorf("suites %v; want %v", names, want)
	}

	ab := doc.Suites[0]
	if ab.Tests != 2 || ab.Failures != 1 || ab.Errors != 0 || len(ab.Cases) != 2 || ab.Time != "10.000" {
		t.Errorf("ab-finding: tests %d failures %d errors %d, %d cases, time %s; want 2 1 0, 2, 10.000",
			ab.Tests, ab.Failures, ab.Errors, len(ab.Cases), ab.Time)
	} else {
		met, failed := ab.Cases[0], ab.Cases[1]
		if met.Name != "client.peak.TIME_WAIT == 0" || met.Classname != "ab-finding" || met.Failure != nil || met.Error != nil {
			t.Errorf("the met expectation: %+v; want a case named by its expression, classname ab-finding, no failure", met)
		}
		if f := failed.Failure; f == nil || f.Message != "server.time_wait_per_request < 0.1 (server.time_wait_per_request = 1)" ||
			f.Type == "" || !strings.Contains(f.Text, "(--expect)") {
			t.Errorf("the failed expectation: %+v; want a failure with the figure's value in its message and its source in its text", failed.Failure)
		}
	}
	props := map[string]string{}
	for _, p := range ab.Properties {
		props[p.Name] = p.Value
	}
	for name, want := range map[string]string{
		"scenario.protocol": "http1.0", "scenario.closer": "server", "requests": "40000", "qps": "4000",
		"server.peak.TIME_WAIT": "40000", "server.time_wait_per_request": "1", "client.peak.TIME_WAIT": "0",
		"ports.max_sustainable_qps.in_force": "loopback", "time_wait_seconds": "60",
	} {
		if props[name] != want {
			t.Errorf("ab-finding property %s = %q; want %q", name, props[name], want)
		}
	}
	if !strings.Contains(ab.SystemOut, "the server held the TIME_WAIT") {
		t.Errorf("ab-finding's system-out does not say who held the TIME_WAIT: %q", ab.SystemOut)
	}

	if cc := doc.Suites[1]; cc.Tests != 0 || len(cc.Cases) != 0 || len(cc.Properties) == 0 {
		t.Errorf("client-closes, without expectations: %d tests, %d cases, %d properties; want a suite with no case and its figures",
			cc.Tests, len(cc.Cases), len(cc.Properties))
	}

	ka := doc.Suites[2]
	if ka.Tests != 1 || ka.Errors != 1 || ka.Failures != 0 || len(ka.Cases) != 1 || ka.Cases[0].Error == nil {
		t.Errorf("keepalive: tests %d errors %d failures %d; want an error for the expectation that could not be evaluated", ka.Tests, ka.Errors, ka.Failures)
	} else if e := ka.Cases[0].Error; !strings.Contains(e.Message, "ports.max_sustainable_qps.network = null") || !strings.Contains(e.Message, "not measured") {
		t.Errorf("keepalive's error message %q; want the null figure and why", e.Message)
	}
	if doc.Tests != 3 || doc.Failures != 1 || doc.Errors != 1 {
		t.Errorf("testsuites: tests %d failures %d errors %d; want 3 1 1", doc.Tests, doc.Failures, doc.Errors)
	}
}

// junitSchema is the common JUnit schema, Jenkins' junit-4.xsd: for each
// element, its attributes (true: required) and the elements it may hold.
var junitSchema = map[string]struct {
	attrs    map[string]bool
	children []string
}{
	"testsuites": {map[string]bool{"name": false, "time": false, "tests": false, "failures": false, "disabled": false, "errors": false},
		[]string{"testsuite"}},
	"testsuite": {map[string]bool{"name": true, "tests": true, "failures": false, "errors": false, "time": false, "disabled": false,
		"skipped": false, "timestamp": false, "hostname": false, "id": false, "package": false},
		[]string{"properties", "testcase", "system-out", "system-err"}},
	"properties": {map[string]bool{}, []string{"property"}},
	"property":   {map[string]bool{"name": true, "value": true}, nil},
	"testcase": {map[string]bool{"name": true, "assertions": false, "time": false, "classname": false, "status": false},
		[]string{"skipped", "error", "failure", "system-out", "system-err"}},
	"failure":    {map[string]bool{"type": false, "message": false}, nil},
	"error":      {map[string]bool{"type": false, "message": false}, nil},
	"skipped":    {map[string]bool{"message": false}, nil},
	"system-out": {map[string]bool{}, nil},
	"system-err": {map[string]bool{}, nil},
}

// checkJUnitSchema walks doc and returns each element or attribute the
// schema does not have, and each required attribute that is missing.
// Beyond the schema, it wants the attributes CI systems count with:
// tests, failures, errors and time on suites, classname and time on
// cases, message and type on failures and errors.
func checkJUnitSchema(doc []byte) []string {
	wanted := map[string][]string{
		"testsuites": {"name", "tests", "failures", "errors", "time"},
		"testsuite":  {"name", "tests", "failures", "errors", "time"},
		"testcase":   {"name", "classname", "time"},
		"failure":    {"message", "type"},
		"error":      {"message", "type"},
	}
	var problems []string
	var stack []string
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return append(problems, "not XML: "+err.Error())
		}
		switch el := tok.(type) {
		case xml.StartElement:
			name := el.Name.Local
			spec, known := junitSchema[name]
			switch {
			case !known:
				problems = append(problems, "element <"+name+"> is not in the schema")
			case len(stack) == 0 && name != "testsuites":
				problems = append(problems, "the root is <"+name+">; want <testsuites>")
			case len(stack) > 0 && !slices.Contains(junitSchema[stack[len(stack)-1]].children, name):
				problems = append(problems, "<"+name+"> inside <"+stack[len(stack)-1]+">")
			}
			have := map[string]bool{}
			for _, a := range el.Attr {
				have[a.Name.Local] = true
				if _, ok := spec.attrs[a.Name.Local]; known && !ok {
					problems = append(problems, "<"+name+"> has attribute "+a.Name.Local+", not in the schema")
				}
			}
			for a, required := range spec.attrs {
				if required && !have[a] {
					problems = append(problems, "<"+name+"> lacks required attribute "+a)
				}
			}
			for _, a := range wanted[name] {
				if !have[a] {
					problems = append(problems, "<"+name+"> lacks attribute "+a)
				}
			}
			stack = append(stack, name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	return problems
}

func TestJUnitSchema(t *testing.T) {
	// The check must find what it is for.
	bad := []byte(`<testsuites><testsuite name="x" tests="1"><testcase name="y" result="ok"><failure/></testcase><case/></testsuite></testsuites>`)
	if p := checkJUnitSchema(bad); len(p) < 4 {
		t.Fatalf("the schema check found %d problems in a bad document (%q); want at least 4", len(p), p)
	}
	for name, rep := range map[string]*report.Report{
		"with expectations": junitFixture(t),
		"no run":            {Schema: report.Schema, Runs: []report.Run{}},
	} {
		if p := checkJUnitSchema(writeJUnit(t, rep)); len(p) > 0 {
			t.Errorf("%s: the JUnit report does not follow the schema:\n%s", name, strings.Join(p, "\n"))
		}
	}
}
