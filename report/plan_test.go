package report_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// twObject is a fixed tw_sock_TCP size, as /proc/slabinfo gives it.
var twObject = sockstat.TimeWaitObject{Slab: sockstat.TimeWaitSlab, Bytes: 256, From: sockstat.SizeFromSlabinfo}

// none marks a figure the plan must leave null.
const none = -1.0

// TestPlanArithmetic checks plans against cases worked by hand on a host
// with the default port range (28,232 ports), tcp_tw_reuse=2 and
// tcp_max_tw_buckets=131,072.
func TestPlanArithmetic(t *testing.T) {
	type want struct {
		clientTW, clientHeld, serverTW, serverHeld int64
		heldBy                                     string // the client's, or the server's when the client holds none
		inUse                                      int64
		share                                      float64
		exhausted                                  float64 // seconds, or none
		sources, destinations, pool                int
		network, loopback                          float64 // ceilings over every pair, or none
	}
	for _, tc := range []struct {
		name   string
		closer loadgen.Closer
		set    func(w *report.Workload)
		host   sockstat.Host
		want   want
	}{
		// The cases, with no connection lifetime: 5,000/s × 60 s
		// = 300,000; 28,232 ports last 28,232 / 5,000 = 5.6 s; 300,000 /
		// 28,232 = 10.6, so 11 sources.
		{"5,000/s, client closes, network", loadgen.CloserClient,
			func(w *report.Workload) { w.Rate, w.LifetimeS, w.LatencyS = 5000, 0, 0.001 }, host("2", "1"),
			want{300000, 28232, 0, 0, report.HeldByFourTuples, 300000, 10.6262, 5.646, 11, 11, 5, 471, 28232}},
		{"400/s: 85% of the ports", loadgen.CloserClient,
			func(w *report.Workload) { w.Rate, w.LifetimeS = 400, 0 }, host("2", "1"),
			want{24000, 24000, 0, 0, "", 24000, 0.8501, none, 1, 1, 1, 471, 28232}},
		// The default lifetime of 1 ms adds 5 ports at 5,000/s.
		{"5,000/s with the default lifetime", loadgen.CloserClient,
			func(w *report.Workload) { w.Rate = 5000 }, host("2", "1"),
			want{300000, 28232, 0, 0, report.HeldByFourTuples, 300005, 10.6264, 5.646, 11, 11, 5, 471, 28204}},
		// tcp_tw_reuse=2 hands a port back after 1 s on loopback: 5,005
		// in use. The TIME_WAIT sockets stay until connect() takes their
		// 4-tuple back, and it cycles through the 14,116 even ports.
		{"5,000/s on loopback", loadgen.CloserClient,
			func(w *report.Workload) { w.Rate, w.Regime = 5000, report.RegimeLoopback }, host("2", "1"),
			want{300000, 14116, 0, 0, report.HeldByFourTuples, 5005, 0.1773, none, 1, 1, 5, 471, 28204}},
		// tcp_tw_reuse=1 applies over a network too.
		{"5,000/s, tcp_tw_reuse=1", loadgen.CloserClient,
			func(w *report.Workload) { w.Rate = 5000 }, host("1", "1"),
			want{300000, 14116, 0, 0, report.HeldByFourTuples, 5005, 0.1773, none, 1, 1, 5, 28204, 28204}},
		// 11 sources: 27,273 ports each, 96.6%; 300,000 TIME_WAIT is over
		// tcp_max_tw_buckets, so the kernel keeps 131,072.
		{"5,000/s over 11 sources", loadgen.CloserClient,
			func(w *report.Workload) { w.Rate, w.Sources = 5000, 11 }, host("2", "1"),
			want{300000, 131072, 0, 0, report.HeldByTWBuckets, 27273, 0.966, none, 11, 1, 5, 5176, 310242}},
		// 4 destinations and a target of 50%: 300,005 / (0.5 × 28,232 × 4)
		// = 5.3, so 6 sources; 300,005 / (0.5 × 28,232) = 21.3, so 22
		// destinations with one source.
		{"5,000/s to 4 destinations, target 50%", loadgen.CloserClient,
			func(w *report.Workload) { w.Rate, w.Destinations, w.TargetShare = 5000, 4, 0.5 }, host("2", "1"),
			want{300000, 112928, 0, 0, report.HeldByFourTuples, 75001, 2.6566, 22.586, 6, 22, 5, 1882, 112815}},
		// Ten requests a connection: a tenth of the connections.
		{"5,000/s, 10 requests per connection", loadgen.CloserClient,
			func(w *report.Workload) { w.Rate, w.RequestsPerConn, w.ConnectionsPerRequest = 5000, 10, 0.1 }, host("2", "1"),
			want{30000, 28232, 0, 0, report.HeldByFourTuples, 30001, 1.0626, 56.464, 2, 2, 5, 4705, 282038}},
		// A TIME_WAIT of 30 s halves everything.
		{"1,000/s, TIME_WAIT 30 s", loadgen.CloserClient,
			func(w *report.Workload) { w.Rate, w.TimeWaitS, w.TimeWaitFrom = 1000, 30, report.TimeWaitGiven }, host("2", "1"),
			want{30000, 28232, 0, 0, report.HeldByFourTuples, 30001, 1.0627, 28.232, 2, 2, 1, 941, 28204}},
		// The server holds the TIME_WAIT and the client's ports come back
		// after the connection's 1 ms: 28,232 / 0.001 s. A new SYN on a
		// 4-tuple takes the server's TIME_WAIT over, and the client cycles
		// through the even ports: 14,116.
		{"5,000/s, server closes", loadgen.CloserServer,
			func(w *report.Workload) { w.Rate = 5000 }, host("2", "1"),
			want{0, 0, 300000, 14116, report.HeldByFourTuples, 5, 0.0002, none, 1, 1, 5, 28232000, 28232000}},
		{"5,000/s, client resets", loadgen.CloserClientRST,
			func(w *report.Workload) { w.Rate = 5000 }, host("2", "1"),
			want{0, 0, 0, 0, "", 5, 0.0002, none, 1, 1, 5, 28232000, 28232000}},
		// A keep-alive pool: rate × latency connections, no ceiling.
		{"5,000/s kept alive, 2 ms a request", loadgen.CloserNone,
			func(w *report.Workload) { w.Rate, w.LatencyS = 5000, 0.002 }, host("2", "1"),
			want{0, 0, 0, 0, "", 10, 0.0004, none, 1, 1, 10, none, none}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := report.DefaultWorkload(tc.closer, 1)
			tc.set(&w)
			if err := w.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			pl := report.NewPlan(w, tc.host, twObject)
			got := want{pl.Client.TimeWait, pl.Client.TimeWaitHeld, pl.Server.TimeWait, pl.Server.TimeWaitHeld,
				pl.Client.HeldBy, pl.Ports.InUse, pl.Ports.Share, orNone(pl.Ports.ExhaustedAfterS),
				deref(pl.Needed.Sources), deref(pl.Needed.Destinations), int(pl.Needed.PooledConnections),
				orNone(pl.Ports.MaxSustainableQPS.Network), orNone(pl.Ports.MaxSustainableQPS.Loopback)}
			if pl.Client.TimeWait == 0 {
				got.heldBy = pl.Server.HeldBy
			}
			if got != tc.want {
				t.Errorf("NewPlan(%s at %g/s) =\n  %+v; want\n  %+v", w.Closer, w.Rate, got, tc.want)
			}
			for _, e := range []report.PlanEnd{pl.Client, pl.Server} {
				if e.MemoryBytes != e.TimeWaitHeld*256 {
					t.Errorf("memory_bytes = %d; want %d held × 256 B", e.MemoryBytes, e.TimeWaitHeld)
				}
			}
		})
	}
}

