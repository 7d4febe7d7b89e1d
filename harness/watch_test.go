package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twbench/twbench/internal/netns"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
	"github.com/twbench/twbench/target"
)

// The watched commands of these tests are the test binary itself, run as
// a helper (helperEnv): a client that makes connections, or a command
// that sleeps, fails or writes. No other program is needed.

const helperEnv = "TWBENCH_HARNESS_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helper is the watched command: "get URL N [PAUSE]" makes N HTTP/1.0
// requests, each read to the server's EOF, PAUSE apart; "getclose URL N" N HTTP/1.1 requests,
// each connection closed by the helper once its response is read; "sleep"
// waits for SIGINT and exits 130; "deaf" ignores SIGINT; "exit N" exits
// N; "spam N" writes N numbered lines. "job" and "isolate" are
// isolateHelper's.
func helper(mode string, args []string) int {
	switch mode {
	case "job", "isolate":
		return isolateHelper(mode)
	case "get", "getclose":
		n, _ := strconv.Atoi(args[1])
		u, err := url.Parse(args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		var pause time.Duration
		if len(args) > 2 {
			pause, _ = time.ParseDuration(args[2])
		}
		for range n {
			if err := request(u.Host, mode == "getclose"); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			time.Sleep(pause)
		}
		fmt.Printf("done %d\n", n)
		return 0
	case "sleep":
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt)
		fmt.Println("sleeping")
		<-c
		fmt.Println("interrupted")
		return 130
	case "deaf":
		signal.Ignore(os.Interrupt)
		fmt.Println("not listening")
		time.Sleep(time.Minute)
		return 0
	case "exit":
		n, _ := strconv.Atoi(args[0])
		fmt.Fprintln(os.Stderr, "failing on purpose")
		return n
	case "spam":
		n, _ := strconv.Atoi(args[0])
		w := bufio.NewWriter(os.Stdout)
		for i := range n {
			fmt.Fprintf(w, "line %d\n", i+1)
		}
		w.Flush()
		return 0
	}
	return 2
}

// request makes one request on a connection of its own: HTTP/1.0, read to
// the server's EOF, or HTTP/1.1 closed by the client after the response.
func request(addr string, clientCloses bool) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if !clientCloses {
		if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, c)
		return err
	}
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// helperSpec watches the test binary as a helper in mode.
func helperSpec(t *testing.T, mode string, args ...string) WatchSpec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return WatchSpec{
		Argv:           append([]string{exe}, args...),
		Env:            append(os.Environ(), helperEnv+"="+mode),
		SampleInterval: 20 * time.Millisecond,
	}
}

