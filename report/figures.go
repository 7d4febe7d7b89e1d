package report

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/expr-lang/expr/types"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// figurePrototype returns a run's JSON with every figure an expectation
// may name present: every state, error class and kernel counter, and the
// optional parts (schedule, sampling) filled in.
func figurePrototype() map[string]any {
	zero := 0.0
	// Keys the writer leaves out when they are empty are given a value,
	// so that they are names too.
	r := Run{
		Errors:         map[string]int64{},
		CloseErrors:    map[string]int64{},
		ErrorExamples:  map[string]string{"-": ""},
		KernelCounters: map[string]int64{},
		Schedule:       &Schedule{},
		Sampling:       &Sampling{},
		Interrupted:    true,
		Notes:          []string{""},
	}
	r.Scenario.Description, r.Scenario.Target = "-", "-"
	r.Scenario.RequestSize, r.Scenario.ResponseSize, r.Scenario.RequestsPerConn = 1, 1, 1
	r.Scenario.HalfClose, r.Scenario.ClientPortRange, r.Scenario.Sources = true, "-", []string{"-"}
	r.Scenario.Topology, r.Scenario.Proxy, r.Scenario.UpstreamKeepAlive = "-", true, true
	yes := true
	r.Scenario.ReuseAddr, r.Scenario.ReusePort, r.Scenario.RestartAt, r.Scenario.Baseline = &yes, 1, 1, "-"
	r.Restart = &Restart{RebindMS: &zero, Error: "-", ErrorMessage: "-", TimeWaitOnPort: 1}
	r.ReusePort, r.Remedy = &ReusePort{Accepts: []int64{0}}, &Remedy{BaselineValue: &zero}
	r.Scenario.NamespaceSettings = map[string]string{}
	for _, n := range scenario.NamespaceSettings() {
		r.Scenario.NamespaceSettings[n.Key] = "-"
	}
	r.ServerErrors = map[string]int64{"ECONNRESET": 0, "other": 0}
	r.Exhaustion = []Exhaustion{{MeasuredCeiling: &zero, MeasuredRatio: &zero,
		CPUBefore: &PhaseCPU{SystemUSPerAttempt: &zero}, CPUAfter: &PhaseCPU{SystemUSPerAttempt: &zero}}}
	r.Topology, r.CPU = &Topology{Name: "-", ClientAddress: "-", ServerAddress: "-"}, &CPU{}
	r.Host = &sockstat.Host{Kernel: "-", Sysctl: map[string]string{}}
	for _, name := range sockstat.HostSysctls() {
		r.Host.Sysctl[name] = ""
	}
	r.Ports.PortRangeFrom = "-"
	r.Ports.Sources = []SourceUse{{}}
	second := SecondPoint{Errors: map[string]int64{}}
	for c := range loadgen.NumErrorClasses {
		second.Errors[loadgen.ErrorClass(c).String()] = 0
	}
	r.PerSecond = []SecondPoint{second}
	for c := range loadgen.NumErrorClasses {
		name := loadgen.ErrorClass(c).String()
		r.Errors[name], r.CloseErrors[name] = 0, 0
	}
	for _, name := range sockstat.CounterNames() {
		r.KernelCounters[name] = 0
	}
	for _, e := range []*End{&r.Client, &r.Server} {
		e.TimeWaitHolders = &Holders{By: "-", Top: []Holder{{Address: "-"}}}
		e.TimeWaitMemory = &TimeWaitMemory{Slab: "-", SizeFrom: "-", Reason: "-"}
		e.Baseline, e.Peak, e.Final = map[string]int{}, map[string]int{}, map[string]int{}
		for _, s := range sockstat.ConnStates() {
			e.Baseline[s.String()], e.Peak[s.String()], e.Final[s.String()] = 0, 0, 0
		}
		e.TimeWaitPerRequest = &zero
		e.Reason = "-"
		// The keys of an end read from a remote agent.
		e.Source, e.AgentURL, e.Matched = "-", "-", "-"
		e.ClockOffsetMS, e.ClockRTTMS, e.MissingFrom = &zero, &zero, &zero
		var n int64
		e.RequestsSampled = &n
		e.KernelCounters = map[string]int64{}
		for _, name := range sockstat.CounterNames() {
			e.KernelCounters[name] = 0
		}
		e.Gaps = []Gap{{To: &zero}}
		e.Host = &sockstat.Host{Kernel: "-", Sysctl: map[string]string{}}
		for _, name := range sockstat.HostSysctls() {
			e.Host.Sysctl[name] = ""
		}
	}
	r.TimeWaitSeconds = &zero
	r.Ports.MaxSustainableQPS.Loopback, r.Ports.MaxSustainableQPS.Network = &zero, &zero
	// A watched command's run, and the endpoints --watch names: one
	// stands for all, whatever its name (openMap).
	var n int64
	code := 0
	r.Watch = &Watch{Command: []string{"-"}, ExitCode: &code, Signal: "-", Tool: "-", LatencyGiven: []string{"-"},
		FirstClose: "-", ClosesFrom: "-", Resets: &n, Sources: map[string]string{},
		Connections: WatchConnections{ActiveOpens: &n, PassiveOpens: &n, From: "-"},
		Output:      WatchOutput{Stdout: []string{"-"}, Stderr: []string{"-"}}}
	for _, k := range WatchSources() {
		r.Watch.Sources[k] = "-"
	}
	r.Watched = WatchedEnds{{Name: "-", Address: "-", Client: r.Client, Server: r.Server}}
	m, err := toMap(&r)
	if err != nil {
		panic("report: the prototype run does not encode: " + err.Error())
	}
	return m
}

