package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
)

// The tests below run the close-matrix scenarios of the embedded catalogue
// as a user would, and assert what each one's description claims. As in
// the default suite's tests, they assert who closed each connection and
// the new TIME_WAIT sockets of each end on the run's own target port, which
// earlier tests cannot have touched.

// noTimeWait checks that neither end gained a TIME_WAIT socket.
func noTimeWait(t *testing.T, r *report.Run) {
	t.Helper()
	for _, end := range []struct {
		name string
		e    *report.End
	}{{"client", &r.Client}, {"server", &r.Server}} {
		if end.e.NewTimeWait != 0 || end.e.Peak["TIME_WAIT"] != end.e.Baseline["TIME_WAIT"] {
			t.Errorf("%s: %d new TIME_WAIT, peak %d (baseline %d); want none", end.name,
				end.e.NewTimeWait, end.e.Peak["TIME_WAIT"], end.e.Baseline["TIME_WAIT"])
		}
	}
}

// timeWaitOn checks that every connection left one TIME_WAIT socket on the
// end that closed first, and none on the other.
func timeWaitOn(t *testing.T, r *report.Run, closer string) {
	t.Helper()
	held, other := &r.Client, &r.Server
	if closer == "server" {
		held, other = other, held
	}
	// Server TIME_WAIT sockets can be taken over by a new SYN on the same
	// 4-tuple before a sample sees them (see TestABFinding).
	if n := held.NewTimeWait; n > r.Connections || float64(n) < seenShare(t, r)*float64(r.Connections) {
		t.Errorf("%s new TIME_WAIT = %d; want one per connection, %d", closer, n, r.Connections)
	}
	if other.NewTimeWait != 0 {
		t.Errorf("the other end gained %d TIME_WAIT sockets; want 0", other.NewTimeWait)
	}
}

func noErrors(t *testing.T, r *report.Run) {
	t.Helper()
	for _, n := range r.Errors {
		if n != 0 {
			t.Errorf("errors = %v; want none", r.Errors)
			break
		}
	}
	if len(r.CloseErrors) > 0 {
		t.Errorf("close errors = %v; want none", r.CloseErrors)
	}
}

func TestPortExhaustion(t *testing.T) {
	needSampling(t)
	if _, err := loadgen.Check(loadgen.Config{Protocol: loadgen.HTTP11, Closer: loadgen.CloserClient, Target: "http://127.0.0.1:1/",
		Concurrency: 1, Requests: 1, Timeout: time.Second, PortRange: loadgen.PortRange{Lo: 40000, Hi: 40099}}); err != nil {
		t.Skipf("no per-socket port range here: %v", err)
	}
	rep := runJSON(t, "run", "port-exhaustion", "server-closes-ports-free", "-d", "4s")
	ex, free := &rep.Runs[0], &rep.Runs[1]

	// 100 ports, each back 1 s after its close (tcp_tw_reuse on loopback):
	// about 100 connections/s, against 115/s offered.
	if ex.Ports.UsablePorts != 100 || ex.Ports.PortRange != "40000-40099" || ex.Ports.PortRangeFrom != "client_port_range" {
		t.Errorf("ports = %d in %s (from %q); want the 100 of 40000-40099", ex.Ports.UsablePorts, ex.Ports.PortRange, ex.Ports.PortRangeFrom)
	}
	if ex.Errors["EADDRNOTAVAIL"] == 0 || len(ex.Exhaustion) == 0 {
		t.Fatalf("errors = %v, exhaustion %v; want EADDRNOTAVAIL", ex.Errors, ex.Exhaustion)
	}
	e := ex.Exhaustion[0]
	if e.Error != "EADDRNOTAVAIL" || e.PredictedRate == nil || e.Regime != "loopback" {
		t.Fatalf("exhaustion = %+v; want EADDRNOTAVAIL with a loopback prediction", e)
	}
	if p := *e.PredictedRate; p < 90 || p > 110 {
		t.Errorf("predicted rate = %.1f/s; want about 100 (100 ports / 1 s)", p)
	}
	if *e.PredictedRate < 0.8*e.ConnectedRate || *e.PredictedRate > 1.2*e.ConnectedRate {
		t.Errorf("predicted %.1f/s, connected %.1f/s once errors began; want them within 20%%", *e.PredictedRate, e.ConnectedRate)
	}
	if e.FirstS <= 0 || e.FirstS > 2 || e.OfferedRate < 105 {
		t.Errorf("errors began at %.2f s with %.1f attempts/s; want within the first seconds, at about 115/s", e.FirstS, e.OfferedRate)
	}
	if ex.Closes.ClientFirst != ex.Connections || ex.Client.Peak["TIME_WAIT"] > 100 {
		t.Errorf("closes %+v, client TIME_WAIT peak %d; want every one closed by the client, at most 100 ports in TIME_WAIT",
			ex.Closes, ex.Client.Peak["TIME_WAIT"])
	}
	var perSecond int64
	for _, s := range ex.PerSecond {
		perSecond += s.Errors["EADDRNOTAVAIL"]
	}
	if perSecond != ex.Errors["EADDRNOTAVAIL"] {
		t.Errorf("per-second EADDRNOTAVAIL sum to %d; want the run's %d", perSecond, ex.Errors["EADDRNOTAVAIL"])
	}

	// The same ports and rate with the server closing: no port is held.
	noErrors(t, free)
	if free.Requests < 400 || free.Closes.ServerFirst != free.Connections {
		t.Errorf("requests %d, closes %+v; want about 460, every one closed by the server", free.Requests, free.Closes)
	}
	if free.Client.NewTimeWait != 0 || len(free.Exhaustion) != 0 {
		t.Errorf("client new TIME_WAIT %d, exhaustion %v; want none", free.Client.NewTimeWait, free.Exhaustion)
	}
}

