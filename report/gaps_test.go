package report_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
)

// TestReuseGapNote: samples 2 s apart on loopback, where a client's
// TIME_WAIT port comes back after 1 s, may miss half the client's closes,
// and the report says so and by how much; 1 s apart they miss none, and
// with no reuse in force (tcp_tw_reuse=0) a socket waits for the sample.
func TestReuseGapNote(t *testing.T) {
	every := func(step time.Duration) []report.Sample {
		var out []report.Sample
		for i := 0; i*int(step) <= int(10*time.Second); i++ {
			out = append(out, report.Sample{Requests: int64(i) * int64(step/time.Second) * 4000})
			out[i].At = start.Add(time.Duration(i) * step)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		reuse   string
		samples []report.Sample
		want    string // "" for no note
	}{
		{"2 s apart", "2", every(2 * time.Second), "may be low by up to about 20,000 of the 40,000 connections the client closed"},
		{"1 s apart", "2", every(time.Second), ""},
		{"no reuse", "0", every(2 * time.Second), ""},
	} {
		run := report.Build(report.Input{
			Scenario: sc("client-closes", loadgen.HTTP11, loadgen.CloserClient),
			Result:   result(40000, time.Millisecond, loadgen.Closes{ClientFirst: 40000}),
			Samples:  tc.samples, Host: host(tc.reuse, "1"), Loopback: true,
		})
		i := slices.IndexFunc(run.Notes, func(n string) bool { return strings.Contains(n, "tcp_tw_reuse_delay") })
		switch {
		case tc.want == "" && i >= 0:
			t.Errorf("%s: note %q; want none", tc.name, run.Notes[i])
		case tc.want != "" && (i < 0 || !strings.Contains(run.Notes[i], tc.want)):
			t.Errorf("%s: notes %q; want one saying %q", tc.name, run.Notes, tc.want)
		}
	}
}
