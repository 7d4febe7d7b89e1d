package report_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// watchInput is ab's run of 2,000 requests (testdata/tools/ab-close.txt)
// as `twbench watch` gathers it: the server end gains a TIME_WAIT per
// connection, and the kernel's counters saw 2,000 connections opened.
func watchInput(t *testing.T) report.Input {
	t.Helper()
	out, err := os.ReadFile("testdata/tools/ab-close.txt")
	if err != nil {
		t.Fatal(err)
	}
	smp := samples(true, 200)
	for i := range smp {
		smp[i].Requests = 0
		smp[i].Client[sockstat.Established] = 3 // ab's connections in flight
	}
	top := sockstat.TimeWaitHolders{Addrs: 1}
	top.Top[0] = sockstat.AddrCount{Addr: netip.MustParseAddr("127.0.0.1"), Count: 2000}
	upstream := samples(false, 200)
	return report.Input{
		Scenario: scenario.Scenario{Name: "ab", Description: "ab -n 2000 -c 10 http://127.0.0.1:40001/",
			SampleInterval: scenario.Duration(time.Second)},
		Target: "http://127.0.0.1:40001/", Builtin: true, Loopback: true,
		Samples: smp, Host: host("2", "1"),
		// ab's 2,000 connections, and as many to the upstream from this
		// host (a proxy's).
		Counters: sockstat.Counters{"ActiveOpens": 4000, "PassiveOpens": 4000, "TW": 4000, "TCPAbortOnClose": 0,
			"TCPAbortOnLinger": 0, "TCPAbortOnData": 0},
		ServerHolders:  &report.HoldersAt{At: start.Add(10 * time.Second), TimeWaitHolders: top},
		TimeWaitObject: sockstat.TimeWaitObject{Slab: "tw_sock_TCP", Bytes: 256, From: sockstat.SizeFromSlabinfo},
		Watched: []report.WatchedInput{{Name: "upstream", Address: "127.0.0.1:8081", Samples: upstream,
			ClientHolders: &report.HoldersAt{At: start.Add(10 * time.Second), TimeWaitHolders: top}}},
		Watch: &report.WatchInput{
			Command: []string{"ab", "-n", "2000", "-c", "10", "http://127.0.0.1:40001/"},
			Start:   start, Wall: 10 * time.Second, Target: "127.0.0.1:40001",
			Stdout: report.Output{Tail: out, Bytes: int64(len(out))},
			Stderr: report.Output{Tail: []byte("Completed 200 requests\nFinished 2000 requests\n"), Bytes: 44},
		},
	}
}

