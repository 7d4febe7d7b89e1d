package report_test

import (
	"strings"
	"testing"

	"github.com/twbench/twbench/report"
)

func TestCheckEval(t *testing.T) {
	rep := fixture()
	ab, keepalive := &rep.Runs[0], &rep.Runs[2]
	tests := []struct {
		run    *report.Run
		expr   string
		ok     bool
		values map[string]any
	}{
		{ab, "client.peak.TIME_WAIT == 0", true, map[string]any{"client.peak.TIME_WAIT": 0.0}},
		{ab, "server.time_wait_per_request > 0.9", true, map[string]any{"server.time_wait_per_request": 1.0}},
		{ab, "server.time_wait_per_request < 0.1", false, map[string]any{"server.time_wait_per_request": 1.0}},
		{ab, "qps >= 3900 && latency_us.p99 < 5000", true, map[string]any{"qps": 4000.0, "latency_us.p99": 991.0}},
		// A class that did not occur, present or not in the JSON, is 0.
		{ab, "errors.EADDRNOTAVAIL == 0 && errors.ENFILE == 0", true, nil},
		{ab, `errors["EPIPE"] + close_errors.timeout == 0`, true, nil},
		{ab, "kernel_counters.TWKilled == 0 && kernel_counters.TW == 40000", true, nil},
		{ab, "closes.server_first == connections", true, nil},
		{ab, "ports.max_sustainable_qps.in_force == 'loopback'", true, nil},
		{ab, "len(server.series) == 11", true, nil},
		{ab, "scenario.closer == 'server' and schedule.late == 0", true, nil},
		{ab, `status_codes["200"] == requests`, true, nil},
		// Keys the writer leaves out when empty are names, with zero values.
		{ab, "not interrupted && len(notes) == 0 && client.unsampled_reason == ''", true, nil},
		{ab, "scenario.target == '' && scenario.description == '' && error_examples.ECONNRESET == nil", true, nil},
		{ab, "close_errors.timeout == 0", true, nil},
		// The ceilings of a keep-alive pool are null: the check fails and says so.
		{keepalive, "ports.max_sustainable_qps.network > 400", false, map[string]any{"ports.max_sustainable_qps.network": nil}},
	}
	for _, tt := range tests {
		c, err := report.CompileCheck(tt.expr, "t.yaml:1")
		if err != nil {
			t.Errorf("CompileCheck(%q) error = %v", tt.expr, err)
			continue
		}
		got := c.Eval(tt.run)
		if got.OK != tt.ok {
			t.Errorf("%s: Eval(%q).OK = %v (%s); want %v", tt.run.Scenario.Name, tt.expr, got.OK, got.Describe(), tt.ok)
		}
		for f, want := range tt.values {
			if v, ok := got.Values[f]; !ok || v != want {
				t.Errorf("Eval(%q).Values[%s] = %v (present %v); want %v", tt.expr, f, v, ok, want)
			}
		}
		if got.Expr != tt.expr || got.Source != "t.yaml:1" {
			t.Errorf("Eval(%q) = %+v; want the expression and its source kept", tt.expr, got)
		}
	}
}

// TestCheckCloseMatrixFigures: the close matrix's figures are names, list
// items included, and a null one says so in one line.
func TestCheckCloseMatrixFigures(t *testing.T) {
	rep := fixture()
	r := &rep.Runs[1]
	ratio := 0.97
	r.Exhaustion = []report.Exhaustion{{Error: "EADDRNOTAVAIL", Count: 5, Ratio: &ratio}}
	r.ServerErrors = map[string]int64{"ECONNRESET": 7}
	for _, tc := range []struct {
		expr, want string
		ok         bool
	}{
		{"exhaustion[0].ratio > 0.8 && server_errors.ECONNRESET == 7", "exhaustion[0].ratio = 0.97", true},
		{"closes.at_end == 0 && len(per_second) == 0", "closes.at_end = 0", true},
		{"ports.port_range_from == '' && scenario.half_close == false", "", true},
	} {
		c, err := report.CompileCheck(tc.expr, "t.yaml:1")
		if err != nil {
			t.Fatalf("CompileCheck(%q): %v", tc.expr, err)
		}
		if got := c.Eval(r); got.OK != tc.ok || !strings.Contains(got.Describe(), tc.want) {
			t.Errorf("Eval(%q) = %v, %q; want %v, naming %q", tc.expr, got.OK, got.Describe(), tc.ok, tc.want)
		}
	}
	// Fields of list items are names, checked at load; missing ones inside
	// items count 0; figures not measured are null.
	r.PerSecond = []report.SecondPoint{{T: 1, Requests: 5}}
	for _, tc := range []struct {
		expr string
		ok   bool
		err  string
	}{
		{"per_second[0].errors.EADDRNOTAVAIL == 0 && per_second[0].requests == 5", true, ""},
		{"len(server.gaps) == 0 && server.missing_from == nil", true, ""},
		{"server.host.kernel == ''", true, ""},
		{"ports.sources[0].peak_in_use > 0", false, "a list has no such item in this run"},
	} {
		c, err := report.CompileCheck(tc.expr, "t.yaml:1")
		if err != nil {
			t.Errorf("CompileCheck(%q): %v", tc.expr, err)
			continue
		}
		if got := c.Eval(r); got.OK != tc.ok || !strings.Contains(got.Error, tc.err) {
			t.Errorf("Eval(%q) = %v, error %q; want %v, %q", tc.expr, got.OK, got.Error, tc.ok, tc.err)
		}
	}
	if _, err := report.CompileCheck("exhaustion[0].ratoi > 0.8", "t.yaml:1"); err == nil || !strings.Contains(err.Error(), "ratoi") {
		t.Errorf("CompileCheck of a misspelt field in a list item = %v; want an error naming it", err)
	}
	r.ServerErrors = nil
	c, _ := report.CompileCheck("server_errors.ECONNRESET == 0", "t.yaml:1")
	if got := c.Eval(r); got.OK || !strings.Contains(got.Error, "server_errors.ECONNRESET null") {
		t.Errorf("server_errors without the built-in target: %v, %q; want failed, null", got.OK, got.Error)
	}

	r.Exhaustion[0].Ratio = nil
	c, _ = report.CompileCheck("exhaustion[0].ratio > 0.8", "t.yaml:1")
	got := c.Eval(r)
	if got.OK || got.Error != "exhaustion[0].ratio null: not measured in this run (see its notes)" {
		t.Errorf("Eval with a null ratio = %v, error %q; want failed, saying the ratio is null", got.OK, got.Error)
	}
}

