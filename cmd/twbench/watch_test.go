package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/target"
)

// Tests of twbench watch around real load tools (ab, wrk) against
// `twbench serve`'s built-in target and against nginx, each on a port of
// its own. The counts they check are of that port alone: the new
// TIME_WAIT on its ends, and with --serve the connections the target
// accepted; a run of a few thousand connections takes no client port
// twice, so no TIME_WAIT is taken over before a sample sees it.

// watchJSON runs twbench watch with args and decodes its JSON report; the
// command's output goes to stderr.
func watchJSON(t *testing.T, args ...string) (*report.Run, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	full := append([]string{"watch", "--format", "json", "--no-progress", "--sample-interval", "50ms"}, args...)
	err := run(context.Background(), full, &stdout, &stderr)
	var rep report.Report
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil || len(rep.Runs) != 1 {
		t.Fatalf("twbench %s: %v; the report is not one run's JSON (%v):\n%s\nstderr:\n%s", strings.Join(full, " "), err, jerr, stdout.String(), stderr.String())
	}
	r := &rep.Runs[0]
	t.Logf("%s: %d requests, %d connections (%s), closes %+v, first %s; client new TIME_WAIT %d, server %d",
		strings.Join(r.Watch.Command, " "), r.Requests, r.Connections, r.Watch.Connections.From, r.Closes, r.Watch.FirstClose,
		r.Client.NewTimeWait, r.Server.NewTimeWait)
	return r, err
}

// within1 reports whether got is within 1% of want.
func within1(got, want int64) bool {
	return math.Abs(float64(got-want)) <= 0.01*float64(want)
}

// ab against `twbench serve`'s target (--serve): the server closes first
// and holds a TIME_WAIT per connection, ab's end none but for the few
// connections ab opens and closes itself at the end; the connections the
// target accepted and the TIME_WAIT on its port are within 1% of ab's
// requests.
func TestWatchABServe(t *testing.T) {
	needSampling(t)
	lookTool(t, "ab", "apache2-utils")
	r, err := watchJSON(t, "--serve", "http://127.0.0.1:0?closer=server", "--", "ab", "-n", "2000", "-c", "10", "{url}")
	if err != nil {
		t.Fatal(err)
	}
	w := r.Watch
	if w.Tool != "ab" || r.Requests != 2000 || r.QPS <= 0 || !r.BuiltinTarget || *w.ExitCode != 0 {
		t.Fatalf("tool %q, %d requests at %.0f/s, built-in %v, exit %v; want ab's 2000 against the built-in target",
			w.Tool, r.Requests, r.QPS, r.BuiltinTarget, *w.ExitCode)
	}
	if w.FirstClose != "server" || r.Client.NewTimeWait > 20 {
		t.Errorf("first close %q, client new TIME_WAIT %d; want the server's, ab's end at most the 10-odd ab closes", w.FirstClose, r.Client.NewTimeWait)
	}
	if a := w.Connections.Accepted; a == nil || !within1(*a, r.Requests) || !within1(w.Connections.TimeWait, r.Requests) {
		t.Errorf("accepted %v, time_wait %d; want both within 1%% of ab's %d requests", a, w.Connections.TimeWait, r.Requests)
	}
}

// wrk against the built-in target: keep-alive, wrk closes its 4
// connections when it ends and holds their TIME_WAIT; with
// "Connection: close" the server closes each and holds theirs, one per
// request.
func TestWatchWrkServe(t *testing.T) {
	needSampling(t)
	lookTool(t, "wrk", "wrk")
	r, err := watchJSON(t, "--serve", "http://127.0.0.1:0?closer=client", "--", "wrk", "-t1", "-c4", "-d1s", "{url}")
	if err != nil {
		t.Fatal(err)
	}
	// wrk makes a connection of its own before its 4 (to check the
	// address), and closes it at once; at its end it closes the 4, each
	// with a FIN, or with an RST (no TIME_WAIT) when a response it will
	// not read has arrived.
	if w := r.Watch; w.Tool != "wrk" || r.Requests < 1000 || r.Client.NewTimeWait < 1 ||
		r.Client.NewTimeWait > *w.Connections.Accepted || *w.Connections.Accepted != 5 || r.Server.NewTimeWait != 0 {
		t.Errorf("tool %q, %d requests, new TIME_WAIT client %d, server %d, accepted %d; want wrk's, the client's TIME_WAIT alone, 5 connections",
			w.Tool, r.Requests, r.Client.NewTimeWait, r.Server.NewTimeWait, *w.Connections.Accepted)
	}
	r, err = watchJSON(t, "--serve", "http://127.0.0.1:0?closer=client", "--", "wrk", "-t1", "-c4", "-d1s", "-H", "Connection: close", "{url}")
	if err != nil {
		t.Fatal(err)
	}
	// A connection per request, give or take the 4 in flight when wrk
	// ends. Who closes first is a race: the server closes after its
	// response, wrk as soon as it has read it; mostly the server's FIN
	// wins. When the two FINs cross, both ends hold a TIME_WAIT. The
	// TIME_WAIT count is sampled: a new connection from the same port takes
	// a server's over between two samples, more of them on a busy host
	// (0.979 per request was seen while other tests ran).
	if w := r.Watch; r.Closes.ServerFirst <= r.Closes.ClientFirst || !within1(*w.Connections.Accepted, r.Requests) ||
		float64(w.Connections.TimeWait) < 0.9*float64(r.Requests) {
		t.Errorf("closes %+v, time_wait %d, accepted %d; want the server first on most, a connection and a TIME_WAIT per request of wrk's %d",
			r.Closes, w.Connections.TimeWait, *w.Connections.Accepted, r.Requests)
	}
}

