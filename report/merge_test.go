package report_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

// shardSpec describes a synthetic shard's report.
type shardSpec struct {
	index, count int
	netns        string // "" : the shard's own, "ns<index>"
	source       string // "": 127.0.0.1
	target       string // "": the built-in target on a port of the shard's own
	agent        string // the server end from this agent, if set
	offset       time.Duration
	duration     time.Duration // 0: 10 s
	latencies    []int64       // one per request, µs; nil: 1,000 of 300 µs
	tw           int           // new client TIME_WAIT per 1 s sample
	expect       []report.Deferred
}

// shardReport builds a shard's report as `run --shard` writes it, and
// reads it back as merge does.
func shardReport(t *testing.T, sp shardSpec) report.ShardReport {
	t.Helper()
	if sp.count == 0 {
		sp.count = 3
	}
	if sp.duration == 0 {
		sp.duration = 10 * time.Second
	}
	if sp.latencies == nil {
		for range 1000 {
			sp.latencies = append(sp.latencies, 300)
		}
	}
	if sp.netns == "" {
		sp.netns = fmt.Sprintf("boot/ns%d", sp.index)
	}
	if sp.source == "" {
		sp.source = "127.0.0.1"
	}
	n := int64(len(sp.latencies))
	lat := loadgen.NewHistogram()
	for _, v := range sp.latencies {
		_ = lat.RecordValue(v)
	}
	lag := loadgen.NewHistogram()
	_ = lag.RecordValue(20)
	res := &loadgen.Result{Start: start.Add(sp.offset), Elapsed: sp.duration, Requests: n, Connections: n,
		StatusCodes: map[int]int64{200: n}, Closes: loadgen.Closes{ClientFirst: n}, ConnLifetime: time.Duration(n) * time.Millisecond,
		Latency: lat, Lag: lag, Scheduled: n}
	sm := samples(false, sp.tw)
	for i := range sm {
		sm[i].At = sm[i].At.Add(sp.offset)
	}
	sh := loadgen.Shard{Index: sp.index, Count: sp.count}
	s := sc("client-closes", loadgen.HTTP11, loadgen.CloserClient)
	fleet := &report.RunShard{Concurrency: s.Concurrency, Rate: s.Rate, Requests: s.Requests, Sources: []string{sp.source}, Expect: sp.expect}
	if fleet.Expect == nil {
		fleet.Expect = []report.Deferred{}
	}
	s.Concurrency, s.Rate = int(sh.Share(int64(s.Concurrency))), s.Rate/float64(sp.count)
	in := report.Input{Scenario: s, Target: sp.target, Loopback: true, Result: res, Samples: sm,
		Host: host("2", "1"), Counters: sockstat.Counters{"TW": n}, Shard: fleet}
	if sp.target == "" {
		in.Target, in.Builtin = fmt.Sprintf("http://127.0.0.1:%d/", 40000+sp.index), true
	} else {
		s.Target = sp.target
		in.Scenario = s
	}
	if sp.agent != "" {
		in.Remote = &report.Remote{URL: sp.agent, Matched: "10.0.0.9:8080", Samples: samples(true, 100), Counters: sockstat.Counters{"TW": 3000}}
		for i := range in.Remote.Samples {
			in.Remote.Samples[i].At = in.Remote.Samples[i].At.Add(sp.offset)
		}
	}
	run := report.Build(in)
	rep := &report.Report{Schema: report.Schema, Version: "test", Host: host("2", "1"), Runs: []report.Run{run},
		Shard: &report.ShardInfo{Index: sp.index, Count: sp.count, Hostname: fmt.Sprintf("pod-%d", sp.index), Netns: sp.netns}}
	return readBack(t, rep, fmt.Sprintf("s%d.json", sp.index))
}

func readBack(t *testing.T, rep *report.Report, name string) report.ShardReport {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	got, err := report.ReadReports(name, &b)
	if err != nil {
		t.Fatal(err)
	}
	return got[0]
}

func merge(t *testing.T, shards ...report.ShardReport) *report.Report {
	t.Helper()
	m, err := report.Merge(shards, false)
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	return m
}

