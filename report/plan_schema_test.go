package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

const planSchemaFile = "../docs/plan.schema.json"

func compilePlanSchema(t *testing.T) *jsonschema.Schema { return compileSchemaFile(t, planSchemaFile) }

// planVariants are plan reports that between them set every key the
// writer can write: a plan from flags with expectations and notes, the
// table, plans measured in a report, and a host whose settings were not
// read.
func planVariants(t *testing.T) map[string]*report.PlanReport {
	w := report.DefaultWorkload(loadgen.CloserClient, 1)
	w.Rate, w.Sources = 5000, 11
	single := planReport(report.NewPlan(w, host("2", "1"), twObject))
	for _, text := range []string{"ports.share < 1", "ports.exhausted_after_s > 1"} {
		c, err := report.CompilePlanCheck(text, "--expect")
		if err != nil {
			t.Fatal(err)
		}
		single.Plans[0].Expectations = append(single.Plans[0].Expectations, c.Eval(&single.Plans[0]))
	}
	single.Notes = []string{"this host's settings were not read"}
	// The remedies: tcp_tw_reuse=1 assumed, against the host's 2; a pool.
	reuse := host("1", "1")
	remedies := planReport(report.NewPlan(w, reuse, twObject))
	report.CompareTWReuse(&remedies.Plans[0], reuse, "2", twObject)
	report.ComparePool(&remedies.Plans[0], 4)

	var ws []report.Workload
	for _, c := range loadgen.Closers() {
		ws = append(ws, report.DefaultWorkload(c, 1))
	}
	table := planReport(report.PlanTable(ws, host("2", "1"), twObject)...)

	measured := planReport()
	measured.From = "r.json"
	for i, run := range fixture().Runs {
		mw := report.MeasuredWorkload(&run)
		if i == 0 {
			mw.ClientPortRange = "40000-40999"
		}
		measured.Plans = append(measured.Plans, report.NewPlan(mw, host("2", "1"), twObject))
	}

	unread := planReport(report.NewPlan(w, sockstat.Host{Kernel: "darwin"}, sockstat.TimeWaitObject{
		Slab: sockstat.TimeWaitSlab, Bytes: sockstat.TimeWaitObjectBytes, From: sockstat.SizeAssumed, Reason: "unsupported"}))
	unread.Host = sockstat.Host{Kernel: "darwin"}
	unread.TimeWaitObject = sockstat.TimeWaitObject{Slab: sockstat.TimeWaitSlab, Bytes: 256, From: sockstat.SizeAssumed, Reason: "unsupported"}
	return map[string]*report.PlanReport{"single": single, "table": table, "measured": measured, "unread host": unread, "remedies": remedies}
}

func planJSON(t *testing.T, rep *report.PlanReport) any {
	t.Helper()
	var b bytes.Buffer
	if err := report.WritePlan(&b, rep, "json", false); err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPlanJSONMatchesSchema(t *testing.T) {
	schema := compilePlanSchema(t)
	for name, rep := range planVariants(t) {
		if err := schema.Validate(planJSON(t, rep)); err != nil {
			t.Errorf("%s: the plan's JSON does not match %s:\n%v", name, planSchemaFile, err)
		}
	}
}

// The schema must reject what breaks the contract, or the test above
// proves nothing.
func TestPlanSchemaRejects(t *testing.T) {
	schema := compilePlanSchema(t)
	plan := func(m map[string]any) map[string]any { return m["plans"].([]any)[0].(map[string]any) }
	for _, tc := range []struct {
		name   string
		change func(m map[string]any)
	}{
		{"the report's schema", func(m map[string]any) { m["schema"] = report.Schema }},
		{"no plans", func(m map[string]any) { delete(m, "plans") }},
		{"no advice", func(m map[string]any) { delete(plan(m), "advice") }},
		{"a negative TIME_WAIT", func(m map[string]any) { plan(m)["client"].(map[string]any)["time_wait"] = -1.0 }},
		{"an unknown regime", func(m map[string]any) { plan(m)["workload"].(map[string]any)["regime"] = "lan" }},
		{"an unknown closer", func(m map[string]any) { plan(m)["workload"].(map[string]any)["closer"] = "nobody" }},
		{"a rate of 0", func(m map[string]any) { plan(m)["workload"].(map[string]any)["rate"] = 0.0 }},
		{"exhaustion as text", func(m map[string]any) { plan(m)["ports"].(map[string]any)["exhausted_after_s"] = "5.6 s" }},
		{"an unknown size source", func(m map[string]any) { m["time_wait_object"].(map[string]any)["from"] = "guess" }},
	} {
		var m map[string]any
		b, _ := json.Marshal(planJSON(t, planVariants(t)["single"]))
		_ = json.Unmarshal(b, &m)
		tc.change(m)
		b, _ = json.Marshal(m)
		v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err := schema.Validate(v); err == nil {
			t.Errorf("%s: the schema accepts it", tc.name)
		}
	}
}

// Every key the writer writes is described in the schema.
func TestPlanSchemaDescribesEveryKey(t *testing.T) {
	var docs []any
	for _, rep := range planVariants(t) {
		docs = append(docs, planJSON(t, rep))
	}
	defs, missing := schemaMissing(t, planSchemaFile, docs)
	if len(missing) > 0 {
		t.Errorf("keys the plan's JSON writer writes that %s does not describe:\n%s", planSchemaFile, strings.Join(missing, "\n"))
	}
	// The closers are loadgen's, in its order.
	var want []any
	for _, c := range loadgen.Closers() {
		want = append(want, string(c))
	}
	got := defs["workload"].(map[string]any)["properties"].(map[string]any)["closer"].(map[string]any)["enum"].([]any)
	if !slices.Equal(got, want) {
		t.Errorf("%s lists the closers %v; loadgen has %v", planSchemaFile, got, want)
	}
}

// Every key of the schema is named in docs/plan.md, as a code span, so
// that the page and the contract cannot part.
func TestPlanKeysDocumented(t *testing.T) {
	b, err := os.ReadFile(planSchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile("../docs/plan.md")
	if err != nil {
		t.Fatal(err)
	}
	var schema any
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				for k := range props {
					keys[k] = true
				}
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(schema)
	for k := range keys {
		if !strings.Contains(string(page), "`"+k+"`") && !strings.Contains(string(page), "`plans[]."+k+"`") {
			t.Errorf("docs/plan.md does not name `%s`, a key of %s", k, planSchemaFile)
		}
	}
}