// hey without keep-alive against the built-in target: a connection per
// request (Go's client sends "Connection: close"), the TIME_WAIT on the
// server's end for most, as both ends close once the response is out.
func TestWatchHeyServe(t *testing.T) {
	needSampling(t)
	lookTool(t, "hey", "hey")
	r, err := watchJSON(t, "--serve", "http://127.0.0.1:0", "--", "hey", "-n", "500", "-c", "5", "-disable-keepalive", "{url}")
	if err != nil {
		t.Fatal(err)
	}
	if w := r.Watch; w.Tool != "hey" || r.Requests != 500 || r.Scenario.Concurrency != 5 || !within1(*w.Connections.Accepted, 500) ||
		r.Closes.ServerFirst <= r.Closes.ClientFirst {
		t.Errorf("tool %q, %d requests, concurrency %d, accepted %d, closes %+v; want hey's 500 on 500 connections, mostly closed by the server",
			w.Tool, r.Requests, r.Scenario.Concurrency, *w.Connections.Accepted, r.Closes)
	}
}

// ab and wrk against nginx, the target found in the command's URL: nginx
// without keep-alive closes first and holds the TIME_WAIT, one per ab
// request on its port; wrk's keep-alive connections to an nginx that
// keeps them are closed by wrk.
func TestWatchNginx(t *testing.T) {
	needSampling(t)
	lookTool(t, "ab", "apache2-utils")
	url := startNginx(t, "0")
	r, err := watchJSON(t, "--", "ab", "-n", "2000", "-c", "8", url)
	if err != nil {
		t.Fatal(err)
	}
	if w := r.Watch; w.FirstClose != "server" || r.Requests != 2000 || !within1(w.Connections.TimeWait, 2000) || r.Client.NewTimeWait > 16 {
		t.Errorf("first close %q, %d requests, time_wait %d, client %d; want nginx's, about 2000 on its end", w.FirstClose, r.Requests, w.Connections.TimeWait, r.Client.NewTimeWait)
	}
	if r.Target != url || r.BuiltinTarget || r.Watch.Connections.Accepted != nil {
		t.Errorf("target %q, built-in %v; want nginx's %s from ab's arguments", r.Target, r.BuiltinTarget, url)
	}
	// nginx closes a keep-alive connection after keepalive_requests
	// (1000): raised here, so that wrk alone closes.
	lookTool(t, "wrk", "wrk")
	url = startNginxWith(t, "65", "keepalive_requests 10000000;", `location / { return 200 "ok\n"; }`)
	r, err = watchJSON(t, "--", "wrk", "-t1", "-c4", "-d1s", url)
	if err != nil {
		t.Fatal(err)
	}
	if r.Client.NewTimeWait < 1 || r.Client.NewTimeWait > 5 || r.Server.NewTimeWait != 0 {
		t.Errorf("client new TIME_WAIT %d, server %d; want wrk's, at most its 4 and its address check's", r.Client.NewTimeWait, r.Server.NewTimeWait)
	}
}

