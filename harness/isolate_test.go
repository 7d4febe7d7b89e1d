package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twbench/twbench/internal/netns"
	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
)

// These tests run jobs in private namespaces: the test binary is the
// child (helper mode "job"), as twbench is. They need Linux, and root or
// unprivileged user namespaces; they skip, saying why, without.

// isolateHelper is the test binary as Isolate's child ("job"), or as an
// unprivileged process that isolates the job in $TWBENCH_TEST_JOB and
// prints the run as JSON ("isolate").
func isolateHelper(mode string) int {
	ctx := context.Background()
	if mode == "job" {
		job, err := ReadJob()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if err := RunJob(ctx, job, Options{}, Stdio{Stdout: os.Stdout, Stderr: os.Stderr}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		return 0
	}
	var job Job
	if err := json.Unmarshal([]byte(os.Getenv("TWBENCH_TEST_JOB")), &job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	run, err := Isolate(ctx, job, jobChild(os.Stderr))
	var ue *UnavailableError
	if errors.As(err, &ue) {
		fmt.Println("unavailable:", ue.Reason)
		return 4
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(run)
	return 0
}

// jobChild is the test binary as a job's child.
func jobChild(stderr *os.File) ChildCommand {
	env := append(os.Environ(), helperEnv+"=job")
	return ChildCommand{Path: "/proc/self/exe", Name: "harness.test", Env: env, Stdout: os.Stdout, Stderr: stderr}
}

// needTopologies skips where this process cannot make namespaces.
func needTopologies(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("topologies are Linux's")
	}
}

// isolate runs job, skipping the test when the host refuses its
// namespaces.
func isolate(t *testing.T, job Job) report.Run {
	t.Helper()
	needTopologies(t)
	job.UserNamespace = netns.NeedsUserNamespace()
	run, err := Isolate(context.Background(), job, jobChild(os.Stderr))
	var ue *UnavailableError
	if errors.As(err, &ue) {
		t.Skipf("no private namespaces here: %v", err)
	}
	if err != nil {
		t.Fatalf("Isolate error = %v", err)
	}
	return run
}

// privateScenario is a scenario of n requests at rate in topology.
func privateScenario(t *testing.T, topology string, p loadgen.Protocol, c loadgen.Closer, n int64, rate float64) *scenario.Scenario {
	t.Helper()
	sc := scenario.Scenario{Name: "private", Protocol: p, Closer: c, Concurrency: 8, Requests: n, Rate: rate,
		Topology: topology, SampleInterval: scenario.Duration(20 * time.Millisecond)}
	sc.ApplyDefaults()
	if errs := sc.Validate(); len(errs) > 0 {
		t.Fatalf("scenario %+v: %v", sc, errs)
	}
	return &sc
}

// Topology netns: the client and the target in one namespace of their
// own, over its loopback; the namespace's settings are the scenario's,
// and its counters are the run's alone: one ActiveOpens per connection.
func TestIsolateNetns(t *testing.T) {
	sc := privateScenario(t, scenario.TopologyNetns, loadgen.HTTP11, loadgen.CloserClient, 300, 0)
	run := isolate(t, Job{Topology: sc.Topology, Sysctls: [][2]string{{"net.ipv4.tcp_tw_reuse", "0"}}, Scenario: sc,
		Options: JobOptions{Tail: 200 * time.Millisecond}})
	if run.Topology == nil || run.Topology.Name != "netns" || run.Topology.ServerAddress != "127.0.0.1" {
		t.Fatalf("topology %+v; want netns on 127.0.0.1", run.Topology)
	}
	if run.Requests != 300 || run.Closes.ClientFirst != 300 {
		t.Errorf("%d requests, %d closed by the client; want 300 and 300", run.Requests, run.Closes.ClientFirst)
	}
	if run.Host == nil || run.Host.Sysctl["net.ipv4.tcp_tw_reuse"] != "0" {
		t.Errorf("namespace settings %v; want tcp_tw_reuse 0, as the job set it", run.Host)
	}
	// Nothing else is in the namespace: its counters are the run's.
	if got := run.KernelCounters["ActiveOpens"]; got != 300 {
		t.Errorf("ActiveOpens rose by %d; want 300, exactly the run's connections", got)
	}
	if run.Client.NewTimeWait != 300 || run.Client.Baseline["TIME_WAIT"] != 0 {
		t.Errorf("client end: %d new TIME_WAIT, %d before; want 300 in a new namespace with none before", run.Client.NewTimeWait, run.Client.Baseline["TIME_WAIT"])
	}
	if run.Ports.MaxSustainableQPS.InForce != "loopback" || run.Server.Source != "" {
		t.Errorf("regime %s, server end source %q; want loopback, sampled beside the client", run.Ports.MaxSustainableQPS.InForce, run.Server.Source)
	}
}

// Topology veth: the server in a namespace of its own across a veth pair;
// the network regime, the server end sampled in its namespace with its
// own settings and counters.
func TestIsolateVeth(t *testing.T) {
	sc := privateScenario(t, scenario.TopologyVeth, loadgen.HTTP10, loadgen.CloserServer, 300, 0)
	run := isolate(t, Job{Topology: sc.Topology, Sysctls: [][2]string{{"net.ipv4.tcp_max_tw_buckets", "5000"}}, Scenario: sc,
		Options: JobOptions{Tail: 200 * time.Millisecond}})
	if run.Topology == nil || run.Topology.ClientAddress != "198.18.0.2" || !strings.HasPrefix(run.Target, "http://198.18.0.1:80/") {
		t.Fatalf("topology %+v, target %s; want 198.18.0.2 to 198.18.0.1:80", run.Topology, run.Target)
	}
	if run.Requests != 300 || run.Closes.ServerFirst != 300 || run.Ports.MaxSustainableQPS.InForce != "network" {
		t.Errorf("%d requests, %d closed by the server, regime %s; want 300, 300, network", run.Requests, run.Closes.ServerFirst, run.Ports.MaxSustainableQPS.InForce)
	}
	s := run.Server
	if s.Source != report.SourceNamespace || s.Host == nil || s.Host.Sysctl["net.ipv4.tcp_max_tw_buckets"] != "5000" {
		t.Errorf("server end source %q, host %v; want its namespace's, with tcp_max_tw_buckets 5000", s.Source, s.Host)
	}
	if s.KernelCounters["TW"] != 300 || run.KernelCounters["TW"] != 0 || run.KernelCounters["ActiveOpens"] != 300 {
		t.Errorf("TW created: server namespace %d, client's %d; client ActiveOpens %d; want 300, 0, 300",
			s.KernelCounters["TW"], run.KernelCounters["TW"], run.KernelCounters["ActiveOpens"])
	}
	// A client port reused for the same server takes the server's
	// TIME_WAIT over (net.ipv4.tcp_tw_reuse does not come into it): most,
	// not all, are sampled.
	if s.NewTimeWait < 200 || run.Client.NewTimeWait != 0 {
		t.Errorf("new TIME_WAIT: server %d, client %d; want most of 300 on the server, none on the client", s.NewTimeWait, run.Client.NewTimeWait)
	}
}

// The network ceiling measured, on 100 ports: at 200/s the client, which
// closes first, runs out after half a second; every port was used before
// the first EADDRNOTAVAIL, and held for the TIME_WAIT length measured
// they make the ceiling the settings predict. The failing attempts'
// system time is counted apart.
func TestIsolateMeasuredCeiling(t *testing.T) {
	sc := privateScenario(t, scenario.TopologyVeth, loadgen.HTTP11, loadgen.CloserClient, 0, 200)
	sc.Duration = scenario.Duration(1500 * time.Millisecond)
	sc.Requests = 0
	if err := sc.Set("port_range", "40000-40099"); err != nil {
		t.Fatal(err)
	}
	run := isolate(t, Job{Topology: sc.Topology, Sysctls: sc.Sysctls(), Scenario: sc, Options: JobOptions{Tail: 200 * time.Millisecond}})
	if run.Ports.UsablePorts != 100 || run.Ports.MaxSustainableQPS.InForce != "network" {
		t.Fatalf("%d usable ports, regime %s; want the namespace's 100, network", run.Ports.UsablePorts, run.Ports.MaxSustainableQPS.InForce)
	}
	if len(run.Exhaustion) == 0 || run.Exhaustion[0].Error != "EADDRNOTAVAIL" {
		t.Fatalf("exhaustion %+v, errors %v; want EADDRNOTAVAIL", run.Exhaustion, run.Errors)
	}
	e := run.Exhaustion[0]
	if e.ConnectionsBefore < 99 || e.ConnectionsBefore > 100 {
		t.Errorf("%d connections before the first EADDRNOTAVAIL; want the 100 ports, within 1%%", e.ConnectionsBefore)
	}
	if e.MeasuredCeiling == nil || e.MeasuredRatio == nil || *e.MeasuredRatio < 0.95 || *e.MeasuredRatio > 1.05 {
		t.Errorf("measured ceiling %v, ratio %v; want about 100 / 60 s = 1.67/s, within 5%% of the prediction", e.MeasuredCeiling, e.MeasuredRatio)
	}
	if run.TimeWaitSeconds == nil || *run.TimeWaitSeconds < 59 {
		t.Errorf("TIME_WAIT length %v; want about 60 s, measured", run.TimeWaitSeconds)
	}
	if e.CPUAfter == nil || e.CPUAfter.Attempts < 100 || e.CPUAfter.SystemUSPerAttempt == nil {
		t.Errorf("cpu after the first error %+v; want the failing attempts and their system time", e.CPUAfter)
	}
}

// The built-in proxy in the server's namespace: without upstream
// keep-alive each request leaves a TIME_WAIT on the upstream hop, on its
// server end; with it, none.
func TestIsolateProxy(t *testing.T) {
	for _, keep := range []bool{false, true} {
		sc := privateScenario(t, scenario.TopologyVeth, loadgen.HTTP11, loadgen.CloserNone, 300, 0)
		sc.Proxy, sc.UpstreamKeepAlive = true, keep
		run := isolate(t, Job{Topology: sc.Topology, Scenario: sc, Options: JobOptions{Tail: 200 * time.Millisecond}})
		up, ok := run.Watched.Lookup("upstream")
		if !ok || run.Requests != 300 || run.Errors["http_status"] != 0 {
			t.Fatalf("keep-alive %v: %d requests, errors %v, watched %v; want 300 through the proxy, its upstream watched", keep, run.Requests, run.Errors, run.Watched)
		}
		want := int64(300)
		if keep {
			want = 0
		}
		// Most are sampled: a new connection takes an upstream TIME_WAIT
		// of the same 4-tuple over.
		if got := up.Server.NewTimeWait; (keep && got != 0) || (!keep && got < 200) || up.Client.NewTimeWait != 0 {
			t.Errorf("keep-alive %v: upstream TIME_WAIT: server end %d new, client end %d; want about %d and 0", keep, got, up.Client.NewTimeWait, want)
		}
		if run.Server.NewTimeWait != 0 {
			t.Errorf("keep-alive %v: the proxy's server end has %d new TIME_WAIT; want 0: its client keeps its connections", keep, run.Server.NewTimeWait)
		}
	}
}

// watch --topology veth: the command runs in the client's namespace,
// --serve's target in the server's.
func TestIsolateWatch(t *testing.T) {
	spec := helperSpec(t, "get", "{url}", "20")
	job := Job{Topology: scenario.TopologyVeth, Watch: &WatchJob{Argv: spec.Argv, Env: spec.Env, Serve: listener(t, "http://127.0.0.1:0?policy=close"),
		SampleInterval: spec.SampleInterval}, Options: JobOptions{Tail: 200 * time.Millisecond}}
	run := isolate(t, job)
	if run.Watch == nil || run.Watch.ExitCode == nil || *run.Watch.ExitCode != 0 {
		t.Fatalf("watch %+v; want the command to have exited 0", run.Watch)
	}
	if !strings.Contains(strings.Join(run.Watch.Command, " "), "http://198.18.0.1:80/") {
		t.Errorf("command %q; want the server's address in it", run.Watch.Command)
	}
	if a := run.Watch.Connections.Accepted; a == nil || *a != 20 || run.Server.Source != report.SourceNamespace || run.Server.NewTimeWait != 20 {
		t.Errorf("accepted %v, server end %q with %d new TIME_WAIT; want 20 from its namespace", run.Watch.Connections.Accepted, run.Server.Source, run.Server.NewTimeWait)
	}
	if got := run.KernelCounters["ActiveOpens"]; got != 20 {
		t.Errorf("the client namespace's ActiveOpens rose by %d; want the command's 20", got)
	}
}

// A command that cannot be started is ErrStart, as without a topology.
// The watched command has the standard streams and nothing else of the
// child's: a write to the result's descriptor would be taken for the
// result.
func TestIsolateWatchDescriptors(t *testing.T) {
	needTopologies(t)
	job := Job{Topology: scenario.TopologyNetns, Watch: &WatchJob{Argv: []string{"/bin/sh", "-c", `echo '{}' >&4; test ! -e /proc/self/fd/4`},
		Serve: listener(t, "http://127.0.0.1:0")}, Options: JobOptions{Tail: 50 * time.Millisecond}}
	run := isolate(t, job)
	if run.Watch == nil || run.Watch.ExitCode == nil || *run.Watch.ExitCode != 0 {
		t.Errorf("watch %+v; want the command to find no descriptor 4", run.Watch)
	}
}

func TestIsolateWatchNotFound(t *testing.T) {
	needTopologies(t)
	job := Job{Topology: scenario.TopologyNetns, UserNamespace: netns.NeedsUserNamespace(),
		Watch: &WatchJob{Argv: []string{"/no/such/command"}, Serve: listener(t, "http://127.0.0.1:0")}}
	_, err := Isolate(context.Background(), job, jobChild(os.Stderr))
	var ue *UnavailableError
	if errors.As(err, &ue) {
		t.Skipf("no private namespaces here: %v", err)
	}
	if !errors.Is(err, ErrStart) || strings.Count(err.Error(), ErrStart.Error()) != 1 {
		t.Errorf("Isolate error = %v; want ErrStart, said once", err)
	}
}

// As an unprivileged user (nobody, when the tests run as root) the job
// runs in a user namespace of its own, with the same figures.
func TestIsolateRootless(t *testing.T) {
	needTopologies(t)
	sc := privateScenario(t, scenario.TopologyVeth, loadgen.HTTP10, loadgen.CloserServer, 100, 0)
	job, _ := json.Marshal(Job{Topology: sc.Topology, UserNamespace: true, Scenario: sc, Options: JobOptions{Tail: 200 * time.Millisecond}})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=isolate", "TWBENCH_TEST_JOB="+string(job))
	if os.Getuid() == 0 {
		// nobody must be able to reach the binary.
		dir := t.TempDir()
		os.Chmod(dir, 0o755)
		os.Chmod(filepath.Dir(dir), 0o755)
		b, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		copied := filepath.Join(dir, "harness.test")
		if err := os.WriteFile(copied, b, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd.Path, cmd.Args[0] = copied, copied
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 4 {
		t.Skipf("user namespaces are off here: %s", out)
	}
	if err != nil {
		t.Fatalf("isolate as an unprivileged user: %v\n%s%s", err, out, stderr.String())
	}
	var run report.Run
	if err := json.Unmarshal(out, &run); err != nil {
		t.Fatalf("the run: %v\n%s", err, out)
	}
	if run.Topology == nil || !run.Topology.UserNamespace || run.Requests != 100 || run.Server.KernelCounters["TW"] != 100 {
		t.Errorf("topology %+v, %d requests, server TW %d; want veth in a user namespace, 100 and 100", run.Topology, run.Requests, run.Server.KernelCounters["TW"])
	}
}

// ReadJob refuses to run a job in a process Isolate did not start: it
// would set the host's sysctls.
func TestReadJobRefusesOutsideAChild(t *testing.T) {
	if _, err := ReadJob(); err == nil || !strings.Contains(err.Error(), "only in a child process") {
		t.Errorf("ReadJob in the test process: %v; want it refused", err)
	}
}