// Counts are summed, and the latency percentiles are the merged
// histogram's: not an average of the shards' percentiles.
func TestMergeSums(t *testing.T) {
	values := [][]int64{repeat(100, 1000), repeat(200, 1000), repeat(10000, 10)}
	var shards []report.ShardReport
	all := loadgen.NewHistogram()
	for i, v := range values {
		shards = append(shards, shardReport(t, shardSpec{index: i, latencies: v}))
		for _, x := range v {
			_ = all.RecordValue(x)
		}
	}
	shards[1].Report.Runs[0].CutOff = &report.CutOff{AtEnd: 2}
	shards[2].Report.Runs[0].CutOff = &report.CutOff{AtEnd: 1, ByInterrupt: 4}
	r := merge(t, shards...).Runs[0]
	if r.CutOff == nil || r.CutOff.AtEnd != 3 || r.CutOff.ByInterrupt != 4 {
		t.Errorf("cut_off = %+v; want the sums, 3 at the end and 4 by an interrupt", r.CutOff)
	}
	if r.Requests != 2010 || r.Connections != 2010 || r.Closes.ClientFirst != 2010 || r.StatusCodes["200"] != 2010 {
		t.Errorf("requests %d, connections %d, client_first %d, 200s %d; want the sum, 2010", r.Requests, r.Connections, r.Closes.ClientFirst, r.StatusCodes["200"])
	}
	h, err := hdrhistogram.Decode([]byte(r.LatencyHDR))
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != r.Requests {
		t.Errorf("the merged histogram holds %d values; want the %d requests", h.TotalCount(), r.Requests)
	}
	if want := all.ValueAtQuantile(99); r.LatencyUS.P99 != want || want > 250 {
		t.Errorf("p99 = %d µs; want %d, the p99 of every shard's values (the shards' p99s average to 3,433)", r.LatencyUS.P99, want)
	}
	if want := all.ValueAtQuantile(99.9); r.LatencyUS.P999 != want {
		t.Errorf("p99.9 = %d µs; want %d", r.LatencyUS.P999, want)
	}
	if r.Scenario.Concurrency != 64 || r.Scenario.Rate != 4000 {
		t.Errorf("scenario: %d connections at %g/s; want the fleet's 64 at 4000/s", r.Scenario.Concurrency, r.Scenario.Rate)
	}
	if r.Schedule == nil || r.Schedule.Scheduled != 2010 || r.Schedule.LagHDR == "" || r.Schedule.LagUS.P99 != 20 {
		t.Errorf("schedule = %+v; want 2010 scheduled and the merged lag", r.Schedule)
	}
	if r.Fleet == nil || len(r.Fleet.Shards) != 3 || !json.Valid(r.Fleet.Shards[2].Run) {
		t.Fatalf("fleet = %+v; want the 3 shards' runs", r.Fleet)
	}
	if want := 2010 / 10.0; math.Abs(r.QPS-want) > 1e-9 {
		t.Errorf("qps = %g; want %g", r.QPS, want)
	}
}

