package report_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rivo/uniseg"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

// peakStates are other states real runs of the default suite showed at
// peak, client and server end for each of its three scenarios.
type peakStates [3]struct{ client, server map[string]int }

var (
	// longStates have a list that cannot fit three columns side by side.
	longStates = peakStates{
		{map[string]int{"ESTABLISHED": 15, "CLOSE_WAIT": 22, "LAST_ACK": 1}, map[string]int{"ESTABLISHED": 11, "FIN_WAIT1": 4}},
		{map[string]int{"ESTABLISHED": 22, "FIN_WAIT1": 6}, map[string]int{"ESTABLISHED": 22, "CLOSE_WAIT": 2}},
		{map[string]int{"ESTABLISHED": 64}, map[string]int{"ESTABLISHED": 64, "CLOSE_WAIT": 8}},
	}
	// edgeStates make a table of 118 columns whose load row, with its
	// three ≤, was 123 bytes.
	edgeStates = peakStates{
		{map[string]int{"ESTABLISHED": 28, "CLOSE_WAIT": 11}, map[string]int{"ESTABLISHED": 23, "FIN_WAIT1": 7}},
		{map[string]int{"ESTABLISHED": 65, "FIN_WAIT1": 14}, map[string]int{"ESTABLISHED": 55, "CLOSE_WAIT": 27}},
		{map[string]int{"ESTABLISHED": 64}, map[string]int{"ESTABLISHED": 64}},
	}
)

// realStates gives the fixture's runs the other states of a real run.
func realStates(rep *report.Report, states peakStates) *report.Report {
	for i, st := range states {
		for k, v := range st.client {
			rep.Runs[i].Client.Peak[k] = v
		}
		for k, v := range st.server {
			rep.Runs[i].Server.Peak[k] = v
		}
	}
	return rep
}

// manyScenarios is a report of n runs, with what makes cells long: every
// closing state at its peak, a long target URL, a long scenario name,
// notes and failed expectations with long words in them.
func manyScenarios(t *testing.T, n int) *report.Report {
	t.Helper()
	h := host("2", "1")
	h.Kernel = "6.18.44-" + strings.Repeat("generic-", 12)
	rep := &report.Report{Schema: report.Schema, Version: "test", Host: h}
	closers := []struct {
		p loadgen.Protocol
		c loadgen.Closer
	}{{loadgen.HTTP10, loadgen.CloserServer}, {loadgen.HTTP11, loadgen.CloserClient}, {loadgen.HTTP11, loadgen.CloserNone},
		{loadgen.TCP, loadgen.CloserClient}, {loadgen.Connect, loadgen.CloserClient}}
	for i := range n {
		c := closers[i%len(closers)]
		name := fmt.Sprintf("scenario-%02d", i+1)
		target := fmt.Sprintf("http://127.0.0.1:%d/", 40001+i)
		switch i {
		case 1:
			name = "a-scenario-whose-name-is-much-longer-than-any-column-of-the-table-can-be"
		case 2:
			target = "http://backend-with-a-long-name.staging.internal.example.com:8080/api/v2/accounts/" +
				strings.Repeat("x", 150) + "?view=full&session=" + strings.Repeat("0123456789", 5)
		}
		closes := loadgen.Closes{ServerFirst: 40000}
		if c.c != loadgen.CloserServer {
			closes = loadgen.Closes{ClientFirst: 40000}
		}
		run := report.Build(report.Input{
			Scenario: sc(name, c.p, c.c), Target: target, Builtin: i != 2, Loopback: true,
			Result:  result(40000, 400*time.Microsecond, closes),
			Samples: samples(c.c == loadgen.CloserServer, 4000), Host: h,
			Counters: sockstat.Counters{"TW": 40000, "TWRecycled": 26000, "TCPTimeWaitOverflow": 0},
		})
		for _, s := range sockstat.ConnStates() {
			if s != sockstat.TimeWait {
				run.Client.Peak[s.String()] = 1000 + i
			}
		}
		run.Errors[loadgen.ErrConnReset.String()] = 12345
		run.Errors[loadgen.ErrTimeout.String()] = 678
		run.Notes = append(run.Notes, "the agent at http://"+strings.Repeat("agent", 30)+".example:9911/ sent nothing for 2.5 s")
		check, err := report.CompileCheck("server.time_wait_per_request > 0.9 && client.peak.TIME_WAIT < 10",
			"/home/ci/builds/"+strings.Repeat("nested/", 20)+"scenarios.yaml:12")
		if err != nil {
			t.Fatal(err)
		}
		run.Expectations = append(run.Expectations, check.Eval(&run))
		rep.Runs = append(rep.Runs, run)
	}
	return rep
}

