package report_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
)

func pct(v float64) *float64 { return &v }

// slower returns the fixture with ab-finding's latencies scaled by factor,
// in the histogram as well as the summary.
func slower(t *testing.T, factor int64) *report.Report {
	t.Helper()
	rep := fixture()
	r := &rep.Runs[0]
	lat := loadgen.NewHistogram()
	for i := int64(0); i < 40000; i++ {
		_ = lat.RecordValue((200 + i%800) * factor)
	}
	hdr, err := lat.EncodeV2()
	if err != nil {
		t.Fatal(err)
	}
	r.LatencyHDR = string(hdr)
	return rep
}

func find(c *report.Comparison, scenario, figure string) report.FigureChange {
	for _, s := range c.Scenarios {
		if s.Name != scenario {
			continue
		}
		for _, f := range s.Figures {
			if f.Figure.Name == figure {
				return f
			}
		}
	}
	return report.FigureChange{}
}

func TestCompareSame(t *testing.T) {
	c := report.Compare(fixture(), fixture(), report.Limits{Default: pct(5)})
	if len(c.Scenarios) != 3 || len(c.OnlyBase)+len(c.OnlyHead) != 0 {
		t.Fatalf("Compare(fixture, fixture) has %d scenarios, only-base %v, only-head %v; want 3 in both", len(c.Scenarios), c.OnlyBase, c.OnlyHead)
	}
	if reg := c.Regressions(); len(reg) != 0 {
		t.Errorf("Compare(fixture, fixture).Regressions() = %v; want none", reg)
	}
}

func TestCompareLatencyFromHistogram(t *testing.T) {
	// The summary numbers are left as they were: only the histogram says
	// the head is slower.
	c := report.Compare(fixture(), slower(t, 2), report.Limits{Default: pct(50),
		PerFigure: map[string]*float64{"latency_us": pct(5), "latency_us.max": nil}})
	p99 := find(c, "ab-finding", "latency_us.p99")
	if p99.Base != 991 || p99.Head != 1982 || !p99.Regressed {
		t.Errorf("ab-finding p99 = %v -> %v, regressed %v; want 991 -> 1982 µs from the histograms, regressed", p99.Base, p99.Head, p99.Regressed)
	}
	if max := find(c, "ab-finding", "latency_us.max"); max.Limit != nil || max.Regressed {
		t.Errorf("latency_us.max with its limit off: limit %v, regressed %v; want no limit", max.Limit, max.Regressed)
	}
	reg := c.Regressions()
	if len(reg) != 4 || !strings.HasPrefix(reg[0], "ab-finding: latency_us.p50 got worse by ") {
		t.Errorf("Regressions() = %q; want p50, p90, p99 and p999 of ab-finding", reg)
	}
	// Faster is better, not a regression.
	c = report.Compare(slower(t, 2), fixture(), report.Limits{Default: pct(5)})
	if reg := c.Regressions(); len(reg) != 0 {
		t.Errorf("a faster head: Regressions() = %v; want none", reg)
	}
}

func TestCompareDirections(t *testing.T) {
	head := fixture()
	head.Runs[0].QPS = 3000                   // fewer requests/s: worse
	head.Runs[1].Client.Peak["TIME_WAIT"] = 1 // fewer TIME_WAIT: better
	head.Runs[0].Errors["ECONNRESET"] = 3     // errors where there were none
	c := report.Compare(fixture(), head, report.Limits{Default: pct(10)})
	if f := find(c, "ab-finding", "qps"); f.Change != -25 || f.Worse != 25 || !f.Regressed {
		t.Errorf("qps 4000 -> 3000: change %v, worse %v, regressed %v; want -25, 25, true", f.Change, f.Worse, f.Regressed)
	}
	if f := find(c, "client-closes", "client.peak.TIME_WAIT"); f.Worse >= 0 || f.Regressed {
		t.Errorf("client TIME_WAIT peak 40000 -> 1: worse %v, regressed %v; want an improvement", f.Worse, f.Regressed)
	}
	if f := find(c, "ab-finding", "errors"); !math.IsInf(f.Change, 1) || !f.Regressed {
		t.Errorf("errors 0 -> 3: change %v, regressed %v; want +inf, regressed", f.Change, f.Regressed)
	}
}

