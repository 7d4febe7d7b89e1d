//go:build linux

package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

//go:embed nginx.conf
var nginxConf string

// bench is one run of the benchmarks: the tools, the nginx they load, and
// the settings every comparison shares.
type bench struct {
	rounds   int
	duration time.Duration
	conns    int
	long     time.Duration
	goals    []int
	log      io.Writer
	client   string // twbench's --client; "" its default

	dir      string // scratch: the twbench binary, nginx's prefix
	twbench  string // the twbench binary built from this checkout
	url      string // the nginx every client loads
	nginx    *exec.Cmd
	machine  machine
	versions []string
	// The load average when the measurements began and ended: figures
	// taken on a busy machine are not comparable with a quiet one's.
	loadStart, loadEnd string
}

// clientName names the twbench client the figures are of.
func (b *bench) clientName() string {
	if b.client == "" {
		return "twbench's default"
	}
	return b.client
}

// loadAverage returns /proc/loadavg's three load averages.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// machine is what the figures were measured on.
type machine struct {
	Cores  int    `json:"cores"`
	Kernel string `json:"kernel"`
	CPU    string `json:"cpu"`
	Go     string `json:"go"`
}

func (m machine) String() string {
	return fmt.Sprintf("%d cores (%s), Linux %s, %s", m.Cores, m.CPU, m.Kernel, m.Go)
}

// peers lists the programs each goal needs, with the Debian package that
// has them.
var peers = map[int][][2]string{
	1: {{"nginx", "nginx"}, {"wrk", "wrk"}, {"hey", "hey"}},
	2: {{"nginx", "nginx"}, {"wrk", "wrk"}, {"ab", "apache2-utils"}},
	3: {{"nginx", "nginx"}, {"wrk", "wrk"}},
	4: {{"ss", "iproute2"}, {"nginx", "nginx"}},
	6: {{"nginx", "nginx"}},
}

// setup checks for the peers the goals need, builds twbench, and starts
// nginx.
func (b *bench) setup(ctx context.Context, goals []int) error {
	var missing []string
	needNginx := false
	for _, g := range goals {
		for _, p := range peers[g] {
			if p[0] == "nginx" {
				needNginx = true
			}
			if _, err := lookPath(p[0]); err != nil && !strings.Contains(strings.Join(missing, " "), p[0]+" ") {
				missing = append(missing, p[0]+" (apt package "+p[1]+")")
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("not installed: %s", strings.Join(missing, ", "))
	}
	if b.wants(4) && os.Geteuid() != 0 {
		return errors.New("goal 4 makes its TIME_WAIT sockets in a network namespace of its own, which needs root (or leave it out: -goals 1,2,3,5,6)")
	}
	b.machine = machine{Cores: runtime.NumCPU(), Kernel: kernel(), CPU: cpuModel(), Go: runtime.Version()}
	b.loadStart = loadAverage()
	fmt.Fprintf(b.log, "bench: load average %s\n", b.loadStart)
	b.versions = versions()

	var err error
	if b.dir, err = os.MkdirTemp("", "twbench-bench-"); err != nil {
		return err
	}
	b.twbench = filepath.Join(b.dir, "twbench")
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.log, "bench: building twbench from %s\n", root)
	build := exec.CommandContext(ctx, "go", "build", "-o", b.twbench, "./cmd/twbench")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/twbench: %v\n%s", err, out)
	}
	if needNginx {
		return b.startNginx(ctx)
	}
	return nil
}

// startNginx starts nginx on a free loopback port and waits until it
// answers.
func (b *bench) startNginx(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	prefix := filepath.Join(b.dir, "nginx")
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return err
	}
	conf := strings.NewReplacer("PREFIX", prefix, "PORT", strconv.Itoa(port)).Replace(nginxConf)
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return err
	}
	bin, _ := lookPath("nginx")
	b.nginx = exec.Command(bin, "-p", prefix, "-c", confPath)
	b.nginx.Stderr = b.log
	// Its own process group: a Ctrl-C to bench reaches nginx through
	// teardown, after the report, not before.
	b.nginx.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.nginx.Start(); err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	b.url = fmt.Sprintf("http://127.0.0.1:%d/", port)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("nginx did not listen on 127.0.0.1:%d: %v (see %s)", port, err, filepath.Join(prefix, "error.log"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintf(b.log, "bench: nginx on %s\n", b.url)
	return nil
}

func (b *bench) teardown() {
	if b.nginx != nil && b.nginx.Process != nil {
		_ = b.nginx.Process.Signal(syscall.SIGQUIT)
		done := make(chan struct{})
		go func() { _ = b.nginx.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-b.nginx.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// wants reports whether goal n is to be measured.
func (b *bench) wants(n int) bool { return slices.Contains(b.goals, n) }

// usage is what one command cost.
type usage struct {
	wall   time.Duration
	cpu    time.Duration // user and system time of the process and its children
	maxRSS int64         // peak resident set, bytes
}

// watchPeakRSS follows a process's peak resident set (VmHWM) until the
// returned function is called, after the process has ended, and returns
// the last reading. rusage's ru_maxrss cannot be used: the kernel carries
// into it, at exec, the peak of the memory the child was forked with,
// which is bench's own (Go forks with CLONE_VM), so every child would read
// at least bench's size.
func watchPeakRSS(pid int) (last func() int64) {
	var peak atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	status := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		defer close(stopped)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v := vmHWM(status); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}

// vmHWM reads VmHWM from a /proc/PID/status file, in bytes; 0 once the
// process has gone.
func vmHWM(path string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// command runs a program to completion and returns its standard output
// and what it cost. A program that fails is an error that quotes the end of
// its output.
func (b *bench) command(ctx context.Context, name string, args ...string) ([]byte, usage, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, usage{}, fmt.Errorf("%s: %w", filepath.Base(name), err)
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	err := cmd.Wait()
	u := usage{wall: time.Since(start), maxRSS: peak()}
	if ps := cmd.ProcessState; ps != nil {
		u.cpu = ps.UserTime() + ps.SystemTime()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, u, ctx.Err()
		}
		return nil, u, fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, tail(errOut.String()+out.String()))
	}
	return out.Bytes(), u, nil
}

// tail returns the last lines of a program's output, for an error.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return strings.Join(lines, " / ")
}

// lookPath finds a program in PATH or in the sbin directories, where
// Debian puts nginx.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// moduleRoot is the directory of twbench's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run bench from inside the twbench module (go run ./bench)")
	}
	return filepath.Dir(mod), nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// versions names the version of every peer, from Debian's package
// database where it has one (hey prints none).
func versions() []string {
	var out []string
	for _, p := range [][2]string{{"nginx", "nginx"}, {"wrk", "wrk"}, {"ab", "apache2-utils"}, {"hey", "hey"}, {"ss", "iproute2"}} {
		v, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", p[1]).Output()
		if err != nil || len(v) == 0 {
			out = append(out, p[0]+": version unknown (not from a Debian package)")
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s %s", p[0], p[1], v))
	}
	return out
}
