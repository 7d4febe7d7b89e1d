package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/agent"
	"github.com/twbench/twbench/report"
)

// startAgent serves an agent in this process, as `twbench agent` would.
func startAgent(t *testing.T) *httptest.Server {
	t.Helper()
	a, err := agent.New(agent.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// With --server-agent the server end comes from the agent, on the run's
// time axis, and agrees with ss.
func TestServerAgent(t *testing.T) {
	needSampling(t)
	agent := startAgent(t)
	rep := runJSON(t, "run", "--protocol", "http1.0", "--closer", "server", "-n", "1000", "-c", "8",
		"--server-agent", agent.URL, "--sample-interval", "50ms")
	r := &rep.Runs[0]
	s := &r.Server
	if s.Source != report.SourceAgent || s.AgentURL != agent.URL || !s.Sampled {
		t.Fatalf("server end: source %q, agent %q, sampled %v; want the agent %s", s.Source, s.AgentURL, s.Sampled, agent.URL)
	}
	if s.ClockOffsetMS == nil || s.ClockRTTMS == nil || s.Host == nil || s.KernelCounters == nil {
		t.Errorf("server end: clock %v/%v, host %v, counters %v; want all from the agent", s.ClockOffsetMS, s.ClockRTTMS, s.Host, s.KernelCounters)
	}
	if len(s.Gaps) != 0 || s.MissingFrom != nil {
		t.Errorf("server end: gaps %+v; want none", s.Gaps)
	}
	if r.Closes.ServerFirst != r.Requests || r.Requests != 1000 {
		t.Errorf("closes %+v for %d requests; want the server first on all 1000", r.Closes, r.Requests)
	}
	// The kernel may hand a server TIME_WAIT to a new SYN on its 4-tuple
	// before the next sample (see the README), hence 0.98.
	if s.NewTimeWait < 980 || s.NewTimeWait > 1000 {
		t.Errorf("server new_time_wait = %d; want about 1000, one per connection", s.NewTimeWait)
	}
	if s.Series[0].T >= 0 || s.Series[len(s.Series)-1].T < r.DurationS {
		t.Errorf("server series from t=%.3f to %.3f; want a baseline before the load (t<0) and samples to its end (%.3f)",
			s.Series[0].T, s.Series[len(s.Series)-1].T, r.DurationS)
	}
	if got := r.Client.Peak["TIME_WAIT"] - r.Client.Baseline["TIME_WAIT"]; got != 0 {
		t.Errorf("client TIME_WAIT rose by %d; want 0", got)
	}
	if got, want := s.Final["TIME_WAIT"], ssCount(t, "sport", targetPort(t, r)); got != want {
		t.Errorf("server final TIME_WAIT from the agent = %d; ss counts %d", got, want)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "read from the agent "+agent.URL) {
		t.Errorf("notes %q; want one saying where the server end came from", r.Notes)
	}
}

// An agent that dies mid-run costs the server series from then on, and
// nothing of the load; the report says from when.
func TestServerAgentDies(t *testing.T) {
	needSampling(t)
	agent := startAgent(t)
	killed := make(chan time.Time, 1)
	go func() {
		time.Sleep(time.Second)
		agent.CloseClientConnections()
		agent.Close()
		killed <- time.Now()
	}()
	rep := runJSON(t, "run", "--protocol", "http1.1", "--closer", "server", "--rate", "500", "-d", "2s",
		"--server-agent", agent.URL)
	r := &rep.Runs[0]
	s := &r.Server
	// When the agent died, in the load's time: a second after the test
	// began, less what the run took to start (0.55 s once in CI).
	start, err := time.Parse(time.RFC3339Nano, r.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	died := (<-killed).Sub(start).Seconds()
	if died <= 0.1 {
		t.Skipf("the agent died %.2f s into the load: the run took a second to start", died)
	}
	if r.Requests != 1000 || errorCount(r) != 0 {
		t.Errorf("%d requests, errors %v; want all 1000 and none failed", r.Requests, r.Errors)
	}
	if !s.Sampled || len(s.Gaps) != 1 {
		t.Fatalf("server end sampled %v, gaps %+v; want samples, then one gap", s.Sampled, s.Gaps)
	}
	g := s.Gaps[0]
	// The gap begins at the last sample the agent sent: at most a sample
	// interval (stretched, on a busy host) before it died.
	if g.To != nil || g.From > died+0.05 || g.From < died-1 || s.MissingFrom == nil || *s.MissingFrom != g.From {
		t.Errorf("gap %+v, missing_from %v; want one from about t=%.2f s, when the agent died, to the end", g, s.MissingFrom, died)
	}
	if last := s.Series[len(s.Series)-1].T; last > g.From {
		t.Errorf("a server sample at t=%.3f, after the gap began at %.3f", last, g.From)
	}
	if s.RequestsSampled == nil || *s.RequestsSampled >= r.Requests || s.TimeWaitPerRequest == nil || *s.TimeWaitPerRequest < 0.9 || *s.TimeWaitPerRequest > 1 {
		t.Errorf("server end: time_wait_per_request %v over %v requests; want about 1 over those before the gap", s.TimeWaitPerRequest, s.RequestsSampled)
	}
	if !strings.Contains(g.Reason, agent.URL) {
		t.Errorf("gap reason %q; want it to name the agent", g.Reason)
	}
	text := strings.Join(r.Notes, "\n")
	if !strings.Contains(text, "no samples from t=") || !strings.Contains(text, "to the end of the run") {
		t.Errorf("notes %q; want one saying from when the server series is missing", r.Notes)
	}
	// The client end is whole.
	if !r.Client.Sampled || r.Client.Series[len(r.Client.Series)-1].T < r.DurationS {
		t.Errorf("client series ends at t=%.3f; want it to cover the load (%.3f s)", r.Client.Series[len(r.Client.Series)-1].T, r.DurationS)
	}
}

// An agent that never answers: the run goes on, and says why the server
// end is missing.
func TestServerAgentUnreachable(t *testing.T) {
	agent := startAgent(t)
	url := agent.URL
	agent.Close()
	rep := runJSON(t, "run", "--closer", "client", "-n", "200", "--server-agent", url)
	r := &rep.Runs[0]
	if r.Requests != 200 {
		t.Errorf("%d requests; want 200", r.Requests)
	}
	if r.Server.Sampled || !strings.Contains(r.Server.Reason, "refused") || r.Server.Source != report.SourceAgent {
		t.Errorf("server end: sampled %v, reason %q, source %q; want unsampled, the agent's connection refused",
			r.Server.Sampled, r.Server.Reason, r.Server.Source)
	}
}

func TestAgentServeBadInput(t *testing.T) {
	t.Setenv(tokenEnv, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "--listen", "0.0.0.0:0"}, "not a loopback address: give a --token"},
		{[]string{"agent", "--listen", ":0"}, "not a loopback address"},
		{[]string{"agent", "--listen", "0.0.0.0:0", "--token", "short"}, "at least 16"},
		{[]string{"agent", "--listen", "127.0.0.1"}, "want host:port"},
		{[]string{"agent", "--port", "0"}, "--port 0"},
		{[]string{"agent", "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "--listen", "tcp://127.0.0.1:0?request_size=x"}, `request_size "x"`},
		{[]string{"serve", "--listen", "http://127.0.0.1:0", "--agent", "0.0.0.0:0"}, "not a loopback address"},
		{[]string{"run", "--server-agent", "127.0.0.1:9911", "-n", "1"}, "--server-agent"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if exitCode(err) != exitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("twbench %s = %v (exit %d); want exit 2 saying %q", strings.Join(tc.args, " "), err, exitCode(err), tc.want)
		}
	}
}

// The agent command serves until its context ends.
func TestAgentCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"agent", "--listen", "127.0.0.1:0"}, &stdout, &stderr) }()
	url := waitFor(t, &stdout, "listening on ")
	c, err := agent.NewClient(url, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.HostInfo(context.Background()); err != nil {
		t.Errorf("HostInfo from twbench agent: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("twbench agent after its context ended: %v; want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("twbench agent did not return after its context ended")
	}
}
