package harness

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twbench/twbench/agent"
	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

// fakeAgent serves the agent's API with made-up samples: its clock an hour
// ahead of this host's, 7 server TIME_WAIT sockets in every sample, and a
// TW counter that grows by 10 at each host request. streams[i], if set,
// says how many samples the (i+1)th stream sends before it ends; -1
// refuses it with 503.
type fakeAgent struct {
	*httptest.Server
	streams []int

	mu     sync.Mutex
	opened int
	hosts  int64
}

const fakeOffset = time.Hour

func startFakeAgent(t *testing.T, streams ...int) *fakeAgent {
	t.Helper()
	f := &fakeAgent{streams: streams}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+agent.PathHost, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hosts++
		tw := f.hosts * 10
		f.mu.Unlock()
		json.NewEncoder(w).Encode(agent.HostInfo{Host: sockstat.Host{Kernel: "fake"}, Counters: sockstat.Counters{"TW": tw},
			TimeNS: time.Now().Add(fakeOffset).UnixNano()})
	})
	mux.HandleFunc("GET "+agent.PathSeries, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		n := -2 // no end
		if f.opened < len(f.streams) {
			n = f.streams[f.opened]
		}
		f.opened++
		f.mu.Unlock()
		if n == -1 {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		q, err := agent.ParseSeriesQuery(r.URL.Query().Get)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		enc := json.NewEncoder(w)
		enc.Encode(agent.SeriesLine{Header: &agent.SeriesHeader{Matched: q.Target.String(), IntervalS: q.Interval.Seconds()}})
		w.(http.Flusher).Flush()
		for i := 0; n < 0 || i < n; i++ {
			ws := agent.WireSample{AtNS: time.Now().Add(fakeOffset).UnixNano(),
				Server: map[string]uint32{"TIME_WAIT": 7}, Client: map[string]uint32{}}
			if enc.Encode(agent.SeriesLine{Sample: &ws}) != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(q.Interval):
			case <-r.Context().Done():
				return
			}
		}
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAgent) client(t *testing.T) *agent.Client {
	t.Helper()
	c, err := agent.NewClient(f.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// counter is a load's progress that tests set.
type counter struct{ done, failed atomic.Int64 }

func (c *counter) Completed() int64 { return c.done.Load() }
func (c *counter) Failed() int64    { return c.failed.Load() }

// Measure with an agent: the server end is the agent's, on the run's time
// axis despite the agent's clock, with its host and counters.
func TestMeasureWithAgent(t *testing.T) {
	f := startFakeAgent(t)
	sc := short(t, loadgen.HTTP10, loadgen.CloserServer, 100)
	r, err := Measure(context.Background(), sc, Options{Agent: f.client(t), Tail: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.CloseClientConnections()
	noneLeft(t, "Measure")
	s := &r.Server
	if s.Source != report.SourceAgent || s.AgentURL != f.URL || !s.Sampled || len(s.Gaps) != 0 {
		t.Fatalf("server end: source %q, agent %q, sampled %v, gaps %+v; want the fake agent's, whole", s.Source, s.AgentURL, s.Sampled, s.Gaps)
	}
	if s.Peak["TIME_WAIT"] != 7 || s.Host == nil || s.Host.Kernel != "fake" || s.KernelCounters["TW"] <= 0 {
		t.Errorf("server end: peak TIME_WAIT %d, host %+v, counters %v; want the fake's 7, its host and a TW delta",
			s.Peak["TIME_WAIT"], s.Host, s.KernelCounters)
	}
	if s.ClockOffsetMS == nil || *s.ClockOffsetMS < 3599_000 || *s.ClockOffsetMS > 3601_000 {
		t.Errorf("clock offset %v ms; want about an hour", s.ClockOffsetMS)
	}
	if first, last := s.Series[0].T, s.Series[len(s.Series)-1].T; first >= 0 || first < -3 || last < r.DurationS || last > r.DurationS+3 {
		t.Errorf("server series from t=%.3f to %.3f; want a baseline just before the load and samples to its end (%.3f)", first, last, r.DurationS)
	}
	if u, err := url.Parse(r.Target); err != nil || s.Matched != u.Host {
		t.Errorf("matched %q; want the target's address (%s)", s.Matched, r.Target)
	}
}

// A stream that ends is opened again; the samples missed between are a
// gap, from the last sample before it to the first after it, and its
// reason names the agent.
func TestRemoteGap(t *testing.T) {
	f := startFakeAgent(t, 3, -1)
	var p counter
	r := startRemote(context.Background(), f.client(t), netip.MustParseAddrPort("127.0.0.1:8080"), 10*time.Millisecond, &p)
	r.waitFirst(context.Background())
	p.done.Store(5)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		n, gaps := len(r.rem.Samples), len(r.rem.Gaps)
		r.mu.Unlock()
		if n >= 6 && gaps == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s, %d samples and %d gaps; want 6 and a gap", n, gaps)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rem := r.stop()
	if len(rem.Gaps) != 1 {
		t.Fatalf("gaps %+v; want one", rem.Gaps)
	}
	g := rem.Gaps[0]
	if !g.From.Equal(rem.Samples[2].At) || !g.To.Equal(rem.Samples[3].At) || g.To.Sub(g.From) < agentRetry {
		t.Errorf("gap from %v to %v; want from the 3rd sample (%v) to the 4th (%v), a retry apart", g.From, g.To, rem.Samples[2].At, rem.Samples[3].At)
	}
	if !strings.Contains(g.Reason, f.URL) || !strings.Contains(g.Reason, "the agent closed the stream") {
		t.Errorf("gap reason %q; want the agent's URL and the first reason", g.Reason)
	}
	if d := time.Since(rem.Samples[0].At); d < 0 || d > 10*time.Second {
		t.Errorf("first sample %v ago; want it on this host's clock", d)
	}
	if rem.Samples[len(rem.Samples)-1].Requests != 5 {
		t.Errorf("last sample's requests %d; want the progress, 5", rem.Samples[len(rem.Samples)-1].Requests)
	}
	if rem.Counters["TW"] <= 0 {
		t.Errorf("counters %v; want the TW delta between the first and last host requests", rem.Counters)
	}
	noneLeft(t, "stop")
}

// An agent that never answers costs the run its server end, and says why.
func TestRemoteUnreachable(t *testing.T) {
	f := startFakeAgent(t)
	c := f.client(t)
	f.Close()
	r := startRemote(context.Background(), c, netip.MustParseAddrPort("127.0.0.1:8080"), 10*time.Millisecond, &counter{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r.waitFirst(ctx)
	rem := r.stop()
	if len(rem.Samples) != 0 || len(rem.Gaps) != 0 || !strings.Contains(rem.Unreachable, "refused") || !strings.Contains(rem.Unreachable, f.URL) {
		t.Errorf("samples %d, gaps %+v, unreachable %q; want none, and why, naming the agent", len(rem.Samples), rem.Gaps, rem.Unreachable)
	}
	noneLeft(t, "stop")
}
