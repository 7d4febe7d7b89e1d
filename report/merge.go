package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/sockstat"
)

// ErrMissingShards is returned by Merge when shards of the fleet are
// missing and a partial merge was not asked for.
var ErrMissingShards = errors.New("shards missing")

// MaxHistogramLen bounds an encoded histogram merge decodes: twbench's
// are a few kilobytes.
const MaxHistogramLen = 16 << 20

// portSettings are the host settings the port figures rest on: a fleet's
// shards must agree on them for the fleet's figures to mean anything.
var portSettings = []string{sockstat.SysctlPortRange, sockstat.SysctlReservedPorts, sockstat.SysctlTWReuse,
	sockstat.SysctlTWReuseDelay, sockstat.SysctlTimestamps}

// shard is one shard's report in a merge.
type shard struct {
	*ShardReport
	index int
	// domain names the sockets the shard could see: its network namespace,
	// or its host where that is not known.
	domain, domainText string
	runs               []json.RawMessage // its runs as written
	unknown            []string          // keys of its report this version does not know
}

// Merge merges the reports of a fleet's shards (run --shard I/N) into one
// report of the same schema: per scenario, the counts summed, latency from
// the merged histograms, qps over the union of the shards' load windows,
// each end summed over the distinct sets of sockets the shards sampled, the
// ports recomputed for the fleet's source addresses. What is not merged is
// kept: each shard's run as it wrote it, under runs[].fleet.shards. Reports
// that cannot be merged (not shards, of other fleets, scenarios or
// settings) are refused with an error that names the difference; missing
// shards too (ErrMissingShards), unless partial is set. The merged runs'
// expectations are left to the caller: each shard's runs[].shard.expect
// (the same in every shard) and its own.
func Merge(in []ShardReport, partial bool) (*Report, error) {
	shards, err := checkFleet(in, partial)
	if err != nil {
		return nil, err
	}
	first := shards[0]
	out := &Report{Schema: Schema, Host: first.Report.Host, Runs: []Run{}, Fleet: &Fleet{Count: first.Report.Shard.Count}}
	kernels := map[string]bool{}
	present := map[int]bool{}
	for _, s := range shards {
		present[s.index] = true
		kernels[s.Report.Host.Kernel] = true
		fs := FleetShard{Index: s.index, Input: s.Input, Hostname: s.Report.Shard.Hostname, Netns: s.Report.Shard.Netns,
			Version: s.Report.Version, Host: rawKey(s.Raw, "host")}
		for _, k := range s.unknown {
			if !strings.Contains(k, ".") && !strings.Contains(k, "[") {
				if fs.Unmerged == nil {
					fs.Unmerged = map[string]json.RawMessage{}
				}
				fs.Unmerged[k] = rawKey(s.Raw, k)
			}
		}
		out.Fleet.Shards = append(out.Fleet.Shards, fs)
	}
	for i := range out.Fleet.Count {
		if !present[i] {
			out.Fleet.Missing = append(out.Fleet.Missing, i)
		}
	}
	if len(kernels) > 1 {
		out.Host.Kernel = strings.Join(slices.Sorted(maps.Keys(kernels)), ", ")
	}
	for i := range first.Report.Runs {
		run, err := mergeRun(shards, i)
		if err != nil {
			return nil, err
		}
		out.Runs = append(out.Runs, run)
	}
	return out, nil
}

