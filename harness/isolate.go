package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/twbench/twbench/internal/netns"
	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
	"github.com/twbench/twbench/target"
)

// Job is a run in private network namespaces: a scenario, or a watched
// command, and the options that go with it to the child process that
// runs it (Isolate).
type Job struct {
	// Topology is scenario.TopologyNetns or scenario.TopologyVeth;
	// Sysctls are set in each of its namespaces.
	Topology string      `json:"topology"`
	Sysctls  [][2]string `json:"sysctls,omitempty"`
	// UserNamespace has the child make its namespaces in a user namespace
	// of its own: this process may not make them itself
	// (netns.NeedsUserNamespace).
	UserNamespace bool `json:"user_namespace"`
	// Probe only makes the network, to learn whether this host allows it.
	Probe    bool               `json:"probe,omitempty"`
	Scenario *scenario.Scenario `json:"scenario,omitempty"`
	Watch    *WatchJob          `json:"watch,omitempty"`
	Options  JobOptions         `json:"options"`
}

// JobOptions are the Options that travel to the child; the child's
// command gives it the rest (observer, limits).
type JobOptions struct {
	Notes       []string         `json:"notes,omitempty"`
	SamplingOff string           `json:"sampling_off,omitempty"`
	Tail        time.Duration    `json:"tail,omitempty"`
	StartAt     time.Time        `json:"start_at,omitzero"`
	Offset      time.Duration    `json:"offset,omitempty"`
	Shard       *report.RunShard `json:"shard,omitempty"`
	Watch       []Endpoint       `json:"watch,omitempty"`
	Client      loadgen.Client   `json:"client,omitempty"`
}

// WatchJob is a WatchSpec as it travels to the child: the command's
// input and output are the child's own.
type WatchJob struct {
	Argv           []string         `json:"argv"`
	Env            []string         `json:"env,omitempty"`
	Dir            string           `json:"dir,omitempty"`
	Stdin          bool             `json:"stdin,omitempty"` // the command reads the child's stdin
	Target         netip.AddrPort   `json:"target,omitzero"`
	TargetURL      string           `json:"target_url,omitempty"`
	Serve          *target.Listener `json:"serve,omitempty"`
	SampleInterval time.Duration    `json:"sample_interval,omitempty"`
	Grace          time.Duration    `json:"grace,omitempty"`
}