// resetRun runs an RST scenario: every connection reset by one end, and
// no TIME_WAIT on either.
func resetRun(t *testing.T, name, end string) *report.Run {
	t.Helper()
	needSampling(t)
	r := &runJSON(t, "run", name, "-d", "2s").Runs[0]
	noErrors(t, r)
	resets := r.Closes.ClientRST
	if end == "server" {
		resets = r.Closes.ServerRST
	}
	if r.Requests < 1900 || resets != r.Connections || r.Connections != r.Requests {
		t.Errorf("requests %d, connections %d, closes %+v; want about 2,000, each reset by the %s", r.Requests, r.Connections, r.Closes, end)
	}
	noTimeWait(t, r)
	checkAgainstSS(t, r)
	return r
}

func TestRSTClient(t *testing.T) {
	r := resetRun(t, "rst-client", "client")
	// The server sees each RST as ECONNRESET.
	if n := r.ServerErrors["ECONNRESET"]; n != r.Connections {
		t.Errorf("server ECONNRESET = %d; want one per connection, %d", n, r.Connections)
	}
}

// TestRSTServer: the client sees the server's RST where its FIN would be
// (closes.server_rst).
func TestRSTServer(t *testing.T) { resetRun(t, "rst-server", "server") }

func TestHalfClose(t *testing.T) {
	needSampling(t)
	r := &runJSON(t, "run", "half-close", "-d", "2s").Runs[0]
	noErrors(t, r)
	if r.Scenario.Protocol != "tcp" || !r.Scenario.HalfClose || r.Closes.ClientFirst != r.Connections || r.Requests < 1900 {
		t.Errorf("%s half_close=%v: %d requests, closes %+v; want tcp half-close, each connection's first FIN the client's",
			r.Scenario.Protocol, r.Scenario.HalfClose, r.Requests, r.Closes)
	}
	timeWaitOn(t, r, "client")
	checkAgainstSS(t, r)
}

func TestRawTCPClosers(t *testing.T) {
	needSampling(t)
	rep := runJSON(t, "run", "tcp-client-closes", "tcp-server-closes", "connect-only", "-d", "2s")
	for i, closer := range []string{"client", "server", "client"} {
		r := &rep.Runs[i]
		t.Run(r.Scenario.Name, func(t *testing.T) {
			noErrors(t, r)
			first := r.Closes.ClientFirst
			if closer == "server" {
				first = r.Closes.ServerFirst
			}
			if r.Requests < 1900 || r.Connections != r.Requests || first != r.Connections {
				t.Errorf("%d requests, %d connections, closes %+v; want about 2,000, each closed by the %s first",
					r.Requests, r.Connections, r.Closes, closer)
			}
			timeWaitOn(t, r, closer)
			checkAgainstSS(t, r)
		})
	}
	if p := rep.Runs[0].Ports.PortsPerQPS; p < 59 || p > 61 {
		t.Errorf("tcp-client-closes ports_per_qps = %v; want about 60", p)
	}
	if p := rep.Runs[1].Ports.PortsPerQPS; p > 0.1 {
		t.Errorf("tcp-server-closes ports_per_qps = %v; want the connection's lifetime, far under a second", p)
	}
	if p := rep.Runs[2].Ports.PortsPerQPS; p < 59 || p > 61 {
		t.Errorf("connect-only ports_per_qps = %v; want about 60: a port held for the TIME_WAIT", p)
	}
}

