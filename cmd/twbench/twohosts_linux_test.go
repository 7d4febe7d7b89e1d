package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/twbench/twbench/report"
)

// Two hosts in network namespaces: the test creates a server and a client
// namespace joined by a veth pair, with addresses of its own inside them,
// and deletes both namespaces (and with them the veth pair) when it ends,
// even on failure. Nothing outside the two namespaces is touched: the
// narrow port range is set in the client namespace only.

const (
	nsServerAddr = "10.99.0.1"
	nsClientAddr = "10.99.0.2"
	nsPortLo     = 50000
	nsPortHi     = 50199 // 200 ephemeral ports in the client namespace
	nsToken      = "twbench-netns-test-token"
)

// ip runs ip(8) and fails the test on error.
func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// twoHosts creates the namespaces and returns their names.
func twoHosts(t *testing.T) (server, client string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root: skipping the two-host test")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed: skipping the two-host test")
	}
	pid := os.Getpid()
	server, client = fmt.Sprintf("twb%d-srv", pid), fmt.Sprintf("twb%d-cli", pid)
	for _, ns := range []string{server, client} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Skipf("cannot create a network namespace here (%v: %s): skipping the two-host test", err, bytes.TrimSpace(out))
		}
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
			}
		})
	}
	// Both ends are created inside the namespaces, never in the host's.
	ip(t, "-n", server, "link", "add", "veth-srv", "type", "veth", "peer", "name", "veth-cli", "netns", client)
	ip(t, "-n", server, "addr", "add", nsServerAddr+"/24", "dev", "veth-srv")
	ip(t, "-n", client, "addr", "add", nsClientAddr+"/24", "dev", "veth-cli")
	for _, ns := range []string{server, client} {
		ip(t, "-n", ns, "link", "set", "lo", "up")
	}
	ip(t, "-n", server, "link", "set", "veth-srv", "up")
	ip(t, "-n", client, "link", "set", "veth-cli", "up")
	// /proc/sys/net is the reading process's namespace's.
	set := fmt.Sprintf("echo '%d %d' > /proc/sys/net/ipv4/ip_local_port_range", nsPortLo, nsPortHi)
	ip(t, "netns", "exec", client, "sh", "-c", set)
	return server, client
}

// runIn runs `twbench run ARGS --format json` in namespace ns and decodes
// its report.
func runIn(t *testing.T, ns string, env []string, args ...string) *report.Run {
	t.Helper()
	argv := append([]string{"netns", "exec", ns, twbenchBinary(t), "run"}, args...)
	argv = append(argv, "--format", "json", "--no-progress")
	cmd := exec.Command("ip", argv...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("twbench run %s in %s: %v\n%s", strings.Join(args, " "), ns, err, stderr.String())
	}
	var rep report.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || len(rep.Runs) != 1 {
		t.Fatalf("twbench run %s: report %v\n%s", strings.Join(args, " "), err, stdout.String())
	}
	return &rep.Runs[0]
}