// openMap returns the type of a map keyed by values the run meets (status
// codes, error messages): it takes any key, not checked by name.
func openMap(key string) (types.Type, bool) {
	switch key {
	case "status_codes":
		return types.Map{types.Extra: types.Float64}, true
	case "error_examples":
		return types.Map{types.Extra: types.String}, true
	}
	return nil, false
}

// figureTypes returns the expectation language's variables and their
// types, from the prototype.
func figureTypes() types.Map {
	proto := figurePrototype()
	delete(proto, "expectations")
	return typeOf(proto, "").(types.Map)
}

func typeOf(v any, key string) types.Type {
	if t, ok := openMap(key); ok {
		return t
	}
	if key == watchedKey {
		// Keyed by the names --watch gave: any name, each an endpoint
		// like the prototype's one.
		for _, x := range v.(map[string]any) {
			return types.Map{types.Extra: typeOf(x, "")}
		}
	}
	switch v := v.(type) {
	case map[string]any:
		m := types.Map{}
		for k, x := range v {
			m[k] = typeOf(x, k)
		}
		return m
	case []any:
		// The prototype holds one item of each list, so that the fields of
		// its items are names too: exhaustion[0].ratio.
		if len(v) > 0 {
			return types.Array(typeOf(v[0], ""))
		}
		return types.Array(types.Any)
	case float64:
		return types.Float64
	case string:
		return types.String
	case bool:
		return types.Bool
	}
	return types.Any
}

// figureValues returns a run's figures for evaluation: its JSON, with
// every figure of the prototype it lacks set to zero, so that an error
// class that did not occur counts 0.
func figureValues(r *Run) (map[string]any, error) {
	m, err := toMap(r)
	if err != nil {
		return nil, err
	}
	fillZero(m, figurePrototype())
	nullUnmeasured(m, r)
	return m, nil
}

