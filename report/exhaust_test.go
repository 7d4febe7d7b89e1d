package report_test

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// TestExhaustion: 115 attempts/s against 100 ports that come back after a
// second; errors begin at 0.87 s, when all 100 are in use, none comes back
// before 1 s, and then 100 connections/s succeed: 400 in the 4.13 s from
// the first error.
// The report says when, at what rates, and compares with the ceiling that
// the client port range gives in the loopback regime.
func TestExhaustion(t *testing.T) {
	res := result(500, 300*time.Microsecond, loadgen.Closes{ClientFirst: 500})
	res.Connections = 500
	res.Errors[loadgen.ErrAddrNotAvail] = 75
	res.Onset[loadgen.ErrAddrNotAvail] = loadgen.Progress{T: 870 * time.Millisecond, Requests: 100, Connections: 100}
	res.Elapsed = 5 * time.Second
	// Cumulative counts at each second: 100 connections by 0.87 s and 13
	// errors in the rest of the first second; then 100 connections and 15
	// errors a second.
	for i := int64(1); i <= 5; i++ {
		p := loadgen.Progress{T: time.Duration(i) * time.Second, Requests: 100 * i, Connections: 100 * i}
		p.Errors[loadgen.ErrAddrNotAvail] = 15*i - 2
		res.Timeline = append(res.Timeline, p)
	}
	res.Errors[loadgen.ErrAddrNotAvail] = 73
	sc := sc("port-exhaustion", loadgen.HTTP11, loadgen.CloserClient)
	sc.Rate = 115
	sc.ClientPortRange = "40000-40099"
	sc.Sources = []string{"127.0.0.2", "127.0.0.3"}
	res.Sources = []loadgen.SourceStats{
		{Addr: netip.MustParseAddr("127.0.0.2"), Connections: 250, NoPort: 40},
		{Addr: netip.MustParseAddr("127.0.0.3"), Connections: 250, NoPort: 33},
	}
	run := report.Build(report.Input{Scenario: sc, Loopback: true, Result: res, Host: host("2", "1"), Samples: samples(false, 50)})

	p := run.Ports
	if p.PortRange != "40000-40099" || p.PortRangeFrom != "client_port_range" || p.UsablePorts != 200 {
		t.Errorf("ports = %s from %q, %d usable; want 40000-40099 from client_port_range, 2 × 100", p.PortRange, p.PortRangeFrom, p.UsablePorts)
	}
	if len(p.Sources) != 2 || p.Sources[0].UsablePorts != 100 || p.Sources[1].NoPort != 33 {
		t.Errorf("sources = %+v; want each with 100 ports", p.Sources)
	}
	if len(run.Exhaustion) != 1 {
		t.Fatalf("exhaustion = %+v; want one, EADDRNOTAVAIL", run.Exhaustion)
	}
	e := run.Exhaustion[0]
	if e.Error != "EADDRNOTAVAIL" || e.Count != 73 || e.FirstS != 0.87 || e.Regime != "loopback" {
		t.Errorf("exhaustion = %+v; want EADDRNOTAVAIL × 73 from 0.87 s, loopback", e)
	}
	if math.Abs(e.ConnectedRate-96.9) > 0.1 || math.Abs(e.OfferedRate-114.5) > 0.1 {
		t.Errorf("connected %.1f/s, offered %.1f/s; want 400 / 4.13 s = 96.9 and 473 / 4.13 s = 114.5", e.ConnectedRate, e.OfferedRate)
	}
	// 200 ports, each held 1 s and 300 µs: 200 / 1.0003 s, a whole rate.
	if e.PredictedRate == nil || *e.PredictedRate != 200 || e.Ratio == nil || math.Abs(*e.Ratio-0.485) > 0.001 {
		t.Errorf("predicted %v, ratio %v; want 200/s (200 / 1.0003 s, whole) and 0.485", fmtPtr(e.PredictedRate), fmtPtr(e.Ratio))
	}
	if len(run.PerSecond) != 5 || run.PerSecond[0].Errors["EADDRNOTAVAIL"] != 13 || run.PerSecond[1].Connections != 100 {
		t.Errorf("per_second = %+v; want 5 seconds, 13 errors in the first, 100 connections a second", run.PerSecond)
	}
}