// An nginx reverse proxy in front of a built-in target: without upstream
// keep-alive (proxy_pass speaks HTTP/1.0 to it), each request is a
// connection to the upstream, which leaves a TIME_WAIT on its ends; with
// keep-alive (an upstream block with keepalive, HTTP/1.1)
// the upstream connections are reused and leave none. --watch shows it,
// for watch and for run alike.
func TestWatchNginxProxyUpstream(t *testing.T) {
	needSampling(t)
	lookTool(t, "ab", "apache2-utils")
	up, err := target.StartOn("127.0.0.1:0", target.KeepAlive)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	upstream := up.Addr().String()
	watch := "upstream=" + upstream

	off := startNginxWith(t, "65", "", "location / { proxy_pass http://"+upstream+"; }")
	r, err := watchJSON(t, "--watch", watch, "--", "ab", "-n", "1000", "-c", "4", off)
	if err != nil {
		t.Fatal(err)
	}
	// Upstream, the two ends race to close: the upstream server closes
	// after its response to HTTP/1.0, nginx as soon as it has read it;
	// crossing FINs leave a TIME_WAIT on both.
	u, ok := r.Watched.Lookup("upstream")
	if n := u.Server.NewTimeWait + u.Client.NewTimeWait; !ok || !crossing(n, 1000) || r.Watch.FirstClose != "server" {
		t.Fatalf("upstream %v: new TIME_WAIT server %d, client %d; client side first close %q; want about 1000 on the upstream's ends, nginx's end as ab's server",
			ok, u.Server.NewTimeWait, u.Client.NewTimeWait, r.Watch.FirstClose)
	}

	on := startNginxWith(t, "65", "upstream u { server "+upstream+"; keepalive 16; }",
		`location / { proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection ""; }`)
	r, err = watchJSON(t, "--watch", watch, "--", "ab", "-n", "1000", "-c", "4", on)
	if err != nil {
		t.Fatal(err)
	}
	u, _ = r.Watched.Lookup("upstream")
	if n := u.Server.NewTimeWait + u.Client.NewTimeWait; n > 16 || r.Server.NewTimeWait < 990 {
		t.Errorf("with upstream keep-alive: %d new TIME_WAIT on the upstream, %d on nginx's end; want none upstream, the clients' on nginx", n, r.Server.NewTimeWait)
	}

	// run --watch: twbench's own client through the proxy without
	// upstream keep-alive.
	rep := runJSON(t, "run", "--target", off, "--protocol", "http1.0", "-n", "500", "-c", "4", "--watch", watch, "--sample-interval", "50ms")
	ru, ok := rep.Runs[0].Watched.Lookup("upstream")
	t.Logf("run --watch: %d requests; upstream new TIME_WAIT: client %d, server %d", rep.Runs[0].Requests, ru.Client.NewTimeWait, ru.Server.NewTimeWait)
	if n := ru.Server.NewTimeWait + ru.Client.NewTimeWait; !ok || !crossing(n, 500) {
		t.Errorf("run --watch: upstream new TIME_WAIT: server %d, client %d; want about 500", ru.Server.NewTimeWait, ru.Client.NewTimeWait)
	}
}

// crossing reports whether n TIME_WAIT sockets are what conns connections
// whose two ends race to close leave: one each, and two for those whose
// FINs crossed (up to a quarter of them on a loaded machine).
func crossing(n, conns int64) bool {
	return float64(n) >= 0.99*float64(conns) && float64(n) <= 1.3*float64(conns)
}

// Bad input is one line and exit code 2, and leaves no file behind.
func TestWatchBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "report.json")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"--serve", "http://127.0.0.1:0", "-o", out, "--", "twbench-no-such-command", "{url}"}, `"twbench-no-such-command": executable file not found`},
		{[]string{"--watch", "upstream", "--", "ab", "http://127.0.0.1:1/"}, `--watch "upstream": want NAME=ADDR:PORT`},
		{[]string{"--watch", "up=db.example:5432", "--", "ab", "http://127.0.0.1:1/"}, `"db.example" is not an IP address`},
		{[]string{"--watch", "up=127.0.0.1:0", "--", "ab", "http://127.0.0.1:1/"}, `port "0"`},
		{[]string{"--watch", "a=127.0.0.1:1", "--watch", "a=127.0.0.1:2", "--", "ab", "http://127.0.0.1:1/"}, "the name a is given twice"},
		{[]string{"--watch", "-x=127.0.0.1:1", "--", "ab", "http://127.0.0.1:1/"}, `the name "-x"`},
		{[]string{"--target", "http://example.com/", "--", "ab", "x"}, `"example.com" is not an IP address`},
		{[]string{"--serve", "http://127.0.0.1:0", "--target", "127.0.0.1:80", "--", "ab", "{url}"}, "give one, not both"},
		{[]string{"--serve", "udp://127.0.0.1:0", "--", "ab", "{url}"}, `--serve "udp://127.0.0.1:0": unknown listener kind`},
		{[]string{"--", "sleep", "1"}, "nothing to watch"},
		{[]string{"--sample-interval", "1ms", "--", "ab", "http://127.0.0.1:1/"}, "--sample-interval 1ms: at least 10ms"},
		{[]string{"-o", filepath.Join(dir, "no", "x.json"), "--", "ab", "http://127.0.0.1:1/"}, "no such file or directory"},
		{[]string{"--expect", "nosuch > 1", "--", "ab", "http://127.0.0.1:1/"}, "--expect"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"watch", "--no-progress"}, tc.args...), &stdout, &stderr)
		if code := exitCode(err); code != exitUsage || err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("watch %q: exit %d, error %v; want 2 and one line saying %q", tc.args, code, err, tc.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("watch %q wrote %q to stdout; want nothing", tc.args, stdout.String())
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("-o %s after a command that could not start: %v; want no file", out, err)
	}
	rerr := run(context.Background(), []string{"run", "--watch", "x=1.2.3.4", "-n", "1"}, &bytes.Buffer{}, &bytes.Buffer{})
	if exitCode(rerr) != exitUsage || !strings.Contains(rerr.Error(), `--watch "x=1.2.3.4": want ADDR:PORT`) {
		t.Errorf("run --watch x=1.2.3.4: %v; want exit 2 saying so", rerr)
	}
}

