//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/twbench/twbench/report"
)

// Three of the mitigations suite's scenarios as an unprivileged user,
// cut to 2 s: tcp_tw_reuse=0 runs out of its 1,000 ports, =1 does not
// and says so against it, and tcp_fin_timeout=5 leaves TIME_WAIT at 60 s.
// Their expectations hold at 2 s too (exit 0).
func TestRunMitigationsRootless(t *testing.T) {
	needSampling(t)
	nets := netNamespaces(t)
	stdout, stderr, err := runNobody(t, "run", "tw-reuse-client-off", "tw-reuse-client", "fin-timeout-myth", "-d", "2s",
		"--format", "json", "--no-progress")
	if err != nil {
		t.Fatalf("twbench run as an unprivileged user: %v\n%s", err, stderr.String())
	}
	var rep report.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || len(rep.Runs) != 3 {
		t.Fatalf("report: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	off, reuse, fin := &rep.Runs[0], &rep.Runs[1], &rep.Runs[2]
	// Every port but those whose connections were still being counted
	// when the first connect() failed (one, in a CI run).
	if off.Remedy != nil || len(off.Exhaustion) == 0 || off.Exhaustion[0].ConnectionsBefore < 990 || off.Exhaustion[0].ConnectionsBefore > 1000 {
		t.Fatalf("tw-reuse-client-off: remedy %v, exhaustion %+v; want none, and EADDRNOTAVAIL after the 1,000 ports", off.Remedy, off.Exhaustion)
	}
	m := reuse.Remedy
	n := off.Exhaustion[0].ConnectionsBefore
	ranOut := fmt.Sprintf("where tcp_tw_reuse=0 (tw-reuse-client-off) ran out after %d", n)
	if n >= 1000 {
		ranOut = fmt.Sprintf("where tcp_tw_reuse=0 (tw-reuse-client-off) ran out after %d,%03d", n/1000, n%1000)
	}
	if m == nil || m.Name != "tcp_tw_reuse=1" || m.BaselineValue == nil || *m.BaselineValue == 0 || *m.Value != 0 ||
		!strings.Contains(m.Effect, ranOut) || reuse.KernelCounters["TWRecycled"] == 0 {
		t.Errorf("tw-reuse-client: remedy %+v, TWRecycled %d; want no EADDRNOTAVAIL where the baseline ran out, ports taken back",
			m, reuse.KernelCounters["TWRecycled"])
	}
	m = fin.Remedy
	if fin.Host == nil || fin.Host.Sysctl["net.ipv4.tcp_fin_timeout"] != "5" || m == nil ||
		m.Effect != "tcp_fin_timeout=5 did not shorten TIME_WAIT: 60.0 s measured" {
		t.Errorf("fin-timeout-myth: settings %v, remedy %+v; want tcp_fin_timeout 5, TIME_WAIT still 60 s", fin.Host, m)
	}
	if rep.Host.Sysctl["net.ipv4.tcp_fin_timeout"] == "5" {
		t.Errorf("the host's tcp_fin_timeout is 5: a setting leaked out of the namespaces")
	}
	waitNamespaces(t, nets)
}
