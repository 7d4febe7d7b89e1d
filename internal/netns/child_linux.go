package netns

import (
	"errors"

	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// NeedsUserNamespace reports whether a Child must be given a user
// namespace to make network namespaces in: this process lacks
// CAP_SYS_ADMIN (it is not root). In a user namespace of its own the
// child is root, with every capability over the namespaces it makes.
func NeedsUserNamespace() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var caps [2]unix.CapUserData
	if err := unix.Capget(&hdr, &caps[0]); err != nil {
		return true
	}
	return caps[0].Effective&(1<<unix.CAP_SYS_ADMIN) == 0
}

// Child is a process in a network namespace and a PID namespace of its
// own, and a user namespace when the caller is not privileged. It cannot
// outlive the caller: the kernel kills it when the thread that started it
// ends (PR_SET_PDEATHSIG), as when the caller is killed with SIGKILL, and
// as the first process of its PID namespace it takes every process it
// started with it. The network namespaces it made go with it: none has a
// name in /run/netns and none is ever the host's.
type Child struct {
	cmd      *exec.Cmd
	started  chan error
	finished chan struct{}
	err      error
}

// StartChild starts cmd as a Child, with a user namespace when userns is
// set (root inside, mapped to this process's user and group), in a
// process group of its own: the terminal's Ctrl-C reaches the caller
// alone, which passes it on once. What cmd's SysProcAttr already says is
// kept.
func StartChild(cmd *exec.Cmd, userns bool) (*Child, error) {
	attr := cmd.SysProcAttr
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	attr.Cloneflags |= syscall.CLONE_NEWNET | syscall.CLONE_NEWPID
	attr.Pdeathsig = syscall.SIGKILL
	attr.Setpgid = true
	if userns {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	cmd.SysProcAttr = attr
	c := &Child{cmd: cmd, started: make(chan error, 1), finished: make(chan struct{})}
	go func() {
		defer close(c.finished)
		// The kernel ties PR_SET_PDEATHSIG to the thread that forked: it
		// must live as long as the child.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			c.started <- err
			return
		}
		c.started <- nil
		c.err = cmd.Wait()
	}()
	if err := <-c.started; err != nil {
		<-c.finished
		return nil, &StartError{Err: err, UserNamespace: userns}
	}
	return c, nil
}

// Wait waits for the child to exit and returns cmd.Wait's error.
func (c *Child) Wait() error {
	<-c.finished
	return c.err
}

// Signal sends sig to the child.
func (c *Child) Signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// StartError is a Child that could not be made: the kernel refused its
// namespaces.
type StartError struct {
	Err           error
	UserNamespace bool // a user namespace was asked for
}

func (e *StartError) Error() string {
	return "netns: start a child in namespaces of its own: " + e.Err.Error()
}
func (e *StartError) Unwrap() error { return e.Err }

// Explain says in a sentence why this host refused namespaces (err, from
// StartChild or from making a namespace inside a Child), and what setting
// or privilege would allow them.
func Explain(err error, userns bool) string {
	return explain(err, userns, readSysctl)
}

// readSysctl reads a sysctl by its name; "" when it cannot.
func readSysctl(name string) string {
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Refused reports whether err is the kernel refusing a namespace, as
// opposed to any other failure.
func Refused(err error) bool {
	var se *StartError
	return errors.As(err, &se) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOSPC)
}
