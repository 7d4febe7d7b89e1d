//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

// portSearch measures, with perf's software clock, the share of twbench's
// CPU time that the kernel's search for a free port in connect()
// (__inet_hash_connect, with what it calls) takes in a run where the
// client closes first, and in one where the server does. With the client
// closing, every port it used in the last second is in TIME_WAIT on its
// end, and connect() walks past them: the cost of client-side TIME_WAIT
// that twbench exists to show, which goal 2's client-closes ratio pays and
// no client can avoid without choosing its ports itself. It returns a note
// for that ratio, or why there is none.
func (b *bench) portSearch(ctx context.Context) string {
	perf, err := exec.LookPath("perf")
	if err != nil {
		return "The kernel's port search was not measured: no perf (linux-perf)."
	}
	share := func(closer, protocol string) (float64, error) {
		data := filepath.Join(b.dir, "perf-"+closer+".data")
		args := []string{"record", "-q", "-F", "2000", "-e", "cpu-clock", "-g", "-o", data, "--", b.twbench,
			"run", "--target", b.url, "--protocol", protocol, "--closer", closer, "-c", strconv.Itoa(b.conns),
			"-d", b.duration.String(), "--format", "json", "--no-progress", "--no-sampling"}
		if b.client != "" {
			args = append(args, "--client", b.client)
		}
		if out, err := exec.CommandContext(ctx, perf, args...).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("perf record: %v: %s", err, tail(string(out)))
		}
		defer os.Remove(data)
		out, err := exec.CommandContext(ctx, perf, "report", "-i", data, "--comm", "twbench", "--children",
			"--stdio", "--sort", "sym", "-g", "none").Output()
		if err != nil {
			return 0, fmt.Errorf("perf report: %v", err)
		}
		return childrenShare(out, "__inet_hash_connect"), nil
	}
	client, err := share("client", "http1.1")
	if err != nil {
		return "The kernel's port search was not measured: " + err.Error()
	}
	server, err := share("server", "http1.0")
	if err != nil {
		return "The kernel's port search was not measured: " + err.Error()
	}
	fmt.Fprintf(b.log, "bench: the kernel's port search (__inet_hash_connect): %.1f%% of twbench's CPU with the client closing, %.1f%% with the server\n", client, server)
	return fmt.Sprintf("The kernel's port search in connect() (__inet_hash_connect, perf's cpu-clock) took %.1f%% of twbench's CPU with the client closing, %.1f%% with the server.", client, server)
}

// childrenShare reads, from perf report --children --sort sym, the share
// of samples under symbol sym, in percent.
func childrenShare(report []byte, sym string) float64 {
	m := regexp.MustCompile(`(?m)^\s*([\d.]+)%\s+[\d.]+%\s+\[k\] ` + regexp.QuoteMeta(sym) + `\s*$`).FindSubmatch(report)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}