// TestExhaustionShortRun: in the network regime a port is held 60 s; a
// 5 s run cannot show the steady state, so there is no ratio, and a note
// says why.
func TestExhaustionShortRun(t *testing.T) {
	res := result(100, 300*time.Microsecond, loadgen.Closes{ClientFirst: 100})
	res.Elapsed = 5 * time.Second
	res.Errors[loadgen.ErrAddrNotAvail] = 400
	res.Onset[loadgen.ErrAddrNotAvail] = loadgen.Progress{T: 870 * time.Millisecond, Requests: 100, Connections: 100}
	res.Timeline = []loadgen.Progress{{T: 5 * time.Second, Requests: 100, Connections: 100}}
	res.Timeline[0].Errors[loadgen.ErrAddrNotAvail] = 400
	s := sc("net", loadgen.HTTP11, loadgen.CloserClient)
	s.ClientPortRange = "40000-40099"
	run := report.Build(report.Input{Scenario: s, Loopback: false, Result: res, Host: host("2", "1")})
	if len(run.Exhaustion) != 1 || run.Exhaustion[0].Ratio != nil || run.Exhaustion[0].ConnectedRate != 0 {
		t.Fatalf("exhaustion = %+v; want no connections after the first error and no ratio", run.Exhaustion)
	}
	if p := run.Exhaustion[0].PredictedRate; p == nil || math.Abs(*p-1.67) > 0.01 {
		t.Errorf("predicted %v; want 100 ports / 60 s = 1.67/s", p)
	}
	found := false
	for _, n := range run.Notes {
		found = found || strings.Contains(n, "shorter than twice the time a port is held")
	}
	if !found {
		t.Errorf("notes = %q; want one saying the run was too short for the steady state", run.Notes)
	}
}

// TestClientPortRangeClamp: the kernel takes each bound of a per-socket
// range only where it lies within ip_local_port_range.
func TestClientPortRangeClamp(t *testing.T) {
	for _, tc := range []struct{ given, want string }{
		{"40000-40099", "40000-40099"},
		{"30000-40000", "32768-40000"},
		{"60000-65000", "60000-60999"},
		{"1-2", "32768-60999"},
	} {
		s := sc("x", loadgen.HTTP11, loadgen.CloserClient)
		s.ClientPortRange = tc.given
		run := report.Build(report.Input{Scenario: s, Result: result(10, time.Millisecond, loadgen.Closes{ClientFirst: 10}), Host: host("2", "1")})
		if run.Ports.PortRange != tc.want {
			t.Errorf("client port range %s: port_range = %s; want %s", tc.given, run.Ports.PortRange, tc.want)
		}
	}
}