func TestPoolRecycle(t *testing.T) {
	needSampling(t)
	r := &runJSON(t, "run", "pool-recycle", "-d", "3s").Runs[0]
	noErrors(t, r)
	// 16 connections, each closed by the client after 100 requests, and
	// those part-way through at the end: one per 100 requests, less up to
	// one per connection for the requests left over at the end.
	recycled := r.Connections - r.Closes.AtEnd
	if r.Requests < 11000 || r.Closes.ClientFirst != r.Connections || r.Closes.AtEnd != 16 ||
		recycled > r.Requests/100 || recycled < r.Requests/100-16 {
		t.Errorf("%d requests, %d connections, closes %+v; want about 12,000, each 100 closed by the client",
			r.Requests, r.Connections, r.Closes)
	}
	tw := r.Client.TimeWaitPerRequest
	if tw == nil || *tw < 0.009 || *tw > 0.0125 {
		t.Errorf("client TIME_WAIT per request = %v; want about 1/100", tw)
	}
	timeWaitOn(t, r, "client")
}

// TestSources: connections spread over two loopback addresses, each with
// the whole client port range; the report gives each one's use.
func TestSources(t *testing.T) {
	needSampling(t)
	r := &runJSON(t, "run", "--protocol", "http1.1", "--closer", "client", "--client-port-range", "40300-40349",
		"--source", "127.0.0.2,127.0.0.3", "--rate", "200", "-d", "2s", "-c", "8").Runs[0]
	p := r.Ports
	if p.UsablePorts != 100 || len(p.Sources) != 2 {
		t.Fatalf("usable_ports %d, sources %+v; want 2 × 50", p.UsablePorts, p.Sources)
	}
	var conns int64
	for i, s := range p.Sources {
		want := []string{"127.0.0.2", "127.0.0.3"}[i]
		// Each address's 50 ports come back a second after their close, so
		// in 2 s each carries about 100 connections, and the rest fail
		// with EADDRNOTAVAIL. Ports bound by bind() rather than connect()
		// (without IP_BIND_ADDRESS_NO_PORT) would not come back: 50.
		if s.Address != want || s.UsablePorts != 50 || s.PeakInUse == 0 || s.PeakInUse > 50 || s.NoPort == 0 || s.Connections < 75 {
			t.Errorf("source %d = %+v; want %s, 50 ports, at most 50 in use, reused (at least 75 connections), some EADDRNOTAVAIL", i, s, want)
		}
		conns += s.Connections
	}
	if conns != r.Connections || r.Errors["EADDRNOTAVAIL"] != p.Sources[0].NoPort+p.Sources[1].NoPort {
		t.Errorf("sources' connections %d and errors %v; want the run's %d and %d", conns, p.Sources, r.Connections, r.Errors["EADDRNOTAVAIL"])
	}
}

// TestDescriptorExhaustion: a client whose open-files limit is 64 cannot
// hold 100 connections: connect() fails with EMFILE for the rest, the
// connections it has carry on, and the report says when it began and that
// the limit was too low. The server is a process of its own, as it would
// be in production (a built-in target in the same process would starve
// with the client).
func TestDescriptorExhaustion(t *testing.T) {
	needSampling(t)
	bin := twbenchBinary(t)
	target, _ := startServe(t, "tcp://127.0.0.1:0")
	out, err := exec.Command("sh", "-c", `ulimit -n 64 && exec "$0" run --target "$1" --protocol tcp --closer none -c 100 -d 1s --timeout 2s --format json --no-progress`,
		bin, target).Output()
	if err != nil {
		// Exit 3 if no request succeeded; the report is checked below.
		t.Logf("twbench exited: %v", err)
	}
	var rep report.Report
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.Runs) != 1 {
		t.Fatalf("report: %v\n%s", err, out)
	}
	r := &rep.Runs[0]
	if r.Errors["EMFILE"] == 0 || len(r.Exhaustion) == 0 || r.Exhaustion[0].Error != "EMFILE" || r.Exhaustion[0].Ratio != nil {
		t.Errorf("errors %v, exhaustion %+v; want EMFILE counted, its onset reported, and no port ratio", r.Errors, r.Exhaustion)
	}
	if r.Requests == 0 {
		t.Errorf("no request succeeded; want the connections that got descriptors to carry on")
	}
	found := false
	for _, n := range r.Notes {
		found = found || strings.Contains(n, "RLIMIT_NOFILE) is 64")
	}
	if !found {
		t.Errorf("notes = %q; want one saying the open-files limit, 64, is too low for -c 100", r.Notes)
	}
}
