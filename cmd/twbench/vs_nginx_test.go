package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twbench/twbench/report"
)

// Tests against a real nginx on 127.0.0.1, with a configuration the test
// writes to its own directory, on a port it picks. They skip where nginx
// is not installed.

// startNginx starts nginx in the foreground with keepaliveTimeout
// ("0": no keep-alive) and returns its URL.
func startNginx(t *testing.T, keepaliveTimeout string) string {
	t.Helper()
	return startNginxWith(t, keepaliveTimeout, "", `location / { return 200 "ok\n"; }`)
}

// startNginxWith starts nginx with keepaliveTimeout, http-level
// directives and the locations of its one server, and returns its URL.
func startNginxWith(t *testing.T, keepaliveTimeout, httpExtra, locations string) string {
	t.Helper()
	bin := lookTool(t, "nginx", "nginx")
	dir := t.TempDir()
	port := freePort(t)
	// keepalive_requests is left at nginx's default (1000 since 1.19.10).
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  keepalive_timeout %[2]s;
  %[4]s
  server {
    listen 127.0.0.1:%[3]d;
    %[5]s
  }
}
`, dir, keepaliveTimeout, port, httpExtra, locations)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr := startProcess(t, nil, bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not listen on %s in 5 s: %v\n%s%s", addr, err, stderr.String(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// That probe connection closed client first: its TIME_WAIT is on
	// the client end, before any run's baseline.
	return "http://" + addr + "/"
}

// startAgentBinary runs `twbench agent` on a port of its choosing and
// returns its URL.
func startAgentBinary(t *testing.T) string {
	t.Helper()
	stdout, _ := startProcess(t, nil, twbenchBinary(t), "agent", "--listen", "127.0.0.1:0")
	return waitFor(t, stdout, "listening on ")
}

func logRun(t *testing.T, r *report.Run) {
	t.Helper()
	t.Logf("%s %s against %s: %d requests, %d connections, %.0f/s, closes %+v; client TIME_WAIT new %d final %d; server (%s) TIME_WAIT new %d peak %d final %d",
		r.Scenario.Protocol, r.Scenario.Closer, r.Target, r.Requests, r.Connections, r.QPS, r.Closes,
		r.Client.NewTimeWait, r.Client.Final["TIME_WAIT"], r.Server.Source, r.Server.NewTimeWait, r.Server.Peak["TIME_WAIT"], r.Server.Final["TIME_WAIT"])
}

// With keepalive_timeout 0 nginx closes every connection after its
// response: with http1.0, as ab, the TIME_WAIT is all on nginx's end, as
// the agent shows and ss confirms.
func TestNginxNoKeepaliveServerHoldsTimeWait(t *testing.T) {
	needSampling(t)
	url := startNginx(t, "0")
	agent := startAgentBinary(t)
	rep := runJSON(t, "run", "--target", url, "--protocol", "http1.0", "--closer", "server",
		"-n", "2000", "-c", "8", "--server-agent", agent, "--sample-interval", "50ms")
	r := &rep.Runs[0]
	logRun(t, r)
	if r.Requests != 2000 || errorCount(r) != 0 {
		t.Fatalf("%d requests, errors %v; want 2000, none failed", r.Requests, r.Errors)
	}
	if r.Closes.ServerFirst != 2000 {
		t.Errorf("closes %+v; want nginx first on all 2000", r.Closes)
	}
	if r.Server.Source != report.SourceAgent || !r.Server.Sampled {
		t.Fatalf("server end: source %q, sampled %v (%s); want the agent's", r.Server.Source, r.Server.Sampled, r.Server.Reason)
	}
	if n := r.Server.NewTimeWait; n < 1960 || n > 2000 {
		t.Errorf("server new_time_wait = %d; want about 2000", n)
	}
	if n := r.Client.NewTimeWait; n != 0 {
		t.Errorf("client new_time_wait = %d; want 0", n)
	}
	if got, want := r.Server.Final["TIME_WAIT"], ssCount(t, "sport", targetPort(t, r)); got != want {
		t.Errorf("server final TIME_WAIT from the agent = %d; ss counts %d", got, want)
	}
}

// With keep-alive, an http1.1 client that closes each connection after
// its response holds the TIME_WAIT itself; nginx holds none.
func TestNginxKeepaliveClientCloses(t *testing.T) {
	needSampling(t)
	url := startNginx(t, "65")
	agent := startAgentBinary(t)
	rep := runJSON(t, "run", "--target", url, "--protocol", "http1.1", "--closer", "client",
		"-n", "2000", "-c", "8", "--server-agent", agent, "--sample-interval", "50ms")
	r := &rep.Runs[0]
	logRun(t, r)
	if r.Requests != 2000 || r.Closes.ClientFirst != 2000 {
		t.Fatalf("%d requests, closes %+v; want 2000, all closed by the client first", r.Requests, r.Closes)
	}
	if n := r.Client.NewTimeWait; n != 2000 {
		t.Errorf("client new_time_wait = %d; want 2000", n)
	}
	if n := r.Server.NewTimeWait; n != 0 || r.Server.Source != report.SourceAgent {
		t.Errorf("server (%s) new_time_wait = %d; want 0 from the agent", r.Server.Source, n)
	}
	if got, want := r.Client.Final["TIME_WAIT"], ssCount(t, "dport", targetPort(t, r)); got != want {
		t.Errorf("client final TIME_WAIT = %d; ss counts %d", got, want)
	}
}

// nginx closes a keep-alive connection after keepalive_requests (1000 by
// default) requests. A keep-alive pool (closer none) sees it in closes:
// one server close per 1000 requests, no failed request, and the server's
// TIME_WAIT for each.
func TestNginxKeepaliveRequests(t *testing.T) {
	needSampling(t)
	url := startNginx(t, "65")
	agent := startAgentBinary(t)
	rep := runJSON(t, "run", "--target", url, "--protocol", "http1.1", "--closer", "none",
		"-n", "6000", "-c", "2", "--server-agent", agent)
	r := &rep.Runs[0]
	logRun(t, r)
	if r.Requests != 6000 || errorCount(r) != 0 {
		t.Fatalf("%d requests, errors %v; want 6000, none failed", r.Requests, r.Errors)
	}
	// Each of the 2 connections' requests is a multiple of 1000 but for the
	// last, which the client closes at the end of the run.
	if n := r.Closes.ServerFirst; n < 4 || n > 6 {
		t.Errorf("closes %+v; want 4 to 6 server closes, one per 1000 requests", r.Closes)
	}
	if got := r.Closes.Total(); got != r.Connections {
		t.Errorf("%d closes for %d connections; want one each", got, r.Connections)
	}
	if r.Closes.ClientFirst > 2 || r.Closes.ServerRST+r.Closes.ClientRST > 0 {
		t.Errorf("closes %+v; want at most the 2 pool connections closed by the client at the end", r.Closes)
	}
	if got := r.Server.NewTimeWait; got != r.Closes.ServerFirst {
		t.Errorf("server new_time_wait = %d; want one per server close (%d)", got, r.Closes.ServerFirst)
	}
	// nginx closed each connection after exactly 1000 requests; those the
	// client closed at the end had fewer.
	if full := 1000 * r.Closes.ServerFirst; full > r.Requests || r.Requests-full >= 1000*max(r.Closes.ClientFirst, 1) {
		t.Errorf("%d requests, %d server closes, %d client closes; want 1000 requests per server close",
			r.Requests, r.Closes.ServerFirst, r.Closes.ClientFirst)
	}
}
