package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/report"
)

func writeHTML(t *testing.T, rep *report.Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteHTML(&b, rep); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return b.Bytes()
}

func TestWriteHTML(t *testing.T) {
	rep := fixture()
	c, err := report.CompileCheck("server.time_wait_per_request < 0.1", "x.yaml:3")
	if err != nil {
		t.Fatal(err)
	}
	rep.Runs[0].Expectations = append(rep.Runs[0].Expectations, c.Eval(&rep.Runs[0]))
	page := string(writeHTML(t, rep))
	for i, name := range []string{"ab-finding", "client-closes", "keepalive"} {
		id := fmt.Sprintf("run-%d-%s", i+1, name)
		if !strings.Contains(page, `<section class="run" id="`+id+`">`) || !strings.Contains(page, `<a href="#`+id+`">`+name+`</a>`) {
			t.Errorf("the page has no section for %s linked from the table", name)
		}
	}
	for _, kind := range []string{"states", "throughput", "latency"} {
		re := regexp.MustCompile(`<figure class="chart" data-chart="` + kind + `">\s*<svg`)
		if n := len(re.FindAllString(page, -1)); n != 3 {
			t.Errorf("%d %s charts drawn as SVG; want one per scenario (3)", n, kind)
		}
	}
	for _, want := range []string{
		"client end: sockets by state", "server end: sockets by state", "load start", "load end",
		"TIME_WAIT", "latency by percentile", "99.9%", "requests/s", "target rate",
		`<table class="close-behaviour">`, "471/s", "net.ipv4.tcp_tw_reuse",
		"FAILED: <code>server.time_wait_per_request &lt; 0.1 (server.time_wait_per_request = 1)</code> (x.yaml:3)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not contain %q", want)
		}
	}
	// One file that needs nothing else: no script, nothing fetched.
	if strings.Contains(page, "<script") {
		t.Error("the page has a script; it should need none")
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`).FindString(page); m != "" {
		t.Errorf("the page refers to %s...; want no resource outside the file", m)
	}
}

func TestWriteHTMLWithoutSamples(t *testing.T) {
	rep := fixture()
	r := &rep.Runs[0]
	r.Server = report.End{Reason: "a remote target's server end is not sampled"}
	r.LatencyHDR = ""
	page := string(writeHTML(t, rep))
	for _, want := range []string{"server end: not sampled (a remote target", "No latency chart: report: no latency histogram"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not contain %q", want)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	rep := fixture()
	var b bytes.Buffer
	if err := report.WriteCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatalf("WriteCSV wrote bad CSV: %v", err)
	}
	want := "run,end,time,t,requests,errors,TIME_WAIT,ESTABLISHED,SYN_SENT,SYN_RECV,FIN_WAIT1,FIN_WAIT2,CLOSING,CLOSE_WAIT,LAST_ACK,CLOSE"
	if got := strings.Join(recs[0], ","); got != want {
		t.Errorf("header = %s; want %s", got, want)
	}
	// 3 runs × 2 ends × 11 samples (a baseline and 10).
	if len(recs) != 1+3*2*11 {
		t.Fatalf("%d rows; want a header and 66", len(recs))
	}
	// ab-finding's server end, the last sample: 10 s in, 40,000 TIME_WAIT.
	row := strings.Join(recs[22], ",")
	if want := "ab-finding,server,2026-11-21T09:00:09.999Z,9.999,40000,0,40000,3,0,0,0,0,0,0,0,0"; row != want {
		t.Errorf("row 22 = %s; want %s", row, want)
	}
}

// TestWriteCSVAgentSeries: a server series from an agent has samples of
// its own times; each row carries the load's progress at its time, not
// that of the local sample with the same index.
func TestWriteCSVAgentSeries(t *testing.T) {
	rep := fixture()
	r := &rep.Runs[0]
	r.Server.Source = "agent"
	r.Server.Series = []report.Point{{T: 0.5}, {T: 2.2}, {T: 9.999}, {T: 10.6}}
	var b bytes.Buffer
	if err := report.WriteCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range recs {
		if rec[0] == "ab-finding" && rec[1] == "server" {
			got = append(got, rec[3]+":"+rec[4])
		}
	}
	// Throughput is taken at -0.001, 0.999, 1.999, ... with 4,000 more
	// requests each second.
	if want := "0.500:0 2.200:8000 9.999:40000 10.600:40000"; strings.Join(got, " ") != want {
		t.Errorf("server rows (t:requests) = %s; want %s", strings.Join(got, " "), want)
	}
}

// chromium returns the path of a Chromium to test the HTML report with, or
// skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (Debian: apt-get install chromium; .ci/run installs it): the HTML report is not opened in a browser")
	return ""
}

// headless runs Chromium on a file with the network shut off and returns
// its stdout and the console messages it logged.
func headless(t *testing.T, bin, file string, args ...string) (stdout string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--host-resolver-rules=MAP * ~NOTFOUND",
		"--enable-logging=stderr", "--v=0"}, args...)
	all = append(all, "file://"+file)
	// At low priority: other packages' tests run load at the same time.
	if nice, err := exec.LookPath("nice"); err == nil {
		bin, all = nice, append([]string{"-n", "15", bin}, all...)
	}
	cmd := exec.CommandContext(ctx, bin, all...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	for _, line := range strings.Split(errOut.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			console = append(console, line)
		}
	}
	return out.String(), console
}

func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()

	// The check must see a console error when there is one.
	bad := filepath.Join(dir, "bad.html")
	if err := os.WriteFile(bad, []byte(`<!DOCTYPE html><p>x</p><script>console.error("seen")</script>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, console := headless(t, bin, bad, "--dump-dom"); len(console) == 0 {
		t.Fatal("chromium logged no console message for a page that writes one: the check below would prove nothing")
	}

	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, writeHTML(t, fixture()), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, console := headless(t, bin, page, "--dump-dom")
	if len(console) > 0 {
		t.Errorf("console messages while rendering the report:\n%s", strings.Join(console, "\n"))
	}
	svg := regexp.MustCompile(`<figure class="chart" data-chart="(\w+)">\s*<svg[^>]*>[\s\S]*?<path`)
	if n := len(svg.FindAllString(dom, -1)); n != 9 {
		t.Errorf("the rendered page has %d charts with drawn paths; want 9 (3 scenarios × 3)", n)
	}
	shot := filepath.Join(dir, "report.png")
	headless(t, bin, page, "--hide-scrollbars", "--window-size=1100,2400", "--screenshot="+shot)
	fi, err := os.Stat(shot)
	if err != nil || fi.Size() < 10_000 {
		t.Fatalf("no screenshot of the report at %s (%v)", shot, err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, fi.Size())
}