func repeat(v int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// qps is over the union of the shards' load windows.
func TestMergeQPSOverTheUnion(t *testing.T) {
	for _, tc := range []struct {
		offsets []time.Duration
		union   float64
	}{
		{[]time.Duration{0, 0, 0}, 10},
		{[]time.Duration{0, 5 * time.Second, 2 * time.Second}, 15},
		{[]time.Duration{0, 20 * time.Second, 5 * time.Second}, 25}, // 0-15, then 20-30
	} {
		var shards []report.ShardReport
		for i, off := range tc.offsets {
			shards = append(shards, shardReport(t, shardSpec{index: i, offset: off}))
		}
		r := merge(t, shards...).Runs[0]
		if math.Abs(r.DurationS-tc.union) > 1e-6 || math.Abs(r.QPS-3000/tc.union) > 1e-6 {
			t.Errorf("loads starting at %v: duration %g s, qps %g; want %g s and %g", tc.offsets, r.DurationS, r.QPS, tc.union, 3000/tc.union)
		}
	}
}

// Shards that sampled the same sockets count them once: one network
// namespace and one target for the client end, one agent for the server
// end. Others add up.
func TestMergeEnds(t *testing.T) {
	const target = "http://10.0.0.9:8080/"
	t.Run("own namespaces", func(t *testing.T) {
		var shards []report.ShardReport
		for i := range 3 {
			shards = append(shards, shardReport(t, shardSpec{index: i, target: target, tw: 100}))
		}
		r := merge(t, shards...).Runs[0]
		if r.Client.NewTimeWait != 3000 || len(r.Fleet.ClientEnds) != 3 || r.Client.Peak["TIME_WAIT"] != 3000 {
			t.Errorf("client: new TIME_WAIT %d, peak %d, %d sets; want 3,000 and 3,000 from 3 sets", r.Client.NewTimeWait, r.Client.Peak["TIME_WAIT"], len(r.Fleet.ClientEnds))
		}
		if got := *r.Client.TimeWaitPerRequest; got != 1 {
			t.Errorf("client time_wait_per_request = %g; want 1", got)
		}
	})
	t.Run("one namespace", func(t *testing.T) {
		var shards []report.ShardReport
		for i := range 3 {
			// Each shard saw all 3,000 of the fleet's sockets.
			shards = append(shards, shardReport(t, shardSpec{index: i, target: target, netns: "boot/1", tw: 300}))
		}
		r := merge(t, shards...).Runs[0]
		if r.Client.NewTimeWait != 3000 || len(r.Fleet.ClientEnds) != 1 || len(r.Fleet.ClientEnds[0].Shards) != 3 {
			t.Errorf("client: new TIME_WAIT %d, sets %+v; want 3,000 from one set sampled by 3 shards", r.Client.NewTimeWait, r.Fleet.ClientEnds)
		}
		if got := *r.Client.TimeWaitPerRequest; got != 1 {
			t.Errorf("client time_wait_per_request = %g; want 1, not 3", got)
		}
		if r.KernelCounters["TW"] != 1000 {
			t.Errorf("kernel TW = %d; want 1,000: one namespace's counters count once", r.KernelCounters["TW"])
		}
	})
	t.Run("one agent", func(t *testing.T) {
		var shards []report.ShardReport
		for i := range 3 {
			shards = append(shards, shardReport(t, shardSpec{index: i, target: target, agent: "http://10.0.0.9:9911"}))
		}
		r := merge(t, shards...).Runs[0]
		if r.Server.NewTimeWait != 1000 || len(r.Fleet.ServerEnds) != 1 || r.Server.Source != "agent" || r.Server.KernelCounters["TW"] != 3000 {
			t.Errorf("server: new TIME_WAIT %d, sets %+v, source %q, TW %d; want one agent's 1,000, 3,000",
				r.Server.NewTimeWait, r.Fleet.ServerEnds, r.Server.Source, r.Server.KernelCounters["TW"])
		}
	})
}

// The port figures are the fleet's: every source address has its ports.
func TestMergePorts(t *testing.T) {
	one := shardReport(t, shardSpec{index: 0, count: 1})
	single := one.Report.Runs[0].Ports
	for _, tc := range []struct {
		sources []string
		want    int
	}{
		{[]string{"10.1.0.1", "10.1.0.2", "10.1.0.3"}, 3},
		{[]string{"127.0.0.1", "127.0.0.1", "127.0.0.1"}, 1},
	} {
		var shards []report.ShardReport
		for i, src := range tc.sources {
			shards = append(shards, shardReport(t, shardSpec{index: i, source: src}))
		}
		p := merge(t, shards...).Runs[0].Ports
		if p.UsablePorts != tc.want*single.UsablePorts {
			t.Errorf("sources %v: usable ports %d; want %d × %d", tc.sources, p.UsablePorts, tc.want, single.UsablePorts)
		}
		if got, want := *p.MaxSustainableQPS.Network, float64(tc.want)**single.MaxSustainableQPS.Network; math.Abs(got-want) > 1 {
			t.Errorf("sources %v: network ceiling %g; want about %g", tc.sources, got, want)
		}
		if p.PortsPerQPS != single.PortsPerQPS {
			t.Errorf("sources %v: ports per qps %g; want a shard's %g", tc.sources, p.PortsPerQPS, single.PortsPerQPS)
		}
	}
}

// Expectations are not checked by merge but handed on: the shards'
// (the same in each) for the caller to check once.
func TestMergeRefuses(t *testing.T) {
	ok := func() []report.ShardReport {
		var out []report.ShardReport
		for i := range 3 {
			out = append(out, shardReport(t, shardSpec{index: i}))
		}
		return out
	}
	edit := func(s *report.ShardReport, f func(m map[string]any)) {
		var m map[string]any
		_ = json.Unmarshal(s.Raw, &m)
		f(m)
		b, _ := json.Marshal(m)
		*s = readBack(t, mustRead(t, b), s.Input)
	}
	run0 := func(m map[string]any) map[string]any { return m["runs"].([]any)[0].(map[string]any) }
	for _, tc := range []struct {
		name   string
		change func([]report.ShardReport) []report.ShardReport
		want   string
	}{
		{"not a shard", func(s []report.ShardReport) []report.ShardReport {
			edit(&s[1], func(m map[string]any) { delete(m, "shard") })
			return s
		}, "s1.json: not a shard's report: merge takes the reports of twbench run --shard I/N"},
		{"another N", func(s []report.ShardReport) []report.ShardReport {
			s[2] = shardReport(t, shardSpec{index: 2, count: 4})
			return s
		}, "s2.json is shard 2/4, s0.json shard 0/3: the shards of one fleet have one N"},
		{"twice", func(s []report.ShardReport) []report.ShardReport {
			s[2] = shardReport(t, shardSpec{index: 0})
			s[2].Input = "s3.json"
			return s
		}, "shard 0/3 twice: s0.json and s3.json (counting from 1, 3/3 is shard 0/3)"},
		{"missing", func(s []report.ShardReport) []report.ShardReport { return s[:2] }, "shards missing: 2/3 of a fleet of 3 (have 2)"},
		{"another closer", func(s []report.ShardReport) []report.ShardReport {
			edit(&s[1], func(m map[string]any) { run0(m)["scenario"].(map[string]any)["closer"] = "server" })
			return s
		}, `scenario client-closes: s1.json has closer "server", s0.json "client": the shards of one fleet run one scenario`},
		{"another fleet rate", func(s []report.ShardReport) []report.ShardReport {
			edit(&s[2], func(m map[string]any) { run0(m)["shard"].(map[string]any)["rate"] = 3000 })
			return s
		}, "scenario client-closes: s2.json has rate 3000, s0.json 4000"},
		{"another scenario", func(s []report.ShardReport) []report.ShardReport {
			edit(&s[1], func(m map[string]any) { run0(m)["scenario"].(map[string]any)["name"] = "ab-finding" })
			return s
		}, "s1.json runs ab-finding, s0.json runs client-closes"},
		{"another port range", func(s []report.ShardReport) []report.ShardReport {
			edit(&s[1], func(m map[string]any) {
				m["host"].(map[string]any)["sysctl"].(map[string]any)["net.ipv4.ip_local_port_range"] = "1024 65535"
			})
			return s
		}, `s1.json has net.ipv4.ip_local_port_range "1024 65535", s0.json "32768 60999": the fleet's port figures need one setting`},
		{"another regime", func(s []report.ShardReport) []report.ShardReport {
			edit(&s[2], func(m map[string]any) {
				run0(m)["ports"].(map[string]any)["max_sustainable_qps"].(map[string]any)["in_force"] = "network"
			})
			return s
		}, "s2.json ran in the network regime, s0.json in the loopback"},
		{"other expectations", func(s []report.ShardReport) []report.ShardReport {
			s[1] = shardReport(t, shardSpec{index: 1, expect: []report.Deferred{{Expr: "qps > 1", Source: "--expect"}}})
			return s
		}, `s1.json expects "qps > 1", s0.json nothing`},
		{"a merged report", func(s []report.ShardReport) []report.ShardReport {
			m, err := report.Merge(s, false)
			if err != nil {
				t.Fatal(err)
			}
			return []report.ShardReport{readBack(t, m, "fleet.json")}
		}, "fleet.json: a merged report (a fleet of 3), not a shard's"},
		{"a fleet too large", func(s []report.ShardReport) []report.ShardReport {
			edit(&s[1], func(m map[string]any) { m["shard"].(map[string]any)["count"] = 1e9 })
			return s
		}, "s1.json: a fleet of 1000000000 shards: at most 100000"},
		{"an index out of its fleet", func(s []report.ShardReport) []report.ShardReport {
			edit(&s[1], func(m map[string]any) { m["shard"].(map[string]any)["index"] = 3 })
			return s
		}, "s1.json: shard 3/3: not a shard of 3"},
		{"a broken histogram", func(s []report.ShardReport) []report.ShardReport {
			edit(&s[1], func(m map[string]any) { run0(m)["latency_hdr"] = "HISTFAAAA" })
			return s
		}, "s1.json: scenario client-closes: latency_hdr:"},
		{"no histogram", func(s []report.ShardReport) []report.ShardReport {
			edit(&s[1], func(m map[string]any) { run0(m)["latency_hdr"] = "" })
			return s
		}, "s1.json: scenario client-closes has no latency_hdr: its latency cannot be merged"},
	} {
		_, err := report.Merge(tc.change(ok()), false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error saying %q", tc.name, err, tc.want)
		}
	}
	// A partial merge says which are missing.
	m, err := report.Merge(ok()[1:], true)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Fleet.Missing) != 1 || m.Fleet.Missing[0] != 0 || m.Runs[0].Requests != 2000 {
		t.Errorf("partial: missing %v, requests %d; want [0] and 2,000", m.Fleet.Missing, m.Runs[0].Requests)
	}
	if _, err := report.Merge(ok()[1:], false); !errors.Is(err, report.ErrMissingShards) {
		t.Errorf("missing shards: %v; want ErrMissingShards", err)
	}
}