// TestBuildWatch: a watched ab's run has ab's requests, rate and
// percentiles, the kernel's connections, and the server as the first to
// close, from where the TIME_WAIT appeared; the report says how it had
// each figure.
func TestBuildWatch(t *testing.T) {
	r := report.Build(watchInput(t))
	if r.Requests != 2000 || r.QPS != 12319.37 || r.Connections != 4000 || r.DurationS != 0.162 {
		t.Errorf("requests %d, qps %v, connections %d, duration %v; want ab's 2000, 12319.37, the kernel's 4000, 0.162 s",
			r.Requests, r.QPS, r.Connections, r.DurationS)
	}
	if r.Closes.ServerFirst != 2000 || r.Closes.ClientFirst != 0 || r.Watch.FirstClose != "server" {
		t.Errorf("closes %+v, first_close %q; want the server first on all 2000", r.Closes, r.Watch.FirstClose)
	}
	if r.LatencyUS.P50 != 1000 || r.LatencyUS.Max != 4000 || r.LatencyHDR != "" || len(r.Throughput) != 0 {
		t.Errorf("latency %+v, hdr %q, throughput %v; want ab's percentiles alone", r.LatencyUS, r.LatencyHDR, r.Throughput)
	}
	if r.Scenario.Concurrency != 10 || r.Watch.Tool != "ab" || *r.Watch.ExitCode != 0 || r.Watch.Connections.From != "active_opens" {
		t.Errorf("concurrency %d, tool %q, exit %v, connections from %q; want 10, ab, 0, active_opens",
			r.Scenario.Concurrency, r.Watch.Tool, r.Watch.ExitCode, r.Watch.Connections.From)
	}
	for _, k := range report.WatchSources() {
		if r.Watch.Sources[k] == "" {
			t.Errorf("watch.sources has no %q", k)
		}
	}
	if got := r.Watch.Output.Stderr; !slices.Equal(got, []string{"Completed 200 requests", "Finished 2000 requests"}) {
		t.Errorf("stderr lines = %q", got)
	}
	if len(r.Watch.Output.Stdout) != report.OutputLines || !strings.Contains(r.Watch.Output.Stdout[report.OutputLines-1], "100%") {
		t.Errorf("stdout lines = %q; want ab's last %d", r.Watch.Output.Stdout, report.OutputLines)
	}
	// Little's law: 3 connections open at a time, 200 closing a second.
	if got := r.Ports.ConnectionLifetimeS; got < 0.014 || got > 0.016 {
		t.Errorf("connection lifetime %v s; want 3 / 200/s = 15 ms", got)
	}
	for _, want := range []string{
		"the server held the TIME_WAIT (2,000 new, 1.00 per connection",
		"the server's FIN came first on 100% of 2,000 connections",
	} {
		if got := report.Explain(&r); !strings.Contains(got, want) {
			t.Errorf("Explain = %q; want it to say %q", got, want)
		}
	}
	details := strings.Join(report.Details(&r), "\n")
	for _, want := range []string{
		"the command exited 0 after 10.0 s; requests, qps, latency and errors are ab's",
		"by remote address: 127.0.0.1 2,000; they held 500.0 KiB of kernel memory, 256 bytes each (tw_sock_TCP, from /proc/slabinfo)",
		"the upstream client end's 2,000 TIME_WAIT sockets at their peak (10.0 s), by local address: 127.0.0.1 2,000",
	} {
		if !strings.Contains(details, want) {
			t.Errorf("Details:\n%s\nwant them to say %q", details, want)
		}
	}
	text := writeText(t, &report.Report{Schema: report.Schema, Host: host("2", "1"), Runs: []report.Run{r}})
	for _, want := range []string{"watched command", "ab -n 2000 -c 10 http://127.0.0.1:40001/", "its own, 10 conns",
		"upstream client TIME_WAIT peak/final", "1.00 / 3.00 ms", "- / 4.00 ms"} {
		if !strings.Contains(text, want) {
			t.Errorf("the text report does not say %q:\n%s", want, text)
		}
	}
	if wide := overWide(text); len(wide) > 0 {
		t.Errorf("lines over 120 columns: %q", wide)
	}
}

// TestBuildWatchUnknownTool: a command that prints no summary twbench
// knows has no requests, qps or latency, and an expectation over them
// says they were not measured; connections and closes are the kernel's
// all the same, and without the counters the new TIME_WAIT.
func TestBuildWatchUnknownTool(t *testing.T) {
	in := watchInput(t)
	in.Watch.Stdout = report.Output{Tail: []byte("done\n"), Bytes: 5}
	in.Counters = nil
	r := report.Build(in)
	if r.Requests != 0 || r.QPS != 0 || r.Watch.Tool != "" || len(r.Watch.LatencyGiven) != 0 {
		t.Errorf("requests %d, qps %v, tool %q, latency %v; want none", r.Requests, r.QPS, r.Watch.Tool, r.Watch.LatencyGiven)
	}
	if r.Connections != 2000 || r.Watch.Connections.From != "time_wait" || r.Watch.FirstClose != "server" {
		t.Errorf("connections %d from %q, first close %q; want 2000 from time_wait, server", r.Connections,
			r.Watch.Connections.From, r.Watch.FirstClose)
	}
	if !strings.Contains(r.Watch.Sources["requests"], "unknown") || !strings.Contains(r.Watch.Sources["ports"], "per connection") {
		t.Errorf("sources %v; want requests unknown, ports per connection", r.Watch.Sources)
	}
	if r.Ports.ConnectionsPerRequest != 1 {
		t.Errorf("connections per request %v; want 1, per connection", r.Ports.ConnectionsPerRequest)
	}
	for _, tc := range []struct{ expr, err string }{
		{"qps > 1000", "qps null"},
		{"latency_us.p99 < 10000", "latency_us.p99 null"},
		{"watch.first_close == \"server\"", ""},
		{"watched.upstream.client.new_time_wait >= 2000", ""},
		{"watch.connections.active_opens > 0", "watch.connections.active_opens null"},
	} {
		c, err := report.CompileCheck(tc.expr, "--expect")
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		e := c.Eval(&r)
		if e.OK != (tc.err == "") || !strings.Contains(e.Error, tc.err) {
			t.Errorf("%s: ok %v, error %q; want ok %v, an error saying %q", tc.expr, e.OK, e.Error, tc.err == "", tc.err)
		}
	}
}