// overWide returns the lines of text wider than 120 terminal columns or
// longer than 120 bytes, what mawk's length counts.
func overWide(text string) []string {
	var out []string
	for i, line := range strings.Split(text, "\n") {
		if w, n := uniseg.StringWidth(line), len(line); w > 120 || n > 120 {
			out = append(out, fmt.Sprintf("line %d, %d columns, %d bytes: %s", i+1, w, n, line))
		}
	}
	return out
}

// TestTextFits120Columns: whatever the report holds, no line of the text
// report is wider than 120 columns, nor longer than 120 bytes.
func TestTextFits120Columns(t *testing.T) {
	wide := manyScenarios(t, 1)
	wide.Runs[0].Scenario.Name = "シナリオ-" + strings.Repeat("名前", 40) // two columns a character
	for name, rep := range map[string]*report.Report{
		"the default suite":                     fixture(),
		"the default suite, long states":        realStates(fixture(), longStates),
		"the default suite, states at the edge": realStates(fixture(), edgeStates),
		"one scenario, long words":              manyScenarios(t, 1),
		"three scenarios, long words":           manyScenarios(t, 3),
		"four scenarios":                        manyScenarios(t, 4),
		"ten scenarios":                         manyScenarios(t, 10),
		"twelve scenarios":                      manyScenarios(t, 12),
		"a name of wide characters":             wide,
		"no scenario, a long kernel release":    {Host: manyScenarios(t, 1).Host},
	} {
		if lines := overWide(writeText(t, rep)); len(lines) > 0 {
			t.Errorf("%s: %d lines over 120 columns or bytes:\n%s", name, len(lines), strings.Join(lines, "\n"))
		}
	}
	goldens, _ := filepath.Glob(filepath.Join("testdata", "*.txt.golden"))
	if len(goldens) < 2 {
		t.Fatalf("text goldens: %v; want at least two", goldens)
	}
	for _, g := range goldens {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		if lines := overWide(string(b)); len(lines) > 0 {
			t.Errorf("%s: %d lines over 120 columns or bytes:\n%s", g, len(lines), strings.Join(lines, "\n"))
		}
	}
}

// TestTextStacksScenarios: scenarios that do not fit side by side are
// stacked in groups, each with the labels and its scenarios' names; a
// cell too long for its column wraps inside it, a list after a comma.
func TestTextStacksScenarios(t *testing.T) {
	rep := manyScenarios(t, 10)
	out := writeText(t, rep)
	golden(t, "report-many.txt.golden", []byte(out))
	groups := strings.Count(out, "\nprotocol, closer ")
	if groups < 3 || groups > 5 {
		t.Errorf("ten scenarios in %d groups; want 3 to 5, each under its own header", groups)
	}
	for i := range rep.Runs[2:] {
		name := rep.Runs[i+2].Scenario.Name
		if !regexp.MustCompile(`(?m)^ +(\S.*   )?` + name + `(   |$)`).MatchString(out) {
			t.Errorf("no header line names %s", name)
		}
	}
	// A state and its count stay on one line.
	if m := regexp.MustCompile(`(?m)\b(ESTABLISHED|SYN_SENT|FIN_WAIT1|CLOSE_WAIT|LAST_ACK)$`).FindString(out); m != "" {
		t.Errorf("a state list was broken between %s and its count", m)
	}

	// Three scenarios stay side by side, the long state list wrapped.
	three := writeText(t, realStates(fixture(), longStates))
	if n := strings.Count(three, "protocol, closer"); n != 1 {
		t.Errorf("the default suite's table is in %d groups; want the three scenarios side by side", n)
	}
	if !regexp.MustCompile(`(?m)^client other states, peak +ESTABLISHED 15,`).MatchString(three) {
		t.Errorf("the default suite's long state list is not wrapped after a comma:\n%s", three)
	}
}

func writeText(t *testing.T, rep *report.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