func orNone(v *float64) float64 {
	if v == nil {
		return none
	}
	return *v
}

func deref(v *int) int {
	if v == nil {
		return -1
	}
	return *v
}

// The example, as the text says it: the ports run out after
// about 5.6 s, and 11 source addresses or a pool are needed.
func TestPlanTextSaysWhenPortsRunOut(t *testing.T) {
	w := report.DefaultWorkload(loadgen.CloserClient, 1)
	w.Rate = 5000
	rep := planReport(report.NewPlan(w, host("2", "1"), twObject))
	var b bytes.Buffer
	if err := report.WritePlan(&b, rep, "text", false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"they run out after 5.6 s", "11 source addresses", "a keep-alive pool of 5 connections",
		"300,000", "network 471, planned"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the plan does not say %q:\n%s", want, b.String())
		}
	}
}

func planReport(plans ...report.Plan) *report.PlanReport {
	return &report.PlanReport{Schema: report.PlanSchema, Version: "test", Host: host("2", "1"), TimeWaitObject: twObject, Plans: plans}
}

// TestPlanFromReport plans every run of a report built by Build, after a
// trip through its JSON, and finds the report's own ceilings, hold and
// usable ports; and so for the golden report under testdata.
func TestPlanFromReport(t *testing.T) {
	rep := fixture()
	// A run spread over two source addresses with a client port range:
	// the ceiling is over both.
	two := sc("two-sources", loadgen.HTTP11, loadgen.CloserClient)
	two.Sources, two.ClientPortRange = []string{"127.0.0.2", "127.0.0.3"}, "40000-40999"
	rep.Runs = append(rep.Runs, report.Build(report.Input{Scenario: two, Loopback: false,
		Result:  result(40000, 300*time.Microsecond, loadgen.Closes{ClientFirst: 39000, ServerFirst: 1000}),
		Samples: samples(false, 4000), Host: rep.Host}))
	var b bytes.Buffer
	if err := report.WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/report.json.golden")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"Build": b.Bytes(), "report.json.golden": golden} {
		back, err := report.ReadReport(data)
		if err != nil {
			t.Fatalf("%s: ReadReport: %v", name, err)
		}
		for i := range back.Runs {
			run := &back.Runs[i]
			w := report.MeasuredWorkload(run)
			if err := w.Validate(); err != nil {
				t.Errorf("%s: %s: the measured workload is not valid: %v", name, run.Scenario.Name, err)
				continue
			}
			pl := report.NewPlan(w, back.Host, twObject)
			got, want := pl.Ports.MaxSustainableQPS, run.Ports.MaxSustainableQPS
			if fmt.Sprint(orNone(got.Network), orNone(got.Loopback), got.InForce) !=
				fmt.Sprint(orNone(want.Network), orNone(want.Loopback), want.InForce) {
				t.Errorf("%s: %s: plan's ceilings = %v %v (%s); the report's %v %v (%s)", name, run.Scenario.Name,
					orNone(got.Network), orNone(got.Loopback), got.InForce, orNone(want.Network), orNone(want.Loopback), want.InForce)
			}
			if perSource := run.Ports.UsablePorts / w.Sources; pl.Ports.UsablePorts != perSource || pl.Ports.PortRange != run.Ports.PortRange {
				t.Errorf("%s: %s: plan's usable ports = %d in %s; the report's %d per source in %s", name, run.Scenario.Name,
					pl.Ports.UsablePorts, pl.Ports.PortRange, perSource, run.Ports.PortRange)
			}
			if run.Scenario.Closer != loadgen.CloserNone && (pl.Ports.PortHoldS != run.Ports.PortHoldS || pl.Ports.PortsPerQPS != run.Ports.PortsPerQPS) {
				t.Errorf("%s: %s: plan's hold %+v, ports per qps %v; the report's %+v, %v", name, run.Scenario.Name,
					pl.Ports.PortHoldS, pl.Ports.PortsPerQPS, run.Ports.PortHoldS, run.Ports.PortsPerQPS)
			}
		}
	}
}