// checkFleet checks that the reports are the shards of one fleet, and
// returns them in the order of their index.
func checkFleet(in []ShardReport, partial bool) ([]*shard, error) {
	if len(in) == 0 {
		return nil, errors.New("no report to merge")
	}
	var shards []*shard
	for i := range in {
		sr := &in[i]
		rep := sr.Report
		switch {
		case rep.Shard == nil && rep.Fleet != nil:
			return nil, fmt.Errorf("%s: a merged report (a fleet of %d), not a shard's: merge the shards' reports", sr.Input, rep.Fleet.Count)
		case rep.Shard == nil:
			return nil, fmt.Errorf("%s: not a shard's report: merge takes the reports of twbench run --shard I/N", sr.Input)
		case rep.Shard.Count > loadgen.MaxShards:
			return nil, fmt.Errorf("%s: a fleet of %d shards: at most %d", sr.Input, rep.Shard.Count, loadgen.MaxShards)
		case rep.Shard.Count < 1 || rep.Shard.Index < 0 || rep.Shard.Index >= rep.Shard.Count:
			return nil, fmt.Errorf("%s: shard %d/%d: not a shard of %d", sr.Input, rep.Shard.Index, rep.Shard.Count, rep.Shard.Count)
		}
		for k := range rep.Runs {
			if rep.Runs[k].Shard == nil {
				return nil, fmt.Errorf("%s: scenario %s has no runs[].shard: not written by twbench run --shard", sr.Input, rep.Runs[k].Scenario.Name)
			}
		}
		s := &shard{ShardReport: sr, index: rep.Shard.Index}
		s.domain, s.domainText = "netns "+rep.Shard.Netns, "host "+rep.Shard.Hostname+", network namespace "+rep.Shard.Netns
		if rep.Shard.Netns == "" {
			s.domain, s.domainText = "host "+rep.Shard.Hostname, "host "+rep.Shard.Hostname
		}
		var top struct {
			Runs []json.RawMessage `json:"runs"`
		}
		if err := json.Unmarshal(sr.Raw, &top); err != nil || len(top.Runs) != len(rep.Runs) {
			return nil, fmt.Errorf("%s: its runs do not decode: %v", sr.Input, err)
		}
		s.runs = top.Runs
		s.unknown = unknownKeys(sr.Raw, reportType, "")
		shards = append(shards, s)
	}
	slices.SortStableFunc(shards, func(a, b *shard) int { return cmp.Compare(a.index, b.index) })
	first := shards[0]
	count := first.Report.Shard.Count
	for i, s := range shards {
		if c := s.Report.Shard.Count; c != count {
			return nil, fmt.Errorf("%s is shard %d/%d, %s shard %d/%d: the shards of one fleet have one N",
				s.Input, s.index, c, first.Input, first.index, count)
		}
		if i > 0 && shards[i-1].index == s.index {
			hint := ""
			if s.index == 0 {
				hint = fmt.Sprintf(" (counting from 1, %d/%d is shard 0/%d)", count, count, count)
			}
			return nil, fmt.Errorf("shard %d/%d twice: %s and %s%s", s.index, count, shards[i-1].Input, s.Input, hint)
		}
	}
	if len(shards) < count && !partial {
		var missing []string
		have := map[int]bool{}
		for _, s := range shards {
			have[s.index] = true
		}
		for i := range count {
			if !have[i] {
				missing = append(missing, fmt.Sprintf("%d/%d", i, count))
			}
		}
		return nil, fmt.Errorf("%w: %s of a fleet of %d (have %d)", ErrMissingShards, shortList(missing, 10), count, len(shards))
	}
	for _, s := range shards[1:] {
		if err := sameFleet(first, s); err != nil {
			return nil, err
		}
	}
	return shards, nil
}

// sameFleet checks that b ran what a ran, on the settings a ran on.
func sameFleet(a, b *shard) error {
	ra, rb := a.Report, b.Report
	if na, nb := runNames(ra), runNames(rb); na != nb {
		return fmt.Errorf("%s runs %s, %s runs %s: the shards of one fleet run the same scenarios", b.Input, nb, a.Input, na)
	}
	for _, key := range portSettings {
		if va, vb := ra.Host.Sysctl[key], rb.Host.Sysctl[key]; va != vb {
			return fmt.Errorf("%s has %s %q, %s %q: the fleet's port figures need one setting", b.Input, key, vb, a.Input, va)
		}
	}
	for i := range ra.Runs {
		x, y := &ra.Runs[i], &rb.Runs[i]
		name := x.Scenario.Name
		if key, va, vb := firstDifference(fleetScenario(x), fleetScenario(y)); key != "" {
			return fmt.Errorf("scenario %s: %s has %s %s, %s %s: the shards of one fleet run one scenario", name, b.Input, key, vb, a.Input, va)
		}
		if x.Ports.MaxSustainableQPS.InForce != y.Ports.MaxSustainableQPS.InForce {
			return fmt.Errorf("scenario %s: %s ran in the %s regime, %s in the %s: the fleet's ceilings need one", name,
				b.Input, y.Ports.MaxSustainableQPS.InForce, a.Input, x.Ports.MaxSustainableQPS.InForce)
		}
		if !slices.Equal(x.Shard.Expect, y.Shard.Expect) {
			return fmt.Errorf("scenario %s: %s expects %s, %s %s: the fleet's expectations are checked once", name,
				b.Input, deferredText(y.Shard.Expect), a.Input, deferredText(x.Shard.Expect))
		}
	}
	return nil
}

func runNames(r *Report) string {
	names := make([]string, len(r.Runs))
	for i := range r.Runs {
		names[i] = r.Runs[i].Scenario.Name
	}
	if len(names) == 0 {
		return "no scenario"
	}
	return strings.Join(names, ", ")
}

func deferredText(ds []Deferred) string {
	if len(ds) == 0 {
		return "nothing"
	}
	var parts []string
	for _, d := range ds {
		parts = append(parts, ShortExpr(d.Expr))
	}
	return strings.Join(parts, ", ")
}

func shortList(items []string, most int) string {
	if len(items) > most {
		return strings.Join(items[:most], ", ") + fmt.Sprintf(" and %d more", len(items)-most)
	}
	return strings.Join(items, ", ")
}

// fleetScenario returns the scenario of the fleet a shard's run belongs to,
// as JSON: its own, with the fleet's concurrency, rate and requests.
func fleetScenario(r *Run) map[string]json.RawMessage {
	sc := r.Scenario
	sc.Concurrency, sc.Rate, sc.Requests = r.Shard.Concurrency, r.Shard.Rate, r.Shard.Requests
	b, _ := json.Marshal(sc)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	return m
}

