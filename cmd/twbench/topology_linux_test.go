//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twbench/twbench/report"
)

// These tests run twbench in private namespaces; they skip, saying why,
// where the host refuses them. None runs in parallel: they count the
// host's namespaces and interfaces.

// needNamespaces skips a test where this host refuses private namespaces
// (err is the run's), saying why.
func needNamespaces(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "needs network namespaces of its own") {
		t.Skipf("no private namespaces here: %v", err)
	}
}

// A run in topology veth, in process (this test binary is the child):
// the scenario, the settings and the network regime are in its report,
// and the host's namespaces and interfaces are as before.
func TestRunTopologyVeth(t *testing.T) {
	needSampling(t)
	links, nets := hostLinks(t), netNamespaces(t)
	var stdout, stderr bytes.Buffer
	// At 1,000/s, not the scenario's 4,000: its expectation that the rate
	// holds failed at 3,030/s under go test -race beside other packages.
	err := run(context.Background(), []string{"run", "ab-finding-network", "-d", "1s", "--rate", "1000", "--max-tw-buckets", "100000",
		"--format", "json", "--no-progress"}, &stdout, &stderr)
	needNamespaces(t, err)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var rep report.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || len(rep.Runs) != 1 {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	r := rep.Runs[0]
	if r.Topology == nil || r.Topology.Name != "veth" || r.Scenario.NamespaceSettings["max_tw_buckets"] != "100000" {
		t.Errorf("topology %+v, settings %v; want veth with max_tw_buckets 100000", r.Topology, r.Scenario.NamespaceSettings)
	}
	if r.Host == nil || r.Host.Sysctl["net.ipv4.tcp_max_tw_buckets"] != "100000" || r.Server.Host == nil ||
		r.Server.Host.Sysctl["net.ipv4.tcp_max_tw_buckets"] != "100000" {
		t.Errorf("settings in force: client %v, server %v; want tcp_max_tw_buckets 100000 at each end", r.Host, r.Server.Host)
	}
	if rep.Host.Sysctl["net.ipv4.tcp_max_tw_buckets"] == "100000" {
		t.Errorf("the host's tcp_max_tw_buckets is 100000: a setting leaked out of the namespaces")
	}
	if got := hostLinks(t); got != links {
		t.Errorf("host interfaces after the run: %q; want %q as before", got, links)
	}
	waitNamespaces(t, nets)
}

// hostLinks lists the host's interfaces, as ip link does.
func hostLinks(t *testing.T) string {
	t.Helper()
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Skipf("no /sys/class/net: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if ip, err := exec.LookPath("ip"); err == nil {
		out, err := exec.Command(ip, "-o", "link").Output()
		if err != nil {
			t.Fatalf("ip -o link: %v", err)
		}
		names = append(names, string(out))
		out, _ = exec.Command(ip, "netns").Output()
		names = append(names, "netns: "+string(out))
	}
	return strings.Join(names, " ")
}

// netNamespaces lists the network namespaces every thread of twbench's
// processes is in (a namespace made on a thread shows on that thread
// alone): this test binary's, which runs twbench in process and starts
// itself as a job's child, and those of twbench binaries. Other
// packages' tests, which go test runs beside these, make namespaces of
// their own.
func netNamespaces(t *testing.T) []string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, proc := range procs {
		exe, err := os.Readlink(proc + "/exe")
		exe = strings.TrimSuffix(exe, " (deleted)")
		if err != nil || exe != self && filepath.Base(exe) != "twbench" {
			continue
		}
		tasks, _ := filepath.Glob(proc + "/task/[0-9]*/ns/net")
		for _, p := range tasks {
			if ns, err := os.Readlink(p); err == nil && !slices.Contains(out, ns) {
				out = append(out, ns)
			}
		}
	}
	slices.Sort(out)
	return out
}

// waitNamespaces waits up to 2 s for the network namespaces to be those
// of before: a process that was killed takes a moment to be reaped.
func waitNamespaces(t *testing.T, before []string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	got := netNamespaces(t)
	for ; !slices.Equal(got, before) && time.Now().Before(deadline); got = netNamespaces(t) {
		time.Sleep(20 * time.Millisecond)
	}
	// Other programs may end theirs meanwhile: none may be new.
	for _, ns := range got {
		if !slices.Contains(before, ns) {
			t.Errorf("network namespace %s is new since the run began; want none left (before: %v, now: %v)", ns, before, got)
		}
	}
}