// TestPlanAdviceNeverRecycles: whatever the workload, the advice is one
// sentence, and it never suggests tcp_tw_recycle.
func TestPlanAdviceNeverRecycles(t *testing.T) {
	n := 0
	for _, closer := range loadgen.Closers() {
		for _, rate := range append(report.TableRates(), 0.5, 400, 1e6) {
			for _, regime := range []string{report.RegimeNetwork, report.RegimeLoopback} {
				for _, reuse := range []string{"0", "1", "2"} {
					for _, sources := range []int{1, 11, 1000} {
						w := report.DefaultWorkload(closer, 1)
						w.Rate, w.Regime, w.Sources = rate, regime, sources
						a := report.NewPlan(w, host(reuse, "1"), twObject).Advice
						n++
						if strings.Contains(strings.ToLower(a), "recycle") {
							t.Errorf("%s at %g/s, %s, tcp_tw_reuse=%s: the advice mentions recycling: %s", closer, rate, regime, reuse, a)
						}
						if !strings.HasSuffix(a, ".") || strings.Count(a, ". ") > 0 || strings.Contains(a, "\n") {
							t.Errorf("%s at %g/s, %s, tcp_tw_reuse=%s: the advice is not one sentence: %q", closer, rate, regime, reuse, a)
						}
					}
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d plans tried", n)
	}
}

// The table with a fixed host, and a plan's text, against golden files;
// no line wider than 100 columns.
func TestPlanTextGolden(t *testing.T) {
	var ws []report.Workload
	for _, c := range loadgen.Closers() {
		ws = append(ws, report.DefaultWorkload(c, 1))
	}
	table := planReport(report.PlanTable(ws, host("2", "1"), twObject)...)
	w := report.DefaultWorkload(loadgen.CloserClient, 1)
	w.Rate = 5000
	c, err := report.CompilePlanCheck("ports.share < 0.5", "--expect")
	if err != nil {
		t.Fatal(err)
	}
	pl := report.NewPlan(w, host("2", "1"), twObject)
	pl.Expectations = append(pl.Expectations, c.Eval(&pl))
	single := planReport(pl)
	single.Notes = []string{"a note"}
	for _, tc := range []struct {
		file  string
		rep   *report.PlanReport
		table bool
	}{{"plan-table.txt.golden", table, true}, {"plan.txt.golden", single, false}} {
		var b bytes.Buffer
		if err := report.WritePlan(&b, tc.rep, "text", tc.table); err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(b.String(), "\n") {
			if n := utf8.RuneCountInString(line); n > 100 {
				t.Errorf("%s: line %d is %d columns wide: %s", tc.file, i+1, n, line)
			}
		}
		golden(t, tc.file, b.Bytes())
	}
}

func TestPlanTableRows(t *testing.T) {
	ws := []report.Workload{report.DefaultWorkload(loadgen.CloserClient, 1), report.DefaultWorkload(loadgen.CloserServer, 1)}
	plans := report.PlanTable(ws, host("2", "1"), twObject)
	if len(plans) != 2*len(report.TableRates()) {
		t.Fatalf("PlanTable of 2 workloads = %d plans; want %d", len(plans), 2*len(report.TableRates()))
	}
	for i, pl := range plans {
		if want := report.TableRates()[i%len(report.TableRates())]; pl.Workload.Rate != want {
			t.Errorf("plan %d: rate %g; want %g", i, pl.Workload.Rate, want)
		}
	}
}

func TestPlanCheck(t *testing.T) {
	w := report.DefaultWorkload(loadgen.CloserClient, 1)
	w.Rate = 400
	pl := report.NewPlan(w, host("2", "1"), twObject)
	for _, tc := range []struct {
		expr    string
		ok      bool
		errText string
	}{
		{"ports.share < 0.9", true, ""},
		{"ports.share < 0.5", false, ""},
		{"client.time_wait == 24000 && server.time_wait == 0", true, ""},
		{"needed.sources <= 1 && workload.closer == 'client'", true, ""},
		{"ports.exhausted_after_s == nil", true, ""},
		{"ports.exhausted_after_s > 10", false, "ports.exhausted_after_s null: does not apply to this plan"},
		{"client.tw_buckets_share < 0.2", true, ""},
		// Keys the writer leaves out when empty are there to name.
		{"client.held_by == '' && workload.scenario == '' && workload.client_port_range == ''", true, ""},
	} {
		c, err := report.CompilePlanCheck(tc.expr, "--expect")
		if err != nil {
			t.Errorf("CompilePlanCheck(%q) = %v", tc.expr, err)
			continue
		}
		e := c.Eval(&pl)
		if e.OK != tc.ok || !strings.Contains(e.Error, tc.errText) || (tc.errText == "" && e.Error != "") {
			t.Errorf("%s = %v (%q); want %v (%q)", tc.expr, e.OK, e.Error, tc.ok, tc.errText)
		}
	}
	for _, bad := range []string{"qps > 1", "ports.shares < 1", "client.peak.TIME_WAIT == 0", "ports.share"} {
		if _, err := report.CompilePlanCheck(bad, "--expect"); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("CompilePlanCheck(%q) = %v; want a one-line error", bad, err)
		}
	}
	// A run's expectation is not a plan's, nor the reverse.
	if _, err := report.CompileCheck("ports.share < 1", "x"); err == nil {
		t.Error("CompileCheck(ports.share) compiles over a run's figures")
	}
}

func TestWorkloadValidate(t *testing.T) {
	for _, tc := range []struct {
		set  func(w *report.Workload)
		want string
	}{
		{func(w *report.Workload) { w.Rate = 0 }, "rate 0: want new requests/s above 0"},
		{func(w *report.Workload) { w.Rate = math.NaN() }, "rate NaN"},
		{func(w *report.Workload) { w.Rate = 2e9 }, "at most 1e+09"},
		{func(w *report.Workload) { w.Closer = "nobody" }, `closer "nobody": want one of ` + loadgen.ListClosers(loadgen.Closers(), "")},
		{func(w *report.Workload) { w.RequestsPerConn = 0 }, "requests_per_conn 0"},
		{func(w *report.Workload) { w.LifetimeS = -1 }, "connection_lifetime_s -1: want 0 or more"},
		{func(w *report.Workload) { w.TimeWaitS = 0 }, "time_wait_s 0: want above 0"},
		{func(w *report.Workload) { w.Sources = 0 }, "sources 0: want 1 to"},
		{func(w *report.Workload) { w.Destinations = 1 << 21 }, "destinations 2097152"},
		{func(w *report.Workload) { w.Regime = "lan" }, `regime "lan": want network or loopback`},
		{func(w *report.Workload) { w.TargetShare = 1.5 }, "target_share 1.5"},
		{func(w *report.Workload) { w.ClientCloseShare, w.ServerCloseShare = 0.8, 0.8 }, "want at most 1"},
		{func(w *report.Workload) { w.ClientPortRange = "9-1" }, "client_port_range"},
		{func(w *report.Workload) { w.ConnectionsPerRequest = 1001 }, "connections_per_request 1001: want 0 to 1000"},
	} {
		w := report.DefaultWorkload(loadgen.CloserClient, 1)
		w.Rate = 100
		tc.set(&w)
		err := w.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Validate() = %v; want one line with %q", err, tc.want)
		}
	}
	// A run with connections whose requests failed measures more than one
	// per request: a plan of it is valid.
	w := report.DefaultWorkload(loadgen.CloserClient, 1)
	w.Rate, w.ConnectionsPerRequest = 100, 1.0005
	if err := w.Validate(); err != nil {
		t.Errorf("Validate() with 1.0005 connections per request = %v; want nil", err)
	}
	w = report.DefaultWorkload(loadgen.CloserClient, 1)
	w.Rate, w.Sources, w.Regime = -1, 0, "x"
	if err := w.Validate(); err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("Validate() of three problems = %v; want each on its line", err)
	}
}

