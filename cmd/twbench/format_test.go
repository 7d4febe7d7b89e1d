package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twbench/twbench/report"
)

func TestResolveFormat(t *testing.T) {
	for _, tc := range []struct{ format, output, want string }{
		{"", "", "text"},
		{"", "r.json", "json"},
		{"", "dir/R.JSON", "json"},
		{"", "r.csv", "csv"},
		{"", "r.html", "html"},
		{"", "r.htm", "html"},
		{"", "r.txt", "text"},
		{"", "report", "text"},
		{"", "report.xml", "junit"},
		{"junit", "", "junit"},
		{"json", "", "json"},
		{"json", "r.html", "json"}, // --format wins over the extension
		{"htm", "", "html"},
		{"text", "r.json", "text"},
	} {
		f, err := resolveFormat(tc.format, tc.output)
		if err != nil || f.Name != tc.want {
			t.Errorf("resolveFormat(%q, %q) = %s, %v; want %s", tc.format, tc.output, f.Name, err, tc.want)
		}
	}
	for _, bad := range []string{"xml", "HTML", "pdf"} {
		if _, err := resolveFormat(bad, "r.json"); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "want "+formatNames()) {
			t.Errorf("resolveFormat(%q) = %v; want a usage error listing the formats", bad, err)
		}
	}
}

// TestFormatHelp: --format's help comes from report.Formats, every
// format with its extensions and description.
func TestFormatHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"run", "--help"}, &stdout, &stderr); exitCode(err) != exitOK {
		t.Fatalf("run --help: %v", err)
	}
	for _, f := range report.Formats() {
		if !strings.Contains(stdout.String(), f.Name+" ") || !strings.Contains(stdout.String(), f.Description) ||
			!strings.Contains(stdout.String(), strings.Join(f.Extensions, " ")) {
			t.Errorf("run --help does not describe format %s (%s, %q):\n%s", f.Name, f.Extensions, f.Description, stdout.String())
		}
	}
}

// TestRunJUnit: -o report.xml writes JUnit XML, with the failed
// expectation as a failure, and the run exits 1 as for any unmet one.
func TestRunJUnit(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.xml")
	var stdout, stderr bytes.Buffer
	// Closed with RST: the run leaves no TIME_WAIT behind for the tests
	// that count sockets.
	err := run(context.Background(), []string{"run", "--protocol", "http1.1", "--closer", "client-rst", "-n", "200", "-c", "4",
		"--expect", "requests == 200", "--expect", "qps < 0", "-o", out, "--no-progress"}, &stdout, &stderr)
	if exitCode(err) != exitExpectation {
		t.Fatalf("run with an unmet expectation = %v (exit %d); want exit 1\n%s", err, exitCode(err), stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("-o report.xml did not write XML: %v\n%s", err, b)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Name != "ad-hoc" || len(doc.Suites[0].Cases) != 2 || doc.Tests != 2 || doc.Failures != 1 {
		t.Fatalf("JUnit report: %+v; want one suite, ad-hoc, with 2 cases and 1 failure", doc)
	}
	if f := doc.Suites[0].Cases[1].Failure; f == nil || !strings.HasPrefix(f.Message, "qps < 0 (qps = ") {
		t.Errorf("the unmet expectation's failure: %+v; want its message to give qps", f)
	}
	if !strings.Contains(stdout.String(), "first to close") {
		t.Errorf("the text table did not go to stdout:\n%s", stdout.String())
	}
}
