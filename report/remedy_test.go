package report_test

import (
	"strings"
	"testing"

	"github.com/twbench/twbench/report"
)

func TestRemedies(t *testing.T) {
	runs := remedyRuns()
	alone := map[string]*report.Remedy{}
	for _, r := range runs {
		alone[r.Scenario.Name] = r.Remedy
	}
	report.LinkRemedies(runs)
	for _, tc := range []struct {
		run, name, figure, alone, linked string
	}{
		{"fin", "tcp_fin_timeout=5", "time_wait_seconds", "tcp_fin_timeout=5 did not shorten TIME_WAIT: 60.0 s measured", "60.0 s measured (cc: 60.0 s)"},
		{"reuse", "tcp_tw_reuse=1", "errors.EADDRNOTAVAIL", "tcp_tw_reuse=1: no EADDRNOTAVAIL in 40,000 connections; connect() took 39,000 ports back from TIME_WAIT (TWRecycled)",
			"where tcp_tw_reuse=0 (off) had 3,000"},
		{"buckets", "tcp_max_tw_buckets=1000", "server.peak.TIME_WAIT", "the kernel kept no TIME_WAIT for 6,605 closes (TCPTimeWaitOverflow)", "on the server (ab: 40,000)"},
		{"restart", "SO_REUSEADDR", "restart.rebind_ms", "bound its port at once, 0.6 ms after the stop", "where stuck's (no SO_REUSEADDR) failed with EADDRINUSE against 2,005 TIME_WAIT"},
		{"reuseport", "SO_REUSEPORT with 4 listeners", "server.time_wait_per_request", "spread the accepts (10,000, 9,000, 11,000, 10,000) but not the TIME_WAIT", "(ab: 1.00)"},
	} {
		i := 0
		for runs[i].Scenario.Name != tc.run {
			i++
		}
		got, before := runs[i].Remedy, alone[tc.run]
		if got == nil || before == nil {
			t.Errorf("%s: remedy %v, before linking %v; want one", tc.run, got, before)
			continue
		}
		if before.Name != tc.name || before.Figure != tc.figure || !strings.Contains(before.Effect, tc.alone) || before.BaselineValue != nil {
			t.Errorf("%s alone: remedy %q, figure %q, effect %q, baseline value %v; want %q, %q, saying %q, no baseline value",
				tc.run, before.Name, before.Figure, before.Effect, before.BaselineValue, tc.name, tc.figure, tc.alone)
		}
		if !strings.Contains(got.Effect, tc.linked) || (got.BaselineValue == nil) != (tc.run == "restart") {
			t.Errorf("%s beside its baseline: effect %q, baseline value %v; want it saying %q", tc.run, got.Effect, got.BaselineValue, tc.linked)
		}
	}
	for _, r := range runs {
		if (r.Scenario.Baseline == "") != (r.Remedy == nil) {
			t.Errorf("%s: baseline %q, remedy %+v; want a remedy exactly for a scenario with a baseline", r.Scenario.Name, r.Scenario.Baseline, r.Remedy)
		}
	}
}

// The text report has a row for the remedies, the restarts and the
// listeners' accepts, and the effect in the prose.
func TestRemedyText(t *testing.T) {
	rep := &report.Report{Schema: report.Schema, Host: host("2", "1"), Runs: remedyRuns()}
	report.LinkRemedies(rep.Runs)
	var b strings.Builder
	if err := report.WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	flat := strings.Join(strings.Fields(b.String()), " ")
	for _, want := range []string{"remedy (against)", "tcp_tw_reuse=1 (off)", "restart, bind", "bound in 0.6 ms",
		"EADDRINUSE (2,005", "accepts per listener", "10,000, 9,000, 11,000,",
		"tcp_fin_timeout=5 did not shorten TIME_WAIT: 60.0 s measured (cc: 60.0 s)",
		"bind failed with EADDRINUSE, blocked by 2,005 TIME_WAIT sockets on the port; 20 tries until the load ended, none bound"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the text report does not say %q:\n%s", want, b.String())
		}
	}
}