func listener(t *testing.T, raw string) *target.Listener {
	t.Helper()
	l, err := scenario.ParseListener(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &l
}

// Watch a command against the built-in target, which closes each
// connection: the server end holds one new TIME_WAIT per connection, the
// client end none, and the server closed first; the command's URL was
// put in its arguments, its output kept and passed through, and nothing
// Watch started outlives it.
func TestWatchServerCloses(t *testing.T) {
	spec := helperSpec(t, "get", "{url}", "200", "1ms") // long enough for samples while it runs
	spec.Serve = listener(t, "http://127.0.0.1:0?closer=server")
	var passed bytes.Buffer
	spec.Stdout = &passed
	var obs observer
	r, err := Watch(context.Background(), spec, Options{Tail: 200 * time.Millisecond, Observer: &obs})
	if err != nil {
		t.Fatal(err)
	}
	noneLeft(t, "Watch")
	w := r.Watch
	if w == nil || w.ExitCode == nil || *w.ExitCode != 0 || !r.BuiltinTarget || !strings.HasPrefix(r.Target, "http://127.0.0.1:") {
		t.Fatalf("watch %+v, built-in %v, target %q; want the command to exit 0 against the built-in target", w, r.BuiltinTarget, r.Target)
	}
	if got := w.Command[1]; got != r.Target || !strings.HasPrefix(got, "http://127.0.0.1:") {
		t.Errorf("the command's {url} became %q; want the target %s", got, r.Target)
	}
	if got := strings.Join(w.Output.Stdout, "|"); got != "done 200" || passed.String() != "done 200\n" || w.Output.StdoutBytes != 9 {
		t.Errorf("stdout kept %q (%d bytes), passed through %q; want done 200", got, w.Output.StdoutBytes, passed.String())
	}
	if len(obs.watched) != 1 || !strings.HasSuffix(obs.watched[0], "200 1ms @ "+r.Target) || obs.stopped != 1 {
		t.Errorf("observer: watched %q, stopped %d; want the command once, with the target", obs.watched, obs.stopped)
	}
	if !sampling() {
		return
	}
	if w.ClosesFrom != "target" || r.Closes.ServerFirst != 200 || *w.Connections.Accepted != 200 {
		t.Errorf("closes %+v from %q, accepted %v; want the built-in target's count: 200 closed by it first", r.Closes, w.ClosesFrom, w.Connections.Accepted)
	}
	if w.FirstClose != "server" || r.Server.NewTimeWait < 195 || r.Client.NewTimeWait != 0 {
		t.Errorf("first close %q, new TIME_WAIT client %d, server %d; want the server's, about 200 on the server end",
			w.FirstClose, r.Client.NewTimeWait, r.Server.NewTimeWait)
	}
	// What the observer saw last depends on when the samples fell; what
	// it was given counts the target's closes.
	if w.Connections.TimeWait != r.Server.NewTimeWait || obs.closed > r.Server.NewTimeWait || obs.lastLive.Closed() != r.Server.NewTimeWait {
		t.Errorf("connections.time_wait %d, closed as the observer saw it %d, and as its Live counts them after the run %d; want the server's new TIME_WAIT, %d",
			w.Connections.TimeWait, obs.closed, obs.lastLive.Closed(), r.Server.NewTimeWait)
	}
	if r.Requests != 0 || w.Tool != "" || r.Watch.Sources["requests"] == "" {
		t.Errorf("requests %d, tool %q; want none: the helper prints no tool's summary", r.Requests, w.Tool)
	}
}

// A client that closes each connection first holds the TIME_WAIT itself.
func TestWatchClientCloses(t *testing.T) {
	if !sampling() {
		t.Skip("socket states are sampled on Linux only")
	}
	spec := helperSpec(t, "getclose", "{url}", "100")
	spec.Serve = listener(t, "http://127.0.0.1:0?closer=client")
	r, err := Watch(context.Background(), spec, Options{Tail: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if w := r.Watch; w.FirstClose != "client" || r.Client.NewTimeWait != 100 || r.Server.NewTimeWait != 0 {
		t.Errorf("first close %q, new TIME_WAIT client %d, server %d; want the client's, 100 on the client end",
			w.FirstClose, r.Client.NewTimeWait, r.Server.NewTimeWait)
	}
	if h := r.Client.TimeWaitHolders; h == nil || h.By != "local" || h.Top[0].Address != "127.0.0.1" || h.Top[0].TimeWait < 100 {
		t.Errorf("client end's holders %+v; want 127.0.0.1 with 100, by local address", h)
	}
}

// --watch endpoints are sampled beside the target: here a server of the
// test's own that the helper loads, closing first, while the target is
// given but not loaded.
func TestWatchEndpoints(t *testing.T) {
	if !sampling() {
		t.Skip("socket states are sampled on Linux only")
	}
	other, err := target.StartOn("127.0.0.1:0", target.Close)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	idle, err := target.Start(target.KeepAlive)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	spec := helperSpec(t, "get", other.URL(), "50")
	spec.Target = idle.Addr().AddrPort()
	ep := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(other.Addr().Port))
	r, err := Watch(context.Background(), spec, Options{Tail: 200 * time.Millisecond, Watch: []Endpoint{{Name: "upstream", Addr: ep}}})
	if err != nil {
		t.Fatal(err)
	}
	up, ok := r.Watched.Lookup("upstream")
	if !ok || up.Address != ep.String() {
		t.Fatalf("watched %+v; want upstream at %s", r.Watched, ep)
	}
	if up.Server.NewTimeWait < 48 || up.Client.NewTimeWait != 0 || r.Server.NewTimeWait != 0 {
		t.Errorf("upstream new TIME_WAIT client %d, server %d; target's server %d; want about 50 on upstream's server end only",
			up.Client.NewTimeWait, up.Server.NewTimeWait, r.Server.NewTimeWait)
	}
	if r.Watch.FirstClose != "none" {
		t.Errorf("first close on the target %q; want none: nothing connected to it", r.Watch.FirstClose)
	}
}

// A command that cannot be started is ErrStart, before anything else.
func TestWatchNotFound(t *testing.T) {
	for _, argv := range [][]string{{"twbench-no-such-command"}, {"/nonexistent/ab"}, {}, {os.DevNull}} {
		_, err := Watch(context.Background(), WatchSpec{Argv: argv, Serve: listener(t, "http://127.0.0.1:0")}, Options{})
		if !errors.Is(err, ErrStart) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Watch(%q) error = %v; want one line wrapping ErrStart", argv, err)
		}
	}
	noneLeft(t, "Watch")
}

// Interrupted, the command gets SIGINT and ends; the run is marked so.
// One that ignores SIGINT is killed after the grace period.
func TestWatchInterrupted(t *testing.T) {
	for _, tc := range []struct {
		mode   string
		code   int
		signal string
	}{{"sleep", 130, ""}, {"deaf", -1, "SIGKILL"}} {
		spec := helperSpec(t, tc.mode)
		spec.Grace = 300 * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		var once sync.Once
		spec.Stdout = writerFunc(func(p []byte) { once.Do(cancel) }) // interrupt once it is running
		began := time.Now()
		r, err := Watch(ctx, spec, Options{Tail: time.Minute})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(began); d > 10*time.Second {
			t.Errorf("%s: an interrupted watch took %v", tc.mode, d)
		}
		w := r.Watch
		code := -1
		if w.ExitCode != nil {
			code = *w.ExitCode
		}
		if !r.Interrupted || code != tc.code || w.Signal != tc.signal {
			t.Errorf("%s: interrupted %v, exit %d, signal %q; want interrupted, %d, %q", tc.mode, r.Interrupted, code, w.Signal, tc.code, tc.signal)
		}
	}
	noneLeft(t, "Watch")
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// The command's failure is in the report, and its output is kept to the
// last lines, counted in full.
func TestWatchExitAndOutput(t *testing.T) {
	r, err := Watch(context.Background(), helperSpec(t, "exit", "3"), Options{Tail: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if w := r.Watch; w.ExitCode == nil || *w.ExitCode != 3 || strings.Join(w.Output.Stderr, "") != "failing on purpose" {
		t.Errorf("exit %v, stderr %q; want 3, failing on purpose", w.ExitCode, w.Output.Stderr)
	}
	r, err = Watch(context.Background(), helperSpec(t, "spam", "100000"), Options{Tail: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	out := r.Watch.Output
	if len(out.Stdout) != 20 || out.Stdout[19] != "line 100000" || out.StdoutBytes != 1088895 {
		t.Errorf("%d lines kept, the last %q, of %d bytes; want the last 20 of 1,088,895", len(out.Stdout), out.Stdout[len(out.Stdout)-1], out.StdoutBytes)
	}
}

func TestExpandArgs(t *testing.T) {
	got := ExpandArgs([]string{"ab", "-n", "10", "{url}", "http://{addr}/x?p={port}", "{other}"}, "http://127.0.0.1:80/",
		netip.MustParseAddrPort("127.0.0.1:80"))
	if want := "ab -n 10 http://127.0.0.1:80/ http://127.0.0.1:80/x?p=80 {other}"; strings.Join(got, " ") != want {
		t.Errorf("ExpandArgs = %q; want %q", strings.Join(got, " "), want)
	}
}

// TestWatchInNamespace: a run can be put in a network namespace of its
// own (Options.Netns): the built-in target, the samplers, the counters
// and the command are all inside it, where nothing else connects, so the
// kernel's ActiveOpens are the command's alone. Needs root.
func TestWatchInNamespace(t *testing.T) {
	ns, err := netns.New()
	if err != nil {
		t.Skipf("no network namespace of its own: %v", err)
	}
	defer ns.Close()
	spec := helperSpec(t, "get", "{url}", "100")
	spec.Serve = listener(t, "http://127.0.0.1:0?closer=server")
	r, err := Watch(context.Background(), spec, Options{Tail: 100 * time.Millisecond, Netns: ns})
	if err != nil {
		t.Fatal(err)
	}
	w := r.Watch
	if w.ExitCode == nil || *w.ExitCode != 0 {
		t.Fatalf("the command exited %v: %q", w.ExitCode, w.Output.Stderr)
	}
	if a, p := w.Connections.ActiveOpens, w.Connections.PassiveOpens; a == nil || *a != 100 || p == nil || *p != 100 {
		t.Errorf("in the namespace: ActiveOpens %v, PassiveOpens %v; want exactly 100 each", a, p)
	}
	if r.Connections != 100 || r.Server.NewTimeWait != 100 || w.FirstClose != "server" {
		t.Errorf("connections %d, server new TIME_WAIT %d, first close %q; want 100, 100, server", r.Connections, r.Server.NewTimeWait, w.FirstClose)
	}
	// The host's sampler sees none of the namespace's sockets.
	host, err := sockstat.NewSampler(netip.MustParseAddrPort(strings.TrimSuffix(strings.TrimPrefix(r.Target, "http://"), "/")))
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if s, err := host.Sample(); err != nil || s.Server[sockstat.TimeWait] != 0 {
		t.Errorf("the host sees %d server TIME_WAIT on the namespace's target port (%v); want 0", s.Server[sockstat.TimeWait], err)
	}
	noneLeft(t, "Watch")
}

// SIGINT goes to the command's process group: a shell waiting for its
// child ends at once with it, not after the grace period, and what the
// command leaves running in its group is killed when it has exited.
func TestWatchSignalsGroup(t *testing.T) {
	sh := "/bin/sh"
	if _, err := os.Stat(sh); err != nil {
		t.Skip("no /bin/sh")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	// Interrupted well after the shell has started its sleep: a SIGINT
	// between its echo and its fork would be held by the shell (dash -c
	// catches SIGINT) until the sleep ends.
	spec := WatchSpec{Argv: []string{sh, "-c", "echo started; sleep 30; echo after"}, Grace: 10 * time.Second,
		Stdout: writerFunc(func([]byte) { once.Do(func() { time.AfterFunc(500*time.Millisecond, cancel) }) })}
	began := time.Now()
	r, err := Watch(ctx, spec, Options{Tail: time.Millisecond})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 5*time.Second || !r.Interrupted {
		t.Errorf("interrupted %v after %v; want the shell and its sleep to end on SIGINT, well before the 10 s grace", r.Interrupted, d)
	}
	if strings.Contains(strings.Join(r.Watch.Output.Stdout, "\n"), "after") {
		t.Errorf("stdout %q: the shell went on after its sleep", r.Watch.Output.Stdout)
	}
	// A background child left in the group holds the output open until
	// the drain times out, and is then killed.
	pidFile := t.TempDir() + "/pid"
	spec = WatchSpec{Argv: []string{sh, "-c", "sleep 60 & echo $! > " + pidFile}}
	if _, err := Watch(context.Background(), spec, Options{Tail: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the background sleep (pid %d) the command left is still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Watch with an agent (--server-agent): the server end is the agent's, as
// for run, and the live line shows it.
func TestWatchWithAgent(t *testing.T) {
	f := startFakeAgent(t)
	spec := helperSpec(t, "get", "{url}", "20", "5ms")
	spec.Serve = listener(t, "http://127.0.0.1:0?closer=server")
	var obs observer
	r, err := Watch(context.Background(), spec, Options{Agent: f.client(t), Tail: 100 * time.Millisecond, Observer: &obs})
	if err != nil {
		t.Fatal(err)
	}
	f.CloseClientConnections()
	noneLeft(t, "Watch")
	if s := &r.Server; s.Source != report.SourceAgent || !s.Sampled || s.Peak["TIME_WAIT"] != 7 {
		t.Errorf("server end: source %q, sampled %v, peak TIME_WAIT %d; want the fake agent's 7", s.Source, s.Sampled, s.Peak["TIME_WAIT"])
	}
	servers := slices.DeleteFunc(slices.Clone(obs.live), func(e EndTimeWait) bool { return e.End != "server" })
	if len(servers) != 1 || servers[0].TimeWait != 7 {
		t.Errorf("live TIME_WAIT at the end %+v; want one server end, the agent's 7", obs.live)
	}
}