func TestTwoHosts(t *testing.T) {
	needSampling(t)
	serverNS, clientNS := twoHosts(t)
	bin := twbenchBinary(t)
	stdout, _ := startProcess(t, nil, "ip", "netns", "exec", serverNS, bin, "serve",
		"--listen", "http://"+nsServerAddr+":8080", "--agent", nsServerAddr+":9911", "--token", nsToken)
	target := waitFor(t, stdout, "close policy") + "/"
	agent := waitFor(t, stdout, "agent listening on")
	token := []string{tokenEnv + "=" + nsToken}

	// Without the token the agent refuses; the run goes on without the
	// server end.
	r := runIn(t, clientNS, []string{tokenEnv + "="}, "--target", target, "--protocol", "http1.0", "-n", "5", "--server-agent", agent)
	if r.Requests != 5 || r.Server.Sampled || !strings.Contains(r.Server.Reason, "401") {
		t.Errorf("without the token: %d requests, server sampled %v (%s); want 5 requests and the agent's 401",
			r.Requests, r.Server.Sampled, r.Server.Reason)
	}

	// ab's way, the server closing: 600 connections from 200 ports, no
	// error, every TIME_WAIT on the server host.
	r = runIn(t, clientNS, token, "--target", target, "--protocol", "http1.0", "--closer", "server",
		"--rate", "300", "-d", "2s", "--server-agent", agent)
	t.Logf("server closes over veth: %d requests, errors %v; server (agent %s, clock %+.2f ms) new TIME_WAIT %d, its kernel's TW counter +%d; client %d",
		r.Requests, r.Errors, r.Server.AgentURL, deref(r.Server.ClockOffsetMS), r.Server.NewTimeWait, r.Server.KernelCounters["TW"], r.Client.NewTimeWait)
	if r.Requests != 600 || errorCount(r) != 0 {
		t.Errorf("server closes: %d requests, errors %v; want 600, none failed: the client holds no TIME_WAIT", r.Requests, r.Errors)
	}
	// Each client port comes back about every 0.7 s, and its SYN takes
	// over the server's TIME_WAIT on the same 4-tuple: some are gone before
	// the next sample, which the host's other sockets slow (the kernel's
	// table is the host's, namespaces or not): 490 to 557 were seen on a
	// quiet host, 312 while other tests filled it. The exact count is the
	// kernel's TW counter, below.
	if r.Server.Source != report.SourceAgent || r.Server.NewTimeWait < 200 || r.Client.NewTimeWait != 0 {
		t.Errorf("server closes: server (%s) new TIME_WAIT %d, client %d; want most of the 600 on the server from its agent, 0 on the client",
			r.Server.Source, r.Server.NewTimeWait, r.Client.NewTimeWait)
	}
	// The server namespace is the test's own: its kernel counter is exact.
	if got := r.Server.KernelCounters["TW"]; got != 600 {
		t.Errorf("server closes: the server host's TW counter rose by %d; want 600, one per connection", got)
	}
	if r.TimeWaitSeconds == nil {
		t.Errorf("server closes: time_wait_seconds null; want it measured on the server host")
	}
	if h := r.Server.Host; h == nil || h.Sysctl["net.ipv4.ip_local_port_range"] == fmt.Sprintf("%d %d", nsPortLo, nsPortHi) {
		t.Errorf("server host settings %v; want the server namespace's own, not the client's narrow range", h)
	}

	// The client closing: over veth tcp_tw_reuse=2 does not apply, so each
	// request holds a port for 60 s and connect() fails with EADDRNOTAVAIL
	// once the 200 ports are used, as the network ceiling predicts.
	r = runIn(t, clientNS, token, "--target", target, "--protocol", "http1.1", "--closer", "client",
		"--rate", "400", "-d", "2s", "--server-agent", agent)
	p := r.Ports
	if p.MaxSustainableQPS.InForce != report.RegimeNetwork || p.UsablePorts != nsPortHi-nsPortLo+1 || p.MaxSustainableQPS.Network == nil {
		t.Fatalf("client closes: ports %+v; want the network regime in force and %d usable ports", p, nsPortHi-nsPortLo+1)
	}
	ceiling := *p.MaxSustainableQPS.Network
	// Ports run out after ceiling × TIME_WAIT length connections.
	predicted := ceiling * p.TimeWaitS
	firstFail := -1.0
	var beforeFail int64
	for _, tp := range r.Throughput {
		if tp.Errors > 0 {
			firstFail = tp.T
			break
		}
		beforeFail = tp.Requests
	}
	t.Logf("client closes over veth: network ceiling %.2f/s × %.0f s TIME_WAIT = %.0f connections predicted; %d requests, EADDRNOTAVAIL %d, first at t=%.2f s after %d requests; client new TIME_WAIT %d, server %d",
		ceiling, p.TimeWaitS, predicted, r.Requests, r.Errors["EADDRNOTAVAIL"], firstFail, beforeFail, r.Client.NewTimeWait, r.Server.NewTimeWait)
	if r.Errors["EADDRNOTAVAIL"] == 0 || firstFail < 0 {
		t.Fatalf("client closes at 400/s with a ceiling of %.2f/s: no EADDRNOTAVAIL (errors %v)", ceiling, r.Errors)
	}
	if math.Abs(float64(r.Requests)-predicted) > 0.05*predicted {
		t.Errorf("client closes: %d requests before the ports ran out; the ceiling predicts %.0f", r.Requests, predicted)
	}
	if r.Requests+r.Errors["EADDRNOTAVAIL"] != 800 {
		t.Errorf("client closes: %d requests + %d EADDRNOTAVAIL; want the 800 sent", r.Requests, r.Errors["EADDRNOTAVAIL"])
	}
	if r.Client.NewTimeWait != r.Requests || r.Server.NewTimeWait != 0 {
		t.Errorf("client closes: new TIME_WAIT client %d, server %d; want one per request on the client, none on the server",
			r.Client.NewTimeWait, r.Server.NewTimeWait)
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
