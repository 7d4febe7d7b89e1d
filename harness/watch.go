package harness

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
	"github.com/twbench/twbench/target"
)

// WatchSpec is a command to watch and what to sample while it runs. It is
// data, not a process: a topology can run the same spec in a network
// namespace of its own (Options.Netns).
type WatchSpec struct {
	// Argv is the command and its arguments. {url}, {addr} and {port} in
	// them stand for the target's (ExpandArgs).
	Argv []string
	// Env is the command's environment (nil: twbench's); Dir its working
	// directory ("": twbench's); Stdin its input (nil: none).
	Env   []string
	Dir   string
	Stdin io.Reader
	// Stdout and Stderr are where its output passes through as it runs;
	// nil drops it. Its last lines are kept for the report either way.
	Stdout, Stderr io.Writer

	// Target is the server end to sample, TargetURL the target as the
	// user wrote it. Both are empty with Serve, and when only Endpoints
	// are sampled.
	Target    netip.AddrPort
	TargetURL string
	// Serve, if set, is the built-in target to start for the command.
	Serve *target.Listener

	// SampleInterval is how often the ends are sampled; 0 is the
	// scenarios' default.
	SampleInterval time.Duration
	// Grace is how long the command has to end after SIGINT when ctx is
	// done before its process group is killed; 0 is DefaultGrace.
	Grace time.Duration
}

// ExpandArgs returns args with {url}, {addr} and {port} replaced by the
// target's: http://127.0.0.1:40123/, 127.0.0.1:40123 and 40123.
func ExpandArgs(args []string, url string, addr netip.AddrPort) []string {
	r := strings.NewReplacer("{url}", url, "{addr}", addr.String(), "{port}", strconv.Itoa(int(addr.Port())))
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}

// Watch runs a command while it samples the two ends of its target, and
// of each endpoint in opts.Watch: a baseline before the command starts,
// samples while it runs and a tail after it. When ctx is done the command
// gets SIGINT, then SIGKILL after spec.Grace, and the run is marked
// interrupted. It returns the run's report; a command that cannot be
// started is an error wrapping ErrStart, before anything was measured.
// The command's own failure is in the report (watch.exit_code), not an
// error.
func Watch(ctx context.Context, spec WatchSpec, opts Options) (report.Run, error) {
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return report.Run{}, fmt.Errorf("%w: no command given", ErrStart)
	}
	if _, err := exec.LookPath(spec.Argv[0]); err != nil {
		return report.Run{}, fmt.Errorf("%w: %w", ErrStart, err)
	}
	if spec.SampleInterval == 0 {
		spec.SampleInterval = scenario.DefaultSampleInterval
	}
	if spec.Grace == 0 {
		spec.Grace = DefaultGrace
	}
	w := &watchRun{spec: spec, opts: opts, observer: opts.Observer}
	if w.observer == nil {
		w.observer = silent{}
	}
	if w.opts.Tail == 0 {
		w.opts.Tail = DefaultTail
	}
	defer w.close()
	if err := w.startTarget(); err != nil {
		return report.Run{}, err
	}
	w.spec.Argv = ExpandArgs(spec.Argv, w.url, w.spec.Target)
	w.startSampling(ctx)
	w.ends.baseline(ctx)
	_ = inNetns(opts.Netns, func() error {
		w.before, w.beforeErr = sockstat.ReadCounters()
		return nil
	})
	w.serverHost, w.serverBefore, _ = opts.network.serverSide()
	cmd, err := startCommand(opts.Netns, &w.spec)
	if err != nil {
		return report.Run{}, err
	}
	stopSampling := w.ends.follow()
	stopObserving := w.observer.Watching(w.spec.Argv, w.url, w.ends)
	interrupted := cmd.wait(ctx, w.spec.Grace)
	stopObserving()
	stopSampling()
	w.ends.tail(ctx, w.opts.Tail)
	return w.assemble(cmd, interrupted), nil
}

// watchRun is one watched command's run, step by step.
type watchRun struct {
	spec     WatchSpec
	opts     Options
	observer Observer
	srv      target.Instance // the built-in target; nil for another
	url      string          // the target's URL, "" for none
	ends     *ends
	// before are the kernel's counters before the command, and beforeErr
	// why they could not be read; serverBefore, the server's namespace's,
	// when it has one of its own.
	before       sockstat.Counters
	beforeErr    error
	serverBefore sockstat.Counters
	serverHost   *sockstat.Host
}

// places are the namespaces the ends are sampled in.
func (w *watchRun) places() []Netns {
	if w.opts.network != nil {
		return w.opts.network.places()
	}
	return []Netns{w.opts.Netns}
}