func TestPlanSettings(t *testing.T) {
	h := host("2", "1")
	for _, s := range report.PlanSettings() {
		if s.Flag == "" || s.Help == "" || !strings.HasPrefix(s.Sysctl, "net.") {
			t.Errorf("setting %+v: want a flag, help and a sysctl", s)
		}
	}
	s := report.PlanSettings()[0]
	got, err := s.Apply(h, "1024-65535")
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi, _ := got.PortRange(); lo != 1024 || hi != 65535 || h.Sysctl[sockstat.SysctlPortRange] != "32768 60999" {
		t.Errorf("Apply(port-range 1024-65535) = %d-%d, the host left %q; want 1024-65535 on a copy",
			lo, hi, h.Sysctl[sockstat.SysctlPortRange])
	}
	if _, err := s.Apply(h, "9-1"); err == nil || !strings.HasPrefix(err.Error(), "--port-range") {
		t.Errorf("Apply(port-range 9-1) = %v; want an error naming the flag", err)
	}
	w := report.DefaultWorkload(loadgen.CloserClient, 1)
	w.Rate = 5000
	if pl := report.NewPlan(w, got, twObject); pl.Ports.UsablePorts != 64512 || *pl.Needed.Sources != 5 {
		t.Errorf("5,000/s over 1024-65535: %d usable, %d sources; want 64,512 and 5", pl.Ports.UsablePorts, *pl.Needed.Sources)
	}
}

