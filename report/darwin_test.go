package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

// darwinHost is what sockstat.ReadHost reads on a Mac with the default
// settings.
func darwinHost() sockstat.Host {
	return sockstat.Host{Kernel: "24.4.0", Sysctl: map[string]string{
		sockstat.SysctlDarwinPortFirst:  "49152",
		sockstat.SysctlDarwinPortLast:   "65535",
		sockstat.SysctlDarwinMSL:        "15000",
		sockstat.SysctlDarwinFinTimeout: "60000",
	}}
}

// darwinSamples are samples as the macOS sampler takes them: no time left
// on any TIME_WAIT socket.
func darwinSamples(serverEnd bool, tw int) []report.Sample {
	s := samples(serverEnd, tw)
	for i := range s {
		s[i].MaxTimeWaitLeft = 0
	}
	return s
}

// TestDarwinCeilings checks a Mac's figures: TIME_WAIT twice
// net.inet.tcp.msl, said to be read from it, 16,384 ports, and the same
// ceiling in both regimes, 16,384 / 30 s.
func TestDarwinCeilings(t *testing.T) {
	r := report.Build(report.Input{
		Scenario: sc("client-closes", loadgen.HTTP11, loadgen.CloserClient),
		Target:   "http://127.0.0.1:40002/", Builtin: true, Loopback: true,
		Result:  result(40000, 400*time.Microsecond, loadgen.Closes{ClientFirst: 40000}),
		Samples: darwinSamples(false, 4000), Host: darwinHost(),
		Counters: sockstat.Counters{"ActiveOpens": 40000, "PassiveOpens": 40000},
	})
	p := r.Ports
	if p.TimeWaitS != 30 || p.TimeWaitMeasured || p.TimeWaitFrom != sockstat.SysctlDarwinMSL || r.TimeWaitSeconds != nil {
		t.Errorf("TIME_WAIT: time_wait_s %v, measured %v, from %q, time_wait_seconds %v; want 30, false, %q, null",
			p.TimeWaitS, p.TimeWaitMeasured, p.TimeWaitFrom, r.TimeWaitSeconds, sockstat.SysctlDarwinMSL)
	}
	if p.UsablePorts != 16384 || p.PortRange != "49152-65535" {
		t.Errorf("ports: usable %d, range %q; want 16384, 49152-65535", p.UsablePorts, p.PortRange)
	}
	c := p.MaxSustainableQPS
	if c.Loopback == nil || c.Network == nil || *c.Network != 546 || *c.Loopback != 546 || c.InForce != report.RegimeLoopback {
		t.Errorf("max_sustainable_qps = %+v; want 546 in both regimes, loopback in force", c)
	}
	if p.ReuseDelayS != 0 || p.PortHoldS.Loopback != p.PortHoldS.Network {
		t.Errorf("reuse delay %v, port hold %+v; want 0 and the same in both regimes", p.ReuseDelayS, p.PortHoldS)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "twice net.inet.tcp.msl") {
		t.Errorf("notes %q; want one that says the TIME_WAIT length was read from net.inet.tcp.msl", r.Notes)
	}

	rep := &report.Report{Schema: report.Schema, Version: "test", Host: darwinHost(), Runs: []report.Run{r}}
	var b bytes.Buffer
	if err := report.WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"30.0 s (2 × net.inet.tcp.msl)", "ports 49152-65535 (16,384 usable)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
	if err := compileSchema(t).Validate(decodeJSON(t, rep)); err != nil {
		t.Errorf("a macOS report does not validate against the schema: %v", err)
	}
}

// TestDarwinServerCloses checks that a run where the server closed takes
// the length from the setting too, without the note about client ports.
func TestDarwinServerCloses(t *testing.T) {
	r := report.Build(report.Input{
		Scenario: sc("ab-finding", loadgen.HTTP10, loadgen.CloserServer),
		Target:   "http://127.0.0.1:40001/", Builtin: true, Loopback: true,
		Result:  result(40000, 400*time.Microsecond, loadgen.Closes{ServerFirst: 40000}),
		Samples: darwinSamples(true, 4000), Host: darwinHost(),
	})
	if r.Ports.TimeWaitS != 30 || r.Ports.TimeWaitFrom != sockstat.SysctlDarwinMSL {
		t.Errorf("time_wait_s %v from %q; want 30 from %q", r.Ports.TimeWaitS, r.Ports.TimeWaitFrom, sockstat.SysctlDarwinMSL)
	}
	if strings.Contains(strings.Join(r.Notes, "\n"), "net.inet.tcp.msl") {
		t.Errorf("notes %q; want none about client ports when the server closed", r.Notes)
	}
}

// TestLinuxTimeWaitUnchanged checks that a Linux report does not gain
// time_wait_from, measured or not.
func TestLinuxTimeWaitUnchanged(t *testing.T) {
	s := samples(false, 4000)
	for i := range s {
		s[i].MaxTimeWaitLeft = 0
	}
	r := report.Build(report.Input{
		Scenario: sc("client-closes", loadgen.HTTP11, loadgen.CloserClient),
		Target:   "http://127.0.0.1:40002/", Builtin: true, Loopback: true,
		Result:  result(40000, 400*time.Microsecond, loadgen.Closes{ClientFirst: 40000}),
		Samples: s, Host: host("2", "1"),
	})
	if r.Ports.TimeWaitS != 60 || r.Ports.TimeWaitFrom != "" {
		t.Errorf("Linux, no TIME_WAIT timer seen: time_wait_s %v from %q; want 60, none", r.Ports.TimeWaitS, r.Ports.TimeWaitFrom)
	}
}

// TestDarwinMeasuredWins checks that a length measured from timers (the
// server end's, from a Linux agent) is used, not the Mac's setting.
func TestDarwinMeasuredWins(t *testing.T) {
	r := report.Build(report.Input{
		Scenario: sc("ab-finding", loadgen.HTTP10, loadgen.CloserServer),
		Target:   "http://192.0.2.1:8080/", Builtin: false, Loopback: false,
		Result:  result(40000, 400*time.Microsecond, loadgen.Closes{ServerFirst: 40000}),
		Samples: samples(true, 4000), Host: darwinHost(),
	})
	if r.Ports.TimeWaitS != 60 || !r.Ports.TimeWaitMeasured || r.Ports.TimeWaitFrom != "" {
		t.Errorf("time_wait_s %v, measured %v, from %q; want 60, true, none", r.Ports.TimeWaitS, r.Ports.TimeWaitMeasured, r.Ports.TimeWaitFrom)
	}
}