func mustRead(t *testing.T, b []byte) *report.Report {
	t.Helper()
	r, err := report.ReadReport(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Keys merge does not know (a later version's) are neither dropped nor
// merged: each shard's are kept as it wrote them, and a note names them.
func TestMergeKeepsUnknownKeys(t *testing.T) {
	var shards []report.ShardReport
	for i := range 3 {
		s := shardReport(t, shardSpec{index: i})
		var m map[string]any
		_ = json.Unmarshal(s.Raw, &m)
		m["memory"] = map[string]any{"rss_mb": 40 + i}
		run := m["runs"].([]any)[0].(map[string]any)
		run["upstreams"] = []any{map[string]any{"name": "db", "addr": "10.0.0.7:5432"}}
		run["client"].(map[string]any)["top_time_wait"] = []any{map[string]any{"addr": "10.0.0.9", "n": i}}
		raw, _ := json.Marshal(m)
		got, err := report.ReadReports(s.Input, bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, got[0])
	}
	m := merge(t, shards...)
	r := m.Runs[0]
	want := []string{"runs[].client.top_time_wait", "runs[].upstreams"}
	if strings.Join(r.Fleet.Unmerged, ",") != strings.Join(want, ",") {
		t.Errorf("unmerged = %q; want %q", r.Fleet.Unmerged, want)
	}
	if !strings.Contains(string(r.Fleet.Shards[1].Run), `"upstreams"`) || !strings.Contains(string(r.Fleet.Shards[1].Run), `"top_time_wait"`) {
		t.Errorf("shard 1's run lost the keys merge does not know:\n%s", r.Fleet.Shards[1].Run)
	}
	if got := string(m.Fleet.Shards[2].Unmerged["memory"]); got != `{"rss_mb":42}` {
		t.Errorf("shard 2's memory = %s; want it as written", got)
	}
	if !hasNote(r.Notes, "memory, runs[].client.top_time_wait, runs[].upstreams") {
		t.Errorf("no note names the keys not merged: %q", r.Notes)
	}
}

func hasNote(notes []string, part string) bool {
	for _, n := range notes {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

// The merged report is a report of the same schema.
func TestMergedReportMatchesSchema(t *testing.T) {
	schema := compileSchema(t)
	var shards []report.ShardReport
	for i := range 3 {
		shards = append(shards, shardReport(t, shardSpec{index: i, target: "http://10.0.0.9:8080/", agent: "http://10.0.0.9:9911"}))
	}
	if err := schema.Validate(decodeJSON(t, merge(t, shards...))); err != nil {
		t.Errorf("the merged report does not match the schema: %v", err)
	}
	if err := schema.Validate(decodeJSON(t, shards[0].Report)); err != nil {
		t.Errorf("a shard's report does not match the schema: %v", err)
	}
}

// A shard's share of a rate reads as a rate, not as a float's digits.
func TestShardLoadText(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteText(&b, shardReport(t, shardSpec{index: 0}).Report); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1,333.33/s open, ≤22 conns") {
		t.Errorf("the load of shard 0/3 of 4,000/s and 64 connections:\n%s", b.String())
	}
}

// The shards' cumulative counts add up on one time axis: nothing before
// the load, everything at its end.
func TestMergeThroughput(t *testing.T) {
	var shards []report.ShardReport
	for i := range 3 {
		shards = append(shards, shardReport(t, shardSpec{index: i, offset: time.Duration(i) * 100 * time.Millisecond}))
	}
	tp := merge(t, shards...).Runs[0].Throughput
	if len(tp) < 10 {
		t.Fatalf("%d throughput points", len(tp))
	}
	last := shards[0].Report.Runs[0].Throughput
	if want := 3 * last[len(last)-1].Requests; tp[len(tp)-1].Requests != want {
		t.Errorf("the last point: %d requests; want the shards' %d", tp[len(tp)-1].Requests, want)
	}
	for _, p := range tp {
		if p.T < 0 && p.Requests != 0 {
			t.Errorf("t = %.3f s, before any load: %d requests", p.T, p.Requests)
		}
	}
	for k := 1; k < len(tp); k++ {
		if tp[k].Requests < tp[k-1].Requests {
			t.Errorf("cumulative requests fall from %d to %d at t = %.3f s", tp[k-1].Requests, tp[k].Requests, tp[k].T)
		}
	}
}

// Parts of a run merge knows but does not combine (a --watch endpoint's
// ends, the addresses holding an end's TIME_WAIT) are each shard's: kept
// in its run, named as not merged, and left out of the merged run rather
// than dropped in silence.
func TestMergeKeepsPerShardParts(t *testing.T) {
	var shards []report.ShardReport
	for i := range 3 {
		s := shardReport(t, shardSpec{index: i})
		var m map[string]any
		_ = json.Unmarshal(s.Raw, &m)
		run := m["runs"].([]any)[0].(map[string]any)
		run["watched"] = map[string]any{"db": map[string]any{"address": "10.0.0.7:5432",
			"client": map[string]any{"sampled": true}, "server": map[string]any{"sampled": false}}}
		run["server"].(map[string]any)["time_wait_memory"] = map[string]any{"peak_bytes": 256 * (i + 1), "object_bytes": 256}
		run["reuseport"] = map[string]any{"listeners": 2, "accepts": []int{i, 1}}
		raw, _ := json.Marshal(m)
		got, err := report.ReadReports(s.Input, bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, got[0])
	}
	r := merge(t, shards...).Runs[0]
	want := []string{"runs[].watched", "runs[].server.time_wait_memory", "runs[].reuseport"}
	if strings.Join(r.Fleet.Unmerged, ",") != strings.Join(want, ",") {
		t.Errorf("unmerged = %q; want %q", r.Fleet.Unmerged, want)
	}
	if r.Watched != nil || r.Server.TimeWaitMemory != nil || r.ReusePort != nil {
		t.Errorf("the merged run has watched %v, server memory %v, reuseport %v; want none", r.Watched, r.Server.TimeWaitMemory, r.ReusePort)
	}
	if !hasNote(r.Notes, "not merged: runs[].watched, runs[].server.time_wait_memory, runs[].reuseport") {
		t.Errorf("no note names the parts kept per shard: %q", r.Notes)
	}
	if !strings.Contains(string(r.Fleet.Shards[0].Run), `"watched"`) {
		t.Errorf("shard 0's run lost its watched endpoints")
	}
}