// nobodyBinary copies the twbench binary where an unprivileged user can
// run it; the user is nobody when the tests run as root, else this one.
func nobodyBinary(t *testing.T) (bin string, attr *syscall.SysProcAttr) {
	t.Helper()
	bin = twbenchBinary(t)
	if os.Getuid() != 0 {
		return bin, nil
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(dir, "twbench")
	if err := os.WriteFile(copied, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return copied, &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
}

// runNobody runs the twbench binary with args as an unprivileged user
// (nobodyBinary), skipping the test where user namespaces are off.
func runNobody(t *testing.T, args ...string) (stdout, stderr *bytes.Buffer, err error) {
	t.Helper()
	bin, attr := nobodyBinary(t)
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.SysProcAttr = filepath.Dir(bin), attr
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == exitUsage && strings.Contains(stderr.String(), "needs network namespaces of its own") {
		t.Skipf("user namespaces are off here: %s", stderr.String())
	}
	return stdout, stderr, err
}

// As an unprivileged user (nobody under root): the client closes first
// over veth on 100 ports, at 200/s; they run out after half a second,
// every port was used before the first EADDRNOTAVAIL, and the ceiling
// derived from that and the TIME_WAIT length measured is the one the
// settings predict, within 5%. The ab pattern on the same path holds its
// rate with no client TIME_WAIT and no EADDRNOTAVAIL. Nothing is left on
// the host.
func TestRunTopologyRootless(t *testing.T) {
	needSampling(t)
	links, nets := hostLinks(t), netNamespaces(t)
	stdout, stderr, err := runNobody(t, "run", "client-closes-network", "ab-finding-network", "-d", "1500ms", "--rate", "200",
		"--port-range", "40000-40099", "--format", "json", "--no-progress")
	var exit *exec.ExitError
	// The catalogue's expectations are for its 28,232 ports at 4,000/s:
	// with 100 ports at 200/s some fail (exit 1); the figures are checked
	// here.
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == exitExpectation) {
		t.Fatalf("twbench run as an unprivileged user: %v\n%s", err, stderr.String())
	}
	var rep report.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || len(rep.Runs) != 2 {
		t.Fatalf("report: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	cc, ab := &rep.Runs[0], &rep.Runs[1]
	if cc.Topology == nil || !cc.Topology.UserNamespace && os.Getuid() != 0 {
		t.Errorf("topology %+v; want veth, in a user namespace", cc.Topology)
	}
	if len(cc.Exhaustion) == 0 {
		t.Fatalf("client-closes-network: errors %v, no exhaustion; want EADDRNOTAVAIL after the 100 ports", cc.Errors)
	}
	e := cc.Exhaustion[0]
	t.Logf("client-closes-network: %d connections before the first EADDRNOTAVAIL at %.2f s, measured ceiling %v/s, %v of predicted; %d failed attempts",
		e.ConnectionsBefore, e.FirstS, deref(e.MeasuredCeiling), deref(e.MeasuredRatio), e.Count)
	if cc.Ports.UsablePorts != 100 || e.ConnectionsBefore < 99 || e.ConnectionsBefore > 101 {
		t.Errorf("client-closes-network: %d usable ports, %d connections before the first EADDRNOTAVAIL; want 100, within 1%%", cc.Ports.UsablePorts, e.ConnectionsBefore)
	}
	if e.MeasuredRatio == nil || *e.MeasuredRatio < 0.95 || *e.MeasuredRatio > 1.05 || cc.Ports.MaxSustainableQPS.InForce != "network" {
		t.Errorf("client-closes-network: measured/predicted %v, regime %s; want within 5%%, network", e.MeasuredRatio, cc.Ports.MaxSustainableQPS.InForce)
	}
	if ab.Errors["EADDRNOTAVAIL"] != 0 || ab.Client.NewTimeWait != 0 || ab.Requests != 300 || ab.Closes.ServerFirst != 300 {
		t.Errorf("ab-finding-network: %d requests, EADDRNOTAVAIL %d, client TIME_WAIT %d, server first %d; want 300, 0, 0, 300",
			ab.Requests, ab.Errors["EADDRNOTAVAIL"], ab.Client.NewTimeWait, ab.Closes.ServerFirst)
	}
	if got := hostLinks(t); got != links {
		t.Errorf("host interfaces after the run: %q; want %q as before", got, links)
	}
	waitNamespaces(t, nets)
}

// SIGKILL to twbench mid-run leaves nothing: its child, and with it the
// namespaces and the veth pair, go too.
func TestTopologyKilled(t *testing.T) {
	needSampling(t)
	bin, attr := nobodyBinary(t)
	links, nets := hostLinks(t), netNamespaces(t)
	cmd := exec.Command(bin, "run", "client-closes-network", "--port-range", "40000-49999", "-d", "30s", "--no-progress")
	cmd.Dir, cmd.SysProcAttr = filepath.Dir(bin), attr
	// A file, not a pipe: Wait must return when twbench is gone, not when
	// whatever holds its stderr is.
	errFile, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	cmd.Stderr = errFile
	stderr := func() string { b, _ := os.ReadFile(errFile.Name()); return string(b) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// The child has made its namespaces once it says what it runs.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr(), "against http://198.18.0.1") && time.Now().Before(deadline) {
		select {
		case err := <-exited:
			if strings.Contains(stderr(), "needs network namespaces of its own") {
				t.Skipf("no private namespaces here: %s", stderr())
			}
			t.Fatalf("twbench ended early: %v\n%s", err, stderr())
		case <-time.After(20 * time.Millisecond):
		}
	}
	during := netNamespaces(t)
	if len(during) < len(nets)+2 {
		t.Errorf("%d network namespaces during the run, %d before; want the client's and the server's more", len(during), len(nets))
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	waitNamespaces(t, nets)
	if got := hostLinks(t); got != links {
		t.Errorf("host interfaces after SIGKILL: %q; want %q as before", got, links)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && bytes.HasPrefix(b, []byte("twbench\x00"+jobCommand)) {
			t.Errorf("%s: twbench's child is still running after SIGKILL", filepath.Dir(p))
		}
	}
}
