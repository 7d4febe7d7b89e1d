package report_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var start = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func host(reuse, stamps string) sockstat.Host {
	return sockstat.Host{Kernel: "6.18.44", Sysctl: map[string]string{
		sockstat.SysctlPortRange:     "32768 60999",
		sockstat.SysctlReservedPorts: "",
		sockstat.SysctlTWReuse:       reuse,
		sockstat.SysctlTWReuseDelay:  "1000",
		sockstat.SysctlFinTimeout:    "60",
		sockstat.SysctlMaxTWBuckets:  "131072",
		sockstat.SysctlTimestamps:    stamps,
	}}
}

// result returns a one-connection-per-request result: n requests over 10 s,
// each connection open for lifetime, closed first as closes says.
func result(n int64, lifetime time.Duration, closes loadgen.Closes) *loadgen.Result {
	lat := loadgen.NewHistogram()
	for i := int64(0); i < n; i++ {
		_ = lat.RecordValue(200 + i%800) // 200..999 µs
	}
	lag := loadgen.NewHistogram()
	for i := int64(0); i < n; i++ {
		_ = lag.RecordValue(10 + i%90)
	}
	return &loadgen.Result{
		Start:        start,
		Elapsed:      10 * time.Second,
		Requests:     n,
		Connections:  closes.Total(),
		StatusCodes:  map[int]int64{200: n},
		Closes:       closes,
		ConnLifetime: lifetime * time.Duration(closes.Total()),
		Latency:      lat,
		Lag:          lag,
		Scheduled:    n,
	}
}

// samples returns a baseline and 10 samples at 1 s steps in which one end
// gains tw TIME_WAIT sockets per step.
func samples(serverEnd bool, tw int) []report.Sample {
	var out []report.Sample
	var total uint32
	for i := 0; i <= 10; i++ {
		s := report.Sample{Sample: sockstat.Sample{
			At:              start.Add(time.Duration(i)*time.Second - time.Millisecond),
			Cost:            2 * time.Millisecond,
			MaxTimeWaitLeft: 60 * time.Second,
		}, Requests: int64(i * 4000)}
		if i > 0 {
			total += uint32(tw)
		}
		end := &s.Client
		if serverEnd {
			end = &s.Server
		}
		end[sockstat.TimeWait] = total
		end[sockstat.Established] = 3
		if i > 0 {
			if serverEnd {
				s.ServerNewTimeWait = tw
			} else {
				s.ClientNewTimeWait = tw
			}
		}
		out = append(out, s)
	}
	return out
}

func sc(name string, p loadgen.Protocol, c loadgen.Closer) scenario.Scenario {
	return scenario.Scenario{Name: name, Protocol: p, Closer: c, Concurrency: 64, Rate: 4000,
		Duration: scenario.Duration(10 * time.Second), Timeout: scenario.Duration(10 * time.Second),
		SampleInterval: scenario.Duration(time.Second)}
}