// An end that was not sampled has no counts: an expectation over them
// fails and says they are null, rather than judge zeros nobody counted.
func TestCheckUnsampledEnd(t *testing.T) {
	r := &fixture().Runs[0]
	r.Client = report.End{Reason: "turned off with --no-sampling"}
	for _, expr := range []string{
		"client.peak.TIME_WAIT == 0",
		"client.final.ESTABLISHED < 5",
		"client.baseline.TIME_WAIT == 0",
		"client.new_time_wait == 0",
		"client.time_wait_per_request < 0.01",
	} {
		c, err := report.CompileCheck(expr, "t.yaml:1")
		if err != nil {
			t.Fatalf("CompileCheck(%q): %v", expr, err)
		}
		if got := c.Eval(r); got.OK || !strings.Contains(got.Error, "null: not measured") {
			t.Errorf("Eval(%q) with the client end not sampled = %v, error %q; want failed, null", expr, got.OK, got.Error)
		}
	}
	c, _ := report.CompileCheck("server.peak.TIME_WAIT > 0", "t.yaml:1")
	if got := c.Eval(r); !got.OK {
		t.Errorf("the sampled server end: Eval = %v (%s); want its counts as they are", got.OK, got.Describe())
	}
}

func TestCheckDescribe(t *testing.T) {
	c, err := report.CompileCheck("server.time_wait_per_request < 0.1 and client.peak.TIME_WAIT == 0", "x")
	if err != nil {
		t.Fatal(err)
	}
	e := c.Eval(&fixture().Runs[0])
	want := "server.time_wait_per_request < 0.1 and client.peak.TIME_WAIT == 0 (client.peak.TIME_WAIT = 0, server.time_wait_per_request = 1)"
	if got := e.Describe(); got != want {
		t.Errorf("Describe() = %q; want %q", got, want)
	}
}

func TestCompileCheckErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"clent.peak.TIME_WAIT == 0", "unknown name clent"},
		{"client.peak.TIME_WAT == 0", "TIME_WAT"},
		{"errors.EADDRNOTAVAL == 0", "EADDRNOTAVAL"},
		{"latency_us.p95 < 5000", "p95"},
		{"kernel_counters.TWRecyled == 0", "TWRecyled"},
		{"qps", "expected bool"},
		{"qps >", "unexpected token"},
		{"expectations[0].ok", "unknown name expectations"},
		{strings.Repeat("qps > 1 && ", 20000) + "true", "an expression of 220004 bytes: at most 1000"},
	}
	for _, tt := range tests {
		_, err := report.CompileCheck(tt.expr, "")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CompileCheck(%q) error = %v; want one mentioning %q", tt.expr, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("CompileCheck(%q) error = %q; want one line", tt.expr, err)
		}
	}
}

func TestCompilerReusesPrograms(t *testing.T) {
	var comp report.Compiler
	a, err := comp.Compile("qps > 1", "a.yaml:3")
	if err != nil {
		t.Fatal(err)
	}
	b, err := comp.Compile("qps > 1", "a.yaml:9")
	if err != nil {
		t.Fatal(err)
	}
	if a.Source != "a.yaml:3" || b.Source != "a.yaml:9" {
		t.Errorf("sources = %q, %q; want each its own", a.Source, b.Source)
	}
	run := report.Run{QPS: 2}
	if e := b.Eval(&run); !e.OK || e.Source != "a.yaml:9" {
		t.Errorf("the reused check's Eval = %+v; want ok at a.yaml:9", e)
	}
	if _, err := comp.Compile("qps >", "a.yaml:10"); err == nil {
		t.Error("Compile(qps >) after good ones = nil error; want one")
	}
}

func TestShortExpr(t *testing.T) {
	long := strings.Repeat("x", 100)
	if got := report.ShortExpr(long); got != `"`+strings.Repeat("x", 60)+`"…` {
		t.Errorf("ShortExpr(100 x) = %s; want 60 and an ellipsis", got)
	}
	if got := report.ShortExpr("qps > 1"); got != `"qps > 1"` {
		t.Errorf("ShortExpr(qps > 1) = %s", got)
	}
}