// nullUnmeasured makes the figures a run did not measure null, not 0: an
// expectation over them then fails saying so, rather than judging a zero
// nobody measured.
func nullUnmeasured(m map[string]any, r *Run) {
	if r.ServerErrors == nil {
		// Only the built-in target counts what it saw.
		m["server_errors"] = map[string]any{"ECONNRESET": nil, "other": nil}
	}
	nullWatch(m, r)
	type end struct {
		m   map[string]any
		end *End
	}
	var ends []end
	for k, e := range map[string]*End{"client": &r.Client, "server": &r.Server} {
		if em, ok := m[k].(map[string]any); ok {
			ends = append(ends, end{em, e})
		}
	}
	watched, _ := m[watchedKey].(map[string]any)
	for i := range r.Watched {
		w := &r.Watched[i]
		wm, _ := watched[w.Name].(map[string]any)
		for k, e := range map[string]*End{"client": &w.Client, "server": &w.Server} {
			if em, ok := wm[k].(map[string]any); ok {
				ends = append(ends, end{em, e})
			}
		}
	}
	for _, e := range ends {
		em := e.m
		if !e.end.Sampled {
			// Nothing was counted at this end (sampling off, or out of
			// reach): its counts are unknown, not 0.
			for _, k := range []string{"baseline", "peak", "final"} {
				states := map[string]any{}
				for _, st := range sockstat.ConnStates() {
					states[st.String()] = nil
				}
				em[k] = states
			}
			em["new_time_wait"] = nil
			em["time_wait_memory"] = map[string]any{"peak_bytes": nil, "object_bytes": nil, "slab": nil, "size_from": nil, "reason": nil}
		}
		if e.end.Source != SourceAgent {
			// Not read from an agent: no clock.
			for _, k := range []string{"clock_offset_ms", "clock_rtt_ms"} {
				em[k] = nil
			}
		}
		if e.end.MissingFrom == nil {
			em["missing_from"] = nil
		}
		if e.end.RequestsSampled == nil {
			em["requests_sampled"] = nil
		}
	}
}

// watchedKey is the run's key of the endpoints --watch names: an object
// keyed by their names.
const watchedKey = "watched"

// nullWatch makes null the figures of a watched command's run that it
// did not measure: the latency percentiles its summary did not give, and
// with no summary at all its requests, qps, latency and errors; in a run
// of twbench's own load, the whole watch object.
func nullWatch(m map[string]any, r *Run) {
	if r.Watch == nil {
		m["watch"] = nil
		return
	}
	lat, _ := m["latency_us"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "p999", "max", "mean"} {
		if !slices.Contains(r.Watch.LatencyGiven, k) {
			lat[k] = nil
		}
	}
	if r.Watch.Tool == "" {
		m["requests"], m["qps"] = nil, nil
		if errs, ok := m["errors"].(map[string]any); ok {
			for k := range errs {
				errs[k] = nil
			}
		}
	}
}

// fillZero gives dst every key of proto it lacks, with its type's zero
// value: 0, false, "", an empty list, or a map filled the same way.
func fillZero(dst, proto map[string]any) {
	for k, p := range proto {
		v, ok := dst[k]
		if k == watchedKey {
			// Each endpoint the run has is filled as the prototype's one.
			ends, isMap := v.(map[string]any)
			if !isMap {
				dst[k] = map[string]any{}
				continue
			}
			for _, one := range p.(map[string]any) {
				for _, e := range ends {
					if em, ok := e.(map[string]any); ok {
						fillZero(em, one.(map[string]any))
					}
				}
			}
			continue
		}
		switch p := p.(type) {
		case map[string]any:
			if _, open := openMap(k); open {
				if !ok || v == nil {
					dst[k] = map[string]any{}
				}
				continue
			}
			sub, isMap := v.(map[string]any)
			if !isMap {
				if ok && v != nil {
					continue
				}
				sub = map[string]any{}
				dst[k] = sub
			}
			fillZero(sub, p)
		case float64:
			if !ok {
				dst[k] = 0.0
			}
		case bool:
			if !ok {
				dst[k] = false
			}
		case string:
			if !ok {
				dst[k] = ""
			}
		case []any:
			list, isList := v.([]any)
			if !isList {
				if !ok || v == nil {
					dst[k] = []any{}
				}
				continue
			}
			if len(p) == 0 {
				continue
			}
			itemProto, isMap := p[0].(map[string]any)
			if !isMap {
				continue
			}
			for _, item := range list {
				if m, ok := item.(map[string]any); ok {
					fillZero(m, itemProto)
				}
			}
		}
	}
}

// toMap returns v (a run or a plan) as its JSON decodes.
func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("report: encode figures: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("report: decode figures: %w", err)
	}
	return m, nil
}
