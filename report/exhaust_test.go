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
