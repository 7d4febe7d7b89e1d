package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twbench/twbench/report"
)

// goldenReport is a report of the default suite built by report.Build,
// kept by the report package's tests.
const goldenReport = "../../report/testdata/report.json.golden"

func plan(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"plan"}, args...), &out, &errOut)
	if errOut.Len() > 0 {
		t.Errorf("twbench plan %s wrote to stderr: %s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), err
}

// The example, as a new user types it: the client's ports run out
// after about 5.6 s and 11 source addresses, or a pool, are needed. The
// port range is given, so that the host's own does not change the answer.
func TestPlanCommand(t *testing.T) {
	out, err := plan(t, "--rate", "5000", "--closer", "client", "--regime", "network", "--port-range", "32768-60999")
	if err != nil {
		t.Fatalf("plan = %v\n%s", err, out)
	}
	for _, want := range []string{"300,000", "they run out after 5.6 s", "11 source addresses", "a keep-alive pool of 5 connections"} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(strings.ToLower(out), "recycle") {
		t.Errorf("the plan mentions recycling:\n%s", out)
	}
}

// plan --from a report gives the ceilings the report gives, for each run.
func TestPlanFromReportCommand(t *testing.T) {
	out, err := plan(t, "--from", goldenReport, "--format", "json")
	if err != nil {
		t.Fatalf("plan --from = %v\n%s", err, out)
	}
	var pr report.PlanReport
	if err := json.Unmarshal([]byte(out), &pr); err != nil || pr.Schema != report.PlanSchema {
		t.Fatalf("plan --format json = schema %q, %v; want %s", pr.Schema, err, report.PlanSchema)
	}
	data, err := os.ReadFile(goldenReport)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.ReadReport(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.Plans) != len(rep.Runs) {
		t.Fatalf("plan --from a report of %d runs = %d plans", len(rep.Runs), len(pr.Plans))
	}
	for i, pl := range pr.Plans {
		want, got := rep.Runs[i].Ports.MaxSustainableQPS, pl.Ports.MaxSustainableQPS
		if ceilings(got) != ceilings(want) || pl.Workload.Scenario != rep.Runs[i].Scenario.Name {
			t.Errorf("plan of %s: ceilings %s; the report's %s", rep.Runs[i].Scenario.Name, ceilings(got), ceilings(want))
		}
	}
	// One run, at another rate, over a network.
	out, err = plan(t, "--from", goldenReport, "--scenario", "client-closes", "--rate", "5000", "--regime", "network")
	if err != nil || !strings.Contains(out, "scenario client-closes as measured") || !strings.Contains(out, "they run out after") {
		t.Errorf("plan --from --scenario client-closes --rate 5000 = %v:\n%s", err, out)
	}
}

func ceilings(c report.Ceilings) string {
	f := func(v *float64) string {
		if v == nil {
			return "null"
		}
		return fmt.Sprint(*v)
	}
	return fmt.Sprintf("network %s, loopback %s (%s)", f(c.Network), f(c.Loopback), c.InForce)
}

// --table against a report's host, which is fixed: every closer at every
// rate of the articles' table.
func TestPlanTableCommand(t *testing.T) {
	out, err := plan(t, "--table", "--format", "json", "--port-range", "32768-60999")
	if err != nil {
		t.Fatalf("plan --table = %v", err)
	}
	var pr report.PlanReport
	if err := json.Unmarshal([]byte(out), &pr); err != nil {
		t.Fatal(err)
	}
	if n := len(pr.Plans); n != 5*len(report.TableRates()) {
		t.Errorf("plan --table = %d plans; want a row per closer and rate", n)
	}
	out, err = plan(t, "--table", "--from", goldenReport)
	if err != nil {
		t.Fatalf("plan --table --from = %v", err)
	}
	for _, want := range []string{"kernel 6.18.44", "client-closes", "10,000", "600,000"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan --table --from does not show %q:\n%s", want, out)
		}
	}
}

// --expect gates a plan with run's exit codes.
func TestPlanExpect(t *testing.T) {
	args := []string{"--rate", "400", "--closer", "client", "--port-range", "32768-60999"}
	if out, err := plan(t, append(args, "--expect", "ports.share < 0.9")...); err != nil {
		t.Errorf("plan --expect 'ports.share < 0.9' at 85%% = %v; want exit 0\n%s", err, out)
	}
	out, err := plan(t, append(args, "--expect", "ports.share < 0.5", "--expect", "needed.sources == 1")...)
	if exitCode(err) != exitExpectation || !strings.Contains(err.Error(), "ports.share < 0.5 (ports.share = 0.8501)") {
		t.Errorf("plan --expect 'ports.share < 0.5' at 85%% = %v (exit %d); want exit 1 saying so", err, exitCode(err))
	}
	if !strings.Contains(out, "expect FAILED") || !strings.Contains(out, "expect met") {
		t.Errorf("the plan does not show its expectations:\n%s", out)
	}
}

