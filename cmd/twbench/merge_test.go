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

// shardFiles runs the three shards of a small fleet, one after another,
// and returns their JSON reports' paths.
func shardFiles(t *testing.T, extra ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i := range 3 {
		path := filepath.Join(dir, "s"+string(rune('0'+i))+".json")
		args := append([]string{"run", "--closer", "client", "-c", "3", "--rate", "300", "-n", "30", "--no-progress",
			"--shard", string(rune('0'+i)) + "/3", "--expect", "requests == 30", "-o", path}, extra...)
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("twbench %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		files = append(files, path)
	}
	return files
}

func mergeRun(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	var stdout bytes.Buffer
	err := mergeCmd(context.Background(), args, bytes.NewReader(stdin), &stdout)
	return stdout.String(), err
}

// The fleet's expectations are checked once, on the merged figures, with
// run's exit codes: each shard made 10 requests and left requests == 30 to
// merge, which the fleet meets.
func TestMergeCommand(t *testing.T) {
	files := shardFiles(t)
	out := filepath.Join(t.TempDir(), "fleet.json")
	text, err := mergeRun(t, nil, append(files, "-o", out)...)
	if err != nil {
		t.Fatalf("merge: %v\n%s", err, text)
	}
	if !strings.Contains(text, "expect: 1 of 1 met") || !strings.Contains(text, "note: fleet: 3 of 3 shards") {
		t.Errorf("the text report does not say the fleet's expectation was met:\n%s", text)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if r := rep.Runs[0]; r.Requests != 30 || len(r.Expectations) != 1 || !r.Expectations[0].OK || rep.Fleet == nil || rep.Fleet.Count != 3 {
		t.Errorf("requests %d, expectations %+v, fleet %+v; want 30, requests == 30 met, 3 shards", r.Requests, r.Expectations, rep.Fleet)
	}

	// --expect adds to the shards' expectations; one unmet is exit 1, and
	// the report is still written.
	text, err = mergeRun(t, nil, append(files, "--expect", "requests > 30")...)
	if exitCode(err) != exitExpectation || !strings.Contains(err.Error(), "requests > 30 (requests = 30)") || !strings.Contains(text, "expect: 1 of 2 met") {
		t.Errorf("merge --expect 'requests > 30': exit %d, %v; want exit 1 naming it\n%s", exitCode(err), err, text)
	}

	// A shard missing is exit 2, unless --partial.
	_, err = mergeRun(t, nil, files[0], files[2])
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "merge: shards missing: 1/3 of a fleet of 3 (have 2): give every shard's report, or --partial") {
		t.Errorf("two shards of three: exit %d, %v; want exit 2 naming shard 1/3", exitCode(err), err)
	}
	text, err = mergeRun(t, nil, files[0], files[2], "--partial", "--expect", "requests == 20")
	if err == nil || exitCode(err) != exitExpectation || !strings.Contains(text, "only 2 of the 3 shards were merged") {
		// requests == 30, the shards' own, fails on two shards' 20.
		t.Errorf("--partial: exit %d, %v; want exit 1 (the fleet's requests == 30 on 20) and a note\n%s", exitCode(err), err, text)
	}

	// The reports one after another on stdin, as kubectl logs gives them,
	// with twbench's stderr lines between.
	var stream []byte
	for _, f := range files {
		b, _ := os.ReadFile(f)
		stream = append(stream, "twbench: ad-hoc: http1.1, closer client\n"...)
		stream = append(stream, b...)
	}
	text, err = mergeRun(t, stream, "-", "-o", "-")
	if err != nil {
		t.Fatalf("merge - -o -: %v", err)
	}
	if err := json.Unmarshal([]byte(text), &rep); err != nil || rep.Runs[0].Requests != 30 {
		t.Errorf("merge - -o -: not one JSON report of 30 requests: %v\n%.300s", err, text)
	}

	// Garbage is refused with its line, exit 2; nothing is written.
	_, err = mergeRun(t, append(stream, "Error from server (NotFound): pods \"x\" not found\n"...), "-", "-o", out+".2")
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), `not a twbench JSON report: "Error from server (NotFound): pods \"x\" n"`) {
		t.Errorf("garbage: exit %d, %v; want exit 2 with its line", exitCode(err), err)
	}
	if _, serr := os.Stat(out + ".2"); serr == nil {
		t.Errorf("a refused merge wrote %s", out+".2")
	}
	_, err = mergeRun(t, nil)
	if exitCode(err) != exitUsage {
		t.Errorf("merge with no report: exit %d, %v; want 2", exitCode(err), err)
	}
}
