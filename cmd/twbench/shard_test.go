package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestParseStartAt(t *testing.T) {
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		text string
		want time.Time
		err  string
	}{
		{"+10s", now.Add(10 * time.Second), ""},
		{"+0s", now, ""},
		{" +1m30s ", now.Add(90 * time.Second), ""},
		{"2026-05-04T12:01:00Z", now.Add(time.Minute), ""},
		{"2026-05-04T14:00:00.5+02:00", now.Add(500 * time.Millisecond), ""},
		{"2026-05-04T11:59:00Z", now.Add(-time.Minute), ""}, // past: the run starts at once, late
		{"+-5s", time.Time{}, "want an RFC 3339 time"},
		{"+10", time.Time{}, "want an RFC 3339 time"},
		{"10s", time.Time{}, "want an RFC 3339 time"},
		{"tomorrow", time.Time{}, "want an RFC 3339 time"},
		{"", time.Time{}, "want an RFC 3339 time"},
		{"+25h", time.Time{}, "want an instant within 24h0m0s"},
		{"2062-05-04T12:00:00Z", time.Time{}, "want an instant within 24h0m0s"},
	} {
		got, err := parseStartAt(tc.text, now)
		switch {
		case tc.err == "" && (err != nil || !got.Equal(tc.want)):
			t.Errorf("parseStartAt(%q) = %v, %v; want %v", tc.text, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseStartAt(%q) = %v, %v; want an error with %q", tc.text, got, err, tc.err)
		}
	}
}

// Bad shards and instants are refused before any load, with exit code 2,
// naming the flag or the variable they came from.
func TestRunRefusesBadFleetFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"client-closes", "--shard", "4/3"}, nil, `--shard "4/3": want I from 0 to 2 (or from 1 to 3)`},
		{[]string{"client-closes"}, map[string]string{shardEnv: "$(JOB_COMPLETION_INDEX)/3"}, `$TWBENCH_SHARD "$(JOB_COMPLETION_INDEX)/3": want I/N`},
		{[]string{"client-closes", "--shard", "64/100"}, nil, "--shard 64/100: scenario client-closes: concurrency: 64 connections leave shard 64/100 none: give at most 64 shards"},
		{[]string{"client-closes", "--shard", "2/3", "-n", "2"}, nil, "requests: 2 requests leave shard 2/3 none"},
		{[]string{"--start-at", "+2s"}, nil, "--start-at: lines up one scenario's load across shards; run one scenario per process (have 3: ab-finding, client-closes, keepalive)"},
		{[]string{"client-closes"}, map[string]string{startAtEnv: "soon"}, `$TWBENCH_START_AT "soon": want an RFC 3339 time`},
	} {
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"run"}, tc.args...), &stdout, &stderr)
		if exitCode(err) != exitUsage || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("twbench run %s %v: exit %d, %v; want exit 2 saying %q", strings.Join(tc.args, " "), tc.env, exitCode(err), err, tc.want)
		}
		for k := range tc.env {
			t.Setenv(k, "")
		}
	}
}

// A shard of an open loop runs its share, records the fleet's, and leaves
// the expectations for merge: a shard's share does not meet the fleet's.
func TestRunShard(t *testing.T) {
	t.Setenv(shardEnv, "3/3") // counting from 1: shard 0
	rep := runJSON(t, "run", "--closer", "client", "--rate", "300", "-n", "30", "-c", "8",
		"--expect", "requests == 30", "--start-at", "+300ms")
	if rep.Shard == nil || rep.Shard.Index != 0 || rep.Shard.Count != 3 || rep.Shard.Hostname == "" {
		t.Fatalf("shard = %+v; want 0 of 3, with the host's name", rep.Shard)
	}
	r := &rep.Runs[0]
	if r.Scenario.Concurrency != 3 || r.Scenario.Rate != 100 || r.Scenario.Requests != 10 {
		t.Errorf("scenario: %d connections, %g/s, %d requests; want shard 0/3's share of 8, 300/s and 30: 3, 100/s, 10",
			r.Scenario.Concurrency, r.Scenario.Rate, r.Scenario.Requests)
	}
	if r.Shard == nil || r.Shard.Concurrency != 8 || r.Shard.Rate != 300 || r.Shard.Requests != 30 {
		t.Fatalf("run's shard = %+v; want the fleet's 8, 300/s and 30", r.Shard)
	}
	if len(r.Expectations) != 0 || len(r.Shard.Expect) != 1 || r.Shard.Expect[0].Expr != "requests == 30" {
		t.Errorf("expectations %+v, deferred %+v; want none checked and requests == 30 deferred", r.Expectations, r.Shard.Expect)
	}
	if r.Requests != 10 || r.StartLateMS == nil {
		t.Errorf("requests %d, start_late_ms %v; want 10 and a lateness", r.Requests, r.StartLateMS)
	}
}

// -o - writes the report alone to stdout, as JSON unless --format says
// otherwise: what a pod's log holds for merge.
func TestOutputDashIsStdout(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"run", "--closer", "client", "-n", "5", "-c", "1", "-o", "-", "--no-progress"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "{\n") || !strings.HasSuffix(stdout.String(), "}\n") {
		t.Errorf("stdout is not one JSON report:\n%s", stdout.String())
	}
}
