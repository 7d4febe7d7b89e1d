package harness

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// These tests run real loads against the built-in target on 127.0.0.1 and
// count sockets on its port; none runs in parallel.

// short returns a validated scenario of n requests against the built-in
// target.
func short(t *testing.T, protocol loadgen.Protocol, closer loadgen.Closer, n int64) scenario.Scenario {
	t.Helper()
	sc := scenario.Scenario{Name: "short", Protocol: protocol, Closer: closer, Concurrency: 4, Requests: n,
		SampleInterval: scenario.Duration(20 * time.Millisecond)}
	sc.ApplyDefaults()
	if errs := sc.Validate(); len(errs) > 0 {
		t.Fatalf("scenario %+v: %v", sc, errs)
	}
	return sc
}

// sampling says whether socket states are sampled here.
func sampling() bool { return runtime.GOOS == "linux" }

// leftRunning returns the stacks of goroutines that run or were started by
// this module's code, other than the tests' own.
func leftRunning() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/twbench/twbench/") && !strings.Contains(g, "_test.go") {
			left = append(left, g)
		}
	}
	return left
}

func noneLeft(t *testing.T, what string) {
	t.Helper()
	// A goroutine that has done its last work (a send its waiter took) may
	// not have exited yet: give such a one a moment.
	left := leftRunning()
	for deadline := time.Now().Add(time.Second); len(left) > 0 && time.Now().Before(deadline); left = leftRunning() {
		time.Sleep(10 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("%d goroutines still running after %s returned:\n%s", len(left), what, strings.Join(left, "\n\n"))
	}
}

// observer records what it is told.
type observer struct {
	mu       sync.Mutex
	started  []string // the targets
	loading  int
	stopped  int
	progress []int64 // Completed at Loading and at stop
	watched  []string
	// live is the ends' TIME_WAIT at stop, closed the target's
	// connections seen to close.
	live     []EndTimeWait
	closed   int64
	lastLive Live
}

func (o *observer) Starting(sc scenario.Scenario, target string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started = append(o.started, target)
}

func (o *observer) Loading(sc scenario.Scenario, p Progress, live Live) func() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.loading++
	o.progress = append(o.progress, p.Completed())
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.stopped++
		o.progress = append(o.progress, p.Completed())
		o.live = live.TimeWait(o.live[:0])
	}
}

func (o *observer) Watching(command []string, target string, live Live) func() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.loading++
	o.watched = append(o.watched, strings.Join(command, " ")+" @ "+target)
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.stopped++
		o.live = live.TimeWait(o.live[:0])
		o.closed = live.Closed()
		o.lastLive = live
	}
}

// Measure against the built-in target: the server closes every
// connection, the client end is sampled from a baseline to past the load,
// the observer hears of the run, and nothing Measure started outlives it.
func TestMeasureBuiltin(t *testing.T) {
	sc := short(t, loadgen.HTTP10, loadgen.CloserServer, 200)
	var obs observer
	r, err := Measure(context.Background(), sc, Options{Notes: []string{"a note for every run"}, Tail: 200 * time.Millisecond, Observer: &obs})
	if err != nil {
		t.Fatal(err)
	}
	noneLeft(t, "Measure")
	if r.Requests != 200 || r.Closes.ServerFirst != 200 || !r.BuiltinTarget {
		t.Errorf("%d requests, closes %+v, built-in %v; want 200, all closed by the server, the built-in target", r.Requests, r.Closes, r.BuiltinTarget)
	}
	if !strings.HasPrefix(r.Target, "http://127.0.0.1:") || r.ServerErrors == nil {
		t.Errorf("target %q, server errors %v; want the built-in target's URL and its errors", r.Target, r.ServerErrors)
	}
	if len(r.Notes) == 0 || r.Notes[0] != "a note for every run" {
		t.Errorf("notes %q; want the options' note first", r.Notes)
	}
	if len(obs.started) != 1 || obs.started[0] != r.Target || obs.loading != 1 || obs.stopped != 1 {
		t.Errorf("observer: started %q, loading %d, stopped %d; want once each, with the target %s", obs.started, obs.loading, obs.stopped, r.Target)
	}
	if len(obs.progress) == 2 && (obs.progress[0] != 0 || obs.progress[1] != 200) {
		t.Errorf("observer saw progress %v; want 0 as the load started and 200 as it ended", obs.progress)
	}
	if !sampling() {
		return
	}
	c := &r.Client
	if !c.Sampled || len(c.Series) < 3 {
		t.Fatalf("client end sampled %v, %d samples; want a series", c.Sampled, len(c.Series))
	}
	if first, last := c.Series[0].T, c.Series[len(c.Series)-1].T; first >= 0 || last < r.DurationS {
		t.Errorf("client series from t=%.3f to %.3f; want a baseline before the load and samples past its end (%.3f)", first, last, r.DurationS)
	}
	if got := c.Peak["TIME_WAIT"] - c.Baseline["TIME_WAIT"]; got != 0 {
		t.Errorf("client TIME_WAIT rose by %d; want 0: the server closed first", got)
	}
	if !r.Server.Sampled || r.Server.NewTimeWait < 150 {
		t.Errorf("server end sampled %v, new TIME_WAIT %d; want about 200", r.Server.Sampled, r.Server.NewTimeWait)
	}
	// What the observer could show as the load ended: both ends (the
	// load may be over before a sample sees its TIME_WAIT).
	if len(obs.live) != 2 || obs.live[0].End != "client" || obs.live[1].End != "server" {
		t.Errorf("observer's live TIME_WAIT at the end = %+v; want the client's and the server's", obs.live)
	}
	if h := r.Server.TimeWaitHolders; h == nil || h.By != "remote" || h.Top[0].Address != "127.0.0.1" {
		t.Errorf("server end's TIME_WAIT holders = %+v; want 127.0.0.1 first, by remote address", h)
	}
}