// ChildCommand is how Isolate starts twbench again: the executable
// (/proc/self/exe) and the name it runs under (argv[0], as ps shows it;
// "": Path), the arguments that make it call ReadJob and RunJob, its
// environment (nil: this process's), and its standard streams.
type ChildCommand struct {
	Path           string
	Name           string
	Args           []string
	Env            []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// UnavailableError is a job whose namespaces this host refused: Reason
// says why, and what setting or privilege would allow them.
type UnavailableError struct {
	Topology string
	Reason   string
}

func (e *UnavailableError) Error() string {
	return "topology " + e.Topology + " needs network namespaces of its own, and " + e.Reason
}

// The descriptors a child reads its job from and writes its result to:
// Isolate's ExtraFiles.
const (
	jobFD    = 3
	resultFD = 4
)

// jobResult is what the child sends back: the run, or why there is none.
type jobResult struct {
	Run   *report.Run `json:"run,omitempty"`
	Error string      `json:"error,omitempty"`
	// Refused says the kernel refused the namespaces: Error is then
	// netns.Explain's reason. NotStarted says the watched command could
	// not be started (ErrStart).
	Refused    bool `json:"refused,omitempty"`
	NotStarted bool `json:"not_started,omitempty"`
}

// Isolate runs job in a child process: twbench again, in a network and a
// PID namespace of its own (and a user namespace without root), whose
// own namespace is the client's, so that the load's sockets are all
// there whatever thread makes them. The child cannot outlive this
// process, nor its namespaces the child (netns.Child). When ctx is done
// the child gets SIGINT, and its run comes back interrupted. Refused
// namespaces are an UnavailableError.
func Isolate(ctx context.Context, job Job, cc ChildCommand) (report.Run, error) {
	jobR, jobW, err := os.Pipe()
	if err != nil {
		return report.Run{}, fmt.Errorf("harness: isolate: %w", err)
	}
	resR, resW, err := os.Pipe()
	if err != nil {
		jobR.Close()
		jobW.Close()
		return report.Run{}, fmt.Errorf("harness: isolate: %w", err)
	}
	defer resR.Close()
	cmd := exec.Command(cc.Path, cc.Args...)
	if cc.Name != "" {
		cmd.Args[0] = cc.Name
	}
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = cc.Env, cc.Stdin, cc.Stdout, cc.Stderr
	cmd.ExtraFiles = []*os.File{jobR, resW} // jobFD, resultFD
	child, err := netns.StartChild(cmd, job.UserNamespace)
	jobR.Close()
	resW.Close()
	if err != nil {
		jobW.Close()
		return report.Run{}, &UnavailableError{Topology: job.Topology, Reason: netns.Explain(err, job.UserNamespace)}
	}
	stop := context.AfterFunc(ctx, func() { _ = child.Signal(os.Interrupt) })
	defer stop()
	werr := json.NewEncoder(jobW).Encode(job)
	jobW.Close()
	b, rerr := io.ReadAll(io.LimitReader(resR, maxResult))
	exit := child.Wait()
	var res jobResult
	switch {
	case werr != nil:
		return report.Run{}, fmt.Errorf("harness: isolate: send the job: %w (the child: %v)", werr, exit)
	case rerr != nil || len(b) == 0:
		return report.Run{}, fmt.Errorf("harness: isolate: the child process sent no result: %v", errors.Join(rerr, exit))
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return report.Run{}, fmt.Errorf("harness: isolate: the child's result: %w", err)
	}
	switch {
	case res.Refused:
		return report.Run{}, &UnavailableError{Topology: job.Topology, Reason: res.Error}
	case res.NotStarted:
		// The child's error is its own ErrStart's, which says so already.
		return report.Run{}, fmt.Errorf("%w: %s", ErrStart, strings.TrimPrefix(res.Error, ErrStart.Error()+": "))
	case res.Error != "":
		return report.Run{}, errors.New(res.Error)
	case res.Run == nil && !job.Probe:
		return report.Run{}, errors.New("harness: isolate: the child sent no run")
	case res.Run == nil:
		return report.Run{}, nil
	}
	return *res.Run, nil
}

// maxResult bounds a child's result: a run's report, with its series.
const maxResult = 1 << 30

// ReadJob reads the job this process was started with by Isolate. It
// refuses in a process that is not such a child (the first of a PID
// namespace of its own): a job sets sysctls in the process's own network
// namespace, which must not be the host's.
func ReadJob() (Job, error) {
	var job Job
	if os.Getpid() != 1 {
		return job, errors.New("harness: a job runs only in a child process Isolate started")
	}
	// The result's descriptor stays open for RunJob, but not in a
	// command the job starts: what it wrote there would be the result.
	syscall.CloseOnExec(resultFD)
	f := os.NewFile(jobFD, "job")
	if f == nil {
		return job, errors.New("harness: no job descriptor")
	}
	defer f.Close()
	if err := json.NewDecoder(f).Decode(&job); err != nil {
		return job, fmt.Errorf("harness: read the job: %w", err)
	}
	return job, nil
}

// Stdio are a watched command's input and output in the child.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// RunJob runs job in this child process and sends the outcome to its
// parent: it makes the job's private network, then measures the
// scenario or watches the command with opts, which hold what the child's
// command gives (observer, file limit, TIME_WAIT object size). It
// returns an error only when the outcome could not be sent.
func RunJob(ctx context.Context, job Job, opts Options, stdio Stdio) error {
	res := runJob(ctx, job, opts, stdio)
	f := os.NewFile(resultFD, "result")
	if f == nil {
		return errors.New("harness: no result descriptor")
	}
	defer f.Close()
	if err := json.NewEncoder(f).Encode(res); err != nil {
		return fmt.Errorf("harness: send the result: %w", err)
	}
	return nil
}

func runJob(ctx context.Context, job Job, opts Options, stdio Stdio) jobResult {
	n, err := newNetwork(job.Topology, job.Sysctls, job.UserNamespace)
	if err != nil {
		if netns.Refused(err) {
			return jobResult{Refused: true, Error: netns.Explain(err, job.UserNamespace)}
		}
		return jobResult{Error: err.Error()}
	}
	defer n.close()
	if job.Probe {
		return jobResult{}
	}
	o := job.Options
	opts.network = n
	opts.Notes, opts.SamplingOff, opts.Tail = o.Notes, o.SamplingOff, o.Tail
	opts.StartAt, opts.Offset, opts.Shard, opts.Watch, opts.Client = o.StartAt, o.Offset, o.Shard, o.Watch, o.Client
	host, herr := sockstat.ReadHost()
	if herr != nil {
		opts.Notes = append(opts.Notes, "the namespace's settings not read: "+herr.Error())
	}
	opts.Host = host
	var run report.Run
	switch {
	case job.Scenario != nil:
		run, err = Measure(ctx, *job.Scenario, opts)
	case job.Watch != nil:
		w := job.Watch
		spec := WatchSpec{Argv: w.Argv, Env: w.Env, Dir: w.Dir, Target: w.Target, TargetURL: w.TargetURL, Serve: w.Serve,
			SampleInterval: w.SampleInterval, Grace: w.Grace, Stdout: stdio.Stdout, Stderr: stdio.Stderr}
		if w.Stdin {
			spec.Stdin = stdio.Stdin
		}
		run, err = Watch(ctx, spec, opts)
	default:
		err = errors.New("harness: the job has neither a scenario nor a command")
	}
	if err != nil {
		return jobResult{Error: err.Error(), NotStarted: errors.Is(err, ErrStart)}
	}
	return jobResult{Run: &run}
}
