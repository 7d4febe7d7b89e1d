package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/twbench/twbench/report"
)

// ErrStart is the error of a command that could not be started: not
// found, not executable. Nothing was measured.
var ErrStart = errors.New("cannot start the command")

// Timings of a watched command's end.
const (
	// DefaultGrace is how long an interrupted command has to end after
	// SIGINT before its process group is killed.
	DefaultGrace = 5 * time.Second
	// outputDrain bounds the wait for the command's output after it has
	// exited, which a process it left behind may hold open.
	outputDrain = 2 * time.Second
	// tailBytes is how much of each output stream is kept: enough for any
	// tool's summary (oha's, the longest, is about 2 KB).
	tailBytes = 64 << 10
)

// command is a watched command running in a process group of its own.
type command struct {
	cmd            *exec.Cmd
	stdout, stderr *tail
	started        time.Time
	done           chan struct{} // closed when it has exited
	finished       chan struct{} // closed when the goroutine that ran it has ended
	waitErr        error
	ended          time.Time
}

// startCommand starts argv in a process group of its own, inside ns when
// it is set, with its output kept and passed through to stdout and
// stderr. The thread that starts it (in ns, if set) lives until it
// exits: on Linux the command is killed if twbench dies
// (PR_SET_PDEATHSIG), which the kernel ties to that thread.
func startCommand(ns Netns, spec *WatchSpec) (*command, error) {
	c := &command{
		stdout: &tail{pass: spec.Stdout}, stderr: &tail{pass: spec.Stderr},
		done: make(chan struct{}), finished: make(chan struct{}),
	}
	c.cmd = exec.Command(spec.Argv[0], spec.Argv[1:]...)
	c.cmd.Env, c.cmd.Dir, c.cmd.Stdin = spec.Env, spec.Dir, spec.Stdin
	c.cmd.Stdout, c.cmd.Stderr = c.stdout, c.stderr
	c.cmd.WaitDelay = outputDrain
	ownProcessGroup(c.cmd)
	started := make(chan error, 1)
	go func() {
		defer close(c.finished)
		_ = inNetns(ns, func() error {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			err := c.cmd.Start()
			c.started = time.Now()
			started <- err
			if err != nil {
				return err
			}
			c.waitErr = c.cmd.Wait()
			c.ended = time.Now()
			close(c.done)
			return nil
		})
	}()
	if err := <-started; err != nil {
		<-c.finished
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	return c, nil
}

// wait waits for the command to exit. If ctx is done first, the command's
// process group gets SIGINT, and SIGKILL grace later if it has not
// exited; interrupted is then true. Whatever else of its group is left
// when it has exited is killed.
func (c *command) wait(ctx context.Context, grace time.Duration) (interrupted bool) {
	select {
	case <-c.done:
	case <-ctx.Done():
		interrupted = true
		c.signalGroup(interruptSignal)
		select {
		case <-c.done:
		case <-time.After(grace):
			c.signalGroup(killSignal)
			<-c.done
		}
	}
	c.signalGroup(killSignal)
	<-c.finished
	return interrupted
}

// result is how the command ended and what it wrote, for report.Build.
func (c *command) result(argv []string, target string, interrupted bool) *report.WatchInput {
	w := &report.WatchInput{
		Command: argv, Start: c.started, Wall: c.ended.Sub(c.started), ExitCode: -1,
		Stdout: c.stdout.output(), Stderr: c.stderr.output(), Target: target, Interrupted: interrupted,
	}
	if st := c.cmd.ProcessState; st != nil {
		w.ExitCode, w.Signal = exitStatus(st)
	}
	return w
}

// tail keeps the last tailBytes of what is written to it, counts all of
// it, and passes it on to pass. A failed write to pass (a closed
// terminal) stops the passing, never the command: its output must be read
// whatever happens to ours.
type tail struct {
	mu    sync.Mutex
	buf   []byte
	bytes int64
	pass  io.Writer
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bytes += int64(len(p))
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailBytes {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailBytes:]...)
	}
	if t.pass != nil {
		if _, err := t.pass.Write(p); err != nil {
			t.pass = nil
		}
	}
	return len(p), nil
}

func (t *tail) output() report.Output {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > tailBytes {
		b = b[len(b)-tailBytes:]
	}
	return report.Output{Tail: append([]byte(nil), b...), Bytes: t.bytes}
}