// fixture is a report of the three default scenarios with fixed figures.
func fixture() *report.Report {
	h := host("2", "1")
	abFinding := report.Build(report.Input{
		Scenario: sc("ab-finding", loadgen.HTTP10, loadgen.CloserServer),
		Target:   "http://127.0.0.1:40001/", Builtin: true, Loopback: true,
		Result:  result(40000, 400*time.Microsecond, loadgen.Closes{ServerFirst: 40000}),
		Samples: samples(true, 4000), Host: h,
		Counters: sockstat.Counters{"TW": 40000, "TWRecycled": 0, "TCPTimeWaitOverflow": 0},
	})
	clientCloses := report.Build(report.Input{
		Scenario: sc("client-closes", loadgen.HTTP11, loadgen.CloserClient),
		Target:   "http://127.0.0.1:40002/", Builtin: true, Loopback: true,
		Result:  result(40000, 400*time.Microsecond, loadgen.Closes{ClientFirst: 40000}),
		Samples: samples(false, 4000), Host: h,
		Counters: sockstat.Counters{"TW": 40000, "TWRecycled": 26000, "TCPTimeWaitOverflow": 0},
	})
	keepRes := result(40000, 10*time.Second, loadgen.Closes{ClientFirst: 64})
	keepSamples := samples(false, 0)
	keepSamples[10].Client[sockstat.TimeWait] = 64
	keepSamples[10].ClientNewTimeWait = 64
	keepalive := report.Build(report.Input{
		Scenario: sc("keepalive", loadgen.HTTP11, loadgen.CloserNone),
		Target:   "http://127.0.0.1:40003/", Builtin: true, Loopback: true,
		Result: keepRes, Samples: keepSamples, Host: h,
		Counters: sockstat.Counters{"TW": 64, "TWRecycled": 0, "TCPTimeWaitOverflow": 0},
	})
	return &report.Report{Schema: report.Schema, Version: "test", Host: h,
		Runs: []report.Run{abFinding, clientCloses, keepalive}}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteText(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt.golden", b.Bytes())
}

func TestJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteJSON(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json.golden", b.Bytes())
}

// TestJSONContract checks that every key of the v1 contract in DESIGN.md is
// written.
func TestJSONContract(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteJSON(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"schema", "host.kernel", "host.sysctl.net.ipv4.ip_local_port_range", "host.sysctl.net.ipv4.tcp_tw_reuse",
		"host.sysctl.net.ipv4.tcp_fin_timeout", "host.sysctl.net.ipv4.tcp_max_tw_buckets",
		"host.sysctl.net.ipv4.tcp_tw_reuse_delay", "host.sysctl.net.ipv4.tcp_timestamps",
		"runs.0.scenario.name", "runs.0.scenario.protocol", "runs.0.scenario.closer",
		"runs.0.scenario.concurrency", "runs.0.scenario.rate", "runs.0.target", "runs.0.duration_s",
		"runs.0.requests", "runs.0.connections", "runs.0.qps", "runs.0.errors.EADDRNOTAVAIL",
		"runs.0.errors.ECONNREFUSED", "runs.0.errors.ECONNRESET", "runs.0.errors.EMFILE",
		"runs.0.errors.timeout", "runs.0.errors.http_status",
		"runs.0.latency_us.p50", "runs.0.latency_us.p90", "runs.0.latency_us.p99", "runs.0.latency_us.p999",
		"runs.0.latency_us.max", "runs.0.latency_hdr",
		"runs.0.closes.client_first", "runs.0.closes.server_first", "runs.0.closes.client_rst", "runs.0.closes.server_rst",
		"runs.0.client.sampled", "runs.0.client.peak.TIME_WAIT", "runs.0.client.peak.ESTABLISHED",
		"runs.0.client.final.TIME_WAIT", "runs.0.client.time_wait_per_request", "runs.0.client.series.0.t",
		"runs.0.client.series.0.TIME_WAIT", "runs.0.server.sampled", "runs.0.server.peak.TIME_WAIT",
		"runs.0.server.final.TIME_WAIT", "runs.0.server.time_wait_per_request", "runs.0.server.series.0.TIME_WAIT",
		"runs.0.ports.ports_per_qps", "runs.0.ports.usable_ports", "runs.0.ports.max_sustainable_qps.in_force",
		"runs.0.ports.max_sustainable_qps.loopback", "runs.0.ports.max_sustainable_qps.network",
		"runs.0.time_wait_seconds", "runs.0.kernel_counters.TCPTimeWaitOverflow", "runs.0.kernel_counters.TWRecycled",
		"runs.0.expectations",
	} {
		if !has(doc, path) {
			t.Errorf("the JSON report has no %s", path)
		}
	}
	if doc["schema"] != "twbench.report/v1" {
		t.Errorf("schema = %v; want twbench.report/v1", doc["schema"])
	}
}

// has looks up a dotted path; map keys may themselves hold dots
// (net.ipv4.tcp_tw_reuse), so the longest matching key is tried first.
func has(v any, path string) bool {
	if path == "" {
		return true
	}
	switch x := v.(type) {
	case map[string]any:
		parts := strings.Split(path, ".")
		for n := len(parts); n > 0; n-- {
			if child, ok := x[strings.Join(parts[:n], ".")]; ok && has(child, strings.Join(parts[n:], ".")) {
				return true
			}
		}
	case []any:
		head, rest, _ := strings.Cut(path, ".")
		if head == "0" && len(x) > 0 {
			return has(x[0], rest)
		}
	}
	return false
}

func TestSeriesPointRoundTrip(t *testing.T) {
	var p report.Point
	p.T = 1.25
	p.Counts[sockstat.TimeWait] = 14116
	p.Counts[sockstat.CloseWait] = 3
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"t":1.250,"TIME_WAIT":14116,"ESTABLISHED":0,`) {
		t.Errorf("Marshal(point) = %s; want t first, then TIME_WAIT", b)
	}
	var back report.Point
	if err := json.Unmarshal(b, &back); err != nil || back != p {
		t.Errorf("Unmarshal(%s) = %+v, %v; want %+v", b, back, err, p)
	}
}

func TestPortCeilings(t *testing.T) {
	const lifetime = 400 * time.Microsecond
	for _, tc := range []struct {
		name          string
		reuse, stamps string
		loopback      bool
		closes        loadgen.Closes
		wantPPQ       float64 // ports_per_qps
		wantNet       float64
		wantLoop      float64
		wantInForce   string
	}{
		// The seed's arithmetic: 28,232 ports / 60 s ≈ 470/s over a network.
		{"client closes, reuse=2", "2", "1", true, loadgen.Closes{ClientFirst: 1000}, 60.0004, 470.5, 28221, "loopback"},
		{"client closes, reuse=1 applies everywhere", "1", "1", false, loadgen.Closes{ClientFirst: 1000}, 60.0004, 28221, 28221, "network"},
		{"client closes, reuse=0", "0", "1", true, loadgen.Closes{ClientFirst: 1000}, 60.0004, 470.5, 470.5, "loopback"},
		{"client closes, no timestamps: no reuse", "2", "0", true, loadgen.Closes{ClientFirst: 1000}, 60.0004, 470.5, 470.5, "loopback"},
		{"server closes: only the lifetime", "2", "1", true, loadgen.Closes{ServerFirst: 1000}, 0.0004, 70580000, 70580000, "loopback"},
		{"half and half", "0", "1", true, loadgen.Closes{ServerFirst: 500, ClientFirst: 500}, 30.0004, 941, 941, "loopback"},
		{"RST: no TIME_WAIT", "0", "1", true, loadgen.Closes{ClientRST: 1000}, 0.0004, 70580000, 70580000, "loopback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := report.Build(report.Input{
				Scenario: sc("x", loadgen.HTTP11, loadgen.CloserClient), Loopback: tc.loopback,
				Result: result(1000, lifetime, tc.closes), Host: host(tc.reuse, tc.stamps),
				Samples: samples(false, 100),
			})
			p := run.Ports
			if math.Abs(p.PortsPerQPS-tc.wantPPQ) > 1e-6 {
				t.Errorf("ports_per_qps = %v; want %v", p.PortsPerQPS, tc.wantPPQ)
			}
			if p.UsablePorts != 28232 {
				t.Errorf("usable_ports = %d; want 28232", p.UsablePorts)
			}
			if got := *p.MaxSustainableQPS.Network; math.Abs(got-tc.wantNet) > 1 {
				t.Errorf("network ceiling = %v; want %v", got, tc.wantNet)
			}
			if got := *p.MaxSustainableQPS.Loopback; math.Abs(got-tc.wantLoop) > 1 {
				t.Errorf("loopback ceiling = %v; want %v", got, tc.wantLoop)
			}
			if p.MaxSustainableQPS.InForce != tc.wantInForce {
				t.Errorf("in_force = %s; want %s", p.MaxSustainableQPS.InForce, tc.wantInForce)
			}
			// The sentence's port hold is the one its ceiling comes from.
			reuse := strings.Contains(report.Explain(&run), "tcp_tw_reuse=1 hands it back after 1.0 s")
			if want := tc.reuse == "1" && tc.closes.ClientFirst > 0; reuse != want {
				t.Errorf("Explain = %q; want it to say that tcp_tw_reuse=1 hands ports back: %v", report.Explain(&run), want)
			}
		})
	}
}

func TestUnsampledEnds(t *testing.T) {
	run := report.Build(report.Input{
		Scenario:        sc("remote", loadgen.HTTP11, loadgen.CloserClient),
		Result:          result(100, time.Millisecond, loadgen.Closes{ClientFirst: 100}),
		Host:            host("2", "1"),
		Samples:         samples(false, 10),
		ServerUnsampled: "the target 10.0.0.1:80 is not on this host",
	})
	if !run.Client.Sampled || run.Server.Sampled || run.Server.Reason == "" {
		t.Errorf("client sampled %v, server sampled %v (%q); want true, false with a reason",
			run.Client.Sampled, run.Server.Sampled, run.Server.Reason)
	}
	if got := report.Explain(&run); !strings.Contains(got, "server end was not sampled: the target 10.0.0.1:80 is not on this host") {
		t.Errorf("Explain = %q; want it to say why the server end was not sampled", got)
	}
	none := report.Build(report.Input{
		Scenario:        sc("nowhere", loadgen.HTTP11, loadgen.CloserClient),
		Result:          result(100, time.Millisecond, loadgen.Closes{ClientFirst: 100}),
		ClientUnsampled: "sampling needs Linux", ServerUnsampled: "sampling needs Linux",
	})
	if none.Client.Sampled || none.Sampling != nil || none.TimeWaitSeconds != nil {
		t.Errorf("without samples: client sampled %v, sampling %v, time_wait_seconds %v; want false, nil, nil",
			none.Client.Sampled, none.Sampling, none.TimeWaitSeconds)
	}
	if none.Ports.MaxSustainableQPS.Network != nil {
		t.Errorf("without host settings the ceiling is %v; want null", *none.Ports.MaxSustainableQPS.Network)
	}
}

// TestExplain checks the one sentence per scenario against what each run
// showed.
func TestExplain(t *testing.T) {
	r := fixture()
	for i, want := range [][]string{
		{"the server held the TIME_WAIT (40,000 at peak, 1.00 new per request; the client 0 at peak)",
			"the server sent the first FIN on 100% of 40,000 connections", "as ab does"},
		{"the client held the TIME_WAIT (40,000 at peak, 1.00 new per request; the server 0 at peak)",
			"the client sent the first FIN on 100% of 40,000 connections",
			"one source address sustains about 471 new connections/s to this target over a network"},
		{"neither end held TIME_WAIT during the load", "closed by twbench when the load stopped"},
	} {
		got := report.Explain(&r.Runs[i])
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("Explain(%s) = %q; want it to contain %q", r.Runs[i].Scenario.Name, got, w)
			}
		}
	}

	// A server that closes although the client was to: the sentence says so.
	defiant := report.Build(report.Input{
		Scenario: sc("defiant", loadgen.HTTP11, loadgen.CloserClient), Loopback: true,
		Result:  result(100, time.Millisecond, loadgen.Closes{ServerFirst: 100}),
		Samples: samples(true, 10), Host: host("2", "1"),
	})
	if got := report.Explain(&defiant); !strings.Contains(got, `although the closer was "client": the server closed them itself`) {
		t.Errorf("Explain(defiant) = %q; want it to say the server ignored the closer", got)
	}
}

func TestExplainFailures(t *testing.T) {
	res := result(0, time.Millisecond, loadgen.Closes{ClientFirst: 20})
	res.Errors[loadgen.ErrTimeout] = 20
	none := report.Build(report.Input{Scenario: sc("silent", loadgen.HTTP11, loadgen.CloserClient),
		Result: res, Samples: samples(false, 2), Host: host("2", "1"), Loopback: true})
	if got := report.Explain(&none); got != "no request succeeded: 20 of 20 requests failed (timeout 20)." {
		t.Errorf("Explain(all failed) = %q", got)
	}
	if none.Client.TimeWaitPerRequest != nil {
		t.Errorf("time_wait_per_request with no request = %v; want null", *none.Client.TimeWaitPerRequest)
	}

	some := result(100, time.Millisecond, loadgen.Closes{ClientFirst: 105})
	some.Errors[loadgen.ErrConnReset] = 5
	some.CloseErrors[loadgen.ErrTimeout] = 2
	run := report.Build(report.Input{Scenario: sc("flaky", loadgen.HTTP11, loadgen.CloserClient),
		Result: some, Samples: samples(false, 10), Host: host("2", "1"), Loopback: true})
	got := report.Explain(&run)
	if !strings.HasSuffix(got, ". 5 of 105 requests failed (ECONNRESET 5); the server did not close as it was to (timeout 2).") {
		t.Errorf("Explain(some failed) = %q; want it to end with the failures", got)
	}
	b := text(t, run)
	if !strings.Contains(b, "5 (ECONNRESET 5); failed closes: timeout 2") {
		t.Errorf("the errors row does not show the failed closes:\n%s", b)
	}
}

func TestBaselineIsShown(t *testing.T) {
	s := samples(true, 10)
	for i := range s {
		s[i].Server[sockstat.TimeWait] += 6 // left by an earlier run
	}
	run := report.Build(report.Input{Scenario: sc("again", loadgen.HTTP10, loadgen.CloserServer),
		Result: result(100, time.Millisecond, loadgen.Closes{ServerFirst: 100}), Samples: s,
		Host: host("2", "1"), Loopback: true})
	if run.Server.Baseline["TIME_WAIT"] != 6 || run.Server.Peak["TIME_WAIT"] != 106 {
		t.Errorf("server baseline %d, peak %d; want 6, 106", run.Server.Baseline["TIME_WAIT"], run.Server.Peak["TIME_WAIT"])
	}
	b := text(t, run)
	if !strings.Contains(b, "106 / 106 (6 before)") {
		t.Errorf("the table does not show the TIME_WAIT there before the run:\n%s", b)
	}
}

func TestKeepAlivePoolPorts(t *testing.T) {
	for _, d := range []time.Duration{2 * time.Second, 10 * time.Second} {
		res := result(int64(4000*d.Seconds()), d, loadgen.Closes{ClientFirst: 64})
		res.Elapsed = d
		run := report.Build(report.Input{Scenario: sc("pool", loadgen.HTTP11, loadgen.CloserNone),
			Result: res, Samples: samples(false, 0), Host: host("2", "1"), Loopback: true})
		// 64 ports held for 4,000 requests/s, whatever the run's length.
		if p := run.Ports; math.Abs(p.PortsPerQPS-0.016) > 1e-9 || p.MaxSustainableQPS.Network != nil || p.MaxSustainableQPS.Loopback != nil {
			t.Errorf("%v run: ports_per_qps %v, ceilings %v, %v; want 0.016 and none", d, p.PortsPerQPS,
				p.MaxSustainableQPS.Network, p.MaxSustainableQPS.Loopback)
		}
	}
}

func TestNoRuns(t *testing.T) {
	b := text(t)
	if !strings.Contains(b, "No scenario ran.") || strings.Contains(b, "protocol, closer") {
		t.Errorf("an empty report prints:\n%s", b)
	}
}

// text writes runs as the text report.
func text(t *testing.T, runs ...report.Run) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteText(&b, &report.Report{Host: host("2", "1"), Runs: runs}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