// The binary: a command that is not found is one line on stderr and exit
// code 2; one that fails is exit code 3 with its report written; Ctrl-C
// (SIGINT to twbench) stops the command and writes the report, exit 130.
func TestWatchBinaryExits(t *testing.T) {
	bin := twbenchBinary(t)
	cmd := exec.Command(bin, "watch", "--serve", "http://127.0.0.1:0", "--", "twbench-no-such-command")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 2 || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("not found: exit %d (%v), stderr %q; want 2 and one line", code, err, stderr.String())
	}

	out := filepath.Join(t.TempDir(), "r.json")
	cmd = exec.Command(bin, "watch", "--serve", "http://127.0.0.1:0", "-o", out, "--", "sh", "-c", "echo boom >&2; exit 7")
	stderr.Reset()
	cmd.Stderr = &stderr
	_ = cmd.Run()
	rep := readWatchReport(t, out)
	if code := cmd.ProcessState.ExitCode(); code != 3 || *rep.Runs[0].Watch.ExitCode != 7 ||
		!strings.Contains(stderr.String(), `the command failed: it exited with status 7 ("boom")`) {
		t.Errorf("failed command: exit %d, exit_code %v, stderr %q; want 3, 7, the reason", code, *rep.Runs[0].Watch.ExitCode, stderr.String())
	}

	out = filepath.Join(t.TempDir(), "r.json")
	cmd = exec.Command(bin, "watch", "--serve", "http://127.0.0.1:0", "--grace", "2s", "-o", out, "--", "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	began := time.Now()
	cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
	rep = readWatchReport(t, out)
	r := &rep.Runs[0]
	if code := cmd.ProcessState.ExitCode(); code != 130 || !r.Interrupted || r.Watch.Signal != "SIGINT" || time.Since(began) > 5*time.Second {
		t.Errorf("interrupted: exit %d after %v, interrupted %v, the command's signal %q; want 130 at once, interrupted, SIGINT",
			code, time.Since(began), r.Interrupted, r.Watch.Signal)
	}
}

func readWatchReport(t *testing.T, path string) *report.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.ReadReport(b)
	if err != nil || len(rep.Runs) != 1 || rep.Runs[0].Watch == nil {
		t.Fatalf("%s: %v, %s", path, err, fmt.Sprint(len(b))+" bytes")
	}
	return rep
}

// TestWatchFlagsDocumented: docs/watch.md has a row for each of watch's
// flags, and names no flag watch does not have.
func TestWatchFlagsDocumented(t *testing.T) {
	var help bytes.Buffer
	if err := run(context.Background(), []string{"watch", "--help"}, &help, &bytes.Buffer{}); exitCode(err) != exitOK {
		t.Fatal(err)
	}
	flags := regexp.MustCompile(`(?m)^\s+(?:-\w, )?(--[a-z-]+)`).FindAllStringSubmatch(help.String(), -1)
	page, err := os.ReadFile("../../docs/watch.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(string(page), "\n") {
		if strings.HasPrefix(l, "| `--") {
			rows = append(rows, strings.SplitN(l, "|", 3)[1])
		}
	}
	documented := strings.Join(rows, " ")
	for _, f := range flags {
		if !strings.Contains(documented, "`"+f[1]) && !strings.Contains(documented, ", "+f[1]) {
			t.Errorf("docs/watch.md has no row for %s", f[1])
		}
	}
	for _, m := range regexp.MustCompile("--[a-z-]+").FindAllString(documented, -1) {
		if !strings.Contains(help.String(), m+" ") {
			t.Errorf("docs/watch.md documents %s, which watch does not have", m)
		}
	}
}
