package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunSuite: --suite runs the suite's scenarios in its order, then the
// scenarios named, each once.
func TestRunSuite(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.yaml")
	cat := `suites:
  pair: [b, a]
scenarios:
  - name: a
    protocol: http1.0
    requests: 5
    concurrency: 1
  - name: b
    protocol: http1.1
    closer: client
    requests: 5
    concurrency: 1
  - name: c
    protocol: http1.1
    requests: 5
    concurrency: 1
`
	if err := os.WriteFile(file, []byte(cat), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := runJSON(t, "run", "-f", file, "--suite", "pair", "a", "c", "--no-sampling")
	var names []string
	for _, r := range rep.Runs {
		names = append(names, r.Scenario.Name)
	}
	if got := strings.Join(names, ","); got != "b,a,c" {
		t.Errorf("run --suite pair a c ran %s; want b,a,c", got)
	}
}
