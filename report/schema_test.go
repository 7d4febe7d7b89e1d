package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

const schemaFile = "../docs/report.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema { return compileSchemaFile(t, schemaFile) }

// compileSchemaFile compiles the JSON schema in file, asserting formats.
func compileSchemaFile(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s is not JSON: %v", file, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	url, _ := filepath.Abs(file)
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("%s does not compile: %v", file, err)
	}
	return s
}

func decodeJSON(t *testing.T, rep *report.Report) any {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// variants are reports that between them set every key the writer can
// write: failures, an unsampled end, nulls, a closed loop, expectations.
func variants(t *testing.T) map[string]*report.Report {
	full := fixture()
	r := &full.Runs[0]
	r.Errors["ECONNRESET"], r.Errors["unexpected_eof"] = 3, 1
	r.ErrorExamples = map[string]string{"ECONNRESET": "read: connection reset by peer"}
	r.CloseErrors = map[string]int64{"timeout": 2}
	r.Interrupted = true
	r.Notes = []string{"sampling slowed"}
	for _, text := range []string{"qps > 1", "ports.max_sustainable_qps.network > 1"} {
		c, err := report.CompileCheck(text, "s.yaml:3")
		if err != nil {
			t.Fatal(err)
		}
		full.Runs[0].Expectations = append(full.Runs[0].Expectations, c.Eval(&full.Runs[0]))
		full.Runs[2].Expectations = append(full.Runs[2].Expectations, c.Eval(&full.Runs[2])) // null ceiling: an error
	}

	// The close matrix's keys, and a server end read from an agent.
	r.Closes.AtEnd = 2
	r.Scenario.RequestSize, r.Scenario.ResponseSize, r.Scenario.RequestsPerConn = 64, 64, 10
	r.Scenario.HalfClose, r.Scenario.ClientPortRange, r.Scenario.Sources = true, "40000-40099", []string{"127.0.0.2"}
	predicted, ratio := 100.0, 0.97
	r.PerSecond = []report.SecondPoint{{T: 1, Requests: 90, Connections: 90, Errors: map[string]int64{"EADDRNOTAVAIL": 10}}}
	r.Exhaustion = []report.Exhaustion{{Error: "EADDRNOTAVAIL", Count: 10, FirstS: 0.87, OfferedRate: 115, ConnectedRate: 97,
		PredictedRate: &predicted, Regime: "loopback", Ratio: &ratio}}
	r.ServerErrors = map[string]int64{"ECONNRESET": 3, "other": 0}
	r.Ports.PortRangeFrom = "client_port_range"
	r.Ports.Sources = []report.SourceUse{{Address: "127.0.0.2", Connections: 90, NoPort: 10, UsablePorts: 100, PeakInUse: 100, PeakTimeWait: 99}}
	offset, rtt, from, sampled := 0.2, 0.1, 2.45, int64(900)
	host := full.Host
	r.Server.Source, r.Server.AgentURL, r.Server.Matched = "agent", "http://127.0.0.1:9911", "127.0.0.1:8080"
	r.Server.ClockOffsetMS, r.Server.ClockRTTMS, r.Server.Host = &offset, &rtt, &host
	r.Server.KernelCounters = map[string]int64{"TW": 900}
	r.Server.Gaps = []report.Gap{{From: from, Reason: "the agent closed the stream"}}
	r.Server.MissingFrom, r.Server.RequestsSampled = &from, &sampled

	sparse := fixture()
	s := &sparse.Runs[1]
	s.Server = report.End{Sampled: false, Reason: "remote target", Baseline: map[string]int{}, Peak: map[string]int{}, Final: map[string]int{}, Series: []report.Point{}}
	s.Client.TimeWaitPerRequest = nil
	s.TimeWaitSeconds = nil
	s.Schedule, s.Sampling = nil, nil
	s.Scenario.Rate = 0
	s.Ports.MaxSustainableQPS.Loopback, s.Ports.MaxSustainableQPS.Network = nil, nil

	empty := &report.Report{Schema: report.Schema, Host: full.Host, Runs: []report.Run{}}
	// A shard's report, and a fleet's merged from shards that read one agent.
	var shards []report.ShardReport
	for i := range 3 {
		shards = append(shards, shardReport(t, shardSpec{index: i, target: "http://10.0.0.9:8080/", agent: "http://10.0.0.9:9911",
			expect: []report.Deferred{{Expr: "qps > 1", Source: "s.yaml:3"}}}))
	}
	shards[0].Report.Runs[0].StartAt, shards[0].Report.Runs[0].StartLateMS = "2026-11-21T09:00:00Z", new(float64)
	merged, err := report.Merge(shards, false)
	if err != nil {
		t.Fatal(err)
	}

	// A watched command's run, with --watch endpoints, holders and memory;
	// and one whose command a signal ended, its summary unknown.
	watched := report.Build(watchInput(t))
	in := watchInput(t)
	in.Watch.Stdout = report.Output{}
	in.Watch.ExitCode, in.Watch.Signal = -1, "interrupt"
	in.TimeWaitObject = sockstat.TimeWaitObject{Slab: "tw_sock_TCP", Bytes: 256, From: sockstat.SizeAssumed, Reason: "open /proc/slabinfo: permission denied"}
	killed := report.Build(in)
	watch := &report.Report{Schema: report.Schema, Host: full.Host, Runs: []report.Run{watched, killed}}
	// Remedies beside their baselines: a restart, SO_REUSEPORT listeners.
	remedies := &report.Report{Schema: report.Schema, Host: full.Host, Runs: remedyRuns()}
	report.LinkRemedies(remedies.Runs)
	return map[string]*report.Report{"full": full, "sparse": sparse, "no runs": empty, "shard": shards[0].Report, "merged": merged, "watch": watch,
		"remedies": remedies}
}

func TestJSONMatchesSchema(t *testing.T) {
	schema := compileSchema(t)
	for name, rep := range variants(t) {
		if err := schema.Validate(decodeJSON(t, rep)); err != nil {
			t.Errorf("%s: the JSON writer's output does not match %s:\n%v", name, schemaFile, err)
		}
	}
}

// The schema must reject what breaks the contract, or the test above
// proves nothing.
func TestSchemaRejects(t *testing.T) {
	schema := compileSchema(t)
	for _, tc := range []struct {
		name   string
		change func(m map[string]any)
	}{
		{"another schema", func(m map[string]any) { m["schema"] = "twbench.report/v2" }},
		{"no runs", func(m map[string]any) { delete(m, "runs") }},
		{"qps as text", func(m map[string]any) { run(m)["qps"] = "4000" }},
		{"a negative count", func(m map[string]any) { run(m)["client"].(map[string]any)["peak"].(map[string]any)["TIME_WAIT"] = -1.0 }},
		{"a series point without t", func(m map[string]any) {
			delete(run(m)["server"].(map[string]any)["series"].([]any)[0].(map[string]any), "t")
		}},
		{"an unknown regime", func(m map[string]any) {
			run(m)["ports"].(map[string]any)["max_sustainable_qps"].(map[string]any)["in_force"] = "lan"
		}},
		{"a bad duration", func(m map[string]any) { run(m)["scenario"].(map[string]any)["duration"] = "10 seconds" }},
		{"no expectations", func(m map[string]any) { delete(run(m), "expectations") }},
	} {
		var m map[string]any
		b, _ := json.Marshal(decodeJSON(t, fixture()))
		_ = json.Unmarshal(b, &m)
		tc.change(m)
		b, _ = json.Marshal(m)
		v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err := schema.Validate(v); err == nil {
			t.Errorf("%s: the schema accepts it", tc.name)
		}
	}
}

func run(m map[string]any) map[string]any { return m["runs"].([]any)[0].(map[string]any) }

// Every key the writer writes is described in the schema: a key added to
// the report must be added to the contract too.
func TestSchemaDescribesEveryKey(t *testing.T) {
	var docs []any
	for _, rep := range variants(t) {
		docs = append(docs, decodeJSON(t, rep))
	}
	if _, missing := schemaMissing(t, schemaFile, docs); len(missing) > 0 {
		t.Errorf("keys the JSON writer writes that %s does not describe:\n%s", schemaFile, strings.Join(missing, "\n"))
	}
}

// schemaMissing reads the JSON schema in file, and returns its $defs and
// the keys of docs, each as a JSON writer wrote it, that it does not
// describe.
func schemaMissing(t *testing.T, file string, docs []any) (defs map[string]any, missing []string) {
	t.Helper()
	var schema map[string]any
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	defs = schema["$defs"].(map[string]any)
	for _, d := range docs {
		b, _ := json.Marshal(d)
		var doc any
		_ = json.Unmarshal(b, &doc)
		undescribed(defs, []map[string]any{schema}, doc, "", &missing)
	}
	slices.Sort(missing)
	return defs, slices.Compact(missing)
}

// undescribed walks doc with the schemas that apply to it and records the
// object keys none of them names (in properties, or as a map's
// additionalProperties).
func undescribed(defs map[string]any, schemas []map[string]any, doc any, path string, missing *[]string) {
	schemas = expand(defs, schemas)
	switch v := doc.(type) {
	case map[string]any:
		for k, child := range v {
			var sub []map[string]any
			for _, s := range schemas {
				if p, ok := s["properties"].(map[string]any); ok {
					if ps, ok := p[k].(map[string]any); ok {
						sub = append(sub, ps)
						continue
					}
				}
				for _, key := range []string{"additionalProperties", "unevaluatedProperties"} {
					if ap, ok := s[key].(map[string]any); ok {
						sub = append(sub, ap)
					}
				}
				if ap, ok := s["additionalProperties"].(bool); ok && ap {
					sub = append(sub, map[string]any{})
				}
			}
			if len(sub) == 0 {
				*missing = append(*missing, path+"."+k)
				continue
			}
			undescribed(defs, sub, child, path+"."+k, missing)
		}
	case []any:
		var items []map[string]any
		for _, s := range schemas {
			if it, ok := s["items"].(map[string]any); ok {
				items = append(items, it)
			}
		}
		for _, child := range v {
			undescribed(defs, items, child, path+"[]", missing)
		}
	}
}

// expand follows $ref and allOf.
func expand(defs map[string]any, schemas []map[string]any) []map[string]any {
	var out []map[string]any
	for _, s := range schemas {
		out = append(out, s)
		if ref, ok := s["$ref"].(string); ok {
			if d, ok := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any); ok {
				out = append(out, expand(defs, []map[string]any{d})...)
			}
		}
		if all, ok := s["allOf"].([]any); ok {
			for _, a := range all {
				if m, ok := a.(map[string]any); ok {
					out = append(out, expand(defs, []map[string]any{m})...)
				}
			}
		}
	}
	return out
}