// A run with sampling off samples nothing and says why.
func TestMeasureSamplingOff(t *testing.T) {
	sc := short(t, loadgen.HTTP11, loadgen.CloserClient, 50)
	r, err := Measure(context.Background(), sc, Options{SamplingOff: "off for the test", Tail: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Client.Sampled || r.Client.Reason != "off for the test" || r.Server.Sampled || r.Server.Reason != "off for the test" {
		t.Errorf("client sampled %v (%q), server %v (%q); want neither, for the reason given",
			r.Client.Sampled, r.Client.Reason, r.Server.Sampled, r.Server.Reason)
	}
	if r.Requests != 50 {
		t.Errorf("%d requests; want 50", r.Requests)
	}
}

// A target that cannot be loaded is an error, and what the steps started
// before it is stopped.
func TestMeasureBadTarget(t *testing.T) {
	sc := short(t, loadgen.HTTP11, loadgen.CloserClient, 1)
	sc.Target = "http://127.0.0.1:0/"
	_, err := Measure(context.Background(), sc, Options{})
	if err == nil {
		t.Fatal("Measure against port 0 = nil error; want one")
	}
	noneLeft(t, "Measure")
}

// The steps one by one: a tail cut short by its context still ends with a
// last sample, after the load's.
func TestStepsTailCutByContext(t *testing.T) {
	sc := short(t, loadgen.HTTP11, loadgen.CloserClient, 20)
	r := newRun(sc, Options{Tail: time.Minute})
	defer r.close()
	if err := r.startTarget(); err != nil {
		t.Fatal(err)
	}
	if err := r.newLoad(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r.startSampling(ctx)
	r.baseline(ctx)
	if err := r.load(ctx); err != nil {
		t.Fatal(err)
	}
	loaded := len(r.ends.points[0].samples)

	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	r.tail(tctx)
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("a tail of a minute cut after 100 ms took %v", d)
	}
	if sampling() && len(r.ends.points[0].samples) <= loaded {
		t.Errorf("%d samples after the tail, %d after the load; want more", len(r.ends.points[0].samples), loaded)
	}
	run := r.assemble()
	r.close()
	noneLeft(t, "the steps")
	if run.Requests != 20 || run.Closes.ClientFirst != 20 {
		t.Errorf("%d requests, closes %+v; want 20, all closed by the client", run.Requests, run.Closes)
	}
	// The load was whole, but its tail was cut: the report says so (a
	// SIGTERM there exited 130 with a report that did not).
	if !run.Interrupted || !slices.ContainsFunc(run.Notes, func(n string) bool { return strings.Contains(n, "interrupted after the load") }) {
		t.Errorf("interrupted %v, notes %q; want an interrupted run with a note on its cut tail", run.Interrupted, run.Notes)
	}
	if sampling() && (!run.Client.Sampled || run.Client.Peak["TIME_WAIT"] <= run.Client.Baseline["TIME_WAIT"]) {
		t.Errorf("client end sampled %v, TIME_WAIT from %d to %d; want it to rise", run.Client.Sampled,
			run.Client.Baseline["TIME_WAIT"], run.Client.Peak["TIME_WAIT"])
	}
}

// A run cancelled during its load still returns a report, marked
// interrupted, without waiting for the tail.
func TestMeasureInterrupted(t *testing.T) {
	sc := short(t, loadgen.HTTP11, loadgen.CloserNone, 0)
	sc.Duration = scenario.Duration(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	r, err := Measure(ctx, sc, Options{Tail: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("Measure cancelled after 300 ms took %v", d)
	}
	if !r.Interrupted || r.Requests == 0 {
		t.Errorf("interrupted %v after %d requests; want an interrupted run with some", r.Interrupted, r.Requests)
	}
}

func TestFileLimitNote(t *testing.T) {
	sc := scenario.Scenario{Concurrency: 1000}
	for _, tc := range []struct {
		limit   FileLimit
		builtin bool
		want    string
	}{
		{FileLimit{}, true, ""},
		{FileLimit{Known: true, Soft: 4096, Hard: 4096}, true, ""},
		{FileLimit{Known: true, Soft: 1500, Hard: 1500}, false, ""},
		{FileLimit{Known: true, Soft: 1500, Hard: 1500}, true, "is 1500, raised to the hard limit, and 1000 connections need about 2064"},
	} {
		got := tc.limit.Note(sc, tc.builtin)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%+v.Note(1000 connections, built-in %v) = %q; want %q", tc.limit, tc.builtin, got, tc.want)
		}
	}
}

// Closes past tcp_max_tw_buckets are noted for the namespace whose
// counter saw them.
func TestCounterNotes(t *testing.T) {
	for _, tc := range []struct {
		client, server sockstat.Counters
		want           []string
	}{
		{nil, nil, nil},
		{sockstat.Counters{"TCPTimeWaitOverflow": 0}, sockstat.Counters{"TCPTimeWaitOverflow": 6629}, []string{"the server's namespace dropped 6629"}},
		{sockstat.Counters{"TCPTimeWaitOverflow": 3}, nil, []string{"the kernel dropped 3"}},
	} {
		got := counterNotes(tc.client, tc.server)
		if len(got) != len(tc.want) {
			t.Errorf("counterNotes(%v, %v) = %q; want %d notes", tc.client, tc.server, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.HasPrefix(got[i], w) {
				t.Errorf("counterNotes(%v, %v)[%d] = %q; want it to begin %q", tc.client, tc.server, i, got[i], w)
			}
		}
	}
}