func fmtPtr(v *float64) string {
	if v == nil {
		return "null"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// TestExhaustionMeasuredCeiling: the client closes first over a network
// path, 4,000 connections/s with 28,232 ports held 60 s each. The first
// EADDRNOTAVAIL comes after 28,200 connections at 7.05 s, well within the
// TIME_WAIT length, so those were all the ports there were: measured,
// 28,200 / 60.0003 s = 470.0/s, 0.998 of the 471/s the settings predict.
// The process spent 0.5 s of system time on the 28,200 connections
// before it, and 10 s on the 20,000 attempts after it.
func TestExhaustionMeasuredCeiling(t *testing.T) {
	res := result(28200, 300*time.Microsecond, loadgen.Closes{ClientFirst: 28200})
	res.Elapsed = 12 * time.Second
	res.Errors[loadgen.ErrAddrNotAvail] = 20000
	res.Onset[loadgen.ErrAddrNotAvail] = loadgen.Progress{T: 7050 * time.Millisecond, Requests: 28200, Connections: 28200}
	for i := int64(1); i <= 12; i++ {
		p := loadgen.Progress{T: time.Duration(i) * time.Second, Requests: min(4000*i, 28200), Connections: min(4000*i, 28200)}
		p.Errors[loadgen.ErrAddrNotAvail] = max(0, 4000*i-28200)
		res.Timeline = append(res.Timeline, p)
	}
	cpu := []report.CPUSample{
		{At: start, User: time.Second, System: time.Second},
		{At: start.Add(7050 * time.Millisecond), User: 2 * time.Second, System: 1500 * time.Millisecond},
		{At: start.Add(12 * time.Second), User: 2500 * time.Millisecond, System: 11500 * time.Millisecond},
	}
	s := sc("client-closes-network", loadgen.HTTP11, loadgen.CloserClient)
	s.Duration = scenario.Duration(12 * time.Second)
	// The TIME_WAIT length measured (samples' timers at 60 s).
	run := report.Build(report.Input{Scenario: s, Result: res, Host: host("2", "1"), Samples: samples(false, 100), CPU: cpu,
		Topology: &report.Topology{Name: "veth", ClientAddress: "198.18.0.2", ServerAddress: "198.18.0.1"}})
	if run.Ports.MaxSustainableQPS.InForce != "network" || run.Ports.UsablePorts != 28232 {
		t.Fatalf("ports %+v; want the network regime with 28,232 ports", run.Ports)
	}
	if len(run.Exhaustion) != 1 {
		t.Fatalf("exhaustion = %+v; want EADDRNOTAVAIL", run.Exhaustion)
	}
	e := run.Exhaustion[0]
	if e.ConnectionsBefore != 28200 {
		t.Errorf("connections_before = %d; want 28,200", e.ConnectionsBefore)
	}
	if e.MeasuredCeiling == nil || math.Abs(*e.MeasuredCeiling-470.0) > 0.05 || e.MeasuredRatio == nil || math.Abs(*e.MeasuredRatio-0.998) > 0.0005 {
		t.Errorf("measured ceiling %s, ratio %s; want 470.0/s (28,200 / 60.0003 s) and 0.998 of 471", fmtPtr(e.MeasuredCeiling), fmtPtr(e.MeasuredRatio))
	}
	if e.Ratio != nil {
		t.Errorf("ratio %s; want null: 12 s is too short for ports held 60 s to cycle", fmtPtr(e.Ratio))
	}
	b, a := e.CPUBefore, e.CPUAfter
	if b == nil || a == nil {
		t.Fatalf("cpu before %+v, after %+v; want both", b, a)
	}
	if b.Attempts != 28200 || b.SystemS != 0.5 || *b.SystemUSPerAttempt != 17.7 {
		t.Errorf("cpu before = %+v; want 28,200 attempts, 0.5 s system, 17.7 µs each", *b)
	}
	if a.Attempts != 19800 || a.SystemS != 10 || math.Abs(*a.SystemUSPerAttempt-505.1) > 0.05 || a.S != 4.95 {
		t.Errorf("cpu after = %+v (%s µs each); want 19,800 attempts in 4.95 s, 10 s system, 505.1 µs each", *a, fmtPtr(a.SystemUSPerAttempt))
	}
	if run.CPU == nil || run.CPU.SystemS != 10.5 || run.CPU.UserS != 1.5 {
		t.Errorf("cpu = %+v; want 1.5 s user, 10.5 s system over the load", run.CPU)
	}
	if run.Topology == nil || run.Host == nil || run.Host.Sysctl[sockstat.SysctlTWReuse] != "2" {
		t.Errorf("topology %+v, host %+v; want veth and the namespace's settings", run.Topology, run.Host)
	}
	var text strings.Builder
	if err := report.WriteText(&text, &report.Report{Host: host("2", "1"), Runs: []report.Run{run}}); err != nil {
		t.Fatal(err)
	}
	flat := strings.Join(strings.Fields(text.String()), " ")
	for _, want := range []string{"no port (EADDRNOTAVAIL) from 7.05 s, after 28,200 conns", "max qps, measured 470/s (0.998 of predicted)",
		"measured: 28,200 connections before the first, 99.9% of the usable ports", "505.1 µs of system time",
		"topology veth: client 198.18.0.2 (kernel 6.18.44, ports 32768-60999", "failed connects, system CPU 20,000, 505.1 µs each"} {
		if !strings.Contains(flat, want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

// The measured ceiling is only the ports when none could have come back
// before the first error: not when it came after a port's hold.
func TestExhaustionMeasuredCeilingLate(t *testing.T) {
	res := result(100, 300*time.Microsecond, loadgen.Closes{ClientFirst: 100})
	res.Errors[loadgen.ErrAddrNotAvail] = 10
	res.Onset[loadgen.ErrAddrNotAvail] = loadgen.Progress{T: 1500 * time.Millisecond, Requests: 150, Connections: 150}
	res.Timeline = []loadgen.Progress{{T: 5 * time.Second, Requests: 100, Connections: 100}}
	s := sc("x", loadgen.HTTP11, loadgen.CloserClient)
	s.ClientPortRange = "40000-40099"
	run := report.Build(report.Input{Scenario: s, Loopback: true, Result: res, Host: host("2", "1"), Samples: samples(false, 10)})
	if e := run.Exhaustion[0]; e.MeasuredCeiling != nil || e.ConnectionsBefore != 150 {
		t.Errorf("first error at 1.5 s, ports back after 1 s: measured ceiling %s, %d before; want null, 150", fmtPtr(e.MeasuredCeiling), e.ConnectionsBefore)
	}
}

// Under tcp_tw_reuse a port is held for the reuse delay, a setting, not
// the measured TIME_WAIT: an exhaustion within it makes no measured
// ceiling, which would only repeat the prediction.
func TestExhaustionMeasuredCeilingReuse(t *testing.T) {
	res := result(100, 300*time.Microsecond, loadgen.Closes{ClientFirst: 100})
	res.Errors[loadgen.ErrAddrNotAvail] = 10
	res.Onset[loadgen.ErrAddrNotAvail] = loadgen.Progress{T: 500 * time.Millisecond, Requests: 100, Connections: 100}
	res.Timeline = []loadgen.Progress{{T: 2 * time.Second, Requests: 100, Connections: 100}}
	s := sc("x", loadgen.HTTP11, loadgen.CloserClient)
	s.ClientPortRange = "40000-40099"
	run := report.Build(report.Input{Scenario: s, Loopback: true, Result: res, Host: host("2", "1"), Samples: samples(false, 10)})
	if e := run.Exhaustion[0]; e.MeasuredCeiling != nil || e.MeasuredRatio != nil {
		t.Errorf("loopback, ports back after 1 s: measured ceiling %s, ratio %s; want null", fmtPtr(e.MeasuredCeiling), fmtPtr(e.MeasuredRatio))
	}
}

// TestServerNamespace: under veth the server end is its own namespace's,
// with its settings and counters.
func TestServerNamespace(t *testing.T) {
	srv := host("2", "1")
	srv.Sysctl[sockstat.SysctlMaxTWBuckets] = "5000"
	run := report.Build(report.Input{Scenario: sc("ab-finding-network", loadgen.HTTP10, loadgen.CloserServer),
		Result: result(4000, time.Millisecond, loadgen.Closes{ServerFirst: 4000}), Host: host("2", "1"), Samples: samples(true, 400),
		Topology:   &report.Topology{Name: "veth", UserNamespace: true, ClientAddress: "198.18.0.2", ServerAddress: "198.18.0.1"},
		ServerHost: &srv, ServerCounters: sockstat.Counters{"TW": 4000}, Counters: sockstat.Counters{"TW": 0}})
	if s := run.Server; s.Source != "namespace" || s.Host == nil || s.Host.Sysctl[sockstat.SysctlMaxTWBuckets] != "5000" || s.KernelCounters["TW"] != 4000 {
		t.Errorf("server end: source %q, host %v, counters %v; want its namespace's", s.Source, s.Host, s.KernelCounters)
	}
	if run.KernelCounters["TW"] != 0 {
		t.Errorf("run's counters %v; want the client namespace's", run.KernelCounters)
	}
	var text strings.Builder
	if err := report.WriteText(&text, &report.Report{Host: host("2", "1"), Runs: []report.Run{run}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"veth (user namespace)", "server 198.18.0.1 in a namespace of its own", "tcp_max_tw_buckets=5000",
		"made in a user namespace, without root"} {
		if !strings.Contains(strings.Join(strings.Fields(text.String()), " "), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

// Past tcp_max_tw_buckets the kernel keeps no TIME_WAIT: in a namespace
// of the run's own the sentence says so, and that the ports were free at
// once, not that each was held 60 s.
func TestExplainTimeWaitOverflow(t *testing.T) {
	run := report.Build(report.Input{Scenario: sc("x", loadgen.HTTP11, loadgen.CloserClient),
		Result: result(500, 300*time.Microsecond, loadgen.Closes{ClientFirst: 500}), Host: host("2", "1"), Samples: samples(false, 0),
		Counters: sockstat.Counters{"TW": 0, "TCPTimeWaitOverflow": 500}, Topology: &report.Topology{Name: "netns"}})
	got := strings.Join(strings.Fields(report.Explain(&run)), " ")
	for _, want := range []string{"neither end held TIME_WAIT during the load (the kernel kept none for 500 closes, past tcp_max_tw_buckets",
		"for 500 of them none was kept and the port was free at once"} {
		if !strings.Contains(got, want) {
			t.Errorf("Explain = %q; want %q", got, want)
		}
	}
	if strings.Contains(got, "sustains") {
		t.Errorf("Explain = %q; want no ceiling from ports that were not held", got)
	}
}