// TestWatchNotesOtherTraffic: when the namespace's ActiveOpens rose by
// more than the target's connections account for, the report says that
// other traffic inflated it.
func TestWatchNotesOtherTraffic(t *testing.T) {
	in := watchInput(t)
	in.Counters["ActiveOpens"] = 9000
	r := report.Build(in)
	if !slices.ContainsFunc(r.Notes, func(n string) bool {
		return strings.Contains(n, "ActiveOpens rose by 9,000 while the target's port accounts for 2,003 (2,000 new TIME_WAIT on its ends, 3 sockets open at the end), the --watch endpoints for 2,000 (their new TIME_WAIT) and resets for 0 more")
	}) {
		t.Errorf("notes %q; want one on other traffic", r.Notes)
	}
	if slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "left no TIME_WAIT") }) {
		t.Errorf("notes %q: with other traffic in ActiveOpens, none may say how many TIME_WAIT were missed", r.Notes)
	}
	quiet := report.Build(watchInput(t))
	if slices.ContainsFunc(quiet.Notes, func(n string) bool { return strings.Contains(n, "other traffic") }) ||
		!slices.ContainsFunc(quiet.Notes, func(n string) bool {
			return strings.Contains(n, "the kernel's ActiveOpens (4,000) counts the --watch endpoints' connections made from this host too: 2,000 new TIME_WAIT on their ends; the target's connections are about 2,000")
		}) {
		t.Errorf("a quiet host's notes %q; want the upstream's connections told apart, none on other traffic", quiet.Notes)
	}
}

// TestFirstClose: the end with 95% of the new TIME_WAIT closed first;
// RSTs decide only without any.
func TestFirstClose(t *testing.T) {
	for _, tc := range []struct {
		client, server int
		resets         int64
		want           string
	}{
		{0, 200, 0, "server"}, {190, 10, 0, "client"}, {100, 100, 0, "mixed"}, {0, 0, 40, "reset"}, {0, 0, 0, "none"},
		{0, 200, 500, "server"},
	} {
		in := watchInput(t)
		for i := range in.Samples {
			if i > 0 {
				in.Samples[i].ClientNewTimeWait, in.Samples[i].ServerNewTimeWait = tc.client/10, tc.server/10
			}
		}
		in.Counters["TCPAbortOnClose"] = tc.resets
		if got := report.Build(in).Watch.FirstClose; got != tc.want {
			t.Errorf("client %d, server %d new TIME_WAIT, %d resets: first_close %q; want %q", tc.client, tc.server, tc.resets, got, tc.want)
		}
	}
	// RSTs somewhere in the namespace, and no connection to the target
	// seen: nothing closed.
	in := watchInput(t)
	for i := range in.Samples {
		in.Samples[i].Client, in.Samples[i].Server = sockstat.Counts{}, sockstat.Counts{}
		in.Samples[i].ClientNewTimeWait, in.Samples[i].ServerNewTimeWait = 0, 0
	}
	in.Counters["TCPAbortOnClose"] = 40
	if got := report.Build(in).Watch.FirstClose; got != "none" {
		t.Errorf("40 resets in the namespace, no connection to the target: first_close %q; want none", got)
	}
}

// TestWatchedEndsJSON: the watched endpoints are an object keyed by name
// in the order given, and read back in that order.
func TestWatchedEndsJSON(t *testing.T) {
	in := watchInput(t)
	in.Watched = append(in.Watched, report.WatchedInput{Name: "db", Address: "127.0.0.1:5432", Samples: samples(false, 0)},
		report.WatchedInput{Name: "a-cache", Address: "[::1]:6379", ClientUnsampled: "x", ServerUnsampled: "x"})
	r := report.Build(in)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j, k := strings.Index(s, `"upstream":{"address"`), strings.Index(s, `"db":{"address"`), strings.Index(s, `"a-cache":{"address"`)
	if i < 0 || j < i || k < j {
		t.Errorf("watched in the JSON: upstream at %d, db at %d, a-cache at %d; want them in that order", i, j, k)
	}
	var back report.Run
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range back.Watched {
		names = append(names, w.Name+"="+w.Address)
	}
	if got := strings.Join(names, " "); got != "upstream=127.0.0.1:8081 db=127.0.0.1:5432 a-cache=[::1]:6379" {
		t.Errorf("read back: %s", got)
	}
	if back.Watched[0].Client.NewTimeWait != 2000 || back.Watched[2].Server.Sampled {
		t.Errorf("read back: upstream client new %d, a-cache server sampled %v", back.Watched[0].Client.NewTimeWait, back.Watched[2].Server.Sampled)
	}
}

