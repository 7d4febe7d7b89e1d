package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// runToFile runs twbench and keeps its JSON report in dir/name.
func runToFile(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), append(args, "-o", out, "--no-progress"), &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	return out
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	// Closed with RST: the runs leave no TIME_WAIT behind for the tests
	// that count sockets on a port the kernel may hand out again.
	args := []string{"run", "--closer", "client-rst", "-n", "300", "-c", "4", "--rate", "1000"}
	base := runToFile(t, dir, "base.json", args...)
	head := runToFile(t, dir, "head.json", args...)
	matchesSchema(t, base)

	// Two runs of the same scenario: no regression in what is
	// deterministic, and no limit on latency, which is not.
	var stdout, stderr bytes.Buffer
	// The rate is the pacer's unless the machine stalls a run; on a
	// loaded CI machine it has.
	err := run(context.Background(), []string{"compare", base, head, "--max-regression", "5%", "--max-regression", "qps=20%",
		"--max-regression", "latency_us=off", "--max-regression", "ports.ports_per_qps=off"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("compare of two runs of one scenario = %v; want exit 0\n%s", err, stdout.String())
	}
	if !strings.Contains(stdout.String(), "ad-hoc ") || !strings.Contains(stdout.String(), "client.time_wait_per_request") {
		t.Errorf("the comparison does not show the scenario and its figures:\n%s", stdout.String())
	}

	// A head whose qps is a third below the base's, and whose closer
	// differs.
	b, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	r := rep["runs"].([]any)[0].(map[string]any)
	r["qps"] = r["qps"].(float64) * 2 / 3
	r["scenario"].(map[string]any)["closer"] = "client"
	worse := filepath.Join(dir, "worse.json")
	if b, err = json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(worse, b, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	err = run(context.Background(), []string{"compare", base, worse, "--max-regression", "qps=5%"}, &stdout, &stderr)
	if exitCode(err) != exitExpectation || !strings.Contains(err.Error(), "ad-hoc: qps got worse by 33.") {
		t.Errorf("compare with a regression = %v (exit %d); want exit 1 naming qps", err, exitCode(err))
	}
	if !strings.Contains(stdout.String(), "closer client-rst -> client") {
		t.Errorf("the comparison does not say the scenarios differ:\n%s", stdout.String())
	}
}

func TestCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	notReport := filepath.Join(dir, "x.json")
	if err := os.WriteFile(notReport, []byte(`{"schema": "other/v9", "runs": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", notReport}, "compare: want two reports, BASE.json HEAD.json; got 1 argument(s)"},
		{[]string{"compare", filepath.Join(dir, "none.json"), notReport}, "no such file"},
		{[]string{"compare", notReport, notReport}, `x.json: schema "other/v9": want "twbench.report/v1"`},
		{[]string{"compare", "--max-regression", "lots", notReport, notReport}, `--max-regression "lots": want a percentage`},
		{[]string{"compare", "--max-regression", "latency_us.p95=5%", notReport, notReport}, `no figure "latency_us.p95"`},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if exitCode(err) != exitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s = %v (exit %d); want exit 2 with %q", strings.Join(tc.args, " "), err, exitCode(err), tc.want)
		}
	}
}

// matchesSchema checks a report twbench wrote against docs/report.schema.json.
func matchesSchema(t *testing.T, path string) {
	t.Helper()
	schemaPath, _ := filepath.Abs("../../docs/report.schema.json")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatalf("compile %s: %v", schemaPath, err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("%s does not match the schema: %v", path, err)
	}
}