func TestCompareTable(t *testing.T) {
	head := fixture()
	head.Runs = head.Runs[:2]
	head.Runs[1].Scenario.Rate = 2000
	head.Runs[1].Scenario.Duration = 0
	c := report.Compare(fixture(), head, report.Limits{})
	var b bytes.Buffer
	if err := report.WriteComparison(&b, c); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"ab-finding                          base      head   change   limit",
		"  latency_us.p99                  991 µs    991 µs     0.0%",
		"  server.time_wait_per_request    1.0000    1.0000     0.0%",
		"note: the scenario differs: rate 4000 -> 2000, duration 10s -> 0s",
		"only in base: keepalive",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table does not contain %q:\n%s", want, out)
		}
	}
}

func TestCompareWithoutHistogram(t *testing.T) {
	base := fixture()
	base.Runs[1].LatencyHDR = ""
	base.Runs[1].LatencyUS.P99 = 500
	c := report.Compare(base, fixture(), report.Limits{Default: pct(5)})
	if f := find(c, "client-closes", "latency_us.p99"); f.Base != 500 || f.Head != 991 || !f.Regressed {
		t.Errorf("p99 without a base histogram = %v -> %v, regressed %v; want the summary's 500 -> 991, regressed", f.Base, f.Head, f.Regressed)
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "client-closes: base latency from the summary, not the histogram") {
		t.Errorf("notes = %q; want one saying the base's latency came from the summary", c.Notes)
	}
}

// TestCompareMissingInHead: a server end the head could not sample is not
// a pass under a limit, and the table shows the base's figure; a change in
// the close-matrix settings is pointed out.
func TestCompareMissingInHead(t *testing.T) {
	head := fixture()
	h := &head.Runs[0]
	h.Server.Sampled, h.Server.TimeWaitPerRequest, h.Server.Reason = false, nil, "agent unreachable"
	h.Scenario.ClientPortRange, h.Scenario.RequestsPerConn = "40000-40099", 10
	c := report.Compare(fixture(), head, report.Limits{Default: pct(5)})
	f := find(c, "ab-finding", "server.time_wait_per_request")
	if !f.Missing || !f.HasBase || f.HasHead || !f.Regressed {
		t.Errorf("server.time_wait_per_request = %+v; want missing in head, present in base, regressed", f)
	}
	reg := strings.Join(c.Regressions(), "\n")
	if !strings.Contains(reg, "ab-finding: server.time_wait_per_request is missing from the head run (base 1.0000)") {
		t.Errorf("Regressions() = %q; want the missing figure named", reg)
	}
	var b bytes.Buffer
	if err := report.WriteComparison(&b, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1.0000   missing", "requests_per_conn 0 -> 10", "client_port_range none -> 40000-40099", "server end this host -> not sampled"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the table does not contain %q:\n%s", want, b.String())
		}
	}
	// Without a limit, a missing figure is shown, not failed.
	if reg := report.Compare(fixture(), head, report.Limits{}).Regressions(); len(reg) != 0 {
		t.Errorf("Regressions() without limits = %v; want none", reg)
	}
}

// TestCompareInterrupted: a head cut short is not compared as if whole.
// Its lower TIME_WAIT passed --max-regression 50% as "better".
func TestCompareInterrupted(t *testing.T) {
	head := fixture()
	cut := &head.Runs[0]
	cut.Interrupted = true
	cut.DurationS = 0.5
	cut.Server.Peak["TIME_WAIT"] /= 20 // half a second's worth
	c := report.Compare(fixture(), head, report.Limits{Default: pct(50)})
	if s := c.Scenarios[0]; !strings.Contains(s.Interrupted, "the head run was interrupted after 500.0 ms of its 10s") {
		t.Errorf("ab-finding: Interrupted = %q; want the head's cut named", s.Interrupted)
	}
	tw := find(c, "ab-finding", "server.peak.TIME_WAIT")
	if !tw.Incomparable || !tw.Regressed {
		t.Errorf("server.peak.TIME_WAIT of an interrupted head: incomparable %v, regressed %v; want both", tw.Incomparable, tw.Regressed)
	}
	reg := c.Regressions()
	if len(reg) != 1 || !strings.Contains(reg[0], "ab-finding: the head run was interrupted after 500.0 ms of its 10s: its figures cannot be checked") {
		t.Errorf("Regressions() = %q; want one line saying the head was interrupted", reg)
	}
	var b bytes.Buffer
	if err := report.WriteComparison(&b, c); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(out, "   better\n") || !strings.Contains(out, "NOT COMPARABLE") {
		t.Errorf("the table calls a figure of an interrupted run better, or does not say it is not comparable:\n%s", out)
	}
	// Without limits the table still says so, and nothing fails.
	if reg := report.Compare(fixture(), head, report.Limits{}).Regressions(); len(reg) != 0 {
		t.Errorf("Regressions() without limits = %q; want none", reg)
	}
}
