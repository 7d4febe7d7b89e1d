package main

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/twbench/twbench/report"
)

// These tests build the binary as the Dockerfile does (CGO_ENABLED=0) and
// run it as processes: a fleet is processes, not calls.

var staticBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "twbench-static-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "twbench")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func buildStatic(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	bin, err := staticBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// The binary built with CGO_ENABLED=0, as the image's, runs, and on Linux
// is static: it needs no libc, so it runs on distroless/static or scratch.
func TestStaticBinary(t *testing.T) {
	bin := buildStatic(t)
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "twbench ") {
		t.Fatalf("twbench version: %q, %v", out, err)
	}
	if runtime.GOOS != "linux" {
		return
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary asks for a dynamic loader: it is not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v", libs)
	}
}

// A fleet of three shard processes against one twbench serve, merged: its
// requests are the shards' sum, its histogram holds one value per request,
// the client end (one network namespace, one target) and the server end
// (one agent) count once, and the fleet's expectations hold or fail as the
// sum does.
func TestLocalFleet(t *testing.T) {
	needSampling(t)
	bin := buildStatic(t)
	dir := t.TempDir()
	serve, _ := startProcess(t, nil, bin, "serve", "--listen", "http://127.0.0.1:0", "--agent", "127.0.0.1:0")
	target, agentURL := waitFor(t, serve, "close policy"), waitFor(t, serve, "agent listening on")

	const perShard = 400 // 1,200/s for 1 s in 3 shards
	var wg sync.WaitGroup
	errs := make([]error, 3)
	files := make([]string, 3)
	for i := range 3 {
		files[i] = filepath.Join(dir, fmt.Sprintf("s%d.json", i+1))
		// Counting from 1, as the s1..s3; 3/3 is shard 0.
		args := []string{"run", "--target", target, "--protocol", "http1.1", "--closer", "client", "--rate", "1200", "-d", "1s",
			"-c", "12", "--shard", fmt.Sprintf("%d/3", i+1), "--start-at", "+1500ms", "--server-agent", agentURL,
			"--expect", "requests == 1200", "--expect", "client.time_wait_per_request > 0.8", "-o", files[i], "--no-progress"}
		wg.Go(func() {
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("shard %d: %v\n%s", i+1, err, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, f := range files {
		r := readJSONReport(t, f).Runs[0]
		if r.Requests != perShard || len(r.Expectations) != 0 {
			t.Errorf("%s: %d requests, %d expectations checked; want %d and none (left to merge)", f, r.Requests, len(r.Expectations), perShard)
		}
		sum += r.Requests
	}

	fleet := filepath.Join(dir, "fleet.json")
	out, err := exec.Command(bin, append([]string{"merge", "-o", fleet}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("twbench merge: %v\n%s", err, out)
	}
	rep := readJSONReport(t, fleet)
	r := rep.Runs[0]
	if r.Requests != sum || r.Connections != sum {
		t.Errorf("merged: %d requests, %d connections; want the shards' sum, %d", r.Requests, r.Connections, sum)
	}
	h, err := hdrhistogram.Decode([]byte(r.LatencyHDR))
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != r.Requests || h.ValueAtQuantile(99) != r.LatencyUS.P99 {
		t.Errorf("merged histogram: %d values, p99 %d µs; want %d, and latency_us.p99 %d from it", h.TotalCount(), h.ValueAtQuantile(99), r.Requests, r.LatencyUS.P99)
	}
	if len(r.Expectations) != 2 || !r.Expectations[0].OK || !r.Expectations[1].OK {
		t.Errorf("expectations: %+v; want both met on the fleet's figures", r.Expectations)
	}
	if len(r.Fleet.ClientEnds) != 1 || len(r.Fleet.ClientEnds[0].Shards) != 3 || len(r.Fleet.ServerEnds) != 1 || r.Server.Source != "agent" {
		t.Errorf("client ends %+v, server ends %+v; want one of each, the client's sampled by the 3 shards", r.Fleet.ClientEnds, r.Fleet.ServerEnds)
	}
	if tw := r.Client.TimeWaitPerRequest; tw == nil || *tw < 0.8 || *tw > 1.2 {
		t.Errorf("client time_wait_per_request = %s; want about 1, each TIME_WAIT once (3 if the shards' views were summed)", orNull(tw))
	}
	if rep.Fleet == nil || len(rep.Fleet.Shards) != 3 || len(r.Fleet.Sources) != 1 || r.Fleet.Sources[0] != "127.0.0.1" {
		t.Errorf("fleet %+v, sources %v; want 3 shards from 127.0.0.1", rep.Fleet, r.Fleet.Sources)
	}
	if !strings.Contains(string(out), "expect: 2 of 2 met") {
		t.Errorf("merge's text report:\n%s", out)
	}

	// An expectation the sum does not meet fails the merge, exit 1.
	cmd := exec.Command(bin, append([]string{"merge", "--expect", fmt.Sprintf("requests > %d", sum)}, files...)...)
	out, err = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != exitExpectation {
		t.Errorf("merge --expect 'requests > %d': exit %d, %v; want 1\n%s", sum, cmd.ProcessState.ExitCode(), err, out)
	}

	// The same, on stdin, as `kubectl logs -l job-name=... | twbench merge -`.
	var stream []byte
	for _, f := range files {
		b, _ := os.ReadFile(f)
		stream = append(stream, b...)
	}
	cmd = exec.Command(bin, "merge", "-", "-o", "-")
	cmd.Stdin = bytes.NewReader(stream)
	out, err = cmd.Output()
	var piped report.Report
	if err != nil || json.Unmarshal(out, &piped) != nil || piped.Runs[0].Requests != sum {
		t.Errorf("merge - -o -: %v; want one JSON report of %d requests\n%.300s", err, sum, out)
	}
}

func orNull(v *float64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(*v)
}

func readJSONReport(t *testing.T, path string) *report.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.ReadReport(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}
