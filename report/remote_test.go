package report_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/agent"
	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
)

// An agent's series: on the run's time axis, with its gaps, and new
// TIME_WAIT per request over the requests it covered.
func TestRemoteServerEnd(t *testing.T) {
	res := result(40000, 200*time.Microsecond, loadgen.Closes{ServerFirst: 40000})
	all := samples(true, 4000) // 4000 requests and 4000 server TIME_WAIT a second
	// After a gap the agent's new stream starts afresh: its first sample
	// has no new TIME_WAIT.
	resumed := append([]report.Sample{}, all[5:]...)
	resumed[0].ServerNewTimeWait = 0
	for _, tc := range []struct {
		name       string
		remote     report.Remote
		wantGaps   string
		wantPerReq float64
		wantNote   string
	}{
		{
			name:       "whole",
			remote:     report.Remote{Samples: all},
			wantPerReq: 1,
		},
		{
			name: "the agent died after 4 s",
			remote: report.Remote{Samples: all[:5], Gaps: []report.RemoteGap{
				{From: all[4].At, Reason: "agent http://a:9911: the agent closed the stream"}}},
			wantGaps:   "3.999-end",
			wantPerReq: 1, // 16000 new over the 16000 requests before the gap
			wantNote:   "no samples from t=4.00 s to the end of the run",
		},
		{
			name: "a gap from 2 s to 5 s",
			remote: report.Remote{Samples: append(append([]report.Sample{}, all[:3]...), resumed...), Gaps: []report.RemoteGap{
				{From: all[2].At, To: all[5].At, Reason: "agent http://a:9911: the agent sent nothing for 5s"}}},
			wantGaps:   "1.999-4.999",
			wantPerReq: 1, // 8000 + 20000 new, over 40000 - 12000 requests
			wantNote:   "no samples from t=2.00 s to t=5.00 s",
		},
	} {
		rem := tc.remote
		rem.URL = "http://a:9911"
		rem.Clock = &agent.Clock{Offset: 1500 * time.Microsecond, RTT: 400 * time.Microsecond}
		rem.Matched = "10.0.0.1:8080"
		r := report.Build(report.Input{Scenario: sc("x", loadgen.HTTP10, loadgen.CloserServer), Result: res,
			Samples: samples(false, 0), Host: host("2", "1"), Remote: &rem})
		s := &r.Server
		if s.Source != report.SourceAgent || s.AgentURL != rem.URL || s.Matched != rem.Matched ||
			s.ClockOffsetMS == nil || *s.ClockOffsetMS != 1.5 || *s.ClockRTTMS != 0.4 {
			t.Errorf("%s: source %q, agent %q, matched %q, clock %v; want the agent's, +1.5 ms", tc.name, s.Source, s.AgentURL, s.Matched, s.ClockOffsetMS)
		}
		var gaps []string
		for _, g := range s.Gaps {
			to := "end"
			if g.To != nil {
				to = strings.TrimRight(strings.TrimRight(strconvF(*g.To), "0"), ".")
			}
			gaps = append(gaps, strings.TrimRight(strings.TrimRight(strconvF(g.From), "0"), ".")+"-"+to)
		}
		if got := strings.Join(gaps, ","); got != tc.wantGaps {
			t.Errorf("%s: gaps %s; want %s", tc.name, got, tc.wantGaps)
		}
		if (s.MissingFrom != nil) != (len(s.Gaps) > 0) {
			t.Errorf("%s: missing_from %v with gaps %v", tc.name, s.MissingFrom, s.Gaps)
		}
		if s.TimeWaitPerRequest == nil || *s.TimeWaitPerRequest != tc.wantPerReq {
			t.Errorf("%s: time_wait_per_request %v; want %v", tc.name, s.TimeWaitPerRequest, tc.wantPerReq)
		}
		notes := strings.Join(r.Notes, "\n")
		if !strings.Contains(notes, "read from the agent http://a:9911 (10.0.0.1:8080)") || !strings.Contains(notes, tc.wantNote) {
			t.Errorf("%s: notes %q; want where the server end came from and %q", tc.name, notes, tc.wantNote)
		}
	}

	// In a run where only the server host held TIME_WAIT, its timers are
	// the measure of the TIME_WAIT length.
	srv := samples(true, 4000)
	for i := range srv {
		srv[i].MaxTimeWaitLeft = 59900 * time.Millisecond
	}
	quiet := samples(false, 0)
	for i := range quiet {
		quiet[i].MaxTimeWaitLeft = 0
	}
	r0 := report.Build(report.Input{Scenario: sc("x", loadgen.HTTP10, loadgen.CloserServer), Result: res,
		Samples: quiet, Host: host("2", "1"), Remote: &report.Remote{URL: "http://a:9911", Samples: srv}})
	if r0.TimeWaitSeconds == nil || *r0.TimeWaitSeconds != 59.9 {
		t.Errorf("time_wait_seconds %v; want 59.9 from the agent's samples", r0.TimeWaitSeconds)
	}

	// Never reached: not sampled, and why.
	r := report.Build(report.Input{Scenario: sc("x", loadgen.HTTP10, loadgen.CloserServer), Result: res,
		Samples: samples(false, 0), Host: host("2", "1"),
		Remote: &report.Remote{URL: "http://a:9911", Unreachable: "agent http://a:9911: connection refused"}})
	if r.Server.Sampled || r.Server.Reason != "agent http://a:9911: connection refused" || r.Server.Source != report.SourceAgent {
		t.Errorf("unreachable agent: sampled %v, reason %q, source %q", r.Server.Sampled, r.Server.Reason, r.Server.Source)
	}
}

func strconvF(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
