package harness

import (
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
)

// listenerScenario is a short veth scenario in which the server closes
// first, with the built-in target's listener keys set as in a file.
func listenerScenario(t *testing.T, keys map[string]string) *scenario.Scenario {
	t.Helper()
	sc := scenario.Scenario{Name: "listener", Protocol: loadgen.HTTP10, Closer: loadgen.CloserServer, Concurrency: 8, Rate: 500,
		Duration: scenario.Duration(time.Second), Topology: scenario.TopologyVeth, SampleInterval: scenario.Duration(50 * time.Millisecond)}
	for k, v := range keys {
		if err := sc.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	sc.ApplyDefaults()
	if errs := sc.Validate(); len(errs) > 0 {
		t.Fatalf("scenario %+v: %v", sc, errs)
	}
	return &sc
}

// A restart beside the server's TIME_WAIT: without SO_REUSEADDR bind
// fails with EADDRINUSE for as long as the load goes on, and the clients
// are refused; with it, the first bind succeeds.
func TestIsolateRestart(t *testing.T) {
	for _, reuse := range []string{"false", "true"} {
		sc := listenerScenario(t, map[string]string{"restart_at": "400ms", "reuseaddr": reuse})
		run := isolate(t, Job{Topology: sc.Topology, Scenario: sc, Options: JobOptions{Tail: 100 * time.Millisecond}})
		rs := run.Restart
		if rs == nil {
			t.Fatalf("reuseaddr %s: no restart in the report", reuse)
		}
		if rs.AtS < 0.35 || rs.AtS > 0.6 {
			t.Errorf("reuseaddr %s: stopped at %.2f s; want about 0.4", reuse, rs.AtS)
		}
		switch reuse {
		case "false":
			if rs.Bound || rs.Error != "EADDRINUSE" || rs.TimeWaitOnPort < 100 || rs.Attempts < 3 || run.Errors["ECONNREFUSED"] == 0 {
				t.Errorf("without SO_REUSEADDR: %+v, %d refused; want EADDRINUSE against about 200 TIME_WAIT, tried until the end, clients refused",
					rs, run.Errors["ECONNREFUSED"])
			}
		default:
			if !rs.Bound || rs.Error != "" || rs.Attempts != 1 || rs.RebindMS == nil || run.Requests < 400 {
				t.Errorf("with SO_REUSEADDR: %+v, %d requests; want bound at the first try, the load going on", rs, run.Requests)
			}
		}
	}
}

// SO_REUSEPORT listeners share the connections, each counting its own;
// across a restart, the counts are both instances'.
func TestIsolateReusePort(t *testing.T) {
	for _, keys := range []map[string]string{{"reuseport": "4"}, {"reuseport": "4", "restart_at": "400ms"}} {
		checkReusePort(t, listenerScenario(t, keys))
	}
}

func checkReusePort(t *testing.T, sc *scenario.Scenario) {
	t.Helper()
	run := isolate(t, Job{Topology: sc.Topology, Scenario: sc, Options: JobOptions{Tail: 100 * time.Millisecond}})
	if run.ReusePort == nil || run.ReusePort.Listeners != 4 {
		t.Fatalf("reuseport %+v; want 4 listeners", run.ReusePort)
	}
	var sum, busy int64
	for _, n := range run.ReusePort.Accepts {
		sum += n
		if n > 0 {
			busy++
		}
	}
	if sum != run.Connections || busy < 2 {
		t.Errorf("restart %+v: accepts %v (%d), %d connections; want them all, spread", run.Restart, run.ReusePort.Accepts, sum, run.Connections)
	}
}