// TestWriteWatchHTMLAndCSV: a watched command's report draws the watched
// endpoint's ends beside the target's, says why it has no throughput or
// latency chart, and its CSV has rows for the watched ends.
func TestWriteWatchHTMLAndCSV(t *testing.T) {
	rep := &report.Report{Schema: report.Schema, Host: host("2", "1"), Runs: []report.Run{report.Build(watchInput(t))}}
	page := string(writeHTML(t, rep))
	for _, want := range []string{
		"upstream client end: sockets by state", "upstream server end: sockets by state", "server end: sockets by state",
		"No throughput chart: a watched command&#39;s requests over time are not known",
		"No latency chart: a watched command&#39;s summary gives some percentiles",
		"<th>upstream client TIME_WAIT peak/final</th>", "ab -n 2000 -c 10 http://127.0.0.1:40001/",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not contain %q", want)
		}
	}
	var b strings.Builder
	if err := report.WriteCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	ends := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n")[1:] {
		ends[strings.Split(line, ",")[1]]++
	}
	for _, end := range []string{"client", "server", "upstream.client", "upstream.server"} {
		if ends[end] != 11 {
			t.Errorf("%d CSV rows for end %s; want 11 (rows per end: %v)", ends[end], end, ends)
		}
	}
}

// TestWatchAccepted: with the built-in target, the connections are those
// it accepted, exact; ActiveOpens beyond them is other traffic, and the
// connections whose TIME_WAIT no sample saw are said to be missed.
func TestWatchAccepted(t *testing.T) {
	in := watchInput(t)
	accepted := int64(2200)
	in.Watch.Accepted = &accepted
	in.Counters["ActiveOpens"] = 2500
	r := report.Build(in)
	if r.Connections != 2200 || r.Watch.Connections.From != "accepted" || !strings.Contains(r.Watch.Sources["connections"], "built-in target accepted") {
		t.Errorf("connections %d from %q (%s); want the 2,200 accepted", r.Connections, r.Watch.Connections.From, r.Watch.Sources["connections"])
	}
	for _, want := range []string{
		"ActiveOpens rose by 2,500 while the target accepted 2,200 connections",
		"200 of the 2,200 connections left no TIME_WAIT that a sample saw: a new connection from the same client port takes a server's TIME_WAIT socket over",
		"the kernel created 4,000 TIME_WAIT sockets in the namespace meanwhile",
	} {
		if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, want) }) {
			t.Errorf("notes %q; want one saying %q", r.Notes, want)
		}
	}
	if got := report.Explain(&r); !strings.Contains(got, "0.91 per connection") ||
		!strings.Contains(got, "on 100% of the 2,000 connections whose TIME_WAIT a sample saw (of 2,200)") {
		t.Errorf("Explain = %q; want the server's 2,000 per 2,200 connections", got)
	}
}

// TestWatchTargetCloses: with the built-in target, who closed first is
// its count, per connection, whatever the samples missed.
func TestWatchTargetCloses(t *testing.T) {
	in := watchInput(t)
	accepted := int64(2200)
	in.Watch.Accepted = &accepted
	in.Watch.TargetCloses = &loadgen.Closes{ServerFirst: 2195, ClientFirst: 5}
	r := report.Build(in)
	if r.Closes.ServerFirst != 2195 || r.Watch.ClosesFrom != "target" || r.Watch.FirstClose != "server" ||
		!strings.HasPrefix(r.Watch.Sources["closes"], "the built-in target") {
		t.Errorf("closes %+v from %q, first %q (%s); want the target's 2,195 server first", r.Closes, r.Watch.ClosesFrom, r.Watch.FirstClose, r.Watch.Sources["closes"])
	}
	if got := report.Explain(&r); !strings.Contains(got, "the server's FIN came first on 99.8% of 2,200 connections, as the built-in target saw each close") {
		t.Errorf("Explain = %q", got)
	}
	in.Watch.TargetCloses = &loadgen.Closes{ServerRST: 2200}
	if r := report.Build(in); r.Watch.FirstClose != "reset" || !strings.Contains(report.Explain(&r), "100% of 2,200 connections were closed with an RST (client 0, server 2,200)") {
		t.Errorf("a resetting target: first close %q, %q", r.Watch.FirstClose, report.Explain(&r))
	}
	if r := report.Build(watchInput(t)); r.Watch.ClosesFrom != "time_wait" {
		t.Errorf("another target: closes_from %q; want time_wait", r.Watch.ClosesFrom)
	}
}