// startTarget starts the built-in target if the spec asks for one, and
// works out the target's URL.
func (w *watchRun) startTarget() error {
	if w.spec.Serve != nil {
		l := *w.spec.Serve
		in := func(f func() error) error { return inNetns(w.opts.Netns, f) }
		if n := w.opts.network; n != nil {
			// Inside a private network the target listens on the server's
			// address, on the port asked for or, for any, the target's
			// fixed port.
			port := privateTargetPort
			if _, p, err := net.SplitHostPort(l.Addr); err == nil && p != "0" {
				port, _ = strconv.Atoi(p)
			}
			l.Addr, in = netip.AddrPortFrom(n.serverAddr, uint16(port)).String(), n.inServer
		}
		err := in(func() error {
			var err error
			w.srv, err = l.Start()
			return err
		})
		if err != nil {
			return err
		}
		w.spec.Target, w.url = w.srv.Addr().AddrPort(), w.srv.URL()
		w.spec.Target = netip.AddrPortFrom(w.spec.Target.Addr().Unmap(), w.spec.Target.Port())
		return nil
	}
	switch {
	case w.spec.TargetURL != "":
		w.url = w.spec.TargetURL
	case w.spec.Target.IsValid():
		w.url = "http://" + w.spec.Target.String() + "/"
	}
	return nil
}

func (w *watchRun) startSampling(ctx context.Context) {
	w.ends = startEnds(ctx, endsConfig{
		target:      w.spec.Target,
		noTarget:    "no target was given (--target or --serve): only the --watch endpoints were sampled",
		interval:    w.spec.SampleInterval,
		builtin:     w.srv != nil,
		samplingOff: w.opts.SamplingOff,
		agent:       w.opts.Agent,
		watch:       w.opts.Watch,
		places:      w.places(),
		inside:      w.opts.network != nil,
	}, noProgress{})
}

// assemble stops the samplers and builds the run's report.
func (w *watchRun) assemble(cmd *command, interrupted bool) report.Run {
	in := report.Input{
		Scenario: scenario.Scenario{Name: commandName(w.spec.Argv[0]), Description: strings.Join(w.spec.Argv, " "),
			Target: w.url, SampleInterval: scenario.Duration(w.spec.SampleInterval)},
		Target:         w.url,
		Builtin:        w.srv != nil,
		Loopback:       w.spec.Target.IsValid() && w.spec.Target.Addr().Unmap().IsLoopback(),
		Host:           w.opts.Host,
		Notes:          append([]string(nil), w.opts.Notes...),
		TimeWaitObject: w.opts.TimeWaitObject,
	}
	target := ""
	if w.spec.Target.IsValid() {
		target = w.spec.Target.String()
	}
	in.Watch = cmd.result(w.spec.Argv, target, interrupted)
	in.Topology, in.ServerHost = w.opts.network.describe(), w.serverHost
	if w.serverBefore != nil {
		if _, after, err := w.opts.network.serverSide(); err == nil {
			in.ServerCounters = after.Sub(w.serverBefore)
		}
	}
	w.ends.fill(&in)
	if w.beforeErr == nil {
		_ = inNetns(w.opts.Netns, func() error {
			if after, err := sockstat.ReadCounters(); err == nil {
				in.Counters = after.Sub(w.before)
			}
			return nil
		})
	}
	if w.srv != nil {
		pe := w.srv.PeerErrors()
		in.ServerErrors = map[string]int64{"ECONNRESET": pe.ECONNRESET, "other": pe.Other}
		n := w.srv.Accepted()
		in.Watch.Accepted = &n
		// Where the target cannot tell who closed first (the socket's
		// state is Linux's), the TIME_WAIT says.
		if c := w.srv.Closes(); c.Unknown == 0 {
			in.Watch.TargetCloses = &loadgen.Closes{ClientFirst: c.ClientFirst, ServerFirst: c.ServerFirst,
				ClientRST: c.ClientRST, ServerRST: c.ServerRST}
		}
	}
	in.Notes = append(in.Notes, counterNotes(in.Counters, in.ServerCounters)...)
	return report.Build(in)
}

// close stops what the steps started and has not been stopped yet.
func (w *watchRun) close() {
	if w.ends != nil {
		w.ends.stop()
	}
	if w.srv != nil {
		w.srv.Close()
	}
}

// commandName names a watched command's run after its program, as a
// scenario name may be written: /usr/bin/ab is ab.
func commandName(path string) string {
	var b strings.Builder
	for _, r := range filepath.Base(path) {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && (r == '_' || r == '.' || r == '-'):
			b.WriteRune(r)
		case b.Len() > 0:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "watch"
	}
	return b.String()
}

// noProgress is the progress of a load twbench does not drive: it counts
// nothing.
type noProgress struct{}

func (noProgress) Completed() int64 { return 0 }
func (noProgress) Failed() int64    { return 0 }
