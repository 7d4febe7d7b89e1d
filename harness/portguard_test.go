package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

func TestGuardPorts(t *testing.T) {
	mac := sockstat.Host{Sysctl: map[string]string{
		sockstat.SysctlDarwinMSL:       "15000",
		sockstat.SysctlDarwinPortFirst: "49152",
		sockstat.SysctlDarwinPortLast:  "65535",
	}}
	linux := sockstat.Host{Sysctl: map[string]string{sockstat.SysctlPortRange: "32768 60999"}}
	load := func(c loadgen.Closer, rate float64, d time.Duration, n int64) scenario.Scenario {
		return scenario.Scenario{Name: "s", Protocol: loadgen.HTTP11, Closer: c, Rate: rate,
			Duration: scenario.Duration(d), Requests: n, RequestsPerConn: 1}
	}
	for _, tc := range []struct {
		name string
		sc   scenario.Scenario
		host sockstat.Host
		want int64 // requests after the guard
	}{
		{"client-closes on a Mac", load(loadgen.CloserClient, 4000, 10*time.Second, 0), mac, 14745},
		{"under the ports", load(loadgen.CloserClient, 400, 10*time.Second, 0), mac, 0},
		{"ports come back after 30 s", load(loadgen.CloserClient, 400, 10*time.Minute, 0), mac, 0},
		{"a count over the ports", load(loadgen.CloserClient, 0, 0, 20000), mac, 14745},
		{"a count under them", load(loadgen.CloserClient, 0, 0, 2000), mac, 2000},
		{"closed loop for a while", load(loadgen.CloserClient, 0, 10*time.Second, 0), mac, 14745},
		{"the server closes", load(loadgen.CloserServer, 4000, 10*time.Second, 0), mac, 0},
		{"keep-alive", load(loadgen.CloserNone, 4000, 10*time.Second, 0), mac, 0},
		{"Linux", load(loadgen.CloserClient, 4000, 10*time.Second, 0), linux, 0},
	} {
		got, note := guardPorts(tc.sc, tc.host)
		if got.Requests != tc.want {
			t.Errorf("%s: requests = %d; want %d (note %q)", tc.name, got.Requests, tc.want, note)
		}
		if capped := got.Requests != tc.sc.Requests; capped != strings.Contains(note, "capped at") {
			t.Errorf("%s: capped %v, note %q", tc.name, capped, note)
		}
	}
}