// firstDifference returns the first key, in order, whose values differ.
func firstDifference(a, b map[string]json.RawMessage) (key, va, vb string) {
	for _, k := range slices.Sorted(maps.Keys(mergeMaps(a, b))) {
		x, y := a[k], b[k]
		if string(x) != string(y) {
			return k, rawOrNone(x), rawOrNone(y)
		}
	}
	return "", "", ""
}

func mergeMaps(a, b map[string]json.RawMessage) map[string]json.RawMessage {
	m := maps.Clone(a)
	maps.Copy(m, b)
	return m
}

func rawOrNone(v json.RawMessage) string {
	if v == nil {
		return "none"
	}
	return string(v)
}

// rawKey returns a key of a JSON object as written.
func rawKey(obj json.RawMessage, key string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return nil
	}
	return m[key]
}

// part is one shard's run of a scenario.
type part struct {
	s     *shard
	run   *Run
	raw   json.RawMessage
	start time.Time
	end   time.Time
}

// mergeRun merges the shards' runs of scenario i.
func mergeRun(shards []*shard, i int) (Run, error) {
	parts := make([]*part, len(shards))
	for k, s := range shards {
		r := &s.Report.Runs[i]
		start, err := time.Parse(time.RFC3339Nano, r.StartedAt)
		if err != nil {
			return Run{}, fmt.Errorf("%s: scenario %s: started_at %q: want an RFC 3339 time", s.Input, r.Scenario.Name, r.StartedAt)
		}
		parts[k] = &part{s: s, run: r, raw: s.runs[i], start: start, end: start.Add(time.Duration(r.DurationS * float64(time.Second)))}
	}
	first := parts[0].run
	t0 := parts[0].start
	for _, p := range parts {
		t0 = minTime(t0, p.start)
	}
	m := Run{
		Scenario:       first.Scenario,
		Target:         first.Target,
		BuiltinTarget:  first.BuiltinTarget,
		Topology:       first.Topology,
		Host:           first.Host,
		StartedAt:      t0.UTC().Format(time.RFC3339Nano),
		Errors:         map[string]int64{},
		StatusCodes:    map[string]int64{},
		KernelCounters: map[string]int64{},
		Expectations:   []Expectation{},
		Fleet:          &RunFleet{Sources: []string{}},
	}
	m.Scenario.Concurrency, m.Scenario.Rate, m.Scenario.Requests = first.Shard.Concurrency, first.Shard.Rate, first.Shard.Requests
	m.DurationS = round(unionSeconds(parts), 6)
	if err := m.mergeCounts(parts); err != nil {
		return Run{}, err
	}
	if m.DurationS > 0 {
		m.QPS = float64(m.Requests) / m.DurationS
	}
	if err := m.mergeLatency(parts); err != nil {
		return Run{}, err
	}
	interval := time.Duration(first.Scenario.SampleInterval)
	var clientGroups, serverGroups []*endGroup
	var notes []string
	m.Client, clientGroups, notes = mergeEnd(parts, t0, interval, "client", clientKey)
	m.Notes = append(m.Notes, notes...)
	m.Server, serverGroups, notes = mergeEnd(parts, t0, interval, "server", serverKey)
	m.Notes = append(m.Notes, notes...)
	for _, g := range clientGroups {
		m.Fleet.ClientEnds = append(m.Fleet.ClientEnds, g.summary())
	}
	for _, g := range serverGroups {
		m.Fleet.ServerEnds = append(m.Fleet.ServerEnds, g.summary())
	}
	m.mergeKernelCounters(parts)
	m.Throughput = mergeThroughput(parts, t0, interval)
	m.PerSecond = mergePerSecond(parts)
	m.Sampling = mergeSampling(parts)
	m.mergePorts(parts, clientGroups, t0, interval)
	m.Exhaustion = mergeExhaustion(parts, t0, &m.Ports)
	m.CPU = mergeCPU(parts)
	m.mergeStart(parts, t0)
	m.Notes = append(m.Notes, fleetNotes(&m, parts, t0)...)
	m.Notes = append(m.Notes, shardNotes(parts)...)
	return m, nil
}

// unionSeconds returns how long at least one shard's load ran.
func unionSeconds(parts []*part) float64 {
	spans := make([]*part, len(parts))
	copy(spans, parts)
	slices.SortFunc(spans, func(a, b *part) int { return a.start.Compare(b.start) })
	var total time.Duration
	var from, to time.Time
	for i, p := range spans {
		switch {
		case i == 0:
			from, to = p.start, p.end
		case p.start.After(to):
			total += to.Sub(from)
			from, to = p.start, p.end
		default:
			to = maxTime(to, p.end)
		}
	}
	total += to.Sub(from)
	return total.Seconds()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// mergeCPU adds up the shards' CPU time: each shard is a process of its
// own. Null unless every shard's was measured.
func mergeCPU(parts []*part) *CPU {
	var sum CPU
	for _, p := range parts {
		if p.run.CPU == nil {
			return nil
		}
		sum.UserS, sum.SystemS = round(sum.UserS+p.run.CPU.UserS, 3), round(sum.SystemS+p.run.CPU.SystemS, 3)
	}
	return &sum
}