// Bad input exits 2 with one line saying what was wrong, before anything
// is written.
func TestPlanBadInput(t *testing.T) {
	dir := t.TempDir()
	notReport := filepath.Join(dir, "x.json")
	if err := os.WriteFile(notReport, []byte(`{"schema": "something/v9"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "give --rate (new requests/s), --table, or --from REPORT.json"},
		{[]string{"--rate", "0"}, "rate 0: want new requests/s above 0"},
		{[]string{"--rate", "fast"}, `invalid argument "fast" for "--rate"`},
		{[]string{"--rate", "5", "--closer", "nobody"}, `closer "nobody": want one of client, server, client-rst, server-rst, none`},
		{[]string{"--rate", "5", "--regime", "lan"}, `regime "lan": want network or loopback`},
		{[]string{"--rate", "5", "--tw-reuse", "3"}, `--tw-reuse "3": want 0, 1 or 2`},
		{[]string{"--rate", "5", "--pool", "0"}, "--pool 0: want 1 to"},
		{[]string{"--table", "--pool", "4"}, "--pool and --tw-reuse are shown for one workload"},
		{[]string{"--rate", "1000", "--pool", "100", "--latency", "0s"}, "--pool: a request that takes no time lets a pool carry any rate: give --latency"},
		{[]string{"--rate", "5", "--sources", "0"}, "sources 0: want 1 to"},
		{[]string{"--rate", "5", "--lifetime", "-1s"}, "connection_lifetime_s -1: want 0 or more"},
		{[]string{"--rate", "5", "--time-wait", "0s"}, "time_wait_s 0: want above 0"},
		{[]string{"--rate", "5", "--target-share", "150%"}, "target_share 1.5"},
		{[]string{"--rate", "5", "--target-share", "half"}, `--target-share "half": want a share such as 50% or 0.5`},
		{[]string{"--rate", "5", "--port-range", "9-1"}, `--port-range "9-1": want LO-HI`},
		{[]string{"--rate", "5", "--format", "xml"}, `--format "xml": want text or json`},
		{[]string{"--rate", "5", "--expect", "ports.shares < 1"}, `--expect "ports.shares < 1": unknown field shares`},
		{[]string{"--rate", "5", "r.json"}, `unexpected argument "r.json"`},
		{[]string{"--table", "--rate", "5"}, "give --table or --rate, not both"},
		{[]string{"--rate", "5", "--scenario", "x"}, "--scenario picks a run of --from's report"},
		{[]string{"--from", goldenReport, "--closer", "server"}, "--closer: with --from the report's runs give it"},
		{[]string{"--from", goldenReport, "--scenario", "nope"}, `has no run of scenario "nope" (have: ab-finding, client-closes, keepalive)`},
		{[]string{"--from", filepath.Join(dir, "none.json")}, "no such file"},
		{[]string{"--from", notReport}, `schema "something/v9": want "twbench.report/v1"`},
	} {
		out, err := plan(t, tc.args...)
		if exitCode(err) != exitUsage || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("plan %s = %v (exit %d); want exit 2 with one line %q", strings.Join(tc.args, " "), err, exitCode(err), tc.want)
		}
		if out != "" {
			t.Errorf("plan %s wrote %q; want nothing", strings.Join(tc.args, " "), out)
		}
	}
}

// --tw-reuse and --pool: the plan assumes tcp_tw_reuse=1, and gives the
// ceiling with and without each remedy.
func TestPlanRemedyFlags(t *testing.T) {
	out, err := plan(t, "--rate", "5000", "--closer", "client", "--regime", "network", "--port-range", "32768-60999",
		"--tw-reuse", "1", "--pool", "4", "--latency", "1ms")
	if err != nil {
		t.Fatalf("plan = %v\n%s", err, out)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"tcp_tw_reuse=1 (after", "tcp_tw_reuse=1: each port held 1.0 s, not 60.0 s",
		"max requests/s 28,204 (without: 471)", "keep-alive pool of 4 connections: carries 4,000 requests/s",
		"1,000 new connections/s at this rate (without: 5,000)"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the plan does not say %q:\n%s", want, out)
		}
	}
}

// A remedy that changes nothing in the plan's regime says so.
func TestPlanRemedyUnchanged(t *testing.T) {
	out, err := plan(t, "--rate", "1000", "--closer", "client", "--regime", "loopback", "--port-range", "32768-60999", "--tw-reuse", "1")
	if err != nil {
		t.Fatalf("plan = %v\n%s", err, out)
	}
	if flat := strings.Join(strings.Fields(out), " "); !strings.Contains(flat, "tcp_tw_reuse=1: each port held 1.0 s, as without it;") {
		t.Errorf("the plan does not say tcp_tw_reuse=1 changes nothing on loopback:\n%s", out)
	}
}