// A scenario that measured nothing is a workload Validate refuses, not a
// plan of zeros.
func TestMeasuredWorkloadOfAnEmptyRun(t *testing.T) {
	run := report.Build(report.Input{Scenario: scenario.Scenario{Name: "empty", Closer: loadgen.CloserClient},
		Result: result(0, 0, loadgen.Closes{}), Host: host("2", "1")})
	if err := report.MeasuredWorkload(&run).Validate(); err == nil || !strings.Contains(err.Error(), "rate 0") {
		t.Errorf("Validate() of a run without requests = %v; want rate 0 refused", err)
	}
}

// The remedies plan weighs: tcp_tw_reuse=1 holds a port for the reuse
// delay, not the TIME_WAIT; a pool carries connections / latency
// requests/s and leaves the rest to new connections.
func TestPlanRemedies(t *testing.T) {
	w := report.DefaultWorkload(loadgen.CloserClient, 1)
	w.Rate = 5000
	reuse := host("1", "1")
	pl := report.NewPlan(w, reuse, twObject)
	report.CompareTWReuse(&pl, reuse, "2", twObject)
	report.ComparePool(&pl, 4)
	if len(pl.Remedies) != 2 {
		t.Fatalf("remedies %+v; want two", pl.Remedies)
	}
	for i, tc := range []struct {
		name                string
		with, without       float64
		conns, connsWithout float64
		hold, holdWithout   float64
	}{
		{"tcp_tw_reuse=1", 28204, 471, 5000, 5000, 1.001, 60.001},
		{"keep-alive pool of 4 connections", 4000 + 28204, 28204, 1000, 5000, 1.001, 1.001},
	} {
		r := pl.Remedies[i]
		if r.Name != tc.name || r.MaxSustainableQPS == nil || *r.MaxSustainableQPS != tc.with || r.Without == nil || *r.Without != tc.without ||
			r.NewConnectionsPerS != tc.conns || r.NewConnectionsPerSWithout != tc.connsWithout || r.PortHoldS != tc.hold || r.PortHoldSWithout != tc.holdWithout {
			t.Errorf("remedy %d = %+v (ceilings %v, %v); want %+v", i, r, ceilingOf(r.MaxSustainableQPS), ceilingOf(r.Without), tc)
		}
	}
	// A pool that carries the whole rate opens nothing.
	big := report.NewPlan(w, host("2", "1"), twObject)
	report.ComparePool(&big, 5)
	if r := big.Remedies[0]; r.NewConnectionsPerS != 0 || *r.PoolCapacity != 5000 {
		t.Errorf("a pool of 5 at 5,000/s of 1 ms: %+v; want no new connections, 5,000/s carried", r)
	}
}

func ceilingOf(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}
