package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twbench/twbench/report"
)

func writeCatalogue(t *testing.T, text string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestExpectationFailsRun(t *testing.T) {
	// Closed with RST: the run leaves no TIME_WAIT behind for the tests
	// that count sockets on a port the kernel may hand out again.
	f := writeCatalogue(t, `scenarios:
  - name: short
    protocol: http1.1
    closer: client-rst
    requests: 200
    concurrency: 4
    expect:
      - closes.client_rst == connections
      - errors.ECONNREFUSED == 0 && errors.ENFILE == 0
      - qps < 1
`)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"run", "-f", f, "--format", "json", "--no-progress",
		"--expect", "requests == 200"}, &stdout, &stderr)
	if exitCode(err) != exitExpectation {
		t.Fatalf("run = %v (exit %d); want exit 1 for the failed expectation", err, exitCode(err))
	}
	if msg := err.Error(); !strings.Contains(msg, "scenario short: expectation failed ("+f+":10): qps < 1 (qps = ") ||
		strings.Count(msg, "\n") != 0 {
		t.Errorf("error = %q; want one line naming the expectation, its line and the value of qps", msg)
	}
	var rep report.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("no JSON report after a failed expectation: %v", err)
	}
	got := rep.Runs[0].Expectations
	want := []struct {
		expr, source string
		ok           bool
	}{
		{"closes.client_rst == connections", f + ":8", true},
		{"errors.ECONNREFUSED == 0 && errors.ENFILE == 0", f + ":9", true},
		{"qps < 1", f + ":10", false},
		{"requests == 200", "--expect", true},
	}
	if len(got) != len(want) {
		t.Fatalf("expectations = %+v; want %d", got, len(want))
	}
	for i, w := range want {
		if got[i].Expr != w.expr || got[i].Source != w.source || got[i].OK != w.ok {
			t.Errorf("expectation %d = %+v; want %s at %s, ok %v", i, got[i], w.expr, w.source, w.ok)
		}
	}
}

func TestExpectationLoadErrors(t *testing.T) {
	f := writeCatalogue(t, `scenarios:
  - name: ok
    expect: [qps > 1]
  - name: typo
    expect:
      - qps > 1
      - client.peak.TIME_WAT == 0
      - latency_us.p99 <
`)
	for _, args := range [][]string{{"run", "-f", f, "ok"}, {"list", "-f", f}} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		if exitCode(err) != exitUsage {
			t.Fatalf("%s = %v (exit %d); want exit 2 before any load", strings.Join(args, " "), err, exitCode(err))
		}
		for _, want := range []string{
			f + `:7: scenario "typo": expect "client.peak.TIME_WAT == 0": unknown field TIME_WAT (column 13)`,
			f + `:8: scenario "typo": expect "latency_us.p99 <": unexpected token EOF`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error = %q; want a line %q", strings.Join(args, " "), err, want)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"run", "keepalive", "--expect", "errors.EADDRNOTAVAL == 0"}, &stdout, &stderr)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), `--expect "errors.EADDRNOTAVAL == 0": unknown field EADDRNOTAVAL`) {
		t.Errorf("run --expect with a typo = %v (exit %d); want exit 2 naming the flag", err, exitCode(err))
	}
}
